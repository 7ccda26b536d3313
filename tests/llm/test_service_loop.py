"""LlmService's retry / fallback / deadline loop on a MockClock, with exact virtual times.

The providers are `ScriptedProvider`s (the far end of a provider: SDK plus remote API), so
every wait is virtual: a 429 asking for 0.05 s is retried at exactly t = 0.05.
"""

from __future__ import annotations

import random

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clanker.llm import (
    AllProvidersFailed,
    BadRequest,
    ErrorKind,
    FallBack,
    GiveUp,
    LlmConfig,
    LlmError,
    LlmRequest,
    LlmService,
    LlmTimeout,
    RateLimited,
    RetryAt,
    RetryConfig,
    ServerError,
    StreamDone,
    TextDelta,
    user,
)

from .helpers import Answer, Fail, Hang, Records, ScriptedProvider, collect, count_tasks

NO_JITTER = RetryConfig(max_attempts=3, base_delay=0.5, factor=2.0, max_delay=8.0, jitter=0.0)


def service(
    *providers: ScriptedProvider, retry: RetryConfig = NO_JITTER
) -> tuple[LlmService, Records]:
    records = Records()
    config = LlmConfig(providers=tuple(p.config for p in providers), retry=retry)
    return LlmService(config, providers=providers, on_call=records, rng=random.Random(1)), records


def ask(text: str = "hi", **fields: object) -> LlmRequest:
    return LlmRequest(messages=(user(text),), **fields)  # type: ignore[arg-type]


async def test_a_429_is_retried_exactly_when_the_provider_asked(
    autojump_clock: trio.testing.MockClock,
) -> None:
    a = ScriptedProvider(
        "a", Fail(ErrorKind.RATE_LIMITED, retry_after=0.05, status=429), Answer("yes")
    )
    svc, records = service(a)
    response = await svc.complete(ask())
    assert response.text == "yes"
    assert a.started == [0.0, 0.05]
    assert response.attempts == 2 and response.latency == 0.05
    (record,) = records.records
    first, second = record.attempts
    assert first.error is not None and first.error.kind is ErrorKind.RATE_LIMITED
    assert first.decision == RetryAt(at=0.05, delay=0.05, reason="a asked to retry after 0.05s")
    assert second.started_at == 0.05 and second.error is None
    assert record.outcome == "ok" and record.response == response


async def test_backoff_then_fallback_at_exact_times(autojump_clock: trio.testing.MockClock) -> None:
    a = ScriptedProvider(
        "a", Fail(delay=0.1), Fail(delay=0.1), Fail(ErrorKind.OVERLOADED, delay=0.1)
    )
    b = ScriptedProvider("b", Answer("from b", delay=0.2))
    svc, records = service(a, b)
    response = await svc.complete(ask())
    # a: fails at 0.1, retry at 0.6; fails at 0.7, retry at 1.7; fails at 1.8 → fall back.
    assert a.started == [0.0, pytest.approx(0.6), pytest.approx(1.7)]
    assert b.started == [pytest.approx(1.8)]
    assert response.provider == "b" and response.text == "from b"
    assert response.latency == pytest.approx(2.0) and response.attempts == 4
    decisions = [a.decision for a in records.records[0].attempts]
    assert isinstance(decisions[0], RetryAt) and decisions[0].delay == 0.5
    assert isinstance(decisions[1], RetryAt) and decisions[1].delay == 1.0
    assert decisions[2] == FallBack("a failed 3 of 3 attempts")
    assert decisions[3] is None


async def test_non_retryable_kinds_fall_back_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    a = ScriptedProvider("a", Fail(ErrorKind.AUTH, status=401))
    b = ScriptedProvider("b", Fail(ErrorKind.BAD_REQUEST, status=400))
    c = ScriptedProvider("c", Answer("c"))
    svc, _ = service(a, b, c)
    response = await svc.complete(ask())
    assert (response.provider, len(a.started), len(b.started), trio.current_time()) == (
        "c",
        1,
        1,
        0.0,
    )


