"""`LlmService`: one call → providers in fallback order, retries, cost, and a call record.

The service owns the provider clients and carries out the `RetryPolicy`'s decisions on trio
time: each attempt runs under a deadline (the provider's ``attempt_timeout``, capped by the
request's ``timeout``), a failure is classified, the policy says retry at *t*, fall back or give
up, and the service sleeps until *t* or moves on. Every call ends in exactly one `CallRecord`
(success, failure or cancellation) handed to the ``on_call`` sink — the `Llm` actor's sink
writes it to the action log as ``llm_call``.

Streaming runs the same loop in a producer task that feeds a channel: ``async with
service.stream(request) as deltas: async for delta in deltas: ...``. A failure before the first
delta is retried like any other; once deltas have reached the consumer the call is not
retried (what was shown cannot be taken back) and the stream raises the typed error. Leaving the
``async with`` early cancels the producer, which closes the HTTP stream.

The service is safe to use from many tasks at once.
"""

from __future__ import annotations

import copy
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Literal

import msgspec
import trio

from clanker.llm.config import LlmConfig
from clanker.llm.errors import (
    ErrorKind,
    LlmConfigError,
    LlmError,
    LlmFailure,
    ProviderError,
    all_failed,
    failure_from,
)
from clanker.llm.model import (
    LlmRequest,
    LlmResponse,
    ProviderOutput,
    StreamDelta,
    StreamDone,
)
from clanker.llm.pricing import DEFAULT_PRICES, FREE, PriceTable, cost_usd
from clanker.llm.providers import ProviderClient, ProviderFailure, make_provider
from clanker.llm.retry import Decision, FallBack, GiveUp, RetryAt, RetryPolicy
from clanker.llm.vision import for_provider

log = logging.getLogger(__name__)

Outcome = Literal["ok", "failed", "cancelled"]


class AttemptRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One HTTP attempt: where, when (trio time), how it failed and what was decided."""

    provider: str
    model: str
    started_at: float
    ended_at: float
    error: ProviderError | None = None
    decision: Decision | None = None


class CallRecord(msgspec.Struct, frozen=True, kw_only=True):
    """Everything about one call, for the action log: the request, the outcome, each attempt.

    ``priced`` is False when no price was known for the model (its cost is then 0).
    """

    request: LlmRequest
    outcome: Outcome
    streamed: bool
    started_at: float
    ended_at: float
    attempts: tuple[AttemptRecord, ...]
    response: LlmResponse | None = None
    failure: LlmFailure | None = None
    priced: bool = True


CallSink = Callable[[CallRecord], Awaitable[None]]


class LlmStream:
    """The deltas of one streaming call; after `StreamDone`, ``response`` is the full answer.

    Iterating raises the call's `LlmError` if it fails.
    """

    def __init__(self, receive: trio.MemoryReceiveChannel[StreamDelta | LlmFailure]) -> None:
        self._receive = receive
        self._finished = False
        self.response: LlmResponse | None = None

    def __aiter__(self) -> LlmStream:
        return self

    async def __anext__(self) -> StreamDelta:
        if self._finished:
            raise StopAsyncIteration
        try:
            item = await self._receive.receive()
        except trio.EndOfChannel:
            self._finished = True
            raise StopAsyncIteration from None
        if isinstance(item, LlmFailure):
            self._finished = True
            raise item.to_exception()
        if isinstance(item, StreamDone):
            self._finished = True
            self.response = item.response
        return item

    async def final(self) -> LlmResponse:
        """Consume the rest of the stream and return the full response."""
        async for _ in self:
            pass
        if self.response is None:
            raise RuntimeError("the stream ended without a response")
        return self.response


class LlmService:
    """Runs calls against the configured providers (see the module docstring).

    ``providers`` replaces the SDK clients built from ``config`` (one per provider config, in
    the same order); ``on_call`` receives each finished call's `CallRecord`; ``rng`` draws the
    backoff jitter (seed it for reproducible schedules).
    """

    def __init__(
        self,
        config: LlmConfig,
        *,
        providers: Sequence[ProviderClient] | None = None,
        prices: PriceTable = DEFAULT_PRICES,
        on_call: CallSink | None = None,
        rng: random.Random | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.policy = RetryPolicy(config.retry)
        self.prices = prices
        self.on_call = on_call
        self.random = rng or random.Random(0)
        self.unavailable: dict[str, str] = {}
        if providers is None:
            built: list[ProviderClient] = []
            for provider_config in config.providers:
                try:
                    built.append(make_provider(provider_config, environ))
                except LlmConfigError as exc:
                    self.unavailable[provider_config.name] = str(exc)
                    log.warning("LLM provider skipped: %s", exc)
            providers = built
        if not providers:
            problems = "; ".join(self.unavailable.values()) or "none configured"
            raise LlmConfigError(f"no LLM provider is usable: {problems}")
        self.providers: dict[str, ProviderClient] = {p.config.name: p for p in providers}

    async def aclose(self) -> None:
        """Close every provider's HTTP client."""
        for provider in self.providers.values():
            await provider.aclose()

    async def complete(self, request: LlmRequest) -> LlmResponse:
        """One call, not streamed; raises an `LlmError` subclass if no provider answered."""
        return await self._run(request, None)

    @asynccontextmanager
    async def stream(self, request: LlmRequest) -> AsyncIterator[LlmStream]:
        """Stream one call: ``async with service.stream(req) as deltas: async for d in deltas``.

        The last delta is `StreamDone` with the full response; a failure raises from the
        iteration. Leaving the block early cancels the call.
        """
        send, receive = trio.open_memory_channel[StreamDelta | LlmFailure](0)
        raised: Exception | None = None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._produce, request, send)
            try:
                yield LlmStream(receive)
            except Exception as exc:
                # Re-raised below, outside the nursery, so the caller sees the error itself
                # (the LlmError from the iteration, or its own) rather than an ExceptionGroup.
                raised = exc
            finally:
                nursery.cancel_scope.cancel()
                receive.close()
        if raised is not None:
            raise raised

    async def _produce(
        self,
        request: LlmRequest,
        send: trio.MemorySendChannel[StreamDelta | LlmFailure],
    ) -> None:
        async with send:
            try:
                response = await self._run(request, send.send)
            except LlmError as exc:
                await send.send(exc.failure)
            else:
                await send.send(StreamDone(response))

    # --- the loop -----------------------------------------------------------------------------

    def _order(self, request: LlmRequest) -> list[ProviderClient]:
        order = self._restricted(request)
        preferred = [p for p in order if p.config.name == request.prefer]
        if not preferred:
            return order
        first = preferred[0]
        if request.prefer_model and request.prefer_model != first.config.model:
            # The same SDK client, asked for another model (prices follow the model).
            first = copy.copy(first)
            first.config = msgspec.structs.replace(first.config, model=request.prefer_model)
        return [first, *(p for p in order if p.config.name != request.prefer)]

    def _restricted(self, request: LlmRequest) -> list[ProviderClient]:
        if not request.providers:
            return list(self.providers.values())
        unknown = [n for n in request.providers if n not in self.providers]
        if unknown:
            reasons = [
                f"{n!r} is unavailable ({self.unavailable[n]})"
                if n in self.unavailable
                else f"{n!r} is not configured"
                for n in unknown
            ]
            raise LlmError(
                LlmFailure(
                    kind=ErrorKind.BAD_REQUEST,
                    provider=unknown[0],
                    model="",
                    message="; ".join(reasons)
                    + f" (configured: {', '.join(self.providers) or 'none'})",
                )
            )
        return [self.providers[n] for n in request.providers]

    async def _run(
        self,
        request: LlmRequest,
        emit: Callable[[StreamDelta], Awaitable[None]] | None,
    ) -> LlmResponse:
        started = trio.current_time()
        deadline = started + request.timeout if request.timeout is not None else None
        attempts: list[AttemptRecord] = []
        errors: list[ProviderError] = []
        first_delta_at: float | None = None

        async def forward(delta: StreamDelta) -> None:
            nonlocal first_delta_at
            if first_delta_at is None:
                first_delta_at = trio.current_time()
            assert emit is not None  # only handed to providers when streaming
            await emit(delta)

        def record(
            outcome: Outcome,
            response: LlmResponse | None = None,
            failure: LlmFailure | None = None,
            priced: bool = True,
        ) -> CallRecord:
            return CallRecord(
                request=request,
                outcome=outcome,
                streamed=emit is not None,
                started_at=started,
                ended_at=trio.current_time(),
                attempts=tuple(attempts),
                response=response,
                failure=failure,
                priced=priced,
            )

        try:
            order = self._order(request)
            for position, provider in enumerate(order):
                config = provider.config
                number = 0
                while True:
                    number += 1
                    begun = trio.current_time()
                    output, error = await self._attempt(
                        provider, request, deadline, None if emit is None else forward
                    )
                    now = trio.current_time()
                    if output is not None:
                        attempts.append(
                            AttemptRecord(
                                provider=config.name,
                                model=config.model,
                                started_at=begun,
                                ended_at=now,
                            )
                        )
                        response, priced = self._response(
                            provider, output, started, len(attempts), first_delta_at
                        )
                        await self._sink(record("ok", response, priced=priced))
                        return response
                    assert error is not None
                    errors.append(error)
                    decision: Decision
                    if first_delta_at is not None:
                        decision = GiveUp("the stream had already started; a retry would repeat it")
                    else:
                        decision = self.policy.decide(
                            error,
                            attempt=number,
                            now=now,
                            deadline=deadline,
                            has_fallback=position < len(order) - 1,
                            jitter_sample=self.random.random(),
                        )
                    attempts.append(
                        AttemptRecord(
                            provider=config.name,
                            model=config.model,
                            started_at=begun,
                            ended_at=now,
                            error=error,
                            decision=decision,
                        )
                    )
                    log.info("LLM attempt failed: %s → %s", error.describe(), decision)
                    if isinstance(decision, RetryAt):
                        await trio.sleep_until(decision.at)
                        continue
                    if isinstance(decision, FallBack):
                        break
                    raise LlmError(self._failure(errors))
            raise LlmError(all_failed(tuple(errors)))
        except LlmError as exc:
            await self._sink(record("failed", failure=exc.failure))
            raise exc.failure.to_exception() from None
        except trio.Cancelled:
            with trio.CancelScope(shield=True), trio.move_on_after(1.0):
                await self._sink(record("cancelled"))
            raise

    async def _attempt(
        self,
        provider: ProviderClient,
        request: LlmRequest,
        deadline: float | None,
        forward: Callable[[StreamDelta], Awaitable[None]] | None,
    ) -> tuple[ProviderOutput | None, ProviderError | None]:
        """One HTTP attempt under min(attempt_timeout, the call's deadline): its output, or
        its error (a timeout when the deadline cut it)."""
        config = provider.config
        request = for_provider(request, config)  # a model that cannot see gets no images
        limit = trio.current_time() + config.attempt_timeout
        cut_by_call = deadline is not None and deadline <= limit
        if deadline is not None:
            limit = min(limit, deadline)
        with trio.move_on_at(limit):
            try:
                if forward is None:
                    return await provider.complete(request), None
                return await provider.stream(request, forward), None
            except ProviderFailure as failure:
                return None, failure.error
        if cut_by_call:
            cause = f"the call's timeout of {request.timeout:g}s"
        else:
            cause = f"attempt_timeout {config.attempt_timeout:g}s"
        return None, ProviderError(
            provider=config.name,
            model=config.model,
            kind=ErrorKind.TIMEOUT,
            message=f"no complete answer within {cause}",
        )

    def _failure(self, errors: list[ProviderError]) -> LlmFailure:
        if len({e.provider for e in errors}) > 1:
            return all_failed(tuple(errors))
        return failure_from(errors[-1], tuple(errors))

    def _response(
        self,
        provider: ProviderClient,
        output: ProviderOutput,
        started: float,
        attempts: int,
        first_delta_at: float | None,
    ) -> tuple[LlmResponse, bool]:
        config = provider.config
        price = config.price
        if price is None and config.kind == "openai_compatible":
            price = FREE
        if price is None:
            price = self.prices.lookup(config.kind, config.model) or (
                self.prices.lookup(config.kind, output.model) if output.model else None
            )
        priced = price is not None
        response = LlmResponse(
            text=output.text,
            tool_calls=output.tool_calls,
            stop_reason=output.stop_reason,
            raw_stop_reason=output.raw_stop_reason,
            usage=output.usage,
            usd_cost=cost_usd(output.usage, price) if price is not None else 0.0,
            provider=config.name,
            model=output.model or config.model,
            latency=trio.current_time() - started,
            attempts=attempts,
            first_delta_after=None if first_delta_at is None else first_delta_at - started,
        )
        return response, priced

    async def _sink(self, record: CallRecord) -> None:
        if self.on_call is None:
            return
        try:
            await self.on_call(record)
        except trio.Cancelled:
            raise
        except Exception:
            # The record is bookkeeping: losing it must never fail the call it describes.
            log.exception("could not record an LLM call")
