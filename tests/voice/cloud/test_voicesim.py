"""voicesim itself: its multipart parser (sans-IO) and its answers to malformed requests, sent
by hand with httpx so each request is exactly as bad as the test says."""

from __future__ import annotations

import io
import json
import wave

import httpx
import pytest

from clanker.voicesim import (
    FormPart,
    MultipartError,
    VoiceSim,
    boundary_of,
    parse_multipart,
    speech_pcm,
)

from .conftest import KEY, VOICE

pytestmark = pytest.mark.filterwarnings(
    "ignore:Async generator '(httpx|httpcore)\\.[^']*' was garbage collected:ResourceWarning"
)

B = "XyZ123"


def body(*parts: bytes, close: bool = True) -> bytes:
    out = b"".join(b"--" + B.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    return out + (b"--" + B.encode() + b"--\r\n" if close else b"")


def field(name: str, value: str) -> bytes:
    return f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}'.encode()


def wav(seconds: float = 0.5, rate: int = 16_000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x01\x00" * round(seconds * rate))
    return out.getvalue()


def file_part(data: bytes, filename: str = "clip.wav") -> bytes:
    quoted = filename.replace('"', '\\"')
    head = (
        f'Content-Disposition: form-data; name="file"; filename="{quoted}"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    )
    return head.encode() + data


# --- the parser -------------------------------------------------------------------------------


def test_parts_come_out_in_order_with_files_lists_and_binary_data() -> None:
    data = b"\r\n--" + B.encode()[:3] + b"\x00\xff"  # looks like a delimiter, is not one
    raw = body(field("model", "m"), field("include[]", "logprobs"), file_part(data, 'a"b.wav'))
    parts = parse_multipart(raw, B)
    assert parts == [
        FormPart("model", b"m"),
        FormPart("include[]", b"logprobs"),
        FormPart("file", data, filename='a"b.wav', content_type="audio/wav"),
    ]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"no boundary here", "does not contain the boundary"),
        (body(field("model", "m"), close=False), "ends before the closing boundary"),
        (body(b"Content-Type: text/plain\r\n\r\nx"), "has no Content-Disposition"),
        (body(b'Content-Disposition: form-data; filename="x"\r\n\r\nx'), "not a named"),
        (body(b"Content-Disposition: form-data; name=a"), "no blank line"),
        (body(b"garbage line\r\n\r\nx"), "malformed header line"),
    ],
)
def test_a_malformed_body_names_its_problem(raw: bytes, problem: str) -> None:
    with pytest.raises(MultipartError, match=problem):
        parse_multipart(raw, B)


@pytest.mark.parametrize(
    ("content_type", "problem"),
    [
        (None, "no Content-Type"),
        ("application/json", "takes multipart/form-data"),
        ("multipart/form-data", "no usable boundary"),
    ],
)
def test_the_content_type_must_carry_a_boundary(content_type: str | None, problem: str) -> None:
    with pytest.raises(MultipartError, match=problem):
        boundary_of(content_type)
    assert boundary_of('multipart/form-data; boundary="a b"') == "a b"


def test_the_speech_pattern_is_deterministic_and_proportional_to_the_text() -> None:
    assert speech_pcm("ab", 24_000) == speech_pcm("ab", 24_000)
    assert len(speech_pcm("hello", 24_000)) == 5 * 1440 * 2
    assert speech_pcm(" ", 16_000) == b"\x00\x00" * 960  # spaces are silent
    assert speech_pcm("a", 24_000) != speech_pcm("b", 24_000)


# --- the transcription route ------------------------------------------------------------------


async def post_form(sim: VoiceSim, raw: bytes, *, key: str = KEY, ctype: str | None = None):  # type: ignore[no-untyped-def]
    headers = {
        "authorization": f"Bearer {key}",
        "content-type": ctype or f"multipart/form-data; boundary={B}",
    }
    async with httpx.AsyncClient() as client:
        return await client.post(
            f"{sim.openai_url}/audio/transcriptions", content=raw, headers=headers
        )


def openai_error(response: httpx.Response) -> dict[str, object]:
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"].startswith("req_voicesim_")
    error: dict[str, object] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


@pytest.mark.parametrize(
    ("parts", "param", "code", "message"),
    [
        ((field("model", "gpt-4o-mini-transcribe"),), "file", "missing_required_parameter",
         "Missing required parameter: 'file'."),
        ((file_part(wav()),), "model", "missing_required_parameter",
         "Missing required parameter: 'model'."),
        ((field("model", "gpt-9"), file_part(wav())), "model", "invalid_value", "Invalid model"),
        ((field("model", "whisper-1"), field("include[]", "logprobs"), file_part(wav())),
         "include", "unsupported_value", "logprobs are only available"),
        ((field("model", "gpt-4o-transcribe"), field("response_format", "srt"),
          file_part(wav())), "response_format", "unsupported_value", "not compatible"),
        ((field("model", "whisper-1"), file_part(b"ID3 an mp3, really")), "file",
         "invalid_value", "Invalid file format"),
        ((field("model", "whisper-1"), file_part(wav(0.05))), "file", "audio_too_short",
         "Minimum audio length is 0.1 seconds"),
        ((field("model", "whisper-1"), field("temperature", "3"), file_part(wav())),
         "temperature", None, "between 0 and 1"),
    ],
)  # fmt: skip
async def test_bad_transcription_requests_get_openais_400(
    sim: VoiceSim, parts: tuple[bytes, ...], param: str, code: str | None, message: str
) -> None:
    sim.script_transcription("never used")
    response = await post_form(sim, body(*parts))
    assert response.status_code == 400
    error = openai_error(response)
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)
    assert message in str(error["message"])
    assert sim.pending == 1 and sim.requests[0].status == 400  # no turn taken


