"""`LoginThrottle`: failed logins are limited per client address. No I/O; time is passed in.

After ``max_failures`` wrong tokens from one address within ``window`` seconds, further login
attempts from it are refused (HTTP 429) until the oldest of those failures leaves the window;
a success clears the address's record. With a 256-bit token guessing is hopeless anyway; this
keeps a script from hammering the endpoint (and the log) and makes an attack visible.
"""

from __future__ import annotations

from collections import deque

MAX_TRACKED = 10_000


class LoginThrottle:
    """Failures per address within a sliding window."""

    def __init__(self, *, max_failures: int = 5, window: float = 60.0) -> None:
        if max_failures < 1 or window <= 0:
            raise ValueError("max_failures must be >= 1 and window > 0")
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self._failures.get(address, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, address: str, now: float) -> float | None:
        """Seconds until ``address`` may try again, or None if it may try now."""
        times = self._recent(address, now)
        if len(times) < self.max_failures:
            return None
        return times[0] + self.window - now

    def failed(self, address: str, now: float) -> None:
        """Record a wrong token from ``address``."""
        times = self._recent(address, now)
        times.append(now)
        self._failures[address] = times
        if len(self._failures) > MAX_TRACKED:
            # Forget the address whose last failure is oldest (bounded memory).
            oldest = min(self._failures, key=lambda a: self._failures[a][-1])
            del self._failures[oldest]

    def succeeded(self, address: str) -> None:
        """A right token from ``address``: forget its failures."""
        self._failures.pop(address, None)
