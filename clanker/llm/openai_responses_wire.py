"""OpenAI Responses API ⇄ the neutral model (pure functions, no I/O).

* `request_params`: an `LlmRequest` as keyword arguments for ``responses.create``: the system
  prompt becomes ``instructions``, messages become input items (tool calls as
  ``function_call`` items, tool results as ``function_call_output`` items), a structured-output
  schema becomes ``text.format`` (``json_schema``). ``store`` is false: nothing is kept
  server-side.
* `output_from_response`: a Response JSON object → `ProviderOutput`.
* `ResponsesStream`: fed the stream events (``response.output_text.delta``,
  ``response.function_call_arguments.delta``, ``response.completed`` …), returns neutral deltas.

OpenAI's ``input_tokens`` *include* cached tokens (``input_tokens_details.cached_tokens``) and
cache writes (``cache_write_tokens``); the neutral `Usage` counts them apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clanker.llm.errors import ErrorKind, ProviderError, status_kind
from clanker.llm.model import (
    ImagePart,
    LlmRequest,
    ProviderOutput,
    StopReason,
    StreamDelta,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolCallDone,
    ToolResultPart,
    ToolUsePart,
    Usage,
    json_text,
    tool_call,
)

_ERROR_CODES: dict[str, ErrorKind] = {
    "rate_limit_exceeded": ErrorKind.RATE_LIMITED,
    "insufficient_quota": ErrorKind.AUTH,
    "server_error": ErrorKind.SERVER_ERROR,
    "server_is_overloaded": ErrorKind.OVERLOADED,
    "slow_down": ErrorKind.RATE_LIMITED,
    "invalid_api_key": ErrorKind.AUTH,
    "invalid_prompt": ErrorKind.BAD_REQUEST,
    "context_length_exceeded": ErrorKind.BAD_REQUEST,
}


def error_kind(status: int | None, code: str | None, error_type: str | None = None) -> ErrorKind:
    """The neutral kind of an OpenAI-style error (status, ``error.code``, ``error.type``)."""
    if code in _ERROR_CODES:
        return _ERROR_CODES[code]
    if status is not None:
        return status_kind(status)
    if error_type in ("invalid_request_error",):
        return ErrorKind.BAD_REQUEST
    if error_type in ("authentication_error", "permission_error"):
        return ErrorKind.AUTH
    return ErrorKind.SERVER_ERROR


def usage_from(usage: Mapping[str, Any] | None) -> Usage:
    """Neutral usage from a Responses ``usage`` object."""
    u = usage or {}
    details = u.get("input_tokens_details") or {}
    cached = int(details.get("cached_tokens") or 0)
    written = int(details.get("cache_write_tokens") or 0)
    total_in = int(u.get("input_tokens") or 0)
    return Usage(
        input_tokens=max(total_in - cached - written, 0),
        output_tokens=int(u.get("output_tokens") or 0),
        cache_read_tokens=cached,
        cache_write_tokens=written,
    )


def _content(role: str, part: TextPart | ImagePart) -> dict[str, Any]:
    if role == "assistant":
        assert isinstance(part, TextPart)
        return {"type": "output_text", "text": part.text, "annotations": []}
    if isinstance(part, TextPart):
        return {"type": "input_text", "text": part.text}
    return {"type": "input_image", "image_url": part.url, "detail": "auto"}


def input_items(request: LlmRequest) -> list[dict[str, Any]]:
    """The conversation as Responses input items, in order (a message is split around its tool
    calls and tool results, which are items of their own)."""
    items: list[dict[str, Any]] = []
    for message in request.messages:
        pending: list[dict[str, Any]] = []
        for part in message.parts:
            if isinstance(part, ToolUsePart | ToolResultPart):
                if pending:
                    items.append({"type": "message", "role": message.role, "content": pending})
                    pending = []
                if isinstance(part, ToolUsePart):
                    items.append(
                        {
                            "type": "function_call",
                            "call_id": part.id,
                            "name": part.name,
                            "arguments": json_text(part.arguments),
                        }
                    )
                else:
                    output = f"ERROR: {part.content}" if part.is_error else part.content
                    items.append(
                        {
                            "type": "function_call_output",
                            "call_id": part.tool_use_id,
                            "output": output,
                        }
                    )
            else:
                pending.append(_content(message.role, part))
        if pending:
            items.append({"type": "message", "role": message.role, "content": pending})
    return items


def request_params(request: LlmRequest, model: str) -> dict[str, Any]:
    """Keyword arguments for ``AsyncOpenAI().responses.create`` (without ``stream``)."""
    params: dict[str, Any] = {
        "model": model,
        "input": input_items(request),
        "max_output_tokens": request.max_tokens,
        "store": False,
    }
    if request.system:
        params["instructions"] = request.system_text
    if request.temperature is not None:
        params["temperature"] = request.temperature
    if request.tools:
        params["tools"] = [
            {
                "type": "function",
                "name": t.name,
                "description": t.description,
                "parameters": t.parameters,
                "strict": t.strict,
            }
            for t in request.tools
        ]
        params["tool_choice"] = request.tool_choice
    if request.output_schema is not None:
        s = request.output_schema
        params["text"] = {
            "format": {
                "type": "json_schema",
                "name": s.name,
                "schema": s.schema,
                "strict": s.strict,
            }
        }
    return params


def _stop(
    status: str | None, incomplete_reason: str | None, calls: int, refused: bool
) -> StopReason:
    if status == "incomplete":
        if incomplete_reason == "max_output_tokens":
            return "max_tokens"
        if incomplete_reason == "content_filter":
            return "refusal"
        return "other"
    if refused:
        return "refusal"
    if calls:
        return "tool_use"
    return "end_turn" if status in (None, "completed") else "other"


def output_from_response(response: Mapping[str, Any]) -> ProviderOutput:
    """A `ProviderOutput` from a complete Response object."""
    texts: list[str] = []
    calls: list[ToolCall] = []
    refused = False
    for item in response.get("output") or ():
        kind = item.get("type")
        if kind == "message":
            for content in item.get("content") or ():
                if content.get("type") == "output_text":
                    texts.append(content.get("text") or "")
                elif content.get("type") == "refusal":
                    texts.append(content.get("refusal") or "")
                    refused = True
        elif kind == "function_call":
            calls.append(
                tool_call(
                    item.get("call_id") or "", item.get("name") or "", item.get("arguments") or ""
                )
            )
    status = response.get("status")
    reason = (response.get("incomplete_details") or {}).get("reason")
    return ProviderOutput(
        text="".join(texts),
        tool_calls=tuple(calls),
        stop_reason=_stop(status, reason, len(calls), refused),
        raw_stop_reason=reason or status or "",
        usage=usage_from(response.get("usage")),
        model=response.get("model") or "",
    )


class StreamFailed(Exception):
    """The stream carried an ``error`` or ``response.failed`` event."""

    def __init__(self, code: str | None, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code or 'error'}: {message}")

    def to_error(self, provider: str, model: str) -> ProviderError:
        """The neutral error for this failure."""
        return ProviderError(
            provider=provider, model=model, kind=error_kind(None, self.code), message=self.message
        )


class ResponsesStream:
    """Accumulates a Responses stream: `feed` each event dict, then read `output`.

    The final ``response.completed`` (or ``response.incomplete``) event carries the whole
    response; when it arrives, `output` is built from it. An ``error`` or ``response.failed``
    event raises `StreamFailed`.
    """

    def __init__(self) -> None:
        self._texts: list[str] = []
        self._calls: dict[str, dict[str, Any]] = {}  # by item id
        self._done: list[ToolCall] = []
        self._final: Mapping[str, Any] | None = None
        self._model = ""

    def feed(self, event: Mapping[str, Any]) -> list[StreamDelta]:
        """Take one stream event; return the neutral deltas it produced."""
        kind = event.get("type")
        if kind == "response.created":
            self._model = (event.get("response") or {}).get("model") or ""
        elif kind in ("response.output_text.delta", "response.refusal.delta"):
            text = event.get("delta") or ""
            self._texts.append(text)
            return [TextDelta(text)] if text else []
        elif kind == "response.output_item.added":
            item = event.get("item") or {}
            if item.get("type") == "function_call":
                self._calls[item.get("id") or item.get("call_id") or ""] = {
                    "call_id": item.get("call_id") or "",
                    "name": item.get("name") or "",
                    "ordinal": len(self._calls),
                    "args": [],
                }
        elif kind == "response.function_call_arguments.delta":
            call = self._calls.get(event.get("item_id") or "")
            if call is not None:
                piece = event.get("delta") or ""
                call["args"].append(piece)
                return [ToolCallDelta(call["ordinal"], call["call_id"], call["name"], piece)]
        elif kind == "response.output_item.done":
            item = event.get("item") or {}
            call = self._calls.get(item.get("id") or item.get("call_id") or "")
            if item.get("type") == "function_call" and call is not None:
                raw = item.get("arguments")
                done = tool_call(
                    item.get("call_id") or call["call_id"],
                    item.get("name") or call["name"],
                    raw if raw is not None else "".join(call["args"]),
                )
                self._done.append(done)
                return [ToolCallDone(call["ordinal"], done)]
        elif kind in ("response.completed", "response.incomplete"):
            self._final = event.get("response") or {}
        elif kind == "response.failed":
            error = (event.get("response") or {}).get("error") or {}
            raise StreamFailed(error.get("code"), error.get("message") or "the response failed")
        elif kind == "error":
            raise StreamFailed(event.get("code"), event.get("message") or "stream error")
        return []

    @property
    def finished(self) -> bool:
        """True once the final response event arrived."""
        return self._final is not None

    def output(self) -> ProviderOutput:
        """The final response (or what streamed so far, if it never completed)."""
        if self._final is not None:
            return output_from_response(self._final)
        return ProviderOutput(
            text="".join(self._texts),
            tool_calls=tuple(self._done),
            stop_reason="other",
            raw_stop_reason="incomplete stream",
            model=self._model,
        )
