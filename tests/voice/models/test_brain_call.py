"""The voice brain end to end with the real local models: a sandbox member asks a question
aloud (Piper speech played into the call), the real clankvox hears it, the brain recognises
it (Whisper), asks the model (llmsim through the real SDK), speaks the answer (Piper) and the
sandbox receives it; Whisper transcribes what the bot said back. The real clock: sockets, a
child process and model threads."""

from __future__ import annotations

from pathlib import Path

import trio

from clanker.llm import LlmConfig, ProviderConfig
from clanker.llmsim import RecordedRequest, Text, open_llmsim
from clanker.sandbox.voice.audio import Pcm
from clanker.store import ActionRows, ActionsQuery
from clanker.voice.brain.actor import GetVoiceBrainStatus
from clanker.voice.brain.config import VoiceBrainOptions, VoiceModels, voice_brain_name
from clanker.voice.models._audio import float_to_pcm, pcm_to_float, to_vad_rate
from clanker.voice.models.local import LocalModels
from clanker.voice.models.piper import PiperVoice
from clanker.voice.models.whisper import WhisperTranscriber

from ..voice_app import TIMEOUT, VoiceApp, open_voice_app

ANSWER = "Paris is the capital of France."


async def diagnose(app: VoiceApp) -> str:
    status = await app.runtime.lookup(voice_brain_name(app.guild_key)).ask(GetVoiceBrainStatus())
    rows = await app.runtime.lookup("store").ask(ActionsQuery(limit=50), ActionRows)
    actions = [f"{r.kind}: {r.content[:80]} {r.metadata[:200]}" for r in reversed(rows.rows)]
    link = await app.status()
    return f"{status}\n{link}\n" + "\n".join(a for a in actions if a.startswith(("voice", "llm")))


def bundle(local: LocalModels) -> VoiceModels:
    return VoiceModels(
        vad_factory=local.vad_factory,
        turn=local.turn,
        transcriber=local.transcriber,
        synth=local.synth,
    )


async def test_a_member_asks_aloud_and_hears_the_answer(
    tmp_path: Path, local: LocalModels, piper: PiperVoice, whisper: WhisperTranscriber
) -> None:
    prompts: list[str] = []

    def respond(request: RecordedRequest) -> Text:
        prompts.append(request.user_text)
        return Text(ANSWER)

    async with open_llmsim(default=respond) as sim:
        llm = LlmConfig(
            providers=(
                ProviderConfig(
                    name="sim", kind="openai_compatible", model="m", base_url=sim.openai_url
                ),
            )
        )
        brain = VoiceBrainOptions(load_models=lambda: bundle(local), store="store")
        async with open_voice_app(tmp_path, brain=brain, llm=llm, record_audio=False) as app:
            sb = app.sandbox
            assert sb.voice is not None
            world = sb.world
            # alice is in the Lounge and asks in #general; the bot joins her channel
            alice = world.user_named("alice")
            sb.join_voice(alice, world.channel_named("Lounge"))
            sb.post_message(alice, world.channel_named("general"), "clanker, come to voice")
            await app.wait_link()
            await app.wait_ready()
            await sb.voice.wait_for_session(world.bot)
            assert (await app.status()).channel_id == world.channel_named("Lounge").id
            # a DAVE call: once the group holds keys both ways, she is heard
            await app.wait_e2ee("alice")
            question = Pcm(piper.speak_chunk("What is the capital of France?"), piper.sample_rate)
            await sb.voice.play(world.user_named("alice"), question.resample(48_000))

            def bot_said(seconds: float) -> bool:
                try:
                    return sb.voice.received_pcm(world.bot).duration >= seconds  # type: ignore[union-attr]
                except Exception:
                    return False

            with trio.move_on_after(TIMEOUT):
                await sb.voice.wait_until(lambda: bot_said(1.0))
            if not bot_said(1.0):
                raise AssertionError(f"the bot said nothing: {await diagnose(app)}")
            with trio.fail_after(TIMEOUT):
                # the rest of the answer: until the bot's stream stops growing
                last = -1.0
                while True:
                    await trio.sleep(0.5)
                    now = sb.voice.received_pcm(world.bot).duration
                    if now == last:
                        break
                    last = now
            heard = sb.voice.received_pcm(world.bot).to_mono()
    assert len(prompts) == 1
    # who spoke and what Whisper heard, in the prompt's "just said" part
    just_said = prompts[0].split("Just said")[1]
    assert "Alice: " in just_said and "capital of france" in just_said.lower(), prompts[0]
    samples = pcm_to_float(heard.data, what="bot speech")
    pcm16 = float_to_pcm(to_vad_rate(samples, heard.rate))
    said = await whisper.transcribe(pcm16, 16_000)
    words = "".join(c for c in said.text.lower() if c.isalpha() or c == " ").split()
    assert words == ["paris", "is", "the", "capital", "of", "france"], said.text