async def test_one_provider_out_of_retries_fails_with_its_own_kind(
    autojump_clock: trio.testing.MockClock,
) -> None:
    a = ScriptedProvider("a", *[Fail(ErrorKind.RATE_LIMITED, retry_after=1.0, status=429)] * 3)
    svc, records = service(a)
    with pytest.raises(RateLimited) as caught:
        await svc.complete(ask())
    failure = caught.value.failure
    assert failure.provider == "a" and failure.status == 429 and len(failure.errors) == 3
    assert "rate_limited HTTP 429" in str(caught.value) and "LLM call failed at a" in str(
        caught.value
    )
    assert trio.current_time() == 2.0
    (record,) = records.records
    assert record.outcome == "failed" and record.failure == failure
    assert record.attempts[-1].decision == GiveUp(
        "a failed 3 of 3 attempts; no other provider is left"
    )


async def test_every_provider_failing_lists_each_cause(
    autojump_clock: trio.testing.MockClock,
) -> None:
    a = ScriptedProvider("a", Fail(ErrorKind.AUTH, status=401))
    b = ScriptedProvider("b", Fail(ErrorKind.TIMEOUT))
    svc, _ = service(a, b)
    with pytest.raises(AllProvidersFailed) as caught:
        await svc.complete(ask())
    assert [(e.provider, e.kind) for e in caught.value.failure.errors] == [
        ("a", ErrorKind.AUTH),
        ("b", ErrorKind.TIMEOUT),
    ]
    text = str(caught.value)
    assert text.startswith("every LLM provider failed: a (claude-sonnet-4-6): auth HTTP 401")
    assert "b (claude-sonnet-4-6): timeout" in text


async def test_the_call_timeout_cuts_a_stalled_provider(
    autojump_clock: trio.testing.MockClock,
) -> None:
    a = ScriptedProvider("a", Hang())
    svc, records = service(a)
    with pytest.raises(LlmTimeout) as caught:
        await svc.complete(ask(timeout=1.5))
    assert trio.current_time() == 1.5
    assert "no complete answer within the call's timeout of 1.5s" in str(caught.value)
    assert records.records[0].attempts[0].decision == GiveUp("the call's deadline has passed")


async def test_a_stalled_attempt_falls_back_within_the_call_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    a = ScriptedProvider("a", Hang(), attempt_timeout=0.3)
    b = ScriptedProvider("b", Answer("b", delay=0.1))
    svc, _ = service(a, b)
    response = await svc.complete(ask(timeout=5.0))
    assert response.provider == "b" and b.started == [0.3]
    assert trio.current_time() == pytest.approx(0.4)


async def test_a_retry_that_would_miss_the_deadline_gives_up_now(
    autojump_clock: trio.testing.MockClock,
) -> None:
    a = ScriptedProvider("a", Fail(ErrorKind.RATE_LIMITED, retry_after=5.0, delay=0.5))
    svc, _ = service(a)
    with pytest.raises(RateLimited):
        await svc.complete(ask(timeout=2.0))
    assert trio.current_time() == 0.5


async def test_request_providers_pick_and_order_them(
    autojump_clock: trio.testing.MockClock,
) -> None:
    a, b = ScriptedProvider("a", Answer("a")), ScriptedProvider("b", Answer("b"))
    svc, records = service(a, b)
    assert (await svc.complete(ask(providers=("b", "a")))).provider == "b"
    with pytest.raises(BadRequest, match=r"'nope' is not configured \(configured: a, b\)"):
        await svc.complete(ask(providers=("nope",)))
    assert records.records[-1].outcome == "failed" and records.records[-1].attempts == ()


async def test_a_preferred_provider_goes_first_with_the_preferred_model(
    autojump_clock: trio.testing.MockClock,
) -> None:
    a = ScriptedProvider("a", Answer("a"), Answer("a"))
    b = ScriptedProvider("b", Fail(ErrorKind.AUTH), Answer("b"), model="b-small")
    svc, records = service(a, b)
    got = await svc.complete(ask(prefer="b", prefer_model="b-large"))
    # b first (asked for b-large), failing; then a as the fallback.
    assert [r.provider for r in records.records[-1].attempts] == ["b", "a"]
    assert [r.model for r in records.records[-1].attempts] == ["b-large", "claude-sonnet-4-6"]
    assert got.provider == "a"
    got = await svc.complete(ask(prefer="b", prefer_model="b-large"))
    assert (got.provider, got.model) == ("b", "b-large")
    assert b.config.model == "b-small"  # the configured client is unchanged
    # A preference for a provider that is not configured changes nothing.
    assert (await svc.complete(ask(prefer="nope", prefer_model="x"))).provider == "a"


