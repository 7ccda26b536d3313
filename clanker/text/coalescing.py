"""One channel's reply queue: burst coalescing and idempotency per trigger message.

People often say one thing in several quick messages. The queue holds admitted messages as one
*batch*: the first message opens it, and clanker answers once, to the latest message, with the
whole batch in view. When the batch is **due** depends on who is typing (Discord's
TYPING_START, fed in with `typing`; a member's own message ends their typing, `message_from`):

* nobody is typing: ``grace`` seconds after the batch's latest message;
* someone is typing (a member whose latest TYPING_START came less than ``typing_seconds``
  ago and who has not posted since): not before their typing lapses, so a member typing the
  next part of a burst keeps the batch open;
* either way never later than ``window`` seconds after the first message: the window is the
  cap. Both deadlines get a 250 ms edge grace, so a message landing right on one still joins;
* at once when the batch holds ``max_messages``.

With ``grace`` equal to the window (or None) this is the fixed window of before: due
``window`` + 0.25 s after the first message, typing or not. Messages arriving while a reply is
being generated form the next batch.

Every message id is accepted once: a second delivery of the same id (a gateway replay, a
catch-up pass) is refused, so one trigger never gets two answers from this process. (Across
restarts the Store's ``response_triggers`` claim does the same job.)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

import msgspec

from clanker.text.admission import Admission
from clanker.text.views import MessageView

EDGE_GRACE_SECONDS = 0.25
"""Slack after the coalesce window so a message landing on its edge still joins the batch."""

TYPING_SECONDS = 10.0
"""How long Discord shows a member typing after one TYPING_START (clients send another about
every 8-10 s while the member keeps typing)."""

TYPING_CAPACITY = 256
"""The most members whose typing one channel's queue remembers (the oldest are forgotten)."""

QUEUE_CAPACITY = 60
"""The most messages one channel's batch holds; older ones are dropped beyond that."""

SEEN_CAPACITY = 4096
"""How many recent message ids the queue remembers for duplicate detection."""


class QueuedMessage(msgspec.Struct, frozen=True, kw_only=True):
    """An admitted message waiting for its reply, with its admission decision."""

    message: MessageView
    admission: Admission
    queued_at: float


