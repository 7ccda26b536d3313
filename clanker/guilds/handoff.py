"""`Handoff`: messages a guild session could not hand to their channel actor yet.

A channel actor may fail to start (`ChildStartFailed`: the settings actor or the Store is slow
or restarting), or the session may not know the bot's identity yet (it was just restarted and
the bridge has not answered). Either way the message is kept, not lost: it waits in its
channel's queue (behind any earlier ones, so a channel's messages keep their order) and the
session tries again on a backoff schedule. When the schedule is spent, the channel's messages
are given up and the session logs, for each, a decision saying why it was not answered.

Sans-IO: time is passed in; the session actor carries out what this decides.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
"""Seconds before each new try; about 30 s in all, then the held messages are given up."""

MAX_HELD = 256
"""Messages held across all channels; one more is given up at once (reason ``handoff_full``)."""


@dataclass
class _Held(Generic[T]):
    items: deque[T] = field(default_factory=deque)
    attempts: int = 0  # failed tries so far
    due: float = 0.0
    last_reason: str = ""


@dataclass(frozen=True)
class GivenUp(Generic[T]):
    """Messages no longer retried, and why (``reason``) after ``attempts`` tries."""

    channel_id: int
    items: tuple[T, ...]
    reason: str
    attempts: int


class Handoff(Generic[T]):
    """Per channel, the messages waiting for their channel actor, and when to try again."""

    def __init__(self, delays: tuple[float, ...] = RETRY_DELAYS, max_held: int = MAX_HELD) -> None:
        if not delays:
            raise ValueError("Handoff needs at least one retry delay")
        self.delays = delays
        self.max_held = max_held
        self._held: dict[int, _Held[T]] = {}

    @property
    def held(self) -> int:
        """Messages waiting, all channels together."""
        return sum(len(h.items) for h in self._held.values())

    def waiting(self, channel_id: int) -> bool:
        """True if earlier messages of this channel wait: a new one must queue behind them."""
        return channel_id in self._held

    def hold(self, channel_id: int, item: T, now: float) -> GivenUp[T] | None:
        """Queue ``item`` behind its channel's waiting messages. Returns it as given up when
        the handoff is full (the caller logs why)."""
        if self.held >= self.max_held:
            return GivenUp(channel_id, (item,), "handoff_full", 0)
        held = self._held.get(channel_id)
        if held is None:
            held = self._held[channel_id] = _Held(due=now)
        held.items.append(item)
        return None

    def failed(self, channel_id: int, now: float, reason: str) -> GivenUp[T] | None:
        """A try for ``channel_id`` failed: schedule the next, or give its messages up."""
        held = self._held.get(channel_id)
        if held is None:
            return None
        held.attempts += 1
        held.last_reason = reason
        if held.attempts > len(self.delays):
            del self._held[channel_id]
            return GivenUp(channel_id, tuple(held.items), reason, held.attempts)
        held.due = now + self.delays[held.attempts - 1]
        return None

    def items(self, channel_id: int) -> list[T]:
        """The channel's waiting messages, oldest first (they stay held until `handed`)."""
        held = self._held.get(channel_id)
        return [] if held is None else list(held.items)

    def handed(self, channel_id: int) -> None:
        """The oldest waiting message of the channel reached its actor; once none waits, the
        channel's retry state is forgotten."""
        held = self._held.get(channel_id)
        if held is None:
            return
        held.items.popleft()
        if not held.items:
            del self._held[channel_id]

    def due(self, now: float) -> list[int]:
        """Channels whose next try is due at ``now``."""
        return sorted(c for c, h in self._held.items() if h.due <= now)

    def retry_all_now(self, now: float) -> None:
        """Something changed that may unblock every channel (the identity arrived)."""
        for held in self._held.values():
            held.due = min(held.due, now)

    def next_wakeup(self) -> float | None:
        """When the next try is due, or None if nothing waits."""
        return min((h.due for h in self._held.values()), default=None)
