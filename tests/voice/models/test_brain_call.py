"""The voice brain end to end with the real local models: a sandbox member asks the bot in
text to come to voice, asks a question aloud (Piper speech played into the call), the real
clankvox hears it, the brain recognises it (Whisper), asks the model (llmsim through the real
SDK), speaks the answer (Piper) and the sandbox receives it; Whisper transcribes what the bot
said back. And she interrupts a long answer: the bot stops and the next prompt knows what she
heard. And bob talks over her: one turn, each line under its speaker. The real clock: sockets,
a child process and model threads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import trio

from clanker.llm import LlmConfig, ProviderConfig
from clanker.llmsim import RecordedRequest, Text, open_llmsim
from clanker.sandbox.voice.audio import Pcm
from clanker.sandbox.voice.server import NoVoiceSession
from clanker.store import ActionRows, ActionsQuery
from clanker.voice.brain.actor import GetVoiceBrainStatus, VoiceBrainStatus
from clanker.voice.brain.config import VoiceBrainOptions, VoiceModels, voice_brain_name
from clanker.voice.models._audio import float_to_pcm, pcm_to_float, to_vad_rate
from clanker.voice.models.local import LocalModels
from clanker.voice.models.piper import PiperVoice
from clanker.voice.models.whisper import WhisperTranscriber

from ..voice_app import TIMEOUT, VoiceApp, compare, open_voice_app

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


@asynccontextmanager
async def in_a_call(
    tmp_path: Path,
    local: LocalModels,
    respond: Callable[[RecordedRequest], Text],
    *,
    others: tuple[str, ...] = (),
) -> AsyncIterator[VoiceApp]:
    """alice (and ``others``) in the Lounge; she asks in #general for the bot; it joins their
    DAVE call and hears them."""
    async with open_llmsim(default=respond) as sim:
        llm = LlmConfig(
            providers=(
                ProviderConfig(
                    name="sim", kind="openai_compatible", model="m", base_url=sim.openai_url
                ),
            )
        )
        brain = VoiceBrainOptions(load_models=lambda _settings: bundle(local), store="store")
        async with open_voice_app(tmp_path, brain=brain, llm=llm, record_audio=False) as app:
            sb, world = app.sandbox, app.sandbox.world
            assert sb.voice is not None
            alice = world.user_named("alice")
            sb.join_voice(alice, world.channel_named("Lounge"))
            for name in others:
                sb.join_voice(world.user_named(name), world.channel_named("Lounge"))
            sb.post_message(alice, world.channel_named("general"), "clanker, come to voice")
            await app.wait_link()
            await app.wait_ready()
            await sb.voice.wait_for_session(world.bot)
            assert (await app.status()).channel_id == world.channel_named("Lounge").id
            # a DAVE call: once the group holds keys both ways, she is heard
            await app.wait_e2ee("alice", *others)
            yield app


async def alice_says(app: VoiceApp, piper: PiperVoice, text: str, who: str = "alice") -> None:
    assert app.sandbox.voice is not None
    speech = Pcm(piper.speak_chunk(text), piper.sample_rate).resample(48_000)
    await app.sandbox.voice.play(app.sandbox.world.user_named(who), speech)


def bot_said(app: VoiceApp) -> float:
    """Seconds of the bot's speech the sandbox received so far."""
    assert app.sandbox.voice is not None
    try:
        return app.sandbox.voice.received_pcm(app.sandbox.world.bot).duration
    except NoVoiceSession:
        return 0.0


async def wait_bot_said(app: VoiceApp, seconds: float) -> None:
    assert app.sandbox.voice is not None
    with trio.move_on_after(TIMEOUT):
        await app.sandbox.voice.wait_until(lambda: bot_said(app) >= seconds)
    if bot_said(app) < seconds:
        raise AssertionError(f"the bot said {bot_said(app):.2f} s: {await diagnose(app)}")


async def wait_bot_quiet(app: VoiceApp) -> None:
    """Until the bot's stream stops growing (its answer and the trailing silence are in)."""
    with trio.fail_after(TIMEOUT):
        last = -1.0
        while bot_said(app) != last:
            last = bot_said(app)
            await trio.sleep(0.5)


