"""OpenAI's audio endpoints as voicesim speaks them (pure: parsed requests in, bodies out).

``POST /v1/audio/transcriptions`` (multipart/form-data): ``file`` (a WAV here; the real API
also takes flac, mp3, ogg, webm …), ``model``, optional ``language``, ``prompt``,
``response_format`` (``json`` default, ``text``; the other formats are refused by the sim),
``temperature`` and ``include[]`` (``logprobs``: only with ``json`` and the gpt-4o
transcribe models). ``json`` answers ``{"text", "usage"}`` plus ``"logprobs": [{"token",
"logprob", "bytes"}]`` when asked; ``text`` answers the bare text.

``POST /v1/audio/speech`` (JSON): ``model``, ``input`` (≤ 4096 characters), ``voice`` (a
built-in name or ``{"id": …}``), ``response_format`` (the sim renders ``pcm`` — raw 24 kHz
s16le mono — and ``wav``), ``speed`` 0.25 to 4, ``instructions``; streamed with chunked transfer.

Errors are ``{"error": {"message", "type", "param", "code"}}`` with ``x-request-id``.
"""

from __future__ import annotations

import json
import math
import re
import struct
from dataclasses import dataclass
from typing import Any

from clanker.voicesim._multipart import FormPart
from clanker.voicesim.script import SimError, SimTranscript

TRANSCRIBE_MODELS = frozenset(
    {
        "gpt-4o-mini-transcribe",
        "gpt-4o-mini-transcribe-2025-12-15",
        "gpt-4o-transcribe",
        "gpt-4o-transcribe-diarize",
        "gpt-transcribe",
        "whisper-1",
    }
)
LOGPROB_MODELS = frozenset(
    {"gpt-4o-mini-transcribe", "gpt-4o-mini-transcribe-2025-12-15", "gpt-4o-transcribe"}
)
SPEECH_MODELS = frozenset({"gpt-4o-mini-tts", "gpt-4o-mini-tts-2025-12-15", "tts-1", "tts-1-hd"})
VOICES = frozenset(
    {
        "alloy",
        "ash",
        "ballad",
        "cedar",
        "coral",
        "echo",
        "fable",
        "marin",
        "nova",
        "onyx",
        "sage",
        "shimmer",
        "verse",
    }
)
SPEECH_RATE = 24_000
"""OpenAI's ``pcm`` speech: 24 kHz, 16-bit signed little-endian, mono."""

MIN_CLIP_SECONDS = 0.1
_FORMATS = ("json", "text", "srt", "verbose_json", "vtt", "diarized_json")
_ERROR_DEFAULTS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", "server_is_overloaded"),
}


class BadInput(Exception):
    """The request is refused; ``error`` is the reply."""

    def __init__(self, error: SimError) -> None:
        super().__init__(error.message)
        self.error = error


def _bad(message: str, param: str | None, code: str | None = None) -> BadInput:
    return BadInput(SimError(400, message, code=code, param=param))


def error_body(error: SimError, request_id: str) -> tuple[list[tuple[str, str]], bytes]:
    """Headers and body of an OpenAI error response."""
    default_type, default_code = _ERROR_DEFAULTS.get(
        error.status, ("server_error" if error.status >= 500 else "invalid_request_error", None)
    )
    body = {
        "error": {
            "message": error.message or default_type,
            "type": error.error_type or default_type,
            "param": error.param,
            "code": error.code or default_code,
        }
    }
    headers = [("content-type", "application/json"), ("x-request-id", request_id)]
    if error.retry_after is not None:
        headers.append(("retry-after", f"{error.retry_after:g}"))
        headers.append(("retry-after-ms", f"{error.retry_after * 1000:g}"))
    return headers, json.dumps(body).encode()


def unauthorized(key_shown: str) -> SimError:
    """OpenAI's answer to a wrong or missing key."""
    if not key_shown:
        message = "You didn't provide an API key. Provide it in an Authorization header."
    else:
        message = f"Incorrect API key provided: {key_shown}."
    return SimError(401, message, code="invalid_api_key")


# --- transcriptions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TranscriptionForm:
    """The form fields of a transcription request (``fields``) and its file part."""

    fields: dict[str, Any]
    file: FormPart


