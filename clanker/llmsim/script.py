"""What an llmsim server does per request: scripted turns, and what it recorded.

A test queues turns with ``sim.script(...)``; each request to any endpoint takes the next turn
and the endpoint renders it in its own wire format (Anthropic Messages, OpenAI Responses or
Chat Completions; JSON or SSE as the request asked). A script item may also be a function of
the `RecordedRequest` returning a turn. When the queue is empty the server's default responder
answers (by default: `Text` echoing the last user message).

Turns:

* `Text` — a reply, streamed in ``chunks`` (default: word by word) with ``chunk_delay`` seconds
  between them, after ``delay`` seconds before the response starts.
* `ToolUse` — one or more tool calls (with optional text first).
* `JsonReply` — a structured-output reply: ``value`` as JSON text.
* `HttpError` — an error status with the provider's real error body; ``rate_limited``,
  ``overloaded``, ``server_error``, ``bad_request``, ``unauthorized`` build the usual ones.
* `StreamError` — a stream that starts, then carries the provider's error event.
* `Stall` — never answers (or stops after some chunks) until the client hangs up.
* `Disconnect` — cuts the connection after some chunks.

Times are trio time, so a test on a MockClock sees exact virtual delays.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Api = Literal["anthropic", "responses", "chat"]


@dataclass(frozen=True)
class SimUsage:
    """The usage to report. ``input_tokens`` counts uncached prompt tokens (as Anthropic
    reports them); OpenAI renderings add the cached and written tokens into their totals.
    None means: estimate (about one token per four characters)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(frozen=True)
class Text:
    """A text reply. ``chunks`` fixes how it streams (then ``text`` defaults to their join)."""

    text: str = ""
    chunks: tuple[str, ...] = ()
    chunk_delay: float = 0.0
    delay: float = 0.0
    stop: Literal["end_turn", "max_tokens", "refusal"] = "end_turn"
    usage: SimUsage | None = None
    model: str | None = None

    def pieces(self) -> tuple[str, ...]:
        """The streamed pieces."""
        if self.chunks:
            return self.chunks
        return tuple(re.findall(r"\S+\s*|\s+", self.body)) or ("",)

    @property
    def body(self) -> str:
        """The whole text."""
        return self.text or "".join(self.chunks)


@dataclass(frozen=True)
class SimToolCall:
    """A tool call the model makes; ``id`` is generated when None."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class ToolUse:
    """The model calls tools (after optional ``text``)."""

    calls: tuple[SimToolCall, ...]
    text: str = ""
    chunk_delay: float = 0.0
    delay: float = 0.0
    usage: SimUsage | None = None
    model: str | None = None


@dataclass(frozen=True)
class JsonReply:
    """Structured output: the reply text is ``value`` as JSON."""

    value: Any
    chunk_delay: float = 0.0
    delay: float = 0.0
    usage: SimUsage | None = None
    model: str | None = None


@dataclass(frozen=True)
class HttpError:
    """An HTTP error in the provider's own body shape.

    ``error_type`` is the provider's error type (Anthropic ``error.type``, OpenAI
    ``error.type``); ``code`` is OpenAI's ``error.code``. Both default by status.
    ``retry_after`` (seconds) is sent as ``retry-after`` (and ``retry-after-ms`` for OpenAI).
    """

    status: int
    message: str = ""
    error_type: str | None = None
    code: str | None = None
    retry_after: float | None = None
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0


def rate_limited(retry_after: float | None = 1.0, message: str = "") -> HttpError:
    """429 with ``retry-after``."""
    return HttpError(429, message or "rate limit exceeded (llmsim)", retry_after=retry_after)


def overloaded(status: int = 529, message: str = "") -> HttpError:
    """Anthropic's 529 ``overloaded_error`` (or 503 for OpenAI-style servers)."""
    return HttpError(status, message or "Overloaded (llmsim)", error_type="overloaded_error")


def server_error(status: int = 500, message: str = "") -> HttpError:
    """A 5xx."""
    return HttpError(status, message or "internal server error (llmsim)")