async def test_a_stream_delivers_deltas_in_order_then_the_response(
    autojump_clock: trio.testing.MockClock,
) -> None:
    a = ScriptedProvider("a", Answer(pieces=("Hel", "lo", "!"), delay=0.2, gap=0.1))
    svc, records = service(a)
    seen: list[object] = []
    async with svc.stream(ask()) as deltas:
        async for delta in deltas:
            seen.append((trio.current_time(), delta))
    texts = [(t, d.text) for t, d in seen if isinstance(d, TextDelta)]
    assert texts == [(0.2, "Hel"), (pytest.approx(0.3), "lo"), (pytest.approx(0.4), "!")]
    done = seen[-1][1]
    assert isinstance(done, StreamDone) and done.response.text == "Hello!"
    assert done.response.first_delta_after == 0.2
    assert deltas.response == done.response
    assert records.records[0].streamed and records.records[0].outcome == "ok"


async def test_a_stream_failing_before_its_first_delta_is_retried(
    autojump_clock: trio.testing.MockClock,
) -> None:
    a = ScriptedProvider("a", Fail(ErrorKind.OVERLOADED, retry_after=0.25), Answer(pieces=("ok",)))
    svc, _ = service(a)
    async with svc.stream(ask()) as deltas:
        got = [d async for d in deltas]
    assert collect(got) == "ok" and a.started == [0.0, 0.25]


async def test_a_stream_failing_after_deltas_is_not_retried(
    autojump_clock: trio.testing.MockClock,
) -> None:
    a = ScriptedProvider(
        "a", Fail(ErrorKind.OVERLOADED, pieces=("half",), delay=0.1), Answer("never")
    )
    b = ScriptedProvider("b", Answer("never either"))
    svc, records = service(a, b)
    got: list[object] = []
    with pytest.raises(LlmError) as caught:
        async with svc.stream(ask()) as deltas:
            async for d in deltas:
                got.append(d)
    assert got == [TextDelta("half")]
    assert caught.value.kind is ErrorKind.OVERLOADED
    assert len(a.started) == 1 and b.started == []
    assert records.records[0].attempts[0].decision == GiveUp(
        "the stream had already started; a retry would repeat it"
    )


async def test_leaving_a_stream_early_cancels_the_call_and_records_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    a = ScriptedProvider("a", Answer(pieces=("a", "b", "c", "d"), gap=1.0))
    svc, records = service(a)
    before = count_tasks()
    async with svc.stream(ask()) as deltas:
        async for d in deltas:
            assert d == TextDelta("a")
            break
    await trio.testing.wait_all_tasks_blocked()
    assert count_tasks() == before
    assert trio.current_time() == 0.0
    (record,) = records.records
    assert record.outcome == "cancelled" and record.response is None and record.failure is None


async def test_cancelling_the_caller_mid_stream_leaves_no_task(
    autojump_clock: trio.testing.MockClock,
) -> None:
    a = ScriptedProvider("a", Answer(pieces=("a", "b", "c"), gap=1.0))
    svc, records = service(a)
    before = count_tasks()
    with trio.move_on_after(1.5) as scope:
        async with svc.stream(ask()) as deltas:
            async for _ in deltas:
                pass
    assert scope.cancelled_caught and trio.current_time() == 1.5
    await trio.testing.wait_all_tasks_blocked()
    assert count_tasks() == before
    assert records.records[0].outcome == "cancelled"


