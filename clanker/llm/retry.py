"""When to retry, fall back or give up: a sans-IO policy, and the ``retry-after`` parser.

`RetryPolicy.decide` is fed one failed attempt (its `ProviderError`, which carries the delay the
provider asked for), the attempt number at this provider, the current trio time, the call's
deadline and whether another provider is left; it returns `RetryAt`, `FallBack` or `GiveUp`.
It reads no clock and sleeps nowhere: `LlmService` carries the decision out.

The rules, in order:

1. past the call's deadline → give up (there is no time for anything else);
2. a kind that another attempt here cannot fix (timeout, bad request, auth) → fall back;
3. this provider used up ``max_attempts`` → fall back;
4. the provider asked for a longer wait than ``max_retry_after`` → fall back;
5. otherwise retry at ``now + retry_after`` (exactly what the provider asked), or after an
   exponential backoff ``base_delay * factor**(attempt-1)`` capped at ``max_delay`` and
   stretched by up to ``jitter`` (a fraction, drawn by the caller as ``jitter_sample``);
6. a retry that would land after the deadline → fall back.

"Fall back" becomes "give up" when no provider is left.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Mapping

import msgspec

from clanker.llm.errors import RETRYABLE, ProviderError


class RetryConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Retry knobs (per provider attempt counts; delays in seconds)."""

    max_attempts: int = 3  # attempts at one provider before falling back
    base_delay: float = 0.5
    factor: float = 2.0
    max_delay: float = 20.0
    jitter: float = 0.2  # the backoff is stretched by up to this fraction
    max_retry_after: float = 30.0  # a longer requested wait falls back instead

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"RetryConfig.max_attempts must be >= 1, got {self.max_attempts}")
        for field in ("base_delay", "max_delay", "jitter", "max_retry_after"):
            value = getattr(self, field)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"RetryConfig.{field} must be a finite number >= 0, got {value}")
        if not self.factor >= 1:
            raise ValueError(f"RetryConfig.factor must be >= 1, got {self.factor}")


class RetryAt(msgspec.Struct, frozen=True, tag="retry"):
    """Try the same provider again at trio time ``at`` (``delay`` after the failure)."""

    at: float
    delay: float
    reason: str


class FallBack(msgspec.Struct, frozen=True, tag="fall_back"):
    """Move on to the next provider."""

    reason: str


class GiveUp(msgspec.Struct, frozen=True, tag="give_up"):
    """Stop: the call fails with the last error."""

    reason: str


Decision = RetryAt | FallBack | GiveUp


class RetryPolicy:
    """Decides what follows a failed attempt (see the module docstring for the rules)."""

    def __init__(self, config: RetryConfig | None = None) -> None:
        self.config = config or RetryConfig()

    def backoff(self, attempt: int, jitter_sample: float = 0.0) -> float:
        """The delay after failed attempt number ``attempt`` (1-based) without a retry-after."""
        c = self.config
        delay = min(c.base_delay * c.factor ** (attempt - 1), c.max_delay)
        return delay * (1.0 + c.jitter * min(max(jitter_sample, 0.0), 1.0))

    def decide(
        self,
        error: ProviderError,
        *,
        attempt: int,
        now: float,
        deadline: float | None = None,
        has_fallback: bool = False,
        jitter_sample: float = 0.0,
    ) -> Decision:
        """What to do after ``error`` ended attempt number ``attempt`` at its provider."""
        if attempt < 1:
            raise ValueError(f"attempt numbers start at 1, got {attempt}")
        c = self.config

        def move_on(reason: str) -> Decision:
            if has_fallback:
                return FallBack(reason)
            return GiveUp(f"{reason}; no other provider is left")

        if deadline is not None and now >= deadline:
            return GiveUp("the call's deadline has passed")
        if error.kind not in RETRYABLE:
            return move_on(f"{error.kind.value} is not fixed by retrying {error.provider}")
        if attempt >= c.max_attempts:
            return move_on(f"{error.provider} failed {attempt} of {c.max_attempts} attempts")
        if error.retry_after is not None:
            if error.retry_after > c.max_retry_after:
                return move_on(
                    f"{error.provider} asked to wait {error.retry_after:g}s, longer than "
                    f"max_retry_after {c.max_retry_after:g}s"
                )
            delay = max(error.retry_after, 0.0)
            reason = f"{error.provider} asked to retry after {delay:g}s"
        else:
            delay = self.backoff(attempt, jitter_sample)
            reason = f"backoff {delay:g}s after attempt {attempt}"
        at = now + delay
        if deadline is not None and at > deadline:
            return move_on(f"a retry at {at:g} would pass the deadline {deadline:g}")
        return RetryAt(at=at, delay=delay, reason=reason)


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """The delay a response asked for, in seconds, or None.

    Reads ``retry-after-ms`` (milliseconds, sent by OpenAI), then ``retry-after`` as seconds or
    as an HTTP date; a date is measured against the response's own ``date`` header, so no wall
    clock is read (without a ``date`` header a date value is ignored). Header names are matched
    case-insensitively; negative or unparseable values are ignored.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    ms = _number(lowered.get("retry-after-ms"))
    if ms is not None:
        return ms / 1000.0
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    seconds = _number(raw)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(raw)
        sent = email.utils.parsedate_to_datetime(lowered["date"])
        delta = (when - sent).total_seconds()
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return max(delta, 0.0)


def _number(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return value
