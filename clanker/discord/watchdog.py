"""The gateway health watchdog, sans-IO: when should the bridge throw its client away and log in
again?

discord.py-self reconnects and resumes by itself after ordinary drops. What it cannot get out of is
a connection that is neither ready nor hearing anything (a half-open socket, a login wedged in a
handshake). The rule: **no gateway traffic for `silence` seconds while not ready → re-login**, and
while that does not bring READY back, re-login again after `initial`, then twice that, … capped at
`maximum` seconds (5 s → 60 s by default). Becoming ready resets the backoff.

The bridge feeds it what it hears (`heard`, `became_ready`, `lost_connection`), asks `poll(now)`
whether to re-login, and sleeps until `next_check(now)`. Times are trio times; nothing here
sleeps or reads a clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SILENCE = 120.0
BACKOFF_INITIAL = 5.0
BACKOFF_MAXIMUM = 60.0


@dataclass(frozen=True)
class WatchdogConfig:
    silence: float = SILENCE
    backoff_initial: float = BACKOFF_INITIAL
    backoff_maximum: float = BACKOFF_MAXIMUM
    backoff_factor: float = 2.0

    def __post_init__(self) -> None:
        for name in ("silence", "backoff_initial", "backoff_maximum"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ValueError(
                    f"watchdog {name} must be a positive number of seconds, got {value}"
                )
        if self.backoff_maximum < self.backoff_initial:
            raise ValueError(
                f"watchdog backoff_maximum ({self.backoff_maximum}) must be >= backoff_initial "
                f"({self.backoff_initial})"
            )
        if not math.isfinite(self.backoff_factor) or self.backoff_factor < 1:
            raise ValueError(f"watchdog backoff_factor must be >= 1, got {self.backoff_factor}")


class GatewayWatchdog:
    """Decides when to re-login; see the module docstring."""

    def __init__(self, config: WatchdogConfig, now: float) -> None:
        self.config = config
        self.ready = False
        self.last_heard = now
        self.relogins = 0  # re-logins since the last time the client was ready
        self.next_relogin_at: float | None = None

    # -- what the bridge saw ----------------------------------------------------------------

    def heard(self, now: float) -> None:
        """Any message arrived on the gateway (a dispatch, an ACK, HELLO…)."""
        self.last_heard = max(self.last_heard, now)

    def became_ready(self, now: float) -> None:
        """READY or RESUMED: the connection is healthy again."""
        self.heard(now)
        self.ready = True
        self.relogins = 0
        self.next_relogin_at = None

    def lost_connection(self, now: float) -> None:
        """The library reported a disconnect (it may still reconnect on its own)."""
        self.ready = False

    def logging_in(self, now: float) -> None:
        """A (re-)login is starting: the client is not ready until it says so."""
        self.ready = False

    # -- what to do -----------------------------------------------------------------------------

    def _silent_since(self) -> float:
        return self.last_heard + self.config.silence

    def poll(self, now: float) -> bool:
        """True when the bridge should re-login now (and records that it does)."""
        if self.ready:
            return False
        due = self.next_relogin_at if self.next_relogin_at is not None else self._silent_since()
        if now < due:
            return False
        self.relogins += 1
        cfg = self.config
        delay = min(
            cfg.backoff_initial * cfg.backoff_factor ** (self.relogins - 1), cfg.backoff_maximum
        )
        self.next_relogin_at = now + delay
        return True

    def next_check(self, now: float) -> float:
        """The next time `poll` could answer differently, if nothing else is heard."""
        if self.ready:
            # Readiness only changes through the feed; look again after a silence period.
            return now + self.config.silence
        due = self.next_relogin_at if self.next_relogin_at is not None else self._silent_since()
        return max(due, now)
