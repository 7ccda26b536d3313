"""The Grok Voice Agent server events the xAI sim sends, as plain dicts.

Pure functions: no sockets, no clock. The shapes follow xAI's Voice Agent documentation
and the event models of xAI's own example client (docs/voice-realtime.md, "xAI"); the tests
check every event the sim sends against those documented shapes
(``tests/voice/realtime/xai_shapes.py``), refusing fields they do not name.
"""

from __future__ import annotations

import math
from typing import Any

DEFAULT_MODEL = "grok-voice-latest"
DEFAULT_VOICE = "eve"
VOICES = frozenset({"eve", "ara", "rex", "sal", "leo"})
"""The built-in voices (case-insensitive on the wire)."""
PCM_RATES = frozenset({8_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000})
G711 = frozenset({"audio/pcmu", "audio/pcma"})
TOOL_TYPES = frozenset({"function", "web_search", "x_search", "file_search"})
SESSION_FIELDS = frozenset(
    {"instructions", "voice", "turn_detection", "audio", "tools", "reasoning"}
)


def default_session(model: str) -> dict[str, Any]:
    """The session a new connection starts with (server VAD on, PCM at 24 kHz, Eve)."""
    pcm = {"type": "audio/pcm", "rate": 24_000}
    return {
        "model": model,
        "instructions": "",
        "voice": DEFAULT_VOICE,
        "turn_detection": {"type": "server_vad"},
        "audio": {"input": {"format": dict(pcm)}, "output": {"format": dict(pcm)}},
        "tools": [],
    }


def rate_of(session: dict[str, Any], direction: str) -> int:
    """The sample rate of the session's input or output audio (G.711 is 8 kHz)."""
    fmt = session["audio"][direction]["format"]
    return 8_000 if fmt["type"] in G711 else int(fmt["rate"])


def error(
    event_id: str,
    message: str,
    *,
    error_type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    answering: str | None = None,
) -> dict[str, Any]:
    """An ``error`` event; ``answering`` is the client event id it is about."""
    return {
        "type": "error",
        "event_id": event_id,
        "error": {
            "type": error_type,
            "code": code,
            "message": message,
            "param": param,
            "event_id": answering,
        },
    }


def assistant_item(item_id: str, status: str, transcript: str | None) -> dict[str, Any]:
    """An assistant audio message item (``content`` empty while ``transcript`` is None)."""
    content = [] if transcript is None else [{"type": "output_audio", "transcript": transcript}]
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def user_audio_item(item_id: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "role": "user",
        "status": "completed",
        "content": [{"type": "input_audio"}],
    }


def function_call_item(
    item_id: str, status: str, call_id: str, name: str, arguments: str
) -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def response_object(
    response_id: str,
    status: str,
    output: list[dict[str, Any]],
    *,
    status_details: dict[str, Any] | None = None,
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "realtime.response",
        "status": status,
        "status_details": status_details,
        "output": output,
        "usage": usage,
    }


def usage(*, heard_ms: int, text_chars: int, spoken_ms: int, said: str) -> dict[str, int]:
    """Token totals as xAI reports them (no split by modality): a token per 100 ms heard, per
    50 ms spoken, per four characters of text. Round numbers for tests, not xAI's
    accounting (which bills the session by the minute)."""
    input_tokens = heard_ms // 100 + math.ceil(text_chars / 4)
    output_tokens = spoken_ms // 50 + math.ceil(len(said) / 4)
    return {
        "total_tokens": input_tokens + output_tokens,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
    }
