"""`OpenAiTranscriber` through the real `openai` SDK against voicesim's transcription route."""

from __future__ import annotations

import numpy as np
import pytest
import trio
import trio.testing

from clanker.voice.cloud import CloudSpeechError, OpenAiTranscriber
from clanker.voicesim import (
    Disconnect,
    SimError,
    SimTranscript,
    Stall,
    VoiceSim,
    server_error,
    speech_pcm,
)

from .conftest import KEY


def tone(seconds: float, rate: int = 16_000) -> bytes:
    t = np.arange(round(seconds * rate)) / rate
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()


def transcriber(sim: VoiceSim, **options: object) -> OpenAiTranscriber:
    return OpenAiTranscriber(KEY, base_url=sim.openai_url, **options)  # type: ignore[arg-type]


async def test_a_clip_goes_up_as_a_wav_and_the_scripted_text_comes_back(sim: VoiceSim) -> None:
    sim.script_transcription(SimTranscript(" hey clanker, you there? ", logprobs=(-0.1, -0.3)))
    asr = transcriber(sim)
    clip = tone(1.5)
    try:
        heard = await asr.transcribe(clip, 16_000, prompt="Names: clanker, alice.")
    finally:
        await asr.aclose()
    assert heard.text == "hey clanker, you there?"
    # The sim answered two token logprobs for the first two tokens: their mean.
    assert heard.avg_logprob == pytest.approx(-0.2)
    assert heard.language == "en"
    [request] = sim.requests
    assert request.path == "/v1/audio/transcriptions"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert request.file_name == "clip.wav" and request.file_content_type == "audio/wav"
    assert request.audio is not None
    assert (request.audio.rate, request.audio.channels, request.audio.sample_width) == (
        16_000,
        1,
        2,
    )
    assert request.audio.duration == 1.5
    assert request.audio.pcm == clip
    assert request.fields == {
        "model": "gpt-4o-mini-transcribe",
        "language": "en",
        "prompt": "Names: clanker, alice.",
        "response_format": "json",
        "include[]": ["logprobs"],
    }


async def test_the_default_answer_reports_what_the_sim_heard_at_any_rate(sim: VoiceSim) -> None:
    asr = transcriber(sim)
    try:
        heard = await asr.transcribe(speech_pcm("abc", 48_000), 48_000)
    finally:
        await asr.aclose()
    assert heard.text == "voicesim heard 0.18 s at 48000 Hz"
    assert heard.avg_logprob == pytest.approx(-0.05)
    assert "prompt" not in sim.requests[0].fields  # an empty prompt is not sent


async def test_a_model_without_logprobs_is_not_asked_for_them(sim: VoiceSim) -> None:
    sim.script_transcription("plain words")
    asr = transcriber(sim, model="whisper-1")
    try:
        heard = await asr.transcribe(tone(0.5), 16_000)
    finally:
        await asr.aclose()
    assert heard.text == "plain words" and heard.avg_logprob is None
    assert "include[]" not in sim.requests[0].fields


async def test_a_bad_key_is_a_401_naming_the_provider(sim: VoiceSim) -> None:
    asr = OpenAiTranscriber("sk-wrong-key-1234", base_url=sim.openai_url)
    with pytest.raises(CloudSpeechError) as caught:
        await asr.transcribe(tone(0.5), 16_000)
    await asr.aclose()
    error = caught.value
    assert (error.provider, error.kind, error.status, error.code) == (
        "openai",
        "http",
        401,
        "invalid_api_key",
    )
    assert "Incorrect API key provided: sk-****1234" in str(error)
    assert str(error).startswith("openai gpt-4o-mini-transcribe: HTTP 401")
    assert len(sim.requests) == 1  # a 401 is not retried


