"""Runtime telemetry: lifecycle events, a fan-out bus, and the tree snapshot's shape.

Events are frozen msgspec Structs tagged by ``type`` so the dashboard can decode a stream of them
as one union. Times are trio's clock (``at``), never the wall clock.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from clanker.runtime._broadcast import Broadcast, Subscriber


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


class RemovedWithMessages(RuntimeEvent, frozen=True, kw_only=True):
    """A child was removed for good with told messages still queued: they were counted and
    dropped (queued asks fail with `ActorStopped` instead)."""

    dropped: int
    message_types: tuple[str, ...]


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
    | RemovedWithMessages
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


Subscription = Subscriber[AnyRuntimeEvent]
"""A subscriber's bounded view of the runtime events; iterate it with ``async for``. When it
falls behind, the oldest events are dropped and counted in ``dropped``."""


class EventBus(Broadcast[AnyRuntimeEvent]):
    """Fan-out of runtime events to any number of bounded subscriptions (1,024 by default)."""

    def __init__(self) -> None:
        super().__init__(default_capacity=1024)
