"""`PacingKeeper`: clanker's sends across every channel, for the global pacing rules.

Each channel's brain decides with a `PacingState` (last send, sends in the last hour). This
actor keeps the one true count: seeded at start from the action log (the hourly cap is counted
from it, so a restart does not reset it), told of every send, and telling every subscribed
channel the new state — also when an hour-old send expires, so a channel held by the cap
wakes up then.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

import trio

from clanker.runtime import Actor, ActorContext, ActorError, MailboxSpec, Message, handles
from clanker.settings.actor import resolve_actor
from clanker.store import ActionRows, ActionsQuery, StoreClient, calendar_now, to_iso
from clanker.text.pacing import HOUR, PacingState, SendGate, SendLog

log = logging.getLogger("clanker.guilds")

PACING_NAME = "pacing"
SEND_LEASE = 10.0
"""Seconds a granted send holds the gate at most (its sender may not start it later)."""
SEND_KINDS = ("sent_reply", "sent_message", "initiative_post")
"""Action kinds that count as a send (the channel actors log these)."""


class SendRecorded(Message, frozen=True):
    """A channel sent a message at trio time ``at``."""

    at: float


class ReserveSend(Message, frozen=True):
    """Ask before sending: may a message go out now under the global ``min_gap`` (seconds since
    the last send anywhere) and hourly ``cap``? Granted, the send is recorded at once — the
    reservation is the record, so two channels finishing together cannot both pass the gap.
    Reply: `SendSlot`."""

    min_gap: float
    cap: int


class SendSlot(Message, frozen=True):
    """``granted``: recorded at trio time ``at``; the send must start by ``start_by`` (the
    bridge refuses it after that) and be reported with `SendDone` quoting ``token``. Otherwise
    ``wait`` seconds (ask again then), or ``refused`` (the hourly cap) with nothing to wait for.
    """

    granted: bool
    at: float = 0.0
    token: int = 0
    start_by: float = 0.0
    wait: float = 0.0
    refused: str | None = None


class SendDone(Message, frozen=True):
    """Tell after a granted send: it went out at trio time ``sent_at`` (the gap counts from
    there), or ``sent_at`` is None when nothing went out (the reservation is dropped)."""

    token: int
    reserved_at: float
    sent_at: float | None


class SubscribePacing(Message, frozen=True):
    """Tell ``subscriber`` (an actor path or name) a `PacingChanged` on every change. Reply:
    `PacingChanged` with the current state."""

    subscriber: str


class UnsubscribePacing(Message, frozen=True):
    subscriber: str


class PacingChanged(Message, frozen=True):
    state: PacingState


def _trio_time_of(created_at: str, *, now_trio: float, now_wall: datetime) -> float:
    age = (now_wall - datetime.fromisoformat(created_at)).total_seconds()
    return now_trio - max(age, 0.0)


class PacingKeeper(Actor):
    """See the module docstring."""

    mailbox = MailboxSpec(capacity=512)

    def __init__(self, store: str = "store") -> None:
        self.store_name = store
        self.subscribers: set[str] = set()
        self.sends = SendLog()
        self.gate = SendGate(self.sends, lease=SEND_LEASE)
        self._wake = trio.Event()

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx
        store = StoreClient(ctx.lookup(self.store_name))
        now_trio = trio.current_time()
        now_wall = calendar_now()
        since = to_iso(now_wall - timedelta(seconds=HOUR))
        times: list[float] = []
        for kind in SEND_KINDS:
            offset = 0
            while True:
                query = ActionsQuery(kind=kind, since=since, limit=500, offset=offset)
                rows = await store.ref.ask(query, ActionRows)
                times += [
                    _trio_time_of(r.created_at, now_trio=now_trio, now_wall=now_wall)
                    for r in rows.rows
                ]
                if len(rows.rows) < 500:
                    break
                offset += 500
        self.sends = SendLog(times)
        # Tokens unique across incarnations: a report to an earlier keeper's grant cannot free
        # this one's hold. A send an earlier keeper granted may still be on its way: if one was
        # started within the lease, hold the gate until it reports or its lease lapses.
        self.gate = SendGate(self.sends, lease=SEND_LEASE, first_token=(ctx.incarnation + 1) << 32)
        started = await store.ref.ask(
            ActionsQuery(
                kind="send_started",
                since=to_iso(now_wall - timedelta(seconds=SEND_LEASE)),
                limit=1,
            ),
            ActionRows,
        )
        if started.rows:
            self.gate.assume_held(
                _trio_time_of(started.rows[0].created_at, now_trio=now_trio, now_wall=now_wall)
            )
        ctx.start_soon(self._expiry)

    def _state(self) -> PacingState:
        return self.sends.state(trio.current_time())

    async def _broadcast(self) -> None:
        notice = PacingChanged(state=self._state())
        for name in sorted(self.subscribers):
            ref = resolve_actor(self.ctx.runtime, name)
            if ref is None:
                self.subscribers.discard(name)
                continue
            try:
                ref.try_tell(notice)  # a full mailbox skips one notice; the next one catches up
            except ActorError as exc:
                log.debug("pacing subscriber %s is gone: %s", name, exc)
                self.subscribers.discard(name)
        self._wake.set()

    async def _expiry(self) -> None:
        """Re-announce when the oldest send leaves the hour window."""
        while True:
            self._wake = trio.Event()
            now = trio.current_time()
            count = self.sends.count(now)
            # frees_at(now, count): when the oldest send of the hour leaves the window.
            oldest = self.sends.frees_at(now, count) if count else None
            deadline = math.inf if oldest is None else oldest
            with trio.move_on_at(deadline):
                await self._wake.wait()
                continue
            await self._broadcast()

    @handles(SendRecorded)
    async def recorded(self, msg: SendRecorded) -> None:
        self.sends.record(msg.at)
        await self._broadcast()

    @handles(ReserveSend)
    async def reserve(self, msg: ReserveSend) -> SendSlot:
        verdict = self.gate.reserve(trio.current_time(), min_gap=msg.min_gap, cap=msg.cap)
        if not verdict.granted:
            return SendSlot(granted=False, wait=verdict.wait, refused=verdict.refused)
        await self._broadcast()
        return SendSlot(
            granted=True,
            at=verdict.at,
            token=verdict.token,
            start_by=verdict.at + self.gate.lease,
        )

    @handles(SendDone)
    async def done(self, msg: SendDone) -> None:
        self.gate.release(msg.token, reserved_at=msg.reserved_at, sent_at=msg.sent_at)
        await self._broadcast()

    @handles(SubscribePacing)
    async def subscribe(self, msg: SubscribePacing) -> PacingChanged:
        self.subscribers.add(msg.subscriber)
        return PacingChanged(state=self._state())

    @handles(UnsubscribePacing)
    async def unsubscribe(self, msg: UnsubscribePacing) -> None:
        self.subscribers.discard(msg.subscriber)
