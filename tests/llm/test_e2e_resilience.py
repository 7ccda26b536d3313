"""End to end: retries, fallback, errors, timeouts and cancellation, with the real SDKs over
HTTP against llmsim. Timing is asserted on the trio times the code recorded: the time the
policy scheduled a retry for, and the time llmsim saw the retry arrive.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from clanker.llm import (
    AllProvidersFailed,
    AuthFailed,
    BadRequest,
    ConnectionFailed,
    ErrorKind,
    FallBack,
    LlmRequest,
    LlmTimeout,
    Overloaded,
    ProviderConfig,
    RetryAt,
    StreamDone,
    TextDelta,
    user,
)
from clanker.llmsim import (
    Disconnect,
    LlmSim,
    Stall,
    StreamError,
    Text,
    bad_request,
    overloaded,
    rate_limited,
    server_error,
)

from .conftest import KINDS, Running, provider_for
from .helpers import count_tasks

FLAVOURS = list(KINDS)


def ask(**fields: object) -> LlmRequest:
    return LlmRequest(messages=(user("hi"),), **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_a_429_is_retried_at_the_time_retry_after_asked(
    sim: LlmSim, running: Running, flavour: str
) -> None:
    sim.script(rate_limited(retry_after=0.05), Text("second time lucky"))
    async with running(provider_for(sim, flavour)) as (svc, records):
        response = await svc.complete(ask())
    assert response.text == "second time lucky" and response.attempts == 2
    first, second = records.records[0].attempts
    assert first.error is not None
    assert (first.error.kind, first.error.status, first.error.retry_after) == (
        ErrorKind.RATE_LIMITED,
        429,
        0.05,
    )
    assert isinstance(first.decision, RetryAt)
    assert first.decision.at == first.ended_at + 0.05  # exactly what the provider asked
    assert second.started_at >= first.decision.at
    assert sim.requests[1].at >= first.decision.at  # the retry reached the server no earlier
    assert len(sim.requests) == 2


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_server_errors_and_overload_are_retried(
    sim: LlmSim, running: Running, flavour: str
) -> None:
    busy = overloaded() if flavour == "anthropic" else overloaded(503)
    sim.script(server_error(500), busy, Text("finally"))
    async with running(provider_for(sim, flavour)) as (svc, records):
        response = await svc.complete(ask())
    assert response.text == "finally" and response.attempts == 3
    errors = [a.error for a in records.records[0].attempts if a.error is not None]
    assert [(e.kind, e.status) for e in errors] == [
        (ErrorKind.SERVER_ERROR, 500),
        (ErrorKind.OVERLOADED, 529 if flavour == "anthropic" else 503),
    ]
    # No retry-after: the policy's backoff (0.05 s, then 0.1 s with FAST_RETRY).
    delays = [
        a.decision.delay for a in records.records[0].attempts if isinstance(a.decision, RetryAt)
    ]
    assert delays == [0.05, 0.1]


async def test_fallback_to_the_next_provider_when_the_first_keeps_failing(
    sim: LlmSim, sim2: LlmSim, running: Running
) -> None:
    sim.script(overloaded(), overloaded(), overloaded())
    sim2.script(Text("the backup answers"))
    primary = provider_for(sim, "anthropic", name="claude")
    backup = provider_for(sim2, "openai", name="gpt")
    async with running(primary, backup) as (svc, records):
        response = await svc.complete(ask())
    assert (response.provider, response.model, response.text) == (
        "gpt",
        "gpt-5.4",
        "the backup answers",
    )
    assert len(sim.requests) == 3 and len(sim2.requests) == 1
    decisions = [a.decision for a in records.records[0].attempts]
    assert isinstance(decisions[0], RetryAt) and isinstance(decisions[1], RetryAt)
    assert decisions[2] == FallBack("claude failed 3 of 3 attempts")
    assert response.attempts == 4


async def test_all_providers_failing_is_one_typed_error_naming_each(
    sim: LlmSim, sim2: LlmSim, running: Running
) -> None:
    sim.script(bad_request("messages: too long"))
    sim2.script(bad_request("context_length_exceeded"))
    async with running(provider_for(sim, "anthropic"), provider_for(sim2, "xai")) as (svc, _):
        with pytest.raises(AllProvidersFailed) as caught:
            await svc.complete(ask())
    text = str(caught.value)
    assert "anthropic (claude-sonnet-4-6): bad_request HTTP 400: messages: too long" in text
    assert (
        "xai (grok-4-1-fast-non-reasoning): bad_request HTTP 400: context_length_exceeded" in text
    )


@pytest.mark.parametrize("flavour", ["anthropic", "openai", "local"])
async def test_a_wrong_key_is_an_auth_failure_without_retries(
    sim: LlmSim, running: Running, flavour: str
) -> None:
    async with running(provider_for(sim, flavour, api_key="wrong")) as (svc, _):
        with pytest.raises(AuthFailed) as caught:
            await svc.complete(ask())
    assert caught.value.failure.status == 401 and "invalid API key (llmsim)" in str(caught.value)
    assert len(sim.requests) == 1 and sim.pending == 0


async def test_a_bad_request_is_not_retried(sim: LlmSim, running: Running) -> None:
    sim.script(bad_request("max_tokens: too large"))
    async with running(provider_for(sim, "openai")) as (svc, _):
        with pytest.raises(BadRequest, match="max_tokens: too large"):
            await svc.complete(ask())
    assert len(sim.requests) == 1


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_an_error_event_before_any_text_is_retried(
    sim: LlmSim, running: Running, flavour: str
) -> None:
    sim.script(StreamError(), Text("recovered"))
    async with running(provider_for(sim, flavour)) as (svc, records), svc.stream(ask()) as deltas:
        response = await deltas.final()
    assert response.text == "recovered" and response.attempts == 2
    error = records.records[0].attempts[0].error
    assert error is not None and error.kind is ErrorKind.OVERLOADED


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_an_error_event_after_text_fails_the_stream(
    sim: LlmSim, running: Running, flavour: str
) -> None:
    sim.script(StreamError(text="I was saying"), Text("never used"))
    seen: list[str] = []
    async with running(provider_for(sim, flavour)) as (svc, records):
        with pytest.raises(Overloaded):
            async with svc.stream(ask()) as deltas:
                async for d in deltas:
                    if isinstance(d, TextDelta):
                        seen.append(d.text)
    assert "".join(seen) == "I was saying"
    assert len(sim.requests) == 1 and sim.pending == 1
    assert records.records[0].outcome == "failed"


@pytest.mark.parametrize("flavour", ["anthropic", "openai", "xai"])
async def test_a_dropped_connection_is_retried_before_text_and_fatal_after(
    sim: LlmSim, running: Running, flavour: str
) -> None:
    sim.script(Disconnect(after_chunks=0), Text("ok now"))
    async with running(provider_for(sim, flavour)) as (svc, records):
        async with svc.stream(ask()) as deltas:
            assert (await deltas.final()).text == "ok now"
        first = records.records[0].attempts[0].error
        assert first is not None and first.kind is ErrorKind.CONNECTION
        sim.script(Disconnect(after_chunks=2, text="cut off in the middle"))
        with pytest.raises(ConnectionFailed):
            async with svc.stream(ask()) as deltas:
                async for _ in deltas:
                    pass


async def test_an_unreachable_provider_falls_back(sim: LlmSim, running: Running) -> None:
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now: connections are refused
    dead = ProviderConfig(
        name="dead",
        kind="openai",
        model="gpt-5.4",
        base_url=f"http://127.0.0.1:{port}/v1",
        api_key="k",
    )
    sim.script(Text("alive"))
    async with running(dead, provider_for(sim, "anthropic")) as (svc, records):
        response = await svc.complete(ask())
    assert response.provider == "anthropic"
    kinds = [a.error.kind for a in records.records[0].attempts if a.error is not None]
    assert kinds == [ErrorKind.CONNECTION] * 3


@pytest.mark.parametrize("flavour", ["anthropic", "openai", "local"])
async def test_a_stalled_provider_times_out_with_a_typed_failure(
    sim: LlmSim, running: Running, flavour: str
) -> None:
    sim.script(Text("warm-up"), Stall())
    async with running(provider_for(sim, flavour)) as (svc, records):
        # The first call of a fresh SDK client does slow one-time work (lazy imports, a
        # platform probe in a thread); warm it so the timed call surely reaches the server.
        await svc.complete(ask())
        with pytest.raises(LlmTimeout) as caught:
            await svc.complete(ask(timeout=1.0))
    assert caught.value.kind is ErrorKind.TIMEOUT
    assert "no complete answer within the call's timeout of 1s" in str(caught.value)
    record = records.records[1]
    assert record.outcome == "failed" and record.ended_at - record.started_at >= 1.0
    await sim.wait_until(lambda: sim.requests[1].hung_up)  # the client really hung up


async def test_a_stall_mid_stream_falls_back_after_the_attempt_timeout(
    sim: LlmSim, sim2: LlmSim, running: Running
) -> None:
    sim.script(Stall())
    sim2.script(Text("backup"))
    slow = provider_for(sim, "anthropic", attempt_timeout=0.3)
    async with (
        running(slow, provider_for(sim2, "xai")) as (svc, records),
        svc.stream(ask(timeout=30.0)) as deltas,
    ):
        response = await deltas.final()
    assert response.provider == "xai"
    first = records.records[0].attempts[0]
    assert first.error is not None and "within attempt_timeout 0.3s" in first.error.message
    assert first.decision == FallBack("timeout is not fixed by retrying anthropic")


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_cancelling_mid_stream_hangs_up_and_leaves_no_task(
    sim: LlmSim, running: Running, flavour: str
) -> None:
    sim.script(Stall(after_chunks=2, text="one two three four"))
    async with running(provider_for(sim, flavour)) as (svc, records):
        before = count_tasks()
        got: list[str] = []
        async with svc.stream(ask()) as deltas:
            async for d in deltas:
                assert isinstance(d, TextDelta)
                got.append(d.text)
                if len(got) == 2:
                    break  # leave the stream: the call is cancelled
        await sim.wait_until(lambda: sim.requests[0].hung_up)
        await trio.testing.wait_all_tasks_blocked()
        assert count_tasks() == before
    assert got == ["one ", "two "]
    assert records.records[0].outcome == "cancelled"


async def test_a_cancel_scope_around_a_stream_cancels_it(sim: LlmSim, running: Running) -> None:
    sim.script(Stall(after_chunks=1, text="hello world"))
    async with running(provider_for(sim, "openai")) as (svc, records):
        got: list[object] = []
        with trio.CancelScope() as scope:
            async with svc.stream(ask()) as deltas:
                async for d in deltas:
                    got.append(d)
                    scope.cancel()
        assert scope.cancelled_caught and got == [TextDelta("hello ")]
        await sim.wait_until(lambda: sim.requests[0].hung_up)
    assert records.records[0].outcome == "cancelled"
    assert not any(isinstance(d, StreamDone) for d in got)
