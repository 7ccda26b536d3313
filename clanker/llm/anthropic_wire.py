"""Anthropic Messages API ⇄ the neutral model (pure functions, no I/O).

* `request_params`: an `LlmRequest` as keyword arguments for ``messages.create``.
* `output_from_message`: a Message JSON object → `ProviderOutput`.
* `AnthropicStream`: fed the raw stream events (``message_start`` … ``message_stop``) as dicts,
  returns neutral deltas and, at the end, the `ProviderOutput`.

Prompt caching: a system part, text part or tool result marked ``cache`` gets
``cache_control: {"type": "ephemeral"}``. Anthropic reports ``input_tokens`` *excluding* cache
reads (``cache_read_input_tokens``) and writes (``cache_creation_input_tokens``), which is the
neutral `Usage` convention as is. Structured output uses ``output_config.format``. The SDK we
pin (anthropic 2.12) has no ``temperature`` parameter, so a request's temperature is not sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clanker.llm.errors import ErrorKind, status_kind
from clanker.llm.model import (
    ImagePart,
    LlmRequest,
    Part,
    ProviderOutput,
    StopReason,
    StreamDelta,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolCallDone,
    ToolUsePart,
    Usage,
    json_text,
    tool_call,
)

_EPHEMERAL = {"type": "ephemeral"}

_STOP: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "stop_sequence": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "model_context_window_exceeded": "max_tokens",
    "refusal": "refusal",
}

_ERROR_TYPES: dict[str, ErrorKind] = {
    "rate_limit_error": ErrorKind.RATE_LIMITED,
    "overloaded_error": ErrorKind.OVERLOADED,
    "api_error": ErrorKind.SERVER_ERROR,
    "timeout_error": ErrorKind.TIMEOUT,
    "invalid_request_error": ErrorKind.BAD_REQUEST,
    "not_found_error": ErrorKind.BAD_REQUEST,
    "request_too_large": ErrorKind.BAD_REQUEST,
    "authentication_error": ErrorKind.AUTH,
    "permission_error": ErrorKind.AUTH,
    "billing_error": ErrorKind.AUTH,
}


def error_kind(status: int | None, error_type: str | None) -> ErrorKind:
    """The neutral kind of an Anthropic error (HTTP status and/or ``error.type``)."""
    if error_type in _ERROR_TYPES:
        return _ERROR_TYPES[error_type]
    if status == 529:
        return ErrorKind.OVERLOADED
    return status_kind(status)


def stop_reason(raw: str | None) -> StopReason:
    """The neutral stop reason for Anthropic's ``stop_reason``."""
    return _STOP.get(raw or "", "other")


def _image_source(url: str) -> dict[str, Any]:
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type = header[len("data:") :].split(";")[0]
        return {"type": "base64", "media_type": media_type, "data": data}
    return {"type": "url", "url": url}


def _block(part: Part) -> dict[str, Any]:
    block: dict[str, Any]
    if isinstance(part, TextPart):
        block = {"type": "text", "text": part.text}
    elif isinstance(part, ImagePart):
        return {"type": "image", "source": _image_source(part.url)}
    elif isinstance(part, ToolUsePart):
        return {"type": "tool_use", "id": part.id, "name": part.name, "input": part.arguments}
    else:
        block = {
            "type": "tool_result",
            "tool_use_id": part.tool_use_id,
            "content": part.content,
        }
        if part.is_error:
            block["is_error"] = True
    if part.cache:
        block["cache_control"] = _EPHEMERAL
    return block


def request_params(request: LlmRequest, model: str) -> dict[str, Any]:
    """Keyword arguments for ``AsyncAnthropic().messages.create`` (without ``stream``)."""
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": request.max_tokens,
        "messages": [
            {"role": m.role, "content": [_block(p) for p in m.parts]} for m in request.messages
        ],
    }
    if request.system:
        params["system"] = [
            {"type": "text", "text": p.text, **({"cache_control": _EPHEMERAL} if p.cache else {})}
            for p in request.system
        ]
    if request.tools:
        params["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in request.tools
        ]
        choice = {"auto": "auto", "required": "any", "none": "none"}[request.tool_choice]
        params["tool_choice"] = {"type": choice}
    if request.output_schema is not None:
        params["output_config"] = {
            "format": {"type": "json_schema", "schema": request.output_schema.schema}
        }
    return params


