"""The Gemini Live server messages `GeminiLiveSession` reads, as msgspec structs, and the
pure helpers that turn their pieces into our values (PCM, its rate, `Usage`).

Unknown fields are ignored, so a server that adds fields does not break the session; a field
of the wrong type fails the decode (the session makes that a ``bad_frame`` error).

This module imports nothing but msgspec and the standard library (a sans-IO core).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec

from clanker.voice.realtime.api import Usage

DEFAULT_OUTPUT_RATE = 24_000
"""Gemini's output rate, for an ``audio/pcm`` mime type without ``rate=``."""


class Blob(msgspec.Struct, rename="camel"):
    mime_type: str = ""
    data: str = ""


class Part(msgspec.Struct, rename="camel"):
    inline_data: Blob | None = None


class Content(msgspec.Struct):
    parts: list[Part] = []


class Transcription(msgspec.Struct):
    text: str = ""
    finished: bool = False


class ServerContent(msgspec.Struct, rename="camel"):
    model_turn: Content | None = None
    turn_complete: bool = False
    interrupted: bool = False
    input_transcription: Transcription | None = None
    output_transcription: Transcription | None = None
    turn_complete_reason: str = ""


class FunctionCall(msgspec.Struct):
    id: str = ""
    name: str = ""
    args: dict[str, Any] = {}


class ToolCall(msgspec.Struct, rename="camel"):
    function_calls: list[FunctionCall] = []


class Cancellation(msgspec.Struct):
    ids: list[str] = []


class ModalityCount(msgspec.Struct, rename="camel"):
    modality: str = ""
    token_count: int = 0


class UsageMetadata(msgspec.Struct, rename="camel"):
    prompt_token_count: int = 0
    cached_content_token_count: int = 0
    response_token_count: int = 0
    tool_use_prompt_token_count: int = 0
    thoughts_token_count: int = 0
    prompt_tokens_details: list[ModalityCount] = []
    response_tokens_details: list[ModalityCount] = []


class SetupComplete(msgspec.Struct, rename="camel"):
    session_id: str = ""


class GoAway(msgspec.Struct, rename="camel"):
    time_left: str = ""


class ServerMessage(msgspec.Struct, rename="camel"):
    setup_complete: SetupComplete | None = None
    server_content: ServerContent | None = None
    tool_call: ToolCall | None = None
    tool_call_cancellation: Cancellation | None = None
    usage_metadata: UsageMetadata | None = None
    go_away: GoAway | None = None


decode_server_message = msgspec.json.Decoder(ServerMessage).decode


def pcm_of(data: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"the audio inlineData is not base64 ({exc})") from exc


def rate_of(mime_type: str) -> int:
    for param in mime_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key == "rate":
            if not value.isdigit() or int(value) <= 0:
                raise ValueError(f"the audio mimeType {mime_type!r} has a bad rate")
            return int(value)
    return DEFAULT_OUTPUT_RATE


def usage_of(usage: UsageMetadata) -> Usage:
    given = {d.modality: d.token_count for d in usage.prompt_tokens_details}
    made = {d.modality: d.token_count for d in usage.response_tokens_details}
    if not given:
        given = {"TEXT": usage.prompt_token_count}
    if not made:
        made = {"TEXT": usage.response_token_count}
    return Usage(
        audio_in=given.get("AUDIO", 0),
        text_in=given.get("TEXT", 0) + usage.tool_use_prompt_token_count,
        cached_in=usage.cached_content_token_count,
        audio_out=made.get("AUDIO", 0),
        text_out=made.get("TEXT", 0) + usage.thoughts_token_count,
    )
