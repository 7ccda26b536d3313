"""Server-Sent Events: framing, and the bookkeeping that lets every open stream be ended at
shutdown (so Hypercorn's graceful stop does not have to wait for browsers)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import trio
from quart import Response, make_response

T = TypeVar("T")

RETRY = b"retry: 3000\n\n"
"""Tells EventSource to reconnect 3 s after the stream ends."""
HEARTBEAT = b": heartbeat\n\n"
"""A comment line: keeps proxies and the browser from timing the stream out."""


def frame(event: str, data: bytes, event_id: int | None = None) -> bytes:
    """One SSE event. ``data`` is a single line (compact JSON never contains a newline)."""
    if b"\n" in data or b"\r" in data:
        raise ValueError("SSE data must be a single line")
    head = b"" if event_id is None else b"id: %d\n" % event_id
    return head + b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"


class OpenStreams:
    """Every stream the dashboard serves registers how to end it; `close_all` ends them all."""

    def __init__(self) -> None:
        self._closers: dict[int, Callable[[], None]] = {}
        self._ids = itertools.count()
        self.closed = False

    def track(self, closer: Callable[[], None]) -> int:
        """Register ``closer``; returns a handle for `untrack`. Once closed, closes at once."""
        handle = next(self._ids)
        if self.closed:
            closer()
        else:
            self._closers[handle] = closer
        return handle

    def untrack(self, handle: int) -> None:
        """The stream ended on its own; forget it."""
        self._closers.pop(handle, None)

    def __len__(self) -> int:
        return len(self._closers)

    def close_all(self) -> None:
        """End every open stream (and any opened later)."""
        self.closed = True
        for closer in list(self._closers.values()):
            closer()
        self._closers.clear()


async def receive_within(receive: Callable[[], Awaitable[T]], seconds: float) -> T | None:
    """The next item, or None if none came within ``seconds``. Raises ``trio.EndOfChannel``
    when the source was closed."""
    with trio.move_on_after(max(0.0, seconds)):
        try:
            return await receive()
        except trio.ClosedResourceError:
            raise trio.EndOfChannel from None
    return None


async def gather_burst(
    first: T, receive_nowait: Callable[[], T], seconds: float
) -> tuple[list[T], bool]:
    """``first`` and everything that arrives within ``seconds`` after it: ``(items, ended)``.

    Live streams write a burst as one chunk, ``seconds`` after its first event: one socket
    write per client instead of one per event, made after the work that caused the burst (a
    reply being sent) rather than in the middle of it.
    """
    if seconds > 0:
        await trio.sleep(seconds)
    items = [first]
    while True:
        try:
            items.append(receive_nowait())
        except trio.WouldBlock:
            return items, False
        except (trio.EndOfChannel, trio.ClosedResourceError):
            return items, True


async def sse_response(body: AsyncIterator[bytes]) -> Response:
    """A streaming text/event-stream response with no response timeout."""
    response = await make_response(
        body,
        200,
        {
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        },
    )
    assert isinstance(response, Response)
    response.timeout = None  # Quart's RESPONSE_TIMEOUT would otherwise cut the stream
    return response
