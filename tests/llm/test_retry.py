"""The sans-IO retry policy: every rule, property checks, and the retry-after parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clanker.llm import (
    ErrorKind,
    FallBack,
    GiveUp,
    ProviderError,
    RetryAt,
    RetryConfig,
    RetryPolicy,
    parse_retry_after,
)
from clanker.llm.errors import RETRYABLE

CONFIG = RetryConfig(max_attempts=3, base_delay=0.5, factor=2.0, max_delay=4.0, jitter=0.2)
POLICY = RetryPolicy(CONFIG)


def err(
    kind: ErrorKind = ErrorKind.SERVER_ERROR, retry_after: float | None = None
) -> ProviderError:
    return ProviderError(provider="p", model="m", kind=kind, message="x", retry_after=retry_after)


def test_retry_after_is_honoured_exactly() -> None:
    d = POLICY.decide(err(ErrorKind.RATE_LIMITED, 0.05), attempt=1, now=10.0)
    assert d == RetryAt(at=10.05, delay=0.05, reason="p asked to retry after 0.05s")


def test_without_retry_after_the_backoff_doubles_and_caps() -> None:
    delays = [POLICY.backoff(n) for n in range(1, 7)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    d = POLICY.decide(err(ErrorKind.OVERLOADED), attempt=2, now=3.0)
    assert isinstance(d, RetryAt) and d.at == 4.0 and d.delay == 1.0


def test_jitter_stretches_the_backoff_by_at_most_its_fraction() -> None:
    assert POLICY.backoff(1, jitter_sample=0.5) == pytest.approx(0.55)
    assert POLICY.backoff(1, jitter_sample=1.0) == pytest.approx(0.6)
    assert POLICY.backoff(1, jitter_sample=7.0) == pytest.approx(0.6)  # clamped
    assert POLICY.backoff(1, jitter_sample=-1.0) == 0.5


def test_retry_after_is_not_jittered() -> None:
    d = POLICY.decide(err(ErrorKind.RATE_LIMITED, 2.0), attempt=1, now=0.0, jitter_sample=0.9)
    assert isinstance(d, RetryAt) and d.delay == 2.0


@pytest.mark.parametrize("kind", [ErrorKind.TIMEOUT, ErrorKind.BAD_REQUEST, ErrorKind.AUTH])
def test_kinds_a_retry_cannot_fix_fall_back_or_give_up(kind: ErrorKind) -> None:
    assert isinstance(POLICY.decide(err(kind), attempt=1, now=0.0, has_fallback=True), FallBack)
    d = POLICY.decide(err(kind), attempt=1, now=0.0, has_fallback=False)
    assert isinstance(d, GiveUp) and "no other provider is left" in d.reason


def test_attempts_run_out_then_fall_back() -> None:
    assert isinstance(POLICY.decide(err(), attempt=2, now=0.0, has_fallback=True), RetryAt)
    d = POLICY.decide(err(), attempt=3, now=0.0, has_fallback=True)
    assert d == FallBack("p failed 3 of 3 attempts")


def test_a_wait_longer_than_allowed_moves_on() -> None:
    d = POLICY.decide(err(ErrorKind.RATE_LIMITED, 31.0), attempt=1, now=0.0, has_fallback=True)
    assert isinstance(d, FallBack) and "longer than max_retry_after 30s" in d.reason


def test_the_deadline_wins_over_everything() -> None:
    d = POLICY.decide(err(ErrorKind.RATE_LIMITED, 0.1), attempt=1, now=5.0, deadline=5.0)
    assert d == GiveUp("the call's deadline has passed")
    late = POLICY.decide(err(ErrorKind.RATE_LIMITED, 1.0), attempt=1, now=4.5, deadline=5.0)
    assert isinstance(late, GiveUp) and "would pass the deadline" in late.reason
    fits = POLICY.decide(err(ErrorKind.RATE_LIMITED, 0.5), attempt=1, now=4.5, deadline=5.0)
    assert fits == RetryAt(at=5.0, delay=0.5, reason="p asked to retry after 0.5s")


def test_bad_configs_and_attempt_numbers_are_refused() -> None:
    with pytest.raises(ValueError, match="max_attempts must be >= 1"):
        RetryConfig(max_attempts=0)
    with pytest.raises(ValueError, match="factor must be >= 1"):
        RetryConfig(factor=0.5)
    with pytest.raises(ValueError, match="base_delay must be a finite number"):
        RetryConfig(base_delay=float("nan"))
    with pytest.raises(ValueError, match="attempt numbers start at 1"):
        POLICY.decide(err(), attempt=0, now=0.0)


kinds = st.sampled_from(list(ErrorKind))
retry_afters = st.none() | st.floats(0, 100, allow_nan=False)
times = st.floats(0, 1e6, allow_nan=False)


@given(
    kind=kinds,
    retry_after=retry_afters,
    attempt=st.integers(1, 10),
    now=times,
    budget=st.none() | st.floats(0, 100, allow_nan=False),
    has_fallback=st.booleans(),
    jitter=st.floats(0, 1),
)
def test_properties_of_every_decision(
    kind: ErrorKind,
    retry_after: float | None,
    attempt: int,
    now: float,
    budget: float | None,
    has_fallback: bool,
    jitter: float,
) -> None:
    deadline = None if budget is None else now + budget
    d = POLICY.decide(
        err(kind, retry_after),
        attempt=attempt,
        now=now,
        deadline=deadline,
        has_fallback=has_fallback,
        jitter_sample=jitter,
    )
    if isinstance(d, RetryAt):
        # Only retryable kinds, within the attempt budget, never in the past, never late.
        assert kind in RETRYABLE and attempt < CONFIG.max_attempts
        assert d.at >= now and d.delay >= 0
        assert deadline is None or d.at <= deadline
        if retry_after is not None:
            assert d.delay == retry_after
        else:
            assert d.delay <= CONFIG.max_delay * (1 + CONFIG.jitter)
    elif isinstance(d, FallBack):
        assert has_fallback
    else:
        assert isinstance(d, GiveUp)
        # Giving up with a provider left happens only when the deadline has passed.
        assert not has_fallback or (deadline is not None and now >= deadline)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after": "2"}, 2.0),
        ({"Retry-After": "0.05"}, 0.05),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "-3"}, None),
        ({"retry-after": "inf"}, None),
        (
            {
                "retry-after": "Wed, 21 Oct 2026 07:28:30 GMT",
                "date": "Wed, 21 Oct 2026 07:28:00 GMT",
            },
            30.0,
        ),
        (
            {
                "retry-after": "Wed, 21 Oct 2026 07:27:00 GMT",
                "date": "Wed, 21 Oct 2026 07:28:00 GMT",
            },
            0.0,
        ),
        ({"retry-after": "Wed, 21 Oct 2026 07:28:30 GMT"}, None),  # no date header: no clock read
        ({"retry-after": "Wed, 21 Oct 2026 07:28:30 GMT", "date": "garbage"}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers) == expected
