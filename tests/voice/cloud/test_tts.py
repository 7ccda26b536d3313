"""`OpenAiSpeech` (the real `openai` SDK) and `ElevenLabsSpeech` (httpx) against voicesim's
speech routes: streaming, sample alignment, what each sends, and every way a call fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing

from clanker.voice.cloud import CloudSpeechError, ElevenLabsSpeech, OpenAiSpeech, VoiceSettings
from clanker.voicesim import Disconnect, SimError, Stall, VoiceSim, server_error

from .conftest import KEY, VOICE, listen

# A stream left early is closed by its response's context manager, but httpx's nested body
# generators are left to the garbage collector, and trio warns before it closes them (the
# same as for httpx2 in pyproject.toml's filterwarnings). Harmless; see docs/llm.md.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Async generator '(httpx|httpcore)\\.[^']*' was garbage collected:ResourceWarning"
)

Synth = OpenAiSpeech | ElevenLabsSpeech
PROVIDERS = ("openai", "elevenlabs")
TEXT = "Hey, I heard you."  # 17 characters: 17 x 60 ms = 1.02 s, 48,960 bytes at 24 kHz


def build(provider: str, base_url: str, *, key: str = KEY, **options: object) -> Synth:
    if provider == "openai":
        return OpenAiSpeech(key, base_url=f"{base_url}/v1", **options)  # type: ignore[arg-type]
    return ElevenLabsSpeech(key, VOICE, base_url=base_url, **options)  # type: ignore[arg-type]


@asynccontextmanager
async def speaking(provider: str, base_url: str, **options: object) -> AsyncIterator[Synth]:
    synth = build(provider, base_url, **options)
    try:
        yield synth
    finally:
        await synth.aclose()


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_speech_streams_whole_samples_and_arrives_before_the_stream_ends(
    sim: VoiceSim, provider: str
) -> None:
    async with speaking(provider, sim.url) as synth:
        heard = await listen(synth, TEXT)
    assert heard.error is None
    [request] = sim.requests
    expected = sim.speech_for(TEXT, 24_000)
    assert len(expected) == 17 * 1440 * 2
    assert heard.pcm == expected  # every byte, in order, as the sim made it
    assert synth.sample_rate == 24_000
    assert all(len(chunk) % 2 == 0 for chunk in heard.chunks)
    # The sim cut its four pieces at odd offsets; the consumer still got four, one per piece.
    assert len(request.chunk_times) == 4 and len(heard.chunks) == 4
    assert request.finished_at is not None
    assert heard.times[0] < request.chunk_times[-1] <= request.finished_at


async def test_openai_speech_sends_model_voice_format_and_instructions(sim: VoiceSim) -> None:
    options = {"voice": "marin", "instructions": "Speak dryly.", "speed": 1.25}
    async with speaking("openai", sim.url, **options) as synth:
        heard = await listen(synth, TEXT)
    assert heard.error is None and synth.name == "openai gpt-4o-mini-tts (marin)"
    [request] = sim.requests
    assert (request.method, request.path) == ("POST", "/v1/audio/speech")
    assert request.headers["authorization"] == "<redacted>"
    assert request.fields == {
        "model": "gpt-4o-mini-tts",
        "voice": "marin",
        "input": TEXT,
        "response_format": "pcm",
        "instructions": "Speak dryly.",
        "speed": 1.25,
    }
    assert heard.pcm == sim.speech_for(TEXT, 24_000, speed=1.25)


async def test_elevenlabs_sends_its_path_query_key_and_voice_settings(sim: VoiceSim) -> None:
    settings = VoiceSettings(stability=0.4, similarity_boost=0.8, speed=1.1)
    async with speaking("elevenlabs", sim.url, voice_settings=settings, sample_rate=16_000) as s:
        heard = await listen(s, TEXT)
    assert heard.error is None
    [request] = sim.requests
    assert request.path == f"/v1/text-to-speech/{VOICE}/stream"
    assert request.query == {"output_format": "pcm_16000"}
    assert request.headers["xi-api-key"] == "<redacted>"
    assert request.headers["content-type"] == "application/json"
    assert request.fields == {
        "text": TEXT,
        "model_id": "eleven_flash_v2_5",
        "voice_settings": {"stability": 0.4, "similarity_boost": 0.8, "speed": 1.1},
    }
    assert s.sample_rate == 16_000
    assert heard.pcm == sim.speech_for(TEXT, 16_000, speed=1.1)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_blank_text_is_silence_without_a_request(sim: VoiceSim, provider: str) -> None:
    async with speaking(provider, sim.url) as synth:
        heard = await listen(synth, "  \n")
    assert heard.chunks == [] and heard.error is None and sim.requests == []


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_stopping_early_closes_the_response(sim: VoiceSim, provider: str) -> None:
    async with speaking(provider, sim.url) as synth:
        heard = await listen(synth, TEXT * 4, keep=1)
        [request] = sim.requests
        with trio.fail_after(5):
            await sim.wait_until(lambda: request.hung_up)
    assert len(heard.chunks) == 1 and len(request.chunk_times) < 4


@pytest.mark.parametrize(
    ("provider", "status", "code", "message"),
    [
        ("openai", 401, "invalid_api_key", "Incorrect API key provided: sk-****-key"),
        ("elevenlabs", 401, "invalid_api_key", "Invalid API key"),
    ],
)
async def test_a_bad_key_is_a_401_with_the_providers_message(
    sim: VoiceSim, provider: str, status: int, code: str, message: str
) -> None:
    async with speaking(provider, sim.url, key="sk-bad-key") as synth:
        heard = await listen(synth, TEXT)
    error = heard.error
    assert isinstance(error, CloudSpeechError)
    assert (error.provider, error.kind, error.status, error.code) == (
        provider,
        "http",
        status,
        code,
    )
    assert message in error.provider_message and "check the API key" in str(error)
    assert heard.chunks == [] and len(sim.requests) == 1


async def test_openai_refuses_an_unknown_voice_with_a_400(sim: VoiceSim) -> None:
    async with speaking("openai", sim.url, voice="gravel") as synth:
        heard = await listen(synth, TEXT)
    assert isinstance(heard.error, CloudSpeechError)
    assert (heard.error.status, heard.error.code) == (400, "invalid_value")
    assert "Invalid value 'gravel' for 'voice'" in str(heard.error)


async def test_elevenlabs_maps_its_detail_bodies(sim: VoiceSim) -> None:
    async with speaking("elevenlabs", sim.url, model="eleven_quantum_v9") as synth:
        unknown_model = await listen(synth, TEXT)
    async with speaking("elevenlabs", sim.url, voice_settings=VoiceSettings(stability=3.0)) as s:
        out_of_range = await listen(s, TEXT)
    first, second = unknown_model.error, out_of_range.error
    assert isinstance(first, CloudSpeechError) and isinstance(second, CloudSpeechError)
    assert (first.status, first.code) == (400, "model_not_found")
    assert "A model with model ID eleven_quantum_v9 does not exist" in first.provider_message
    assert (second.status, second.code) == (422, "validation_error")
    assert second.provider_message == "voice_settings.stability: Input should be between 0 and 1"


async def test_elevenlabs_reports_an_unknown_voice(sim: VoiceSim) -> None:
    synth = ElevenLabsSpeech(KEY, "nosuchvoice", base_url=sim.url)
    heard = await listen(synth, TEXT)
    await synth.aclose()
    assert isinstance(heard.error, CloudSpeechError)
    assert (heard.error.status, heard.error.code) == (400, "voice_not_found")


@pytest.mark.parametrize(("provider", "requests"), [("openai", 2), ("elevenlabs", 1)])
async def test_a_500_fails_after_the_sdks_one_retry_or_at_once(
    sim: VoiceSim, provider: str, requests: int
) -> None:
    sim.script_speech(server_error(), server_error(502))
    async with speaking(provider, sim.url) as synth:
        heard = await listen(synth, TEXT)
    assert isinstance(heard.error, CloudSpeechError)
    assert heard.error.status == (502 if requests == 2 else 500)
    assert "try again later" in str(heard.error)
    assert len(sim.requests) == requests and heard.chunks == []


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_refused_connection_is_a_connection_error(
    refused_url: str, mock_clock: trio.testing.MockClock, provider: str
) -> None:
    async with speaking(provider, refused_url) as synth:
        heard = await listen(synth, TEXT)
    assert isinstance(heard.error, CloudSpeechError)
    assert heard.error.kind == "connection" and heard.error.status is None
    assert "could not reach http://127.0.0.1:" in str(heard.error)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_connection_cut_mid_stream_is_an_error_after_the_audio_so_far(
    sim: VoiceSim, provider: str
) -> None:
    sim.script_speech(Disconnect(after_chunks=2))
    async with speaking(provider, sim.url) as synth:
        heard = await listen(synth, TEXT)
    assert isinstance(heard.error, CloudSpeechError) and heard.error.kind == "connection"
    expected = sim.speech_for(TEXT, 24_000)
    assert len(sim.requests[0].chunk_times) == 2 and len(heard.chunks) == 2
    # The sim cut after its second piece, mid-sample: the torn sample is not passed on.
    cut = (len(expected) * 2 // 4) | 1
    assert heard.pcm == expected[: cut - 1]
    assert len(sim.requests) == 1  # audio had started: nobody retries it


@pytest.mark.parametrize(("provider", "attempts"), [("openai", 2), ("elevenlabs", 1)])
async def test_a_server_that_never_answers_times_out_on_virtual_time(
    sim: VoiceSim, mock_clock: trio.testing.MockClock, provider: str, attempts: int
) -> None:
    sim.script_speech(Stall(), Stall())
    async with speaking(provider, sim.url, timeout=4.0) as synth:
        heard = await listen(synth, TEXT)
        failed_at = trio.current_time()
    assert isinstance(heard.error, CloudSpeechError) and heard.error.kind == "timeout"
    assert "no answer within 4 s (timed out)" in str(heard.error)
    assert len(sim.requests) == attempts
    assert failed_at - sim.requests[-1].at == pytest.approx(4.0)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_stream_that_goes_silent_times_out_after_the_first_chunk(
    sim: VoiceSim, mock_clock: trio.testing.MockClock, provider: str
) -> None:
    sim.script_speech(Stall(after_chunks=1))
    async with speaking(provider, sim.url, timeout=3.0) as synth:
        heard = await listen(synth, TEXT)
        failed_at = trio.current_time()
    assert isinstance(heard.error, CloudSpeechError) and heard.error.kind == "timeout"
    [request] = sim.requests
    assert len(heard.chunks) == 1 and len(request.chunk_times) == 1
    assert failed_at - request.chunk_times[0] == pytest.approx(3.0)
    with trio.fail_after(1):
        await sim.wait_until(lambda: request.hung_up)


async def test_a_scripted_elevenlabs_error_keeps_its_code(sim: VoiceSim) -> None:
    sim.script_speech(SimError(403, "Voice access denied", code="nope"))
    async with speaking("elevenlabs", sim.url) as synth:
        heard = await listen(synth, TEXT)
    assert isinstance(heard.error, CloudSpeechError)
    assert str(heard.error) == (
        "elevenlabs eleven_flash_v2_5: HTTP 403 nope: Voice access denied "
        "(the key may not use this model or voice)"
    )
    assert sim.requests[0].error == {"detail": {"status": "nope", "message": "Voice access denied"}}
