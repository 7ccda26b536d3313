"""A turn reduced to what every wire format needs, and how a stream is played out.

`answer_for` turns a scripted `Text` / `ToolUse` / `JsonReply` / `StreamError` / `Stall` /
`Disconnect` into an `Answer` (text pieces, tool calls, stop reason, usage, timing, and how the
stream ends). The renderers turn an `Answer` into JSON or SSE `Step`s; `play` sends steps with
their delays.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import trio

from clanker.llmsim._http import DropConnection
from clanker.llmsim.script import (
    Disconnect,
    JsonReply,
    RecordedRequest,
    SimToolCall,
    SimUsage,
    Stall,
    StreamError,
    Text,
    ToolUse,
)

Ending = Literal["complete", "error", "stall", "drop"]
Stop = Literal["end_turn", "max_tokens", "refusal", "tool_use"]


@dataclass(frozen=True)
class Usage:
    """Resolved token counts (uncached input, output, cache read, cache write)."""

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int


@dataclass(frozen=True)
class Call:
    """A tool call with its id."""

    id: str
    name: str
    arguments: dict[str, Any]

    @property
    def arguments_json(self) -> str:
        return json.dumps(self.arguments, separators=(",", ":"))


@dataclass(frozen=True)
class Answer:
    """Everything a renderer needs."""

    pieces: tuple[str, ...]
    calls: tuple[Call, ...]
    stop: Stop
    usage: Usage
    model: str
    delay: float
    chunk_delay: float
    ending: Ending = "complete"
    error_type: str = ""
    error_message: str = ""

    @property
    def text(self) -> str:
        return "".join(self.pieces)


@dataclass(frozen=True)
class Step:
    """Bytes to send after ``delay`` seconds."""

    delay: float
    data: bytes


def tokens(text: str) -> int:
    """About one token per four characters (at least 1)."""
    return max(1, (len(text) + 3) // 4)


def _usage(request: RecordedRequest, usage: SimUsage | None, output: str, raw_body: bytes) -> Usage:
    u = usage or SimUsage()
    return Usage(
        input_tokens=u.input_tokens if u.input_tokens is not None else tokens(raw_body.decode()),
        output_tokens=u.output_tokens if u.output_tokens is not None else tokens(output),
        cache_read_tokens=u.cache_read_tokens,
        cache_write_tokens=u.cache_write_tokens,
    )


def _words(text: str) -> tuple[str, ...]:
    return Text(text).pieces() if text else ()


def answer_for(
    turn: Text | ToolUse | JsonReply | StreamError | Stall | Disconnect,
    request: RecordedRequest,
    raw_body: bytes,
    call_prefix: str,
    serial: int,
) -> Answer:
    """The `Answer` for ``turn`` (tool-call ids are ``{call_prefix}{serial}_{i}``)."""
    model = request.model or "llmsim-model"
    if isinstance(turn, Text):
        return Answer(
            pieces=turn.pieces(),
            calls=(),
            stop=turn.stop,
            usage=_usage(request, turn.usage, turn.body, raw_body),
            model=turn.model or model,
            delay=turn.delay,
            chunk_delay=turn.chunk_delay,
        )
    if isinstance(turn, ToolUse):
        calls = tuple(_call(c, f"{call_prefix}{serial}_{i}") for i, c in enumerate(turn.calls))
        out = turn.text + "".join(c.arguments_json for c in calls)
        return Answer(
            pieces=_words(turn.text),
            calls=calls,
            stop="tool_use",
            usage=_usage(request, turn.usage, out, raw_body),
            model=turn.model or model,
            delay=turn.delay,
            chunk_delay=turn.chunk_delay,
        )
    if isinstance(turn, JsonReply):
        text = json.dumps(turn.value)
        pieces = tuple(text[i : i + 16] for i in range(0, len(text), 16)) or ("",)
        return Answer(
            pieces=pieces,
            calls=(),
            stop="end_turn",
            usage=_usage(request, turn.usage, text, raw_body),
            model=turn.model or model,
            delay=turn.delay,
            chunk_delay=turn.chunk_delay,
        )
    usage = _usage(request, None, "", raw_body)
    if isinstance(turn, StreamError):
        return Answer(
            pieces=_words(turn.text),
            calls=(),
            stop="end_turn",
            usage=usage,
            model=model,
            delay=0.0,
            chunk_delay=turn.chunk_delay,
            ending="error",
            error_type=turn.error_type,
            error_message=turn.message,
        )
    after = turn.after_chunks or 0
    return Answer(
        pieces=_words(turn.text)[:after],
        calls=(),
        stop="end_turn",
        usage=usage,
        model=model,
        delay=0.0,
        chunk_delay=0.0,
        ending="stall" if isinstance(turn, Stall) else "drop",
    )


def _call(call: SimToolCall, default_id: str) -> Call:
    return Call(id=call.id or default_id, name=call.name, arguments=dict(call.arguments))


def sse(data: Any, event: str | None = None) -> bytes:
    """One Server-Sent Event (``data`` JSON-encoded unless it is already a str)."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()


async def play(steps: list[Step], ending: Ending) -> AsyncIterator[bytes]:
    """Yield each step's bytes after its delay; then end, stall until cancelled, or drop."""
    for step in steps:
        if step.delay > 0:
            await trio.sleep(step.delay)
        yield step.data
    if ending == "stall":
        await trio.sleep_forever()
    if ending == "drop":
        raise DropConnection()
