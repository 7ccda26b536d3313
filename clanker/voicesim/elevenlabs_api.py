"""ElevenLabs' text-to-speech endpoints as voicesim speaks them (pure).

``POST /v1/text-to-speech/{voice_id}/stream?output_format=pcm_24000`` (and the unstreamed
``POST /v1/text-to-speech/{voice_id}``) with header ``xi-api-key`` and a JSON body ``{"text",
"model_id", "voice_settings": {"stability", "similarity_boost", "style", "use_speaker_boost",
"speed"}}``; the audio comes back as the raw bytes of ``output_format`` (the sim renders the
``pcm_<rate>`` formats: s16le mono at that rate).

Errors as ElevenLabs sends them: ``{"detail": {"status": "<code>", "message": "…"}}`` (401
``invalid_api_key``, 400 ``voice_not_found``, ``model_not_found``,
``max_character_limit_exceeded`` …), and request validation failures as 422 ``{"detail":
[{"type", "loc", "msg", "input"}]}``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from clanker.voicesim.openai_audio import BadInput
from clanker.voicesim.script import SimError

MODELS: dict[str, int] = {
    # model_id → the most characters one request may carry
    "eleven_flash_v2_5": 40_000,
    "eleven_turbo_v2_5": 40_000,
    "eleven_flash_v2": 30_000,
    "eleven_turbo_v2": 30_000,
    "eleven_multilingual_v2": 10_000,
    "eleven_monolingual_v1": 10_000,
    "eleven_v3": 5_000,
}
DEFAULT_MODEL = "eleven_multilingual_v2"
DEFAULT_OUTPUT_FORMAT = "mp3_44100_128"
PCM_RATES = frozenset({8_000, 16_000, 22_050, 24_000, 44_100, 48_000})
_KNOWN_FORMATS = frozenset(
    {
        *(f"pcm_{rate}" for rate in PCM_RATES),
        "mp3_22050_32",
        *(f"mp3_44100_{kbps}" for kbps in (32, 64, 96, 128, 192)),
        "ulaw_8000",
        "alaw_8000",
        *(f"opus_48000_{kbps}" for kbps in (32, 64, 96, 128, 192)),
    }
)
_SETTINGS_RANGES: dict[str, tuple[float, float]] = {
    "stability": (0.0, 1.0),
    "similarity_boost": (0.0, 1.0),
    "style": (0.0, 1.0),
    "speed": (0.7, 1.2),
}
VOICE_ID = re.compile(r"^[A-Za-z0-9]{20}$")
"""What the sim takes for a voice id when it is given no list of voices (ElevenLabs' ids are
20 letters and digits, e.g. ``JBFqnCBsd6RMkjVDRZzb``)."""


def error_body(error: SimError, request_id: str) -> tuple[list[tuple[str, str]], bytes]:
    """Headers and body of an ElevenLabs error (``{"detail": {"status", "message"}}``)."""
    code = error.code or {401: "invalid_api_key", 429: "too_many_concurrent_requests"}.get(
        error.status, "internal_error" if error.status >= 500 else "invalid_request"
    )
    body = {"detail": {"status": code, "message": error.message or code.replace("_", " ")}}
    headers = [("content-type", "application/json"), ("request-id", request_id)]
    if error.retry_after is not None:
        headers.append(("retry-after", f"{error.retry_after:g}"))
    return headers, json.dumps(body).encode()


def validation_body(problems: list[dict[str, Any]]) -> bytes:
    """A 422 body in FastAPI's shape."""
    return json.dumps({"detail": problems}).encode()


class Invalid(Exception):
    """A 422: the request does not fit the schema; ``problems`` in FastAPI's shape."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(p["msg"] for p in problems))
        self.problems = problems


def _problem(kind: str, loc: list[str | int], msg: str, value: Any) -> dict[str, Any]:
    return {"type": kind, "loc": loc, "msg": msg, "input": value}


@dataclass(frozen=True)
class ElevenLabsRequest:
    """A valid text-to-speech request."""

    voice_id: str
    text: str
    model_id: str
    rate: int
    speed: float


def tts_request(
    voice_id: str, query: dict[str, str], raw_body: bytes, voices: frozenset[str] | None
) -> ElevenLabsRequest:
    """Check a request; raises `Invalid` (422) or `BadInput` (400) as ElevenLabs would."""
    output_format = query.get("output_format", DEFAULT_OUTPUT_FORMAT)
    problems: list[dict[str, Any]] = []
    if output_format not in _KNOWN_FORMATS:
        msg = f"Input should be one of {', '.join(sorted(_KNOWN_FORMATS))}"
        problems.append(_problem("enum", ["query", "output_format"], msg, output_format))
    try:
        body = json.loads(raw_body) if raw_body else None
    except ValueError:
        raise Invalid([_problem("json_invalid", ["body", 0], "JSON decode error", {})]) from None
    if not isinstance(body, dict):
        problems.append(
            _problem("model_attributes_type", ["body"], "Input should be an object", body)
        )
        raise Invalid(problems)
    text = body.get("text")
    if text is None:
        problems.append(_problem("missing", ["body", "text"], "Field required", body))
    elif not isinstance(text, str):
        problems.append(_problem("string_type", ["body", "text"], "Input should be a string", text))
    settings = body.get("voice_settings")
    speed = 1.0
    if settings is not None:
        if not isinstance(settings, dict):
            loc: list[str | int] = ["body", "voice_settings"]
            problems.append(_problem("model_type", loc, "Input should be an object", settings))
        else:
            for name, (low, high) in _SETTINGS_RANGES.items():
                value = settings.get(name)
                if value is None:
                    continue
                where: list[str | int] = ["body", "voice_settings", name]
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    problems.append(
                        _problem("float_type", where, "Input should be a number", value)
                    )
                elif not low <= value <= high:
                    msg = f"Input should be between {low:g} and {high:g}"
                    problems.append(_problem("value_error", where, msg, value))
            boost = settings.get("use_speaker_boost")
            if boost is not None and not isinstance(boost, bool):
                where = ["body", "voice_settings", "use_speaker_boost"]
                problems.append(_problem("bool_type", where, "Input should be a boolean", boost))
            if isinstance(settings.get("speed"), (int, float)):
                speed = float(settings["speed"])
    if problems:
        raise Invalid(problems)
    assert isinstance(text, str)
    model_id = body.get("model_id") or DEFAULT_MODEL
    if model_id not in MODELS:
        message = f"A model with model ID {model_id} does not exist or cannot do text to speech."
        raise BadInput(SimError(400, message, code="model_not_found"))
    known = VOICE_ID.match(voice_id) is not None if voices is None else voice_id in voices
    if not known:
        message = f"A voice with the voice_id {voice_id} was not found."
        raise BadInput(SimError(400, message, code="voice_not_found"))
    limit = MODELS[model_id]
    if len(text) > limit:
        message = (
            f"This request's text has {len(text)} characters and exceeds the character limit "
            f"of {limit} characters for {model_id}."
        )
        raise BadInput(SimError(400, message, code="max_character_limit_exceeded"))
    if not output_format.startswith("pcm_"):
        message = f"voicesim renders the pcm_* output formats only, not {output_format}."
        raise BadInput(SimError(400, message, code="unsupported_output_format"))
    rate = int(output_format.removeprefix("pcm_"))
    return ElevenLabsRequest(
        voice_id=voice_id, text=text, model_id=model_id, rate=rate, speed=speed
    )
