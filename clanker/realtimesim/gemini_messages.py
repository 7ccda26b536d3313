"""The Gemini Live server messages the sim sends, as plain dicts in the v1beta JSON shapes.

Pure functions: no sockets, no clock. The tests validate every message the sim sends against
the official `google-genai` SDK's `LiveServerMessage` model, rejecting fields it does not know.
"""

from __future__ import annotations

import base64
import math
from typing import Any

from clanker.realtimesim.script import RATE, SimUsage

OUTPUT_MIME = f"audio/pcm;rate={RATE}"
AUDIO_TOKENS_PER_SECOND = 32
"""Gemini's documented rate for audio tokens (in and out); the sim's usage is an estimate."""


def setup_complete() -> dict[str, Any]:
    return {"setupComplete": {}}


def audio(pcm: bytes) -> dict[str, Any]:
    data = base64.b64encode(pcm).decode("ascii")
    part = {"inlineData": {"mimeType": OUTPUT_MIME, "data": data}}
    return {"serverContent": {"modelTurn": {"parts": [part]}}}


def output_transcription(text: str) -> dict[str, Any]:
    return {"serverContent": {"outputTranscription": {"text": text}}}


def input_transcription(text: str) -> dict[str, Any]:
    return {"serverContent": {"inputTranscription": {"text": text}}}


def generation_complete() -> dict[str, Any]:
    return {"serverContent": {"generationComplete": True}}


def interrupted() -> dict[str, Any]:
    return {"serverContent": {"interrupted": True}}


def turn_complete(usage: dict[str, Any] | None, reason: str | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {"turnComplete": True}
    if reason is not None:
        content["turnCompleteReason"] = reason
    message: dict[str, Any] = {"serverContent": content}
    if usage is not None:
        message["usageMetadata"] = usage
    return message


def tool_call(calls: list[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
    functions = [{"id": i, "name": name, "args": args} for i, name, args in calls]
    return {"toolCall": {"functionCalls": functions}}


def tool_call_cancellation(ids: list[str]) -> dict[str, Any]:
    return {"toolCallCancellation": {"ids": ids}}


def go_away(seconds: float) -> dict[str, Any]:
    """``timeLeft`` is a protobuf Duration in JSON: seconds with an ``s``."""
    return {"goAway": {"timeLeft": f"{seconds:g}s"}}


def usage(
    given: SimUsage | None, *, audio_in_ms: int, text_in_chars: int, audio_out_ms: int
) -> dict[str, Any]:
    """``usageMetadata`` for a model turn: ``given`` fields where set, else estimates (32
    audio tokens a second heard or spoken, a text token per four characters; a model that
    speaks reports its output as audio only)."""
    given = given or SimUsage()
    audio_in = (
        given.audio_in
        if given.audio_in is not None
        else audio_in_ms * AUDIO_TOKENS_PER_SECOND // 1000
    )
    text_in = given.text_in if given.text_in is not None else math.ceil(text_in_chars / 4)
    audio_out = (
        given.audio_out
        if given.audio_out is not None
        else audio_out_ms * AUDIO_TOKENS_PER_SECOND // 1000
    )
    text_out = given.text_out or 0
    prompt = [
        {"modality": "TEXT", "tokenCount": text_in},
        {"modality": "AUDIO", "tokenCount": audio_in},
    ]
    response = [{"modality": "AUDIO", "tokenCount": audio_out}]
    if text_out:
        response.append({"modality": "TEXT", "tokenCount": text_out})
    body: dict[str, Any] = {
        "promptTokenCount": text_in + audio_in,
        "responseTokenCount": audio_out + text_out,
        "totalTokenCount": text_in + audio_in + audio_out + text_out,
        "promptTokensDetails": prompt,
        "responseTokensDetails": response,
    }
    if given.cached_in:
        body["cachedContentTokenCount"] = given.cached_in
    return body
