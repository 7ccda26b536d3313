"""`load_voice_models`: local VAD and end of turn always; recognition and synthesis local or
cloud as the settings say; one set of objects per choice; cloud clients built in a worker
thread (as the guild session does) that work on the trio loop."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from clanker.settings import Settings, apply_patch
from clanker.voice.brain.config import VoiceModels
from clanker.voice.cloud import (
    CloudConfigError,
    ElevenLabsSpeech,
    OpenAiSpeech,
    OpenAiTranscriber,
)
from clanker.voice.models.base import ModelError
from clanker.voice.models.local import load_local_models
from clanker.voice.models.select import load_voice_models
from clanker.voice.models.smart_turn import SmartTurn
from clanker.voicesim import VoiceSim, open_voicesim

from .conftest import listen


def choose(**voice: Any) -> Settings:
    return apply_patch(Settings(), {"voice": voice})


Keyed = tuple[VoiceSim, dict[str, str]]


@pytest.fixture
async def keyed() -> AsyncIterator[Keyed]:
    """A voicesim with a key of its own: the providers are cached per (settings, key, base
    URL) for the whole process, and each test closes the ones it made."""
    key = f"sk-select-{uuid.uuid4().hex}"
    async with open_voicesim(api_key=key) as sim:
        env = {
            "OPENAI_API_KEY": key,
            "CLANKER_OPENAI_BASE_URL": sim.openai_url,
            "ELEVENLABS_API_KEY": key,
            "CLANKER_ELEVENLABS_BASE_URL": sim.elevenlabs_url,
        }
        yield sim, env


async def close(*models: VoiceModels) -> None:
    for m in models:
        for provider in (m.transcriber, m.synth):
            if isinstance(provider, OpenAiTranscriber | OpenAiSpeech | ElevenLabsSpeech):
                await provider.aclose()


def test_local_by_default_the_process_wide_models() -> None:
    local = load_local_models()
    models = load_voice_models(Settings(), {"OPENAI_API_KEY": "unused"})
    assert models is load_voice_models(Settings(), {})
    assert models.transcriber is local.transcriber and models.synth is local.synth
    assert models.turn is local.turn
    assert models.vad_factory().frame_samples > 0


async def test_cloud_clients_built_in_a_worker_thread_work_on_the_trio_loop(
    keyed: Keyed,
) -> None:
    sim, env = keyed
    settings = choose(asr={"provider": "openai"}, tts={"provider": "elevenlabs"})
    models = await trio.to_thread.run_sync(load_voice_models, settings, env)
    assert isinstance(models.transcriber, OpenAiTranscriber)
    assert isinstance(models.synth, ElevenLabsSpeech)
    assert isinstance(models.turn, SmartTurn)  # end of turn and VAD stay local
    sim.script_transcription("built in a thread")
    heard = await models.transcriber.transcribe(b"\x01\x00" * 8000, 16_000, prompt="clanker")
    spoken = await listen(models.synth, "hi")
    assert heard.text == "built in a thread" and heard.avg_logprob == pytest.approx(-0.05)
    assert spoken.error is None and spoken.pcm == sim.speech_for("hi", 24_000)
    # a second call on the same client (its pooled connection)
    sim.script_transcription("again")
    assert (await models.transcriber.transcribe(b"\x01\x00" * 8000, 16_000)).text == "again"
    assert [r.status for r in sim.requests] == [200, 200, 200]
    await close(models)


async def test_one_set_of_objects_per_choice(keyed: Keyed) -> None:
    _, env = keyed
    eleven = choose(asr={"provider": "openai"}, tts={"provider": "elevenlabs"})
    results: list[VoiceModels] = []

    async def load(settings: Settings) -> None:
        results.append(await trio.to_thread.run_sync(load_voice_models, settings, env))

    async with trio.open_nursery() as nursery:  # two guilds joining at once
        nursery.start_soon(load, eleven)
        nursery.start_soon(load, eleven)
    first, second = results
    assert first is second
    # a new voice: a new synth, the same transcriber and local models
    sage = choose(asr={"provider": "openai"}, tts={"provider": "openai", "openai_voice": "sage"})
    other = load_voice_models(sage, env)
    assert isinstance(other.synth, OpenAiSpeech) and other.synth.voice == "sage"
    assert other.transcriber is first.transcriber and other.turn is first.turn
    assert other.vad_factory is first.vad_factory
    # ASR back to local: Whisper, the same cloud synth
    local_asr = load_voice_models(choose(tts={"provider": "openai", "openai_voice": "sage"}), env)
    assert local_asr.transcriber is load_local_models().transcriber
    assert local_asr.synth is other.synth
    # a new key is a new client (the old one keeps its own)
    rotated = load_voice_models(eleven, {**env, "ELEVENLABS_API_KEY": env["OPENAI_API_KEY"] + "x"})
    assert rotated.synth is not first.synth and rotated.transcriber is first.transcriber
    assert load_voice_models(eleven, env) is first  # the first choice again: what it built
    await close(first, other, rotated)


@pytest.mark.parametrize(
    ("voice", "variable"),
    [
        ({"asr": {"provider": "openai"}}, "OPENAI_API_KEY"),
        ({"tts": {"provider": "openai"}}, "OPENAI_API_KEY"),
        ({"tts": {"provider": "elevenlabs"}}, "ELEVENLABS_API_KEY"),
    ],
)
async def test_a_missing_key_is_a_model_error_naming_the_variable(
    keyed: Keyed, voice: dict[str, Any], variable: str
) -> None:
    _, env = keyed
    settings = choose(**voice)
    without = {k: v for k, v in env.items() if k != variable}
    with pytest.raises(CloudConfigError) as caught:
        await trio.to_thread.run_sync(load_voice_models, settings, without)
    assert isinstance(caught.value, ModelError)  # what GuildSession._brain_child catches
    assert f"${variable} is not set" in str(caught.value)
    # not remembered: once the key is there, the same settings load
    models = await trio.to_thread.run_sync(load_voice_models, settings, env)
    built = models.transcriber if "asr" in voice else models.synth
    assert isinstance(built, OpenAiTranscriber | OpenAiSpeech | ElevenLabsSpeech)
    await close(models)
