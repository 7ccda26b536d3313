"""The factory (settings + environment → provider), the sans-IO audio helpers, and that the
cores import without trio, httpx or the SDK."""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import sys
import wave

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clanker.settings import Settings, apply_patch
from clanker.voice.cloud import (
    CloudConfigError,
    ElevenLabsSpeech,
    OpenAiSpeech,
    OpenAiTranscriber,
    SampleAligner,
    cloud_synth,
    cloud_transcriber,
    wav_bytes,
)
from clanker.voice.models.base import ModelError
from clanker.voicesim import VoiceSim

from .conftest import KEY, listen


def choose(**voice: object) -> Settings:
    return apply_patch(Settings(), {"voice": voice})


def test_local_is_the_default_and_builds_nothing() -> None:
    assert Settings().voice.asr.provider == "local" and Settings().voice.tts.provider == "local"
    assert cloud_transcriber(Settings(), {"OPENAI_API_KEY": KEY}) is None
    assert cloud_synth(Settings(), {"ELEVENLABS_API_KEY": KEY}) is None


@pytest.mark.parametrize(
    ("voice", "variable"),
    [
        ({"asr": {"provider": "openai"}}, "OPENAI_API_KEY"),
        ({"tts": {"provider": "openai"}}, "OPENAI_API_KEY"),
        ({"tts": {"provider": "elevenlabs"}}, "ELEVENLABS_API_KEY"),
    ],
)
def test_a_missing_key_names_the_variable_and_the_way_out(
    voice: dict[str, object], variable: str
) -> None:
    settings = choose(**voice)
    build = cloud_transcriber if "asr" in voice else cloud_synth
    with pytest.raises(CloudConfigError) as caught:
        build(settings, {variable: "  "})
    assert isinstance(caught.value, ModelError)
    assert f"${variable} is not set" in str(caught.value)
    assert "to 'local'" in str(caught.value)


def test_a_base_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(CloudConfigError, match=r"\$CLANKER_OPENAI_BASE_URL must be an http"):
        cloud_transcriber(
            choose(asr={"provider": "openai"}),
            {"OPENAI_API_KEY": KEY, "CLANKER_OPENAI_BASE_URL": "file:///etc"},
        )


async def test_the_settings_reach_the_providers_and_the_sim(sim: VoiceSim) -> None:
    settings = choose(
        asr={"provider": "openai", "openai_model": "gpt-4o-transcribe", "timeout_seconds": 4},
        tts={"provider": "openai", "openai_voice": "sage", "openai_instructions": "Be brief."},
    )
    env = {"OPENAI_API_KEY": KEY, "CLANKER_OPENAI_BASE_URL": sim.openai_url + "/"}
    asr = cloud_transcriber(settings, env)
    tts = cloud_synth(settings, env)
    assert isinstance(asr, OpenAiTranscriber) and isinstance(tts, OpenAiSpeech)
    assert (asr.model, asr.timeout, asr.base_url) == ("gpt-4o-transcribe", 4.0, sim.openai_url)
    sim.script_transcription("ok")
    assert (await asr.transcribe(b"\x00\x00" * 1600, 16_000)).text == "ok"
    heard = await listen(tts, "hi")
    await asr.aclose()
    await tts.aclose()
    assert heard.error is None and len(heard.pcm) == 2 * 1440 * 2
    assert sim.requests[1].fields["voice"] == "sage"
    assert sim.requests[1].fields["instructions"] == "Be brief."


async def test_elevenlabs_from_the_settings(sim: VoiceSim) -> None:
    settings = choose(tts={"provider": "elevenlabs", "elevenlabs_voice_id": "a" * 20,
                           "elevenlabs_model": "eleven_turbo_v2_5"})  # fmt: skip
    env = {"ELEVENLABS_API_KEY": KEY, "CLANKER_ELEVENLABS_BASE_URL": sim.elevenlabs_url}
    tts = cloud_synth(settings, env)
    assert isinstance(tts, ElevenLabsSpeech)
    heard = await listen(tts, "yo")
    await tts.aclose()
    assert heard.error is None and tts.name == f"elevenlabs eleven_turbo_v2_5 ({'a' * 20})"
    assert sim.requests[0].path == f"/v1/text-to-speech/{'a' * 20}/stream"
    assert sim.requests[0].fields["model_id"] == "eleven_turbo_v2_5"


def test_the_default_base_urls_are_the_providers_own() -> None:
    asr = cloud_transcriber(choose(asr={"provider": "openai"}), {"OPENAI_API_KEY": KEY})
    tts = cloud_synth(choose(tts={"provider": "elevenlabs"}), {"ELEVENLABS_API_KEY": KEY})
    assert asr is not None and asr.base_url == "https://api.openai.com/v1"
    assert isinstance(tts, ElevenLabsSpeech) and tts.base_url == "https://api.elevenlabs.io"
    assert tts.voice_id == "JBFqnCBsd6RMkjVDRZzb" and tts.model == "eleven_flash_v2_5"


def test_the_wav_holds_the_clip_at_its_rate() -> None:
    pcm = bytes(range(256)) * 10
    with wave.open(io.BytesIO(wav_bytes(pcm, 22_050))) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22_050)
        assert w.readframes(w.getnframes()) == pcm
    with pytest.raises(ValueError, match="odd"):
        wav_bytes(b"\x00", 16_000)


@given(data=st.binary(max_size=64), cuts=st.lists(st.integers(0, 64), max_size=8))
def test_the_aligner_passes_every_whole_sample_in_order(data: bytes, cuts: list[int]) -> None:
    aligner = SampleAligner()
    edges = [0, *sorted(c for c in cuts if c <= len(data)), len(data)]
    out = [aligner.feed(data[a:b]) for a, b in itertools.pairwise(edges)]
    assert all(len(piece) % 2 == 0 for piece in out)
    assert b"".join(out) == data[: len(data) - len(data) % 2]
    assert aligner.leftover == len(data) % 2


def test_the_cores_import_without_trio_httpx_or_the_sdks() -> None:
    code = (
        "import sys, json, clanker.voice.cloud.factory, clanker.voice.cloud.errors, "
        "clanker.voice.cloud._audio; "
        "print(json.dumps([m for m in ('trio', 'httpx', 'httpx2', 'openai') if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert json.loads(out.stdout) == []
