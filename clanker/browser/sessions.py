"""Which browser sessions exist, which may start a task, and which have been idle too long.

Sans-IO: the `BrowserAgent` actor asks `admit(channel, now)` before a task (`Admit`, possibly
naming an idle session of another channel to close first to make room, or a refusal text for
the model), tells `finished(channel, now)` / `closed(channel)`, and closes what
`idle(now)` returns, waking again at `next_wake(now)`. Times are the caller's clock (trio's).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Admit", "SessionTable"]


@dataclass(frozen=True)
class Admit:
    """The task may start; close ``evict``'s session first when it is not None."""

    evict: int | None = None


class SessionTable:
    """Sessions by channel: at most ``max_sessions``, each running one task at a time, closed
    after ``idle_timeout`` seconds without one."""

    def __init__(self, *, max_sessions: int, idle_timeout: float) -> None:
        if max_sessions < 1 or not idle_timeout > 0:
            raise ValueError("max_sessions must be >= 1 and idle_timeout > 0")
        self.max_sessions = max_sessions
        self.idle_timeout = idle_timeout
        self._last_used: dict[int, float] = {}
        self._busy: set[int] = set()

    @property
    def channels(self) -> tuple[int, ...]:
        return tuple(sorted(self._last_used))

    @property
    def busy(self) -> tuple[int, ...]:
        return tuple(sorted(self._busy))

    def admit(self, channel: int, now: float) -> Admit | str:
        """Start a task for ``channel`` (it is busy from now), or the refusal the model gets."""
        if channel in self._busy:
            return (
                "browser_browse refused: a browse task is already running in this channel; "
                "wait for it to finish."
            )
        evict = None
        if channel not in self._last_used and len(self._last_used) >= self.max_sessions:
            idle = [(t, c) for c, t in self._last_used.items() if c not in self._busy]
            if not idle:
                busy = len(self._busy)
                return (
                    f"browser_browse refused: the browser is busy with {busy} "
                    f"task{'' if busy == 1 else 's'} in other channels (at most "
                    f"{self.max_sessions} at once); try later."
                )
            _, evict = min(idle)
            del self._last_used[evict]
        self._last_used[channel] = now
        self._busy.add(channel)
        return Admit(evict)

    def finished(self, channel: int, now: float) -> None:
        """``channel``'s task ended; its session stays, idle from ``now``."""
        self._busy.discard(channel)
        if channel in self._last_used:
            self._last_used[channel] = now

    def closed(self, channel: int) -> None:
        """``channel``'s session is gone (stopped, failed, or closed on request)."""
        self._busy.discard(channel)
        self._last_used.pop(channel, None)

    def idle(self, now: float) -> list[int]:
        """The sessions idle for ``idle_timeout`` seconds: forgotten here, for the caller to
        close."""
        expired = [
            c
            for c, t in self._last_used.items()
            if c not in self._busy and now - t >= self.idle_timeout
        ]
        for channel in expired:
            del self._last_used[channel]
        return sorted(expired)

    def next_wake(self, now: float) -> float | None:
        """When the next idle session expires (None: no idle session)."""
        times = [t + self.idle_timeout for c, t in self._last_used.items() if c not in self._busy]
        return min(times) if times else None
