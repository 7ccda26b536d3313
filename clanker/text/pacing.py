"""Global pacing: a minimum gap between clanker's messages and an hourly cap, across channels.

Pacing is global (one clanker, many channels), so its state lives with whoever sees every send
(the lead's pacing keeper), and each channel is fed a `PacingState` snapshot: when clanker
last sent, and how many messages it sent in the last hour (counted from the action log at
start-up, then kept up to date). `pace` turns that into a verdict:

* the hourly cap reached → ``hourly_cap``: the batch is dropped (answering an hour late
  would be worse than not answering), and the skip is logged;
* less than ``min_gap_seconds`` since the last send → ``min_gap``: wait until ``retry_at``;
* otherwise go.

`SendLog` is the keeper's sans-IO core: a sliding one-hour window of send times. `SendGate`
holds the gap between *actual* sends: one send holds the gate from its reservation until it
reports the time it went out (or a lease ends), and the gap is counted from then — so a send
that waited (a bridge restarting, a slow lane) cannot land right next to the one after it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from enum import StrEnum

import msgspec

HOUR = 3600.0


class PacingState(msgspec.Struct, frozen=True, kw_only=True):
    """What a channel needs to know about clanker's recent sends (trio times)."""

    last_send_at: float | None = None
    sends_last_hour: int = 0


class PaceReason(StrEnum):
    """Why pacing lets a reply start now or not."""

    OK = "ok"
    MIN_GAP = "min_gap"
    HOURLY_CAP = "hourly_cap"


class PaceVerdict(msgspec.Struct, frozen=True, kw_only=True):
    """``allowed`` now, or why not and (for the gap) when to try again."""

    allowed: bool
    reason: PaceReason
    retry_at: float | None = None


def pace(
    now: float, state: PacingState, *, min_gap_seconds: float, max_per_hour: int
) -> PaceVerdict:
    """May a reply start at ``now``? The hourly cap is checked first (it drops, not waits)."""
    if state.sends_last_hour >= max_per_hour:
        return PaceVerdict(allowed=False, reason=PaceReason.HOURLY_CAP)
    if state.last_send_at is not None:
        ready = state.last_send_at + min_gap_seconds
        if now < ready:
            return PaceVerdict(allowed=False, reason=PaceReason.MIN_GAP, retry_at=ready)
    return PaceVerdict(allowed=True, reason=PaceReason.OK)


class SendLog:
    """Send times within the last hour (sans-IO: fed ``now``).

    Seed it at start-up with the times of the sends the action log holds for the last hour
    (converted to trio time), then `record` each send. Use one for messages and one for
    reactions.
    """

    def __init__(self, times: Iterable[float] = ()) -> None:
        self._times: deque[float] = deque(sorted(times))

    def record(self, at: float) -> None:
        """A send happened at trio time ``at``."""
        if self._times and at < self._times[-1]:
            self._times = deque(sorted([*self._times, at]))
        else:
            self._times.append(at)

    def forget(self, at: float) -> None:
        """Drop the send recorded at ``at`` (a reservation that never went out)."""
        if at in self._times:  # else it expired meanwhile
            self._times.remove(at)

    def move(self, old: float, new: float) -> None:
        """The send recorded at ``old`` really went out at ``new``."""
        self.forget(old)
        self.record(new)

    def _expire(self, now: float) -> None:
        # ``t + HOUR <= now``, the very sum `frees_at` hands out as a deadline: written as
        # ``t <= now - HOUR`` it can miss by a rounding (0.1 + 3600 - 3600 < 0.1), and a
        # keeper woken at that deadline would find the send still counted and spin.
        while self._times and self._times[0] + HOUR <= now:
            self._times.popleft()

    def count(self, now: float) -> int:
        """Sends in the hour before ``now`` (a send exactly an hour old has expired)."""
        self._expire(now)
        return len(self._times)

    def state(self, now: float) -> PacingState:
        """The snapshot to feed the channels."""
        self._expire(now)
        last = self._times[-1] if self._times else None
        return PacingState(last_send_at=last, sends_last_hour=len(self._times))

    def frees_at(self, now: float, cap: int) -> float | None:
        """When the count drops below ``cap`` again: None if it is below already, infinity if
        ``cap`` is 0 (nothing may be sent)."""
        self._expire(now)
        if cap <= 0:
            return math.inf
        if len(self._times) < cap:
            return None
        return self._times[len(self._times) - cap] + HOUR


