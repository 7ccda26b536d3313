"""`Inbound`: the one bounded FIFO gateway events wait in between discord.py-self and the router.

The asyncio side puts each converted event here synchronously, in the order the library
dispatched them (no task per event, so nothing reorders two events of one channel); one trio
task drains it in that order. When it is full the newest event is dropped, counted and logged:
the gateway is never blocked and nothing disappears without a trace. The queue is made once per
bridge slot and handed to each incarnation, so events received but not yet routed survive a
crash of the bridge, as a mailbox does.
"""

from __future__ import annotations

import logging
from collections import deque

import trio

from clanker.discord.events import GatewayEvent

log = logging.getLogger("clanker.discord")


class Inbound:
    """A bounded FIFO with counters; see the module docstring."""

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError(f"the inbound queue needs room for at least 1 event, got {capacity}")
        self.capacity = capacity
        self.received = 0
        self.routed = 0
        self.dropped = 0
        self._items: deque[GatewayEvent] = deque()
        self._wake: trio.Event | None = None

    @property
    def depth(self) -> int:
        """Events waiting to be routed."""
        return len(self._items)

    def put(self, event: GatewayEvent) -> bool:
        """Queue ``event`` (never waits); False if the queue was full and it was dropped."""
        self.received += 1
        if len(self._items) >= self.capacity:
            self.dropped += 1
            log.error(
                "inbound gateway queue full (%d): dropped %s (%d dropped so far)",
                self.capacity,
                type(event).__name__,
                self.dropped,
            )
            return False
        self._items.append(event)
        if self._wake is not None:
            self._wake.set()
        return True

    def peek(self) -> GatewayEvent | None:
        """The oldest waiting event, left in place (it is removed by `done` once routed)."""
        return self._items[0] if self._items else None

    def done(self) -> None:
        """The oldest event was routed: remove it."""
        self._items.popleft()
        self.routed += 1

    async def wait(self) -> GatewayEvent:
        """The oldest waiting event, waiting for one if there is none."""
        while not self._items:
            self._wake = trio.Event()
            await self._wake.wait()
        return self._items[0]
