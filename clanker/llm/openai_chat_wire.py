"""OpenAI Chat Completions ⇄ the neutral model (pure functions, no I/O).

Spoken by xAI, by OpenAI itself (``api="chat"``) and by OpenAI-compatible local servers
(Ollama, vLLM, llama.cpp). To suit the local servers, a message with text only is sent as a
plain string, and the token limit goes in ``max_tokens`` (OpenAI's own endpoint gets
``max_completion_tokens``, see `request_params`). Streaming asks for the usage chunk with
``stream_options.include_usage``.

``prompt_tokens`` *include* cached tokens (``prompt_tokens_details.cached_tokens``); the
neutral `Usage` counts them apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clanker.llm.model import (
    ImagePart,
    LlmMessage,
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

_STOP: dict[str, StopReason] = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "refusal",
}


def stop_reason(raw: str | None) -> StopReason:
    """The neutral stop reason for a ``finish_reason``."""
    return _STOP.get(raw or "", "other")


def usage_from(usage: Mapping[str, Any] | None) -> Usage:
    """Neutral usage from a Chat Completions ``usage`` object."""
    u = usage or {}
    details = u.get("prompt_tokens_details") or {}
    cached = int(details.get("cached_tokens") or 0)
    written = int(details.get("cache_write_tokens") or 0)
    prompt = int(u.get("prompt_tokens") or 0)
    return Usage(
        input_tokens=max(prompt - cached - written, 0),
        output_tokens=int(u.get("completion_tokens") or 0),
        cache_read_tokens=cached,
        cache_write_tokens=written,
    )


def _messages(message: LlmMessage) -> list[dict[str, Any]]:
    if message.role == "assistant":
        text = "".join(p.text for p in message.parts if isinstance(p, TextPart))
        out: dict[str, Any] = {"role": "assistant", "content": text or None}
        calls = [
            {
                "id": p.id,
                "type": "function",
                "function": {"name": p.name, "arguments": json_text(p.arguments)},
            }
            for p in message.parts
            if isinstance(p, ToolUsePart)
        ]
        if calls:
            out["tool_calls"] = calls
        return [out]
    result: list[dict[str, Any]] = []
    content: list[dict[str, Any]] = []

    def flush() -> None:
        if not content:
            return
        if all(c["type"] == "text" for c in content):
            result.append({"role": "user", "content": "".join(c["text"] for c in content)})
        else:
            result.append({"role": "user", "content": list(content)})
        content.clear()

    for part in message.parts:
        if isinstance(part, ToolResultPart):
            flush()
            body = f"ERROR: {part.content}" if part.is_error else part.content
            result.append({"role": "tool", "tool_call_id": part.tool_use_id, "content": body})
        elif isinstance(part, ImagePart):
            content.append({"type": "image_url", "image_url": {"url": part.url}})
        elif isinstance(part, TextPart):
            content.append({"type": "text", "text": part.text})
    flush()
    return result


def request_params(
    request: LlmRequest, model: str, *, max_tokens_field: str = "max_tokens"
) -> dict[str, Any]:
    """Keyword arguments for ``AsyncOpenAI().chat.completions.create`` (without ``stream``).

    ``max_tokens_field`` is ``max_completion_tokens`` for OpenAI's own endpoint (its reasoning
    models refuse ``max_tokens``) and ``max_tokens`` for everyone else.
    """
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system_text})
    for message in request.messages:
        messages.extend(_messages(message))
    params: dict[str, Any] = {
        "model": model,
        "messages": messages,
        max_tokens_field: request.max_tokens,
    }
    if request.temperature is not None:
        params["temperature"] = request.temperature
    if request.tools:
        params["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                    **({"strict": True} if t.strict else {}),
                },
            }
            for t in request.tools
        ]
        params["tool_choice"] = request.tool_choice
    if request.output_schema is not None:
        s = request.output_schema
        params["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": s.name, "schema": s.schema, "strict": s.strict},
        }
    return params


def output_from_completion(completion: Mapping[str, Any]) -> ProviderOutput:
    """A `ProviderOutput` from a complete ChatCompletion object (its first choice)."""
    choices = completion.get("choices") or [{}]
    choice = choices[0]
    message = choice.get("message") or {}
    calls = tuple(
        tool_call(
            c.get("id") or f"call_{i}",
            (c.get("function") or {}).get("name") or "",
            (c.get("function") or {}).get("arguments") or "",
        )
        for i, c in enumerate(message.get("tool_calls") or ())
    )
    text = message.get("content") or message.get("refusal") or ""
    raw = choice.get("finish_reason") or ""
    stop = "refusal" if message.get("refusal") and not message.get("content") else stop_reason(raw)
    return ProviderOutput(
        text=text,
        tool_calls=calls,
        stop_reason=stop,
        raw_stop_reason=raw,
        usage=usage_from(completion.get("usage")),
        model=completion.get("model") or "",
    )


class ChatStream:
    """Accumulates a Chat Completions stream: `feed` each chunk dict, then read `output`.

    Tool calls arrive as fragments keyed by ``index`` (the id and name in the first fragment);
    they are complete when the choice's ``finish_reason`` arrives. The usage comes in a last
    chunk with no choices.
    """

    def __init__(self) -> None:
        self._texts: list[str] = []
        self._calls: dict[int, dict[str, Any]] = {}
        self._done: list[ToolCall] = []
        self._finish = ""
        self._usage: Mapping[str, Any] | None = None
        self._model = ""

    def feed(self, chunk: Mapping[str, Any]) -> list[StreamDelta]:
        """Take one chunk; return the neutral deltas it produced."""
        self._model = chunk.get("model") or self._model
        if chunk.get("usage"):
            self._usage = chunk["usage"]
        deltas: list[StreamDelta] = []
        for choice in chunk.get("choices") or ():
            if int(choice.get("index") or 0) != 0:
                continue
            delta = choice.get("delta") or {}
            text = delta.get("content") or delta.get("refusal") or ""
            if text:
                self._texts.append(text)
                deltas.append(TextDelta(text))
            for fragment in delta.get("tool_calls") or ():
                deltas.extend(self._fragment(fragment))
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
                deltas.extend(self._close_calls())
        return deltas

    def _fragment(self, fragment: Mapping[str, Any]) -> list[StreamDelta]:
        index = int(fragment.get("index") or 0)
        function = fragment.get("function") or {}
        call = self._calls.get(index)
        if call is None:
            call = self._calls[index] = {
                "id": fragment.get("id") or f"call_{index}",
                "name": function.get("name") or "",
                "args": [],
            }
        elif function.get("name"):
            call["name"] = function["name"]
        piece = function.get("arguments") or ""
        if not piece:
            return []
        call["args"].append(piece)
        return [ToolCallDelta(index, call["id"], call["name"], piece)]

    def _close_calls(self) -> list[StreamDelta]:
        closed: list[StreamDelta] = []
        for index in sorted(self._calls):
            call = self._calls[index]
            done = tool_call(call["id"], call["name"], "".join(call["args"]))
            self._done.append(done)
            closed.append(ToolCallDone(index, done))
        self._calls.clear()
        return closed

    def output(self) -> ProviderOutput:
        """Everything streamed as one `ProviderOutput` (open tool calls are closed)."""
        if self._calls:
            self._close_calls()
        return ProviderOutput(
            text="".join(self._texts),
            tool_calls=tuple(self._done),
            stop_reason=stop_reason(self._finish),
            raw_stop_reason=self._finish,
            usage=usage_from(self._usage),
            model=self._model,
        )