@pytest.mark.parametrize(
    ("raw", "ctype", "problem"),
    [
        (b'{"model": "whisper-1"}', "application/json", "takes multipart/form-data"),
        (body(field("model", "whisper-1"), close=False), None, "ends before the closing"),
    ],
)
async def test_a_body_that_is_not_a_form_is_a_400(
    sim: VoiceSim, raw: bytes, ctype: str | None, problem: str
) -> None:
    response = await post_form(sim, raw, ctype=ctype)
    assert response.status_code == 400
    error = openai_error(response)
    assert str(error["message"]).startswith("Could not parse multipart form: ")
    assert problem in str(error["message"]) and error["param"] is None


async def test_a_bad_key_is_a_401_that_takes_no_turn(sim: VoiceSim) -> None:
    sim.script_transcription("kept")
    response = await post_form(sim, body(field("model", "whisper-1"), file_part(wav())), key="x")
    assert response.status_code == 401
    assert openai_error(response)["code"] == "invalid_api_key"
    assert sim.pending == 1 and sim.requests[0].headers["authorization"] == "<redacted>"


async def test_text_format_answers_the_bare_transcript(sim: VoiceSim) -> None:
    sim.script_transcription(lambda request: f"{request.model} heard {request.audio.frames}")  # type: ignore[union-attr]
    raw = body(field("model", "whisper-1"), field("response_format", "text"), file_part(wav()))
    response = await post_form(sim, raw)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "whisper-1 heard 8000\n"


async def test_an_unknown_route_is_a_404(sim: VoiceSim) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{sim.url}/v1/audio/nothing")
    assert response.status_code == 404 and sim.requests[0].api is None


# --- the speech routes ------------------------------------------------------------------------


async def post_speech(sim: VoiceSim, path: str, payload: object, **params: str) -> httpx.Response:
    headers = {"authorization": f"Bearer {KEY}", "xi-api-key": KEY}
    async with httpx.AsyncClient() as client:
        return await client.post(f"{sim.url}{path}", json=payload, headers=headers, params=params)


@pytest.mark.parametrize(
    ("payload", "param", "message"),
    [
        ({"model": "gpt-4o-mini-tts", "voice": "coral"}, "input", "Missing required parameter"),
        ({"model": "gpt-4o-mini-tts", "voice": "coral", "input": "x"}, "response_format",
         "renders response_format pcm and wav only, not 'mp3'"),
        ({"model": "gpt-4o-mini-tts", "voice": "coral", "input": "x" * 4097,
          "response_format": "pcm"}, "input", "the maximum is 4096"),
        ({"model": "gpt-4o-mini-tts", "voice": "coral", "input": "x", "response_format": "pcm",
          "speed": 9}, "speed", "between 0.25 and 4.0"),
    ],
)  # fmt: skip
async def test_bad_openai_speech_requests_get_a_400(
    sim: VoiceSim, payload: dict[str, object], param: str, message: str
) -> None:
    response = await post_speech(sim, "/v1/audio/speech", payload)
    assert response.status_code == 400
    error = openai_error(response)
    assert error["param"] == param and message in str(error["message"])


async def test_openai_wav_speech_is_a_header_then_the_pcm(sim: VoiceSim) -> None:
    payload = {"model": "tts-1", "voice": {"id": "voice_123"}, "input": "abc",
               "response_format": "wav"}  # fmt: skip
    response = await post_speech(sim, "/v1/audio/speech", payload)
    assert response.status_code == 200 and response.headers["transfer-encoding"] == "chunked"
    with wave.open(io.BytesIO(response.content)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (24_000, 1, 2)
        assert w.readframes(w.getnframes()) == speech_pcm("abc", 24_000)


@pytest.mark.parametrize(
    ("payload", "params", "loc", "msg"),
    [
        ({"model_id": "eleven_flash_v2_5"}, {"output_format": "pcm_24000"}, ["body", "text"],
         "Field required"),
        ({"text": "hi"}, {"output_format": "wav_99"}, ["query", "output_format"],
         "Input should be one of"),
        ({"text": "hi", "voice_settings": {"use_speaker_boost": "yes"}},
         {"output_format": "pcm_24000"}, ["body", "voice_settings", "use_speaker_boost"],
         "Input should be a boolean"),
    ],
)  # fmt: skip
async def test_elevenlabs_validation_failures_are_422_lists(
    sim: VoiceSim, payload: object, params: dict[str, str], loc: list[str], msg: str
) -> None:
    response = await post_speech(sim, f"/v1/text-to-speech/{VOICE}/stream", payload, **params)
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == loc and problem["msg"].startswith(msg)


async def test_elevenlabs_refuses_text_over_the_models_limit(sim: VoiceSim) -> None:
    payload = {"text": "x" * 5001, "model_id": "eleven_v3"}
    response = await post_speech(
        sim, f"/v1/text-to-speech/{VOICE}/stream", payload, output_format="pcm_24000"
    )
    assert response.status_code == 400
    assert response.json()["detail"]["status"] == "max_character_limit_exceeded"


async def test_elevenlabs_unstreamed_route_answers_the_whole_clip(sim: VoiceSim) -> None:
    response = await post_speech(
        sim, f"/v1/text-to-speech/{VOICE}", {"text": "hey"}, output_format="pcm_16000"
    )
    assert response.status_code == 200 and "transfer-encoding" not in response.headers
    assert response.content == speech_pcm("hey", 16_000)
    assert sim.requests[0].fields == {"text": "hey"}
    assert json.loads(json.dumps(sim.requests[0].query)) == {"output_format": "pcm_16000"}