def may_react(reactions_last_hour: int, *, allow_reactions: bool, max_per_hour: int) -> bool:
    """May clanker add one more reaction now?"""
    return allow_reactions and reactions_last_hour < max_per_hour


class GateVerdict(msgspec.Struct, frozen=True, kw_only=True):
    """`SendGate.reserve`'s answer: ``granted`` (``token`` names the hold, ``at`` the
    reservation time), else ``wait`` seconds and ask again, or ``refused`` (the hourly cap)."""

    granted: bool
    token: int = 0
    at: float = 0.0
    wait: float = 0.0
    refused: str | None = None


class SendGate:
    """The global min gap and hourly cap between clanker's actual sends (sans-IO: fed ``now``).

    `reserve` grants one send at a time when ``min_gap`` > 0: the grant is recorded in the
    `SendLog` at once (the cap counts it) and holds the gate until `release` says when the
    send really went out (the record moves there, and the gap counts from it) or that it never
    did (the record is dropped). A holder that never reports (it crashed) loses the gate after
    ``lease`` seconds; the sender must not start a send later than ``at + lease`` (the bridge
    refuses it), so nothing it holds can still go out after that."""

    def __init__(self, log: SendLog, *, lease: float, first_token: int = 1) -> None:
        if not lease > 0:
            raise ValueError(f"SendGate lease must be > 0 seconds, not {lease!r}")
        if first_token < 1:
            raise ValueError(f"SendGate first_token must be >= 1, not {first_token!r}")
        self.log = log
        self.lease = lease
        self._first_token = first_token  # tokens below it were granted by an earlier gate
        self._next_token = first_token
        self._holder: int | None = None
        self._held_at = 0.0

    def assume_held(self, since: float) -> None:
        """An earlier gate (a keeper that crashed) may have granted a send at ``since`` that
        has not gone out yet: hold until its lease lapses or a token of that gate reports."""
        self._holder, self._held_at = 0, since

    @property
    def held(self) -> bool:
        return self._holder is not None

    def reserve(self, now: float, *, min_gap: float, cap: int) -> GateVerdict:
        if self._holder is not None and now >= self._held_at + self.lease:
            self._holder = None  # its sender is gone or stuck: its send can no longer start
        state = self.log.state(now)
        if state.sends_last_hour >= cap:
            return GateVerdict(granted=False, refused=PaceReason.HOURLY_CAP.value)
        if min_gap > 0 and self._holder is not None:
            # Not before the holder's send is out, and then not within the gap of it.
            return GateVerdict(granted=False, wait=min_gap)
        if state.last_send_at is not None and now - state.last_send_at < min_gap:
            return GateVerdict(granted=False, wait=min_gap - (now - state.last_send_at))
        token = self._next_token
        self._next_token += 1
        self.log.record(now)
        if min_gap > 0:
            self._holder, self._held_at = token, now
        return GateVerdict(granted=True, token=token, at=now)

    def release(self, token: int, *, reserved_at: float, sent_at: float | None) -> None:
        """The send granted as ``token`` at ``reserved_at`` went out at ``sent_at`` (None: it
        never did). A token whose hold has lapsed still moves or drops its record."""
        if sent_at is None:
            self.log.forget(reserved_at)
        elif sent_at > reserved_at:
            self.log.move(reserved_at, sent_at)
        if self._holder == token or (self._holder == 0 and token < self._first_token):
            self._holder = None
