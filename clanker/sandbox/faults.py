"""REST fault injection: make chosen routes slow or failing, the way Discord sometimes is.

Routes are named like discord.py names its rate-limit buckets: `"METHOD /path/{param}"`, e.g.
`"POST /channels/{channel_id}/messages"`. Rules are consumed in the order they were added; a rule
with `times=None` applies forever; a rule with `channel` applies only to requests for that
channel id (e.g. a rate limit in one channel). Pure bookkeeping: the REST layer asks
`take(route, params)` per request.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True)
class InjectedFailure:
    """Answer with `status` instead of running the route. 429s carry `retry_after` seconds."""

    status: int
    retry_after: float | None = None
    is_global: bool = False


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one request: wait `delay` seconds, then fail (if `failure`) or proceed."""

    delay: float = 0.0
    failure: InjectedFailure | None = None


@dataclass
class _Rule:
    route: str
    remaining: int | None
    delay: float = 0.0
    failure: InjectedFailure | None = None
    channel: int | None = None

    def matches(self, route: str, params: dict[str, str]) -> bool:
        if self.route != route:
            return False
        return self.channel is None or params.get("channel_id") == str(self.channel)


class RestFaults:
    """The active fault rules. `known_routes` lets typos fail loudly instead of never matching."""

    def __init__(self, known_routes: Collection[str]) -> None:
        self._known = frozenset(known_routes)
        self._rules: list[_Rule] = []

    def delay(
        self, route: str, seconds: float, *, times: int | None = None, channel: int | None = None
    ) -> None:
        """Hold requests to `route` (for `channel`, if given) `seconds` (trio time) before
        answering them."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(
                f"delay for {route!r} must be a finite number of seconds >= 0, got {seconds}"
            )
        rule = _Rule(self._check(route), self._check_times(times), delay=seconds, channel=channel)
        self._add(rule)

    def fail(
        self,
        route: str,
        status: int,
        *,
        times: int | None = 1,
        retry_after: float | None = None,
        is_global: bool = False,
        channel: int | None = None,
    ) -> None:
        """Answer the next `times` requests to `route` (for `channel`, if given) with `status`
        (a Discord-style error).

        For 429, `retry_after` (seconds, default 1.0) goes in the body and the Retry-After header.
        """
        if not 400 <= status <= 599:
            raise ValueError(f"injected status for {route!r} must be 4xx or 5xx, got {status}")
        if status == 429 and retry_after is None:
            retry_after = 1.0
        failure = InjectedFailure(status, retry_after, is_global)
        rule = _Rule(self._check(route), self._check_times(times), failure=failure, channel=channel)
        self._add(rule)

    def clear(self) -> None:
        """Remove every rule."""
        self._rules.clear()

    def take(self, route: str, params: dict[str, str] | None = None) -> FaultDecision:
        """The fault for one request to `route` with path ``params``, consuming one use of each
        matching rule."""
        delay = 0.0
        failure: InjectedFailure | None = None
        for rule in list(self._rules):
            if not rule.matches(route, params or {}):
                continue
            if rule.failure is not None and failure is not None:
                continue  # one failure per request; later failure rules wait their turn
            delay += rule.delay
            failure = failure or rule.failure
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._rules.remove(rule)
        return FaultDecision(delay, failure)

    def _add(self, rule: _Rule) -> None:
        self._rules.append(rule)

    def _check(self, route: str) -> str:
        if route not in self._known:
            known = "\n  ".join(sorted(self._known))
            raise ValueError(f"unknown sandbox REST route {route!r}; routes are:\n  {known}")
        return route

    @staticmethod
    def _check_times(times: int | None) -> int | None:
        if times is not None and times < 1:
            raise ValueError(f"times must be >= 1 (or None for always), got {times}")
        return times
