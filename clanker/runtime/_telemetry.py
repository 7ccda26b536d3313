"""Runtime telemetry: lifecycle events, a fan-out bus, and the tree snapshot's shape.

Events are frozen msgspec Structs tagged by ``type`` so the dashboard can decode a stream of them
as one union. Times are trio's clock (``at``), never the wall clock.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

import msgspec
import trio


class RuntimeEvent(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """Base of every runtime event: which actor (its tree path) and when (trio time)."""

    path: str
    at: float


class ActorStarted(RuntimeEvent, frozen=True, kw_only=True):
    """A child finished starting (``on_start`` returned, or a supervisor started its children)."""

    kind: Literal["actor", "supervisor"]
    incarnation: int


class ActorRestarted(RuntimeEvent, frozen=True, kw_only=True):
    """A child was started again by its supervisor after an exit."""

    restarts: int


class ActorStopped(RuntimeEvent, frozen=True, kw_only=True):
    """A child ended without crashing: on its own (``normal``), asked to (``shutdown``), or
    cancelled at its shutdown deadline (``killed``)."""

    reason: Literal["normal", "shutdown", "killed"]


class ActorCrashed(RuntimeEvent, frozen=True, kw_only=True):
    """A child raised: the error's type, message and formatted traceback."""

    error_type: str
    error: str
    traceback: str


class ActorRemoved(RuntimeEvent, frozen=True, kw_only=True):
    """A child left its supervisor for good (terminated, temporary, or transient and done)."""


class MailboxOverflow(RuntimeEvent, frozen=True, kw_only=True):
    """A message found the mailbox full: the sender waited (block) or a message was dropped."""

    depth: int
    capacity: int
    overflow: str
    dropped: int


class UnhandledDropped(RuntimeEvent, frozen=True, kw_only=True):
    """A told message had no handler; it was counted and dropped."""

    message_type: str
    unhandled: int


class SupervisorEscalated(RuntimeEvent, frozen=True, kw_only=True):
    """A supervisor exceeded its restart intensity, stopped its children and escalated."""

    child: str
    intensity: int
    period: float


AnyRuntimeEvent = (
    ActorStarted
    | ActorRestarted
    | ActorStopped
    | ActorCrashed
    | ActorRemoved
    | MailboxOverflow
    | UnhandledDropped
    | SupervisorEscalated
)


class MailboxStats(msgspec.Struct, frozen=True, kw_only=True):
    """A mailbox's state in a snapshot."""

    depth: int
    capacity: int
    overflow: str
    dropped: int
    unhandled: int


class ActorNode(msgspec.Struct, frozen=True, kw_only=True):
    """One node of the supervision-tree snapshot."""

    name: str
    path: str
    kind: Literal["actor", "supervisor"]
    status: str
    restarts: int
    incarnation: int
    mailbox: MailboxStats | None = None
    children: tuple[ActorNode, ...] = ()

    def find(self, path: str) -> ActorNode | None:
        """The node at ``path`` in this subtree, or None."""
        if self.path == path:
            return self
        for child in self.children:
            if path == child.path or path.startswith(child.path + "/"):
                return child.find(path)
        return None


class Subscription:
    """A subscriber's bounded view of the event stream; iterate it with ``async for``.

    When the subscriber falls behind, the oldest events are dropped and counted in `dropped`,
    so a slow dashboard can never slow the runtime down.
    """

    def __init__(self, capacity: int) -> None:
        self._send, self._recv = trio.open_memory_channel[AnyRuntimeEvent](capacity)
        self.dropped = 0

    def _offer(self, event: AnyRuntimeEvent) -> None:
        try:
            self._send.send_nowait(event)
        except trio.WouldBlock:
            self._recv.receive_nowait()
            self.dropped += 1
            self._send.send_nowait(event)
        except trio.ClosedResourceError:
            pass

    async def receive(self) -> AnyRuntimeEvent:
        """The next event (waits for one)."""
        return await self._recv.receive()

    def receive_nowait(self) -> AnyRuntimeEvent:
        """The next event if one is queued; raises ``trio.WouldBlock`` otherwise."""
        return self._recv.receive_nowait()

    def pending(self) -> list[AnyRuntimeEvent]:
        """Every event queued right now, oldest first (does not wait)."""
        out: list[AnyRuntimeEvent] = []
        while True:
            try:
                out.append(self._recv.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                return out

    def __aiter__(self) -> AsyncIterator[AnyRuntimeEvent]:
        return self._recv.__aiter__()

    def close(self) -> None:
        """Stop receiving; an ``async for`` over it ends after the queued events."""
        self._send.close()


class EventBus:
    """Fan-out of runtime events to any number of bounded subscriptions."""

    def __init__(self) -> None:
        self._subs: list[Subscription] = []

    def publish(self, event: AnyRuntimeEvent) -> None:
        """Deliver ``event`` to every subscriber without waiting."""
        for sub in self._subs:
            sub._offer(event)

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        return len(self._subs)

    def open(self, capacity: int = 1024) -> Subscription:
        """Open a subscription; close it with `close` (or use `subscribe`)."""
        if not (capacity == math.inf or (isinstance(capacity, int) and capacity >= 1)):
            raise ValueError(f"subscription capacity must be an integer >= 1, got {capacity!r}")
        sub = Subscription(capacity)
        self._subs.append(sub)
        return sub

    def close(self, sub: Subscription) -> None:
        """Close a subscription opened with `open`."""
        if sub in self._subs:
            self._subs.remove(sub)
        sub.close()

    def close_all(self) -> None:
        """End every subscription (at runtime shutdown)."""
        for sub in list(self._subs):
            self.close(sub)

    @asynccontextmanager
    async def subscribe(self, capacity: int = 1024) -> AsyncIterator[Subscription]:
        """``async with bus.subscribe() as events: async for ev in events: ...``"""
        sub = self.open(capacity)
        try:
            yield sub
        finally:
            self.close(sub)