async def test_a_broken_sink_never_fails_the_call(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    a = ScriptedProvider("a", Answer("fine"))

    async def broken(record: object) -> None:
        raise OSError("disk full")

    config = LlmConfig(providers=(a.config,))
    svc = LlmService(config, providers=[a], on_call=broken)
    assert (await svc.complete(ask())).text == "fine"
    assert "could not record an LLM call" in caplog.text
    await svc.aclose()
    assert a.closed


async def test_cost_is_priced_from_the_table_and_unknown_models_are_flagged(
    autojump_clock: trio.testing.MockClock,
) -> None:
    known = ScriptedProvider("k", Answer("x"), model="claude-haiku-4-5")
    unknown = ScriptedProvider("u", Answer("y"), model="claude-nine")
    local = ScriptedProvider("l", Answer("z"), kind="openai_compatible", model="llama3")
    svc, records = service(known, unknown, local)
    r1 = await svc.complete(ask(providers=("k",)))
    assert r1.usd_cost == pytest.approx((10 * 1.0 + 2 * 5.0) / 1e6)
    r2 = await svc.complete(ask(providers=("u",)))
    assert r2.usd_cost == 0.0 and records.records[-1].priced is False
    r3 = await svc.complete(ask(providers=("l",)))
    assert r3.usd_cost == 0.0 and records.records[-1].priced is True


# --- a property: the loop against an independent model of the rules ------------------------------

outcomes = st.one_of(
    st.builds(Answer, delay=st.sampled_from([0.0, 0.1, 0.3])),
    st.builds(
        Fail,
        kind=st.sampled_from(list(ErrorKind)[:7]),
        retry_after=st.none() | st.sampled_from([0.0, 0.05, 0.7, 40.0]),
        delay=st.sampled_from([0.0, 0.2]),
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scripts=st.lists(st.lists(outcomes, min_size=1, max_size=4), min_size=1, max_size=3),
    max_attempts=st.integers(1, 3),
)
def test_the_loop_follows_the_rules_for_any_script(
    scripts: list[list[Answer | Fail]], max_attempts: int
) -> None:
    retry = RetryConfig(max_attempts=max_attempts, base_delay=0.5, jitter=0.0, max_retry_after=30.0)

    def expected() -> tuple[str | None, list[tuple[str, float]]]:
        """Replay the rules by hand: which provider answers, and when each attempt starts."""
        now, starts = 0.0, []
        for index, script in enumerate(scripts):
            name = f"p{index}"
            queue = list(script)
            for attempt in range(1, max_attempts + 1):
                outcome = queue.pop(0) if queue else Answer()
                starts.append((name, now))
                now += outcome.delay
                if isinstance(outcome, Answer):
                    return name, starts
                retryable = outcome.kind in {
                    ErrorKind.RATE_LIMITED,
                    ErrorKind.OVERLOADED,
                    ErrorKind.SERVER_ERROR,
                    ErrorKind.CONNECTION,
                }
                if not retryable or attempt == max_attempts:
                    break
                if outcome.retry_after is not None:
                    if outcome.retry_after > 30.0:
                        break
                    now += outcome.retry_after
                else:
                    now += min(0.5 * 2 ** (attempt - 1), 20.0)
        return None, starts

    async def run() -> tuple[str | None, list[tuple[str, float]], int]:
        providers = [ScriptedProvider(f"p{i}", *s) for i, s in enumerate(scripts)]
        svc, records = service(*providers, retry=retry)
        try:
            winner: str | None = (await svc.complete(ask())).provider
        except LlmError:
            winner = None
        (record,) = records.records
        starts = [(a.provider, a.started_at) for a in record.attempts]
        return winner, starts, len(records.records)

    winner, starts, count = trio.run(run, clock=trio.testing.MockClock(autojump_threshold=0))
    want_winner, want_starts = expected()
    assert count == 1
    assert winner == want_winner
    assert [(p, pytest.approx(t)) for p, t in want_starts] == starts


async def test_server_errors_map_to_server_error_exceptions(
    autojump_clock: trio.testing.MockClock,
) -> None:
    a = ScriptedProvider("a", *[Fail(ErrorKind.SERVER_ERROR, status=500)] * 3)
    svc, _ = service(a, retry=RetryConfig(max_attempts=1))
    with pytest.raises(ServerError):
        await svc.complete(ask())