def usage_from(usage: Mapping[str, Any] | None) -> Usage:
    """Neutral usage from an Anthropic ``usage`` object."""
    u = usage or {}
    return Usage(
        input_tokens=int(u.get("input_tokens") or 0),
        output_tokens=int(u.get("output_tokens") or 0),
        cache_read_tokens=int(u.get("cache_read_input_tokens") or 0),
        cache_write_tokens=int(u.get("cache_creation_input_tokens") or 0),
    )


def output_from_message(message: Mapping[str, Any]) -> ProviderOutput:
    """A `ProviderOutput` from a complete Message object."""
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in message.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text") or "")
        elif kind == "tool_use":
            calls.append(_call_from_input(block))
    raw = message.get("stop_reason") or ""
    return ProviderOutput(
        text="".join(texts),
        tool_calls=tuple(calls),
        stop_reason=stop_reason(raw),
        raw_stop_reason=raw,
        usage=usage_from(message.get("usage")),
        model=message.get("model") or "",
    )


def _call_from_input(block: Mapping[str, Any]) -> ToolCall:
    value = block.get("input")
    raw = json_text(value if value is not None else {})
    return tool_call(block.get("id") or "", block.get("name") or "", raw)


class AnthropicStream:
    """Accumulates a Messages stream: `feed` each event dict, then read `output`."""

    def __init__(self) -> None:
        self._texts: list[str] = []
        self._blocks: dict[int, dict[str, Any]] = {}  # open tool_use blocks by block index
        self._calls: list[ToolCall] = []
        self._usage: dict[str, Any] = {}
        self._model = ""
        self._stop = ""

    def feed(self, event: Mapping[str, Any]) -> list[StreamDelta]:
        """Take one stream event; return the neutral deltas it produced."""
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            self._model = message.get("model") or ""
            self._usage.update(message.get("usage") or {})
        elif kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                self._blocks[int(event.get("index", 0))] = {
                    "id": block.get("id") or "",
                    "name": block.get("name") or "",
                    "ordinal": len(self._calls) + len(self._blocks),
                    "json": [],
                }
            elif block.get("type") == "text" and block.get("text"):
                self._texts.append(block["text"])
                return [TextDelta(block["text"])]
        elif kind == "content_block_delta":
            return self._delta(int(event.get("index", 0)), event.get("delta") or {})
        elif kind == "content_block_stop":
            open_block = self._blocks.pop(int(event.get("index", 0)), None)
            if open_block is not None:
                call = tool_call(open_block["id"], open_block["name"], "".join(open_block["json"]))
                self._calls.append(call)
                return [ToolCallDone(open_block["ordinal"], call)]
        elif kind == "message_delta":
            self._stop = (event.get("delta") or {}).get("stop_reason") or self._stop
            # message_delta usage is cumulative; it may restate the input counts too.
            self._usage.update(
                {k: v for k, v in (event.get("usage") or {}).items() if v is not None}
            )
        return []

    def _delta(self, index: int, delta: Mapping[str, Any]) -> list[StreamDelta]:
        kind = delta.get("type")
        if kind == "text_delta":
            text = delta.get("text") or ""
            self._texts.append(text)
            return [TextDelta(text)] if text else []
        if kind == "input_json_delta" and index in self._blocks:
            block = self._blocks[index]
            piece = delta.get("partial_json") or ""
            block["json"].append(piece)
            return [ToolCallDelta(block["ordinal"], block["id"], block["name"], piece)]
        return []  # thinking, signatures, citations: not part of the neutral reply

    def output(self) -> ProviderOutput:
        """Everything streamed so far as one `ProviderOutput`."""
        return ProviderOutput(
            text="".join(self._texts),
            tool_calls=tuple(self._calls),
            stop_reason=stop_reason(self._stop),
            raw_stop_reason=self._stop,
            usage=usage_from(self._usage),
            model=self._model,
        )