class ReplyQueue:
    """The pending batch of one channel (sans-IO: fed ``now``, never sleeps)."""

    def __init__(
        self,
        *,
        window: float,
        max_messages: int,
        grace: float | None = None,
        edge_grace: float = EDGE_GRACE_SECONDS,
        capacity: int = QUEUE_CAPACITY,
        seen_capacity: int = SEEN_CAPACITY,
        typing_seconds: float = TYPING_SECONDS,
        typing_capacity: int = TYPING_CAPACITY,
    ) -> None:
        self.window = window
        self.max_messages = max_messages
        self.grace = window if grace is None else grace
        self.edge_grace = edge_grace
        self.capacity = capacity
        self.typing_seconds = typing_seconds
        self._typing_capacity = typing_capacity
        self._typing: OrderedDict[int, float] = OrderedDict()  # user id -> latest TYPING_START
        self._items: list[QueuedMessage] = []
        self._opened_at: float | None = None
        self._not_before: float | None = None
        self._attempt = 1
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._seen_capacity = seen_capacity

    def configure(self, *, window: float, max_messages: int, grace: float | None = None) -> None:
        """Apply new settings; an open batch's due time follows at once."""
        self.window = window
        self.max_messages = max_messages
        self.grace = window if grace is None else grace

    # typing -----------------------------------------------------------------------------------

    def typing(self, user_id: int, at: float) -> None:
        """``user_id`` started typing at ``at`` (a member whose typing counts: the caller leaves
        out the bot itself and other bots)."""
        for uid, since in list(self._typing.items()):
            if since + self.typing_seconds <= at:
                del self._typing[uid]  # lapsed: it can no longer hold any batch open
        self._typing.pop(user_id, None)
        self._typing[user_id] = at
        while len(self._typing) > self._typing_capacity:
            self._typing.popitem(last=False)

    def message_from(self, user_id: int) -> None:
        """``user_id`` posted a message: their typing ended with it (as Discord clients show)."""
        self._typing.pop(user_id, None)

    def typing_until(self) -> float | None:
        """When the latest-lapsing member's typing lapses (None: nobody typed since posting)."""
        if not self._typing:
            return None
        return max(self._typing.values()) + self.typing_seconds

    # idempotency ------------------------------------------------------------------------------

    def seen(self, message_id: int) -> bool:
        """True if ``message_id`` was offered before."""
        return message_id in self._seen

    def mark_seen(self, message_id: int) -> bool:
        """Remember ``message_id``; False if it was already known (a duplicate)."""
        if message_id in self._seen:
            self._seen.move_to_end(message_id)
            return False
        self._seen[message_id] = None
        while len(self._seen) > self._seen_capacity:
            self._seen.popitem(last=False)
        return True

    # the batch ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._items)

    @property
    def items(self) -> tuple[QueuedMessage, ...]:
        """The pending messages, oldest first."""
        return tuple(self._items)

    @property
    def attempt(self) -> int:
        """Which attempt the next reply to this batch is (1, or more after a failure)."""
        return self._attempt

    def add(self, item: QueuedMessage) -> list[QueuedMessage]:
        """Queue an admitted message (its ``queued_at`` is now); returns any messages dropped
        to stay within capacity."""
        if not self._items:
            self._opened_at = item.queued_at
        self._items.append(item)
        dropped: list[QueuedMessage] = []
        while len(self._items) > self.capacity:
            dropped.append(self._items.pop(0))
        return dropped

    def due_at(self) -> float | None:
        """When the batch is due (None if empty)."""
        if not self._items or self._opened_at is None:
            return None
        if len(self._items) >= self.max_messages:
            due = self._items[self.max_messages - 1].queued_at
        elif self.window <= 0:
            due = self._opened_at
        else:
            cap = self._opened_at + self.window + self.edge_grace
            latest = max(item.queued_at for item in self._items)
            quiet = latest + self.grace + self.edge_grace
            typing = self.typing_until()
            due = min(cap, quiet if typing is None else max(quiet, typing))
        if self._not_before is not None:
            due = max(due, self._not_before)
        return due

    def is_due(self, now: float) -> bool:
        """True if the batch should be answered now."""
        due = self.due_at()
        return due is not None and now >= due

    def take(self) -> tuple[QueuedMessage, ...]:
        """Remove and return the whole batch (oldest first) to answer it."""
        items = tuple(self._items)
        self._items.clear()
        self._opened_at = None
        self._not_before = None
        self._attempt = 1
        return items

    def clear(self) -> tuple[QueuedMessage, ...]:
        """Drop everything pending (a stop request, settings that forbid replying)."""
        return self.take()

    def remove(self, message_id: int) -> QueuedMessage | None:
        """Drop one pending message (it was deleted); returns it if it was pending."""
        for i, item in enumerate(self._items):
            if item.message.message_id == message_id:
                del self._items[i]
                if not self._items:
                    self.take()
                return item
        return None

    def remove_where(self, drop: Iterable[int]) -> list[QueuedMessage]:
        """Drop the pending messages whose ids are in ``drop``."""
        ids = set(drop)
        gone = [i for i in self._items if i.message.message_id in ids]
        for item in gone:
            self.remove(item.message.message_id)
        return gone

    def requeue(self, items: Iterable[QueuedMessage], *, not_before: float, attempt: int) -> None:
        """Put a failed batch back in front, due no earlier than ``not_before``."""
        back = list(items)
        if not back:
            return
        self._items[:0] = back
        self._opened_at = min(i.queued_at for i in self._items)
        self._not_before = not_before
        self._attempt = max(self._attempt, attempt)
