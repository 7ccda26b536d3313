"""Global pacing: a minimum gap between clanker's messages and an hourly cap, across channels.

Pacing is global (one clanker, many channels), so its state lives with whoever sees every send
(the lead's pacing keeper), and each channel is fed a `PacingState` snapshot: when clanker
last sent, and how many messages it sent in the last hour (counted from the action log at
start-up, then kept up to date). `pace` turns that into a verdict:

* the hourly cap reached → ``hourly_cap``: the batch is dropped (answering an hour late
  would be worse than not answering), and the skip is logged;
* less than ``min_gap_seconds`` since the last send → ``min_gap``: wait until ``retry_at``;
* otherwise go.

`SendLog` is the keeper's sans-IO core: a sliding one-hour window of send times.
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

    def _expire(self, now: float) -> None:
        while self._times and self._times[0] <= now - HOUR:
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