async def test_an_unsupported_model_is_a_400_with_openais_message(sim: VoiceSim) -> None:
    asr = transcriber(sim, model="gpt-5-hears-all")
    with pytest.raises(CloudSpeechError) as caught:
        await asr.transcribe(tone(0.5), 16_000)
    await asr.aclose()
    assert caught.value.status == 400 and caught.value.code == "invalid_value"
    assert "Invalid model 'gpt-5-hears-all'" in caught.value.provider_message
    assert sim.requests[0].error == {
        "error": {
            "message": caught.value.provider_message,
            "type": "invalid_request_error",
            "param": "model",
            "code": "invalid_value",
        }
    }


async def test_a_too_short_clip_is_refused_by_the_provider(sim: VoiceSim) -> None:
    asr = transcriber(sim)
    with pytest.raises(CloudSpeechError) as caught:
        await asr.transcribe(tone(0.05), 16_000)
    await asr.aclose()
    assert (caught.value.status, caught.value.code) == (400, "audio_too_short")


async def test_a_500_is_retried_once_then_reported(sim: VoiceSim) -> None:
    sim.script_transcription(server_error(), server_error(503))
    asr = transcriber(sim)
    with pytest.raises(CloudSpeechError) as caught:
        await asr.transcribe(tone(0.5), 16_000)
    await asr.aclose()
    assert len(sim.requests) == 2  # max_retries=1: one retry, then the error
    assert (caught.value.status, caught.value.code) == (503, "server_is_overloaded")
    assert "try again later" in str(caught.value)


async def test_a_500_then_an_answer_succeeds_on_the_retry(sim: VoiceSim) -> None:
    sim.script_transcription(server_error(), "second time lucky")
    asr = transcriber(sim)
    try:
        heard = await asr.transcribe(tone(0.5), 16_000)
    finally:
        await asr.aclose()
    assert heard.text == "second time lucky" and len(sim.requests) == 2


async def test_a_refused_connection_is_a_connection_error(
    refused_url: str, mock_clock: trio.testing.MockClock
) -> None:
    asr = OpenAiTranscriber(KEY, base_url=f"{refused_url}/v1")
    with pytest.raises(CloudSpeechError) as caught:
        await asr.transcribe(tone(0.5), 16_000)
    await asr.aclose()
    assert caught.value.kind == "connection" and caught.value.status is None
    assert f"could not reach {refused_url}/v1" in str(caught.value)


async def test_a_dropped_connection_is_a_connection_error(
    sim: VoiceSim, mock_clock: trio.testing.MockClock
) -> None:
    sim.script_transcription(Disconnect(), Disconnect())
    asr = transcriber(sim)
    with pytest.raises(CloudSpeechError) as caught:
        await asr.transcribe(tone(0.5), 16_000)
    await asr.aclose()
    assert caught.value.kind == "connection" and len(sim.requests) == 2


async def test_a_silent_server_times_out_after_the_timeout_twice(
    sim: VoiceSim, mock_clock: trio.testing.MockClock
) -> None:
    sim.script_transcription(Stall(), Stall())
    asr = transcriber(sim, timeout=7.5)
    start = trio.current_time()
    with pytest.raises(CloudSpeechError) as caught:
        await asr.transcribe(tone(0.5), 16_000)
    failed_at = trio.current_time()
    await asr.aclose()
    assert caught.value.kind == "timeout"
    assert "no answer within 7.5 s" in str(caught.value)
    first, second = sim.requests
    assert first.at == start
    # The SDK's one retry comes after its back-off (0.5 s less up to 25 % jitter).
    assert 7.5 + 0.375 <= second.at - first.at <= 7.5 + 0.5
    assert failed_at - second.at == pytest.approx(7.5)
    await sim.wait_until(lambda: first.hung_up and second.hung_up)


async def test_a_scripted_error_in_openais_shape_is_passed_on(sim: VoiceSim) -> None:
    limited = SimError(429, "Rate limit reached", code="rate_limit_exceeded", retry_after=0.01)
    sim.script_transcription(limited, SimError(429, "Still limited"))
    asr = transcriber(sim)
    with pytest.raises(CloudSpeechError) as caught:
        await asr.transcribe(tone(0.5), 16_000)
    await asr.aclose()
    assert caught.value.status == 429 and caught.value.provider_message == "Still limited"
    assert "rate limited" in str(caught.value)
