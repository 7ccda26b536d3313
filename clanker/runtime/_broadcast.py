"""`Broadcast`: fan-out of items to any number of bounded subscribers.

Each subscriber has its own bounded queue. A subscriber that falls behind loses its *oldest*
items, counted in its ``dropped``, so a slow reader (a browser tab on the dashboard) can never
slow the publisher or the other subscribers. Publishing never waits. The runtime's event bus is
one (`EventBus`); the dashboard's action stream is another.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

import trio

T = TypeVar("T")


class Subscriber(Generic[T]):
    """One subscriber's bounded queue; read it with `receive` or ``async for``."""

    def __init__(self, capacity: int) -> None:
        self._send, self._recv = trio.open_memory_channel[T](capacity)
        self.dropped = 0
        self.delivered = 0

    def offer(self, item: T) -> None:
        """Queue ``item`` without waiting, evicting the oldest queued item when full."""
        try:
            self._send.send_nowait(item)
        except trio.WouldBlock:
            self._recv.receive_nowait()
            self.dropped += 1
            self._send.send_nowait(item)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            return
        self.delivered += 1

    async def receive(self) -> T:
        """The next item; raises ``trio.EndOfChannel`` once closed and drained."""
        return await self._recv.receive()

    def receive_nowait(self) -> T:
        """The next queued item; raises ``trio.WouldBlock`` if there is none."""
        return self._recv.receive_nowait()

    def pending(self) -> list[T]:
        """Every item queued right now, oldest first (does not wait)."""
        out: list[T] = []
        while True:
            try:
                out.append(self._recv.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                return out

    def __aiter__(self) -> AsyncIterator[T]:
        return self._recv.__aiter__()

    @property
    def queued(self) -> int:
        """Items waiting to be read."""
        return self._recv.statistics().current_buffer_used

    def close(self) -> None:
        """End the subscription: a reader gets what is queued, then the end of the stream."""
        self._send.close()


class Broadcast(Generic[T]):
    """A fan-out point. `publish` offers an item to every open subscriber."""

    def __init__(self, *, default_capacity: int = 256) -> None:
        if default_capacity < 1:
            raise ValueError(f"subscription capacity must be >= 1, got {default_capacity}")
        self.default_capacity = default_capacity
        self._subs: list[Subscriber[T]] = []
        self.published = 0

    def publish(self, item: T) -> None:
        """Offer ``item`` to every subscriber (never waits)."""
        self.published += 1
        for sub in self._subs:
            sub.offer(item)

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        return len(self._subs)

    def open(self, capacity: int | None = None) -> Subscriber[T]:
        """A new subscription; close it with `close`."""
        cap = self.default_capacity if capacity is None else capacity
        if not (cap == math.inf or (isinstance(cap, int) and cap >= 1)):
            raise ValueError(f"subscription capacity must be an integer >= 1, got {cap!r}")
        sub: Subscriber[T] = Subscriber(cap)
        self._subs.append(sub)
        return sub

    def close(self, sub: Subscriber[T]) -> None:
        """Close ``sub`` and forget it."""
        if sub in self._subs:
            self._subs.remove(sub)
        sub.close()

    def close_all(self) -> None:
        """Close every subscription (their readers end after what is queued)."""
        for sub in list(self._subs):
            self.close(sub)

    @asynccontextmanager
    async def subscribe(self, capacity: int | None = None) -> AsyncIterator[Subscriber[T]]:
        """``async with hub.subscribe() as sub: async for item in sub: ...``"""
        sub = self.open(capacity)
        try:
            yield sub
        finally:
            self.close(sub)
