"""The voice brain end to end with cloud speech: a sandbox member asks a question aloud (Piper
speech played into a DAVE call), the real clankvox hears it, the brain (models from
`load_voice_models`, the settings pointing at voicesim) sends the clip to the OpenAI
transcription sim, asks the model (llmsim) with the sim's transcript, speaks the answer
sentence by sentence through the chosen speech sim (ElevenLabs or OpenAI) and the sandbox
receives the sim's tones. The real clock: sockets, a child process and model threads."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
import trio

from clanker.llm import LlmConfig, ProviderConfig
from clanker.llmsim import RecordedRequest, Text, open_llmsim
from clanker.sandbox.voice.audio import Pcm
from clanker.settings import Settings, apply_patch
from clanker.voice.brain.config import VoiceBrainOptions
from clanker.voice.cloud import ElevenLabsSpeech, OpenAiSpeech, OpenAiTranscriber
from clanker.voice.models._audio import pcm_to_float, to_vad_rate
from clanker.voice.models.piper import PiperSettings, PiperVoice, load_piper
from clanker.voice.models.select import load_voice_models
from clanker.voicesim import MS_PER_CHAR, open_voicesim

from ..voice_app import TIMEOUT, VoiceApp, compare, resample, samples
from ..voice_app import open_voice_app as open_app

QUESTION = "What is the capital of France?"  # what alice says (Piper)
HEARD = "Clanker, what is the capital of France?"  # what the transcription sim answers
SENTENCES = ("Paris is the capital of France.", "It sits on the river Seine.")
ANSWER = " ".join(SENTENCES)  # what llmsim answers
SIM_RATE = 24_000  # both speech sims' PCM (OpenAI's pcm, ElevenLabs' pcm_24000)


@pytest.fixture(scope="session")
def piper() -> PiperVoice:
    # noise off: the same question audio every run (the process-wide instance, shared with
    # tests/voice/models)
    return load_piper(settings=PiperSettings(noise_scale=0.0, noise_w=0.0))


def cloud_settings(tts: str) -> Settings:
    return apply_patch(
        Settings(), {"voice": {"asr": {"provider": "openai"}, "tts": {"provider": tts}}}
    )


async def bot_answer(app: VoiceApp) -> Pcm:
    """The bot's audio, once it started and stopped growing."""
    voice = app.sandbox.voice
    assert voice is not None
    bot = app.sandbox.world.bot

    def said() -> float:
        try:
            return voice.received_pcm(bot).duration
        except Exception:
            return 0.0

    with trio.fail_after(TIMEOUT):
        await voice.wait_until(lambda: said() >= 1.0)
        last = -1.0
        while (now := said()) != last:
            last = now
            await trio.sleep(0.5)
    return voice.received_pcm(bot).to_mono()


def best_correlation(reference: np.ndarray, received: np.ndarray) -> float:
    """The normalised cross-correlation of the two at their best lag, either way (the brain's
    clip may start a frame after the member's speech)."""
    n = len(reference) + len(received)
    size = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(received, size) * np.conj(np.fft.rfft(reference, size)), size)
    return float(np.max(corr)) / float(
        np.sqrt(np.dot(reference, reference) * np.dot(received, received))
    )


@pytest.mark.parametrize("tts", ["elevenlabs", "openai"])
async def test_the_brain_hears_and_speaks_through_the_cloud_sims(
    tmp_path: Path, piper: PiperVoice, tts: str
) -> None:
    prompts: list[str] = []

    def respond(request: RecordedRequest) -> Text:
        prompts.append(request.user_text)
        return Text(ANSWER)

    # A key of its own: the providers are cached per (settings, key, base URL) for the process,
    # and this test closes the ones it made.
    key = f"sk-test-{uuid.uuid4().hex}"
    async with open_llmsim(default=respond) as llmsim, open_voicesim(api_key=key) as sim:
        sim.script_transcription(HEARD)
        env = {
            "OPENAI_API_KEY": key,
            "CLANKER_OPENAI_BASE_URL": sim.openai_url,
            "ELEVENLABS_API_KEY": key,
            "CLANKER_ELEVENLABS_BASE_URL": sim.elevenlabs_url,
        }
        settings = cloud_settings(tts)
        brain = VoiceBrainOptions(load_models=lambda _live: load_voice_models(settings, env))
        provider = ProviderConfig(
            name="sim", kind="openai_compatible", model="m", base_url=llmsim.openai_url
        )
        async with open_app(tmp_path, brain=brain, llm=LlmConfig(providers=(provider,)),
                            record_audio=False) as app:  # fmt: skip
            sb = app.sandbox
            assert sb.voice is not None
            world = sb.world
            await app.join()
            await app.wait_ready()
            await sb.voice.wait_for_session(world.bot)
            sb.join_voice(world.user_named("alice"), world.channel_named("Lounge"))
            await app.wait_e2ee("alice")
            question = Pcm(piper.speak_chunk(QUESTION), piper.sample_rate)
            await sb.voice.play(world.user_named("alice"), question.resample(48_000))
            heard = await bot_answer(app)
        models = load_voice_models(settings, env)  # what the brain got (cached)
        assert isinstance(models.transcriber, OpenAiTranscriber)
        assert isinstance(models.synth, ElevenLabsSpeech if tts == "elevenlabs" else OpenAiSpeech)
        await models.transcriber.aclose()
        await models.synth.aclose()

    # the transcription sim got alice's question as a 16 kHz WAV, once, with the bot's name
    asr = [r for r in sim.requests if r.api == "transcription"]
    assert len(asr) == 1 and asr[0].status == 200, asr
    clip = asr[0].audio
    assert clip is not None and (clip.rate, clip.channels) == (16_000, 1)
    assert question.duration - 0.1 <= clip.duration <= question.duration + 1.0, clip.duration
    question_16k = to_vad_rate(pcm_to_float(question.data, what="question"), question.rate)
    assert best_correlation(np.asarray(question_16k, np.float64), samples(clip.pcm)) > 0.9
    assert asr[0].fields["prompt"] == "clanker"

    # its transcript (not what anyone could have heard locally) is what alice "just said"
    assert len(prompts) == 1
    just_said = prompts[0].split("Just said")[1]
    assert f"Alice: {HEARD}" in just_said, prompts[0]

    # the speech sim got the answer one sentence at a time, the second after the first
    speech = [r for r in sim.requests if r.api != "transcription"]
    text_field = "text" if tts == "elevenlabs" else "input"
    assert [r.fields[text_field] for r in speech] == list(SENTENCES)
    assert all(r.status == 200 and r.finished_at is not None for r in speech)
    assert speech[0].finished_at <= speech[1].at  # type: ignore[operator]
    if tts == "elevenlabs":
        assert speech[0].query == {"output_format": f"pcm_{SIM_RATE}"}
    else:
        assert speech[0].fields["response_format"] == "pcm"

    # and the sandbox received the sim's tones, each sentence whole, in order, nothing more
    expected = sum(len(s) for s in SENTENCES) * MS_PER_CHAR / 1000
    assert [len(r.speech) / 2 / SIM_RATE for r in speech] == pytest.approx(
        [len(s) * MS_PER_CHAR / 1000 for s in SENTENCES]
    )
    assert expected <= heard.duration <= expected + 0.25, heard.duration
    offsets = []
    for r in speech:
        match = compare(resample(samples(r.speech), SIM_RATE, 48_000), samples(heard.data))
        assert match.correlation > 0.95, match
        offsets.append(match.offset)
    assert offsets[0] < offsets[1]
