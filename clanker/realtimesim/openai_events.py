"""The OpenAI Realtime server events the sim sends, as plain dicts in the GA shapes.

Pure functions: no sockets, no clock. Field sets follow the GA API reference; the tests
validate every event the sim sends against the official SDK's pydantic server-event models
(``openai.types.realtime``), rejecting fields those models do not know.
"""

from __future__ import annotations

import math
from typing import Any

from clanker.realtimesim.script import RATE, SimResponse, SimUsage

PCM = {"type": "audio/pcm", "rate": RATE}
DEFAULT_VOICE = "alloy"


def default_session(session_id: str, model: str) -> dict[str, Any]:
    """The session a new connection starts with (server VAD on, as the real default)."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": model,
        "output_modalities": ["audio"],
        "instructions": "You are a helpful assistant (realtimesim).",
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": 0,
        "include": None,
        "audio": {
            "input": {
                "format": dict(PCM),
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 200,
                    "idle_timeout_ms": None,
                    "create_response": True,
                    "interrupt_response": True,
                },
            },
            "output": {"format": dict(PCM), "voice": DEFAULT_VOICE, "speed": 1.0},
        },
    }


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
    response: SimResponse,
    *,
    conversation_id: str | None,
    voice: str,
    output: list[dict[str, Any]],
    metadata: dict[str, str] | None,
    status_details: dict[str, Any] | None = None,
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": response.id,
        "object": "realtime.response",
        "status": response.status,
        "status_details": status_details,
        "output": output,
        "conversation_id": conversation_id,
        "output_modalities": ["audio"],
        "max_output_tokens": "inf",
        "audio": {"output": {"format": dict(PCM), "voice": voice}},
        "usage": usage,
        "metadata": metadata,
    }


def usage(
    given: SimUsage | None, *, audio_in_ms: int, text_in_chars: int, audio_out_ms: int, said: str
) -> dict[str, Any]:
    """The ``usage`` of a response: ``given`` fields where set, else estimates — a token per
    100 ms of audio heard, per 50 ms spoken, per four characters of text (round numbers for
    tests, not OpenAI's exact accounting)."""
    given = given or SimUsage()
    audio_in = given.audio_in if given.audio_in is not None else audio_in_ms // 100
    text_in = given.text_in if given.text_in is not None else math.ceil(text_in_chars / 4)
    audio_out = given.audio_out if given.audio_out is not None else audio_out_ms // 50
    text_out = given.text_out if given.text_out is not None else math.ceil(len(said) / 4)
    input_tokens = audio_in + text_in
    output_tokens = audio_out + text_out
    return {
        "total_tokens": input_tokens + output_tokens,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "input_token_details": {
            "text_tokens": text_in,
            "audio_tokens": audio_in,
            "image_tokens": 0,
            "cached_tokens": given.cached_in,
            "cached_tokens_details": {"text_tokens": given.cached_in, "audio_tokens": 0},
        },
        "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
    }