def transcription_form(parts: list[FormPart]) -> TranscriptionForm:
    """Fields from the parts (a repeated or ``name[]`` field becomes a list); raises
    `BadInput` for a missing or unusable field."""
    fields: dict[str, Any] = {}
    file: FormPart | None = None
    for part in parts:
        if part.name == "file":
            if file is not None:
                raise _bad("Only one file may be uploaded per request.", "file")
            file = part
            continue
        value = part.text()
        if part.name.endswith("[]"):
            fields.setdefault(part.name, []).append(value)
        else:
            fields[part.name] = value
    if file is None:
        raise _bad("Missing required parameter: 'file'.", "file", "missing_required_parameter")
    if file.filename is None:
        raise _bad("The 'file' part must be a file upload (give it a filename).", "file")
    model = fields.get("model")
    if not model:
        raise _bad("Missing required parameter: 'model'.", "model", "missing_required_parameter")
    if model not in TRANSCRIBE_MODELS:
        raise _bad(
            f"Invalid model '{model}'. Supported models: {', '.join(sorted(TRANSCRIBE_MODELS))}.",
            "model",
            "invalid_value",
        )
    response_format = fields.get("response_format", "json")
    if response_format not in _FORMATS:
        raise _bad(
            f"Invalid value '{response_format}' for 'response_format': use one of "
            f"{', '.join(_FORMATS)}.",
            "response_format",
            "invalid_value",
        )
    if model.startswith("gpt-4o") and response_format not in ("json", "text"):
        raise _bad(
            f"response_format '{response_format}' is not compatible with model '{model}'; "
            "use json or text.",
            "response_format",
            "unsupported_value",
        )
    if response_format not in ("json", "text"):
        raise _bad(
            f"voicesim renders response_format json and text only, not '{response_format}'.",
            "response_format",
            "unsupported_value",
        )
    include = fields.get("include[]", [])
    for item in include:
        if item != "logprobs":
            raise _bad(f"Invalid value '{item}' in 'include'.", "include", "invalid_value")
    if include and (model not in LOGPROB_MODELS or response_format != "json"):
        raise _bad(
            "logprobs are only available with response_format json and the models "
            f"{', '.join(sorted(LOGPROB_MODELS))}.",
            "include",
            "unsupported_value",
        )
    language = fields.get("language")
    if language is not None and not re.fullmatch(r"[a-z]{2,3}", language):
        raise _bad(f"Invalid language '{language}': use ISO-639-1 (e.g. en).", "language")
    temperature = fields.get("temperature")
    if temperature is not None:
        try:
            ok = 0.0 <= float(temperature) <= 1.0
        except ValueError:
            ok = False
        if not ok:
            raise _bad(f"Invalid temperature '{temperature}': between 0 and 1.", "temperature")
    return TranscriptionForm(fields=fields, file=file)


def transcription_reply(
    answer: SimTranscript, fields: dict[str, Any], duration: float
) -> tuple[str, bytes]:
    """(content type, body) of a successful transcription."""
    if fields.get("response_format", "json") == "text":
        return "text/plain; charset=utf-8", (answer.text + "\n").encode()
    model = fields["model"]
    body: dict[str, Any] = {"text": answer.text}
    tokens = re.findall(r"\s*\S+", answer.text)
    if "logprobs" in fields.get("include[]", []):
        values = answer.logprobs if answer.logprobs is not None else (answer.logprob,) * len(tokens)
        body["logprobs"] = [
            {"token": token, "logprob": value, "bytes": list(token.encode())}
            for token, value in zip(tokens, values, strict=False)
        ]
    if model == "whisper-1":
        body["usage"] = {"type": "duration", "seconds": math.ceil(duration)}
    else:
        audio_tokens = math.ceil(duration * 10)
        prompt_tokens = len(re.findall(r"\S+", fields.get("prompt", "")))
        body["usage"] = {
            "type": "tokens",
            "input_tokens": audio_tokens + prompt_tokens,
            "input_token_details": {"text_tokens": prompt_tokens, "audio_tokens": audio_tokens},
            "output_tokens": len(tokens),
            "total_tokens": audio_tokens + prompt_tokens + len(tokens),
        }
    return "application/json", json.dumps(body).encode()


# --- speech -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeechRequest:
    """A valid speech request."""

    text: str
    response_format: str
    speed: float


def speech_request(body: object) -> SpeechRequest:
    """Check a speech body; raises `BadInput` naming the field."""
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object.", None)
    for name in ("model", "input", "voice"):
        if name not in body:
            raise _bad(f"Missing required parameter: '{name}'.", name, "missing_required_parameter")
    model, text, voice = body["model"], body["input"], body["voice"]
    if model not in SPEECH_MODELS:
        raise _bad(
            f"Invalid model '{model}'. Supported models: {', '.join(sorted(SPEECH_MODELS))}.",
            "model",
            "invalid_value",
        )
    if not isinstance(text, str):
        raise _bad("'input' must be a string.", "input", "invalid_type")
    if len(text) > 4096:
        raise _bad(
            f"'input' is {len(text)} characters; the maximum is 4096.",
            "input",
            "string_above_max_length",
        )
    custom = isinstance(voice, dict) and isinstance(voice.get("id"), str)
    if not custom and voice not in VOICES:
        raise _bad(
            f"Invalid value '{voice}' for 'voice': use one of {', '.join(sorted(VOICES))} "
            'or {"id": "voice_..."}.',
            "voice",
            "invalid_value",
        )
    response_format = body.get("response_format", "mp3")
    if response_format not in ("mp3", "opus", "aac", "flac", "wav", "pcm"):
        raise _bad(
            f"Invalid value '{response_format}' for 'response_format'.",
            "response_format",
            "invalid_value",
        )
    if response_format not in ("pcm", "wav"):
        raise _bad(
            f"voicesim renders response_format pcm and wav only, not '{response_format}'.",
            "response_format",
            "unsupported_value",
        )
    speed = body.get("speed", 1.0)
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not 0.25 <= speed <= 4:
        raise _bad(f"Invalid 'speed' {speed!r}: between 0.25 and 4.0.", "speed", "invalid_value")
    if "instructions" in body and not isinstance(body["instructions"], str):
        raise _bad("'instructions' must be a string.", "instructions", "invalid_type")
    return SpeechRequest(text=text, response_format=response_format, speed=float(speed))


def wav_header(pcm_bytes: int, rate: int = SPEECH_RATE) -> bytes:
    """The 44-byte header of a mono s16le WAV holding ``pcm_bytes`` of audio."""
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + pcm_bytes)
        + b"WAVEfmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", pcm_bytes)
    )