def bad_request(message: str = "invalid request (llmsim)") -> HttpError:
    """A 400."""
    return HttpError(400, message)


def unauthorized(message: str = "invalid x-api-key (llmsim)") -> HttpError:
    """A 401."""
    return HttpError(401, message)


@dataclass(frozen=True)
class StreamError:
    """A stream that sends ``text`` (word chunks), then the provider's error event.

    Only meaningful for streamed requests; a non-streamed request gets the equivalent
    HTTP error (529 for ``overloaded_error``, else 500).
    """

    text: str = ""
    error_type: str = "overloaded_error"
    message: str = "Overloaded (llmsim)"
    chunk_delay: float = 0.0


@dataclass(frozen=True)
class Stall:
    """Never finish: with ``after_chunks=None`` not even the headers are sent; otherwise
    ``text`` streams for that many word chunks first. Ends when the client hangs up."""

    after_chunks: int | None = None
    text: str = "this reply never ends"


@dataclass(frozen=True)
class Disconnect:
    """Cut the connection after ``after_chunks`` streamed chunks (0: right after the head)."""

    after_chunks: int = 0
    text: str = "this reply is cut off"


Turn = Text | ToolUse | JsonReply | HttpError | StreamError | Stall | Disconnect


@dataclass
class RecordedRequest:
    """One request the server received.

    ``headers`` are lower-cased with secrets (``authorization``, ``x-api-key``) replaced by
    ``"<redacted>"``; ``body`` is the parsed JSON body. ``at`` and ``finished_at`` are trio
    times; ``hung_up`` is True when the client left before the response was complete.
    """

    api: Api | None
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float
    turn: Turn | None = None
    finished_at: float | None = None
    hung_up: bool = False

    @property
    def stream(self) -> bool:
        """Whether the client asked for a stream."""
        return isinstance(self.body, dict) and bool(self.body.get("stream"))

    @property
    def model(self) -> str:
        """The model the client asked for."""
        return str(self.body.get("model", "")) if isinstance(self.body, dict) else ""

    @property
    def user_text(self) -> str:
        """The text of the last user message, in any of the three APIs."""
        if not isinstance(self.body, dict):
            return ""
        messages = self.body.get("messages") or self.body.get("input") or []
        if isinstance(messages, str):
            return messages
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                return _text_of(message.get("content"))
        return ""

    @property
    def tool_names(self) -> list[str]:
        """The names of the tools the request offers, in any of the three APIs."""
        tools = self.body.get("tools") if isinstance(self.body, dict) else None
        names: list[str] = []
        for tool in tools if isinstance(tools, list) else []:
            if not isinstance(tool, dict):
                continue
            function = tool.get("function")
            name = function.get("name") if isinstance(function, dict) else tool.get("name")
            if isinstance(name, str):
                names.append(name)
        return names

    @property
    def tool_results(self) -> list[str]:
        """The text of every tool result in the conversation, oldest first, in any of the
        three APIs (Anthropic ``tool_result`` blocks, Responses ``function_call_output``
        items, Chat ``tool`` messages)."""
        if not isinstance(self.body, dict):
            return []
        items = self.body.get("messages") or self.body.get("input") or []
        found: list[str] = []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            if item.get("type") == "function_call_output":
                found.append(str(item.get("output", "")))
            elif item.get("role") == "tool":
                found.append(_text_of(item.get("content")))
            elif isinstance(item.get("content"), list):
                for block in item["content"]:
                    if isinstance(block, dict) and block.get("type") == "tool_result":
                        found.append(_text_of(block.get("content")))
        return found


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(c.get("text", "")) for c in content if isinstance(c, dict) and "text" in c
        )
    return ""


Responder = Callable[[RecordedRequest], Turn]
ScriptItem = Turn | Responder


def echo(request: RecordedRequest) -> Turn:
    """The default responder: a `Text` naming the last user message."""
    said = request.user_text.strip()
    return Text(f"(llmsim) you said: {said}" if said else "(llmsim) hello")