async def test_a_member_asks_aloud_and_hears_the_answer(
    tmp_path: Path, local: LocalModels, piper: PiperVoice, whisper: WhisperTranscriber
) -> None:
    prompts: list[str] = []

    def respond(request: RecordedRequest) -> Text:
        prompts.append(request.user_text)
        return Text(ANSWER)

    async with in_a_call(tmp_path, local, respond) as app:
        await alice_says(app, piper, "What is the capital of France?")
        await wait_bot_said(app, 1.0)
        await wait_bot_quiet(app)
        assert app.sandbox.voice is not None
        heard = app.sandbox.voice.received_pcm(app.sandbox.world.bot).to_mono()
    assert len(prompts) == 1
    # who spoke and what Whisper heard, in the prompt's "just said" part
    just_said = prompts[0].split("Just said")[1]
    assert "Alice: " in just_said and "capital of france" in just_said.lower(), prompts[0]
    # What the sandbox received is the bot's line as Piper says it, whole: the same waveform
    # after Opus and DAVE (0.975 here), not merely speech that transcribes alike.
    reference = Pcm(piper.speak_chunk(ANSWER), piper.sample_rate).resample(heard.rate)
    match = compare(as_array(reference), as_array(heard))
    assert match.correlation > 0.9, match
    assert heard.duration >= reference.duration, (heard.duration, reference.duration)
    # And Whisper hears the answer in it. tiny.en's reading of the first word of the
    # round-tripped line differs across CPU types ("Carishes the capital of France." on one,
    # exact on another, from the same audio): the rest must be exact.
    samples = pcm_to_float(heard.data, what="bot speech")
    pcm16 = float_to_pcm(to_vad_rate(samples, heard.rate))
    said = await whisper.transcribe(pcm16, 16_000)
    words = "".join(c for c in said.text.lower() if c.isalpha() or c == " ").split()
    assert words[-4:] == ["the", "capital", "of", "france"], said.text


def as_array(pcm: Pcm) -> np.ndarray:
    return np.frombuffer(pcm.data, dtype=np.int16).astype(np.float64)


STORY = " ".join(f"This is sentence number {n} of a long story about a cat." for n in range(1, 9))


async def test_a_member_interrupts_and_the_bot_stops_and_knows_where(
    tmp_path: Path, local: LocalModels, piper: PiperVoice
) -> None:
    prompts: list[str] = []
    second_asked = trio.Event()

    def respond(request: RecordedRequest) -> Text:
        prompts.append(request.user_text)
        if len(prompts) == 2:
            second_asked.set()
        return Text(STORY if len(prompts) == 1 else "Sorry, go ahead.")

    async with in_a_call(tmp_path, local, respond) as app:
        full = sum(len(c) for c in piper_chunks(piper, STORY)) / 2 / piper.sample_rate
        await alice_says(app, piper, "Tell me a long story please.")
        await wait_bot_said(app, 2.5)  # past the 1 s echo guard
        await alice_says(app, piper, "Wait, stop, I have a question.")
        with trio.fail_after(TIMEOUT):
            await second_asked.wait()
        await wait_bot_quiet(app)
        status = await app.runtime.lookup(voice_brain_name(app.guild_key)).ask(
            GetVoiceBrainStatus(), VoiceBrainStatus
        )
        total = bot_said(app)
    assert status.barge_ins == 1
    assert [t.outcome for t in status.turns] == ["interrupted", "spoken"]
    # the story was cut: the bot said far less than the story's own length (~25 s)
    assert total < full / 2, (total, full)
    second = prompts[1]
    assert "You were cut off by Alice. They heard only: 'This is sentence number 1" in second
    # what she said in interrupting is the next turn (tiny.en may drop a word: "Wait, stop")
    interrupting = second.split("Just said")[1]
    assert "Alice: " in interrupting and "question" in interrupting.lower(), interrupting


def piper_chunks(piper: PiperVoice, text: str) -> list[bytes]:
    return [piper.speak_chunk(text)]


async def test_two_members_talk_over_each_other_and_both_are_attributed(
    tmp_path: Path, local: LocalModels, piper: PiperVoice
) -> None:
    """alice asks; bob starts before she has finished: one turn, one model call, each line
    under its speaker (the room holds her turn while he talks)."""
    prompts: list[str] = []

    def respond(request: RecordedRequest) -> Text:
        prompts.append(request.user_text)
        return Text("Both good questions.")

    async with in_a_call(tmp_path, local, respond, others=("bob",)) as app:
        question = "What is the capital of France?"
        alice_speech = len(piper.speak_chunk(question)) / 2 / piper.sample_rate
        async with trio.open_nursery() as n:
            n.start_soon(alice_says, app, piper, question)
            await trio.sleep(alice_speech * 0.6)  # bob cuts in while she is still talking
            n.start_soon(alice_says, app, piper, "And what about the capital of Spain?", "bob")
        await wait_bot_said(app, 0.5)
        await wait_bot_quiet(app)
        status = await app.runtime.lookup(voice_brain_name(app.guild_key)).ask(
            GetVoiceBrainStatus(), VoiceBrainStatus
        )
    assert len(prompts) == 1, prompts
    just_said = prompts[0].split("Just said")[1]
    lines = {
        line.split(":")[0].strip(): line.lower() for line in just_said.splitlines() if ":" in line
    }
    assert "france" in lines.get("Alice", ""), just_said
    assert "spain" in lines.get("Bob", ""), just_said
    assert just_said.index("Alice:") < just_said.index("Bob:")
    [turn] = status.turns
    assert sorted(turn.speakers) == ["Alice", "Bob"] and turn.outcome == "spoken"
