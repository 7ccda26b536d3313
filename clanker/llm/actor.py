"""The `Llm` actor: owns the provider clients, answers `Complete`, logs every call.

Add ``llm_child(config)`` to the tree (it registers ``"llm"``) after the Store, and ask it:

    reply = await rt.lookup("llm").ask(Complete(request=req), timeout=120)
    # LlmCompleted(response) or LlmFailed(failure)

or use `LlmClient`, which returns the `LlmResponse` and raises the typed `LlmError`. Every call,
answered or not, becomes an ``llm_call`` action in the Store (told, so it never slows the
reply; a graceful stop still writes what was told before it).

Each `Complete` is answered with a deferred reply (`ActorContext.defer_reply`): the call runs in
its own background task, so many calls run concurrently and the mailbox never waits on a model;
an asker that stops waiting (a stop word cancelled its reply) cancels its call. In-process code
that wants streaming can use an `LlmService` directly with the same `StoreCallLog` sink.
"""

from __future__ import annotations

import math

import trio

from clanker.llm.calllog import StoreCallLog
from clanker.llm.config import LlmConfig
from clanker.llm.errors import LlmError, LlmFailure
from clanker.llm.model import LlmRequest, LlmResponse
from clanker.llm.service import LlmService
from clanker.runtime import (
    Actor,
    ActorContext,
    ActorRef,
    ChildSpec,
    MailboxSpec,
    Message,
    Overflow,
    Reply,
    Restart,
    UnexpectedReply,
    handles,
)

LLM_NAME = "llm"
"""The runtime-wide name `llm_child` registers by default."""


class Complete(Message, frozen=True):
    """Run ``request`` (non-streamed). Reply: `LlmCompleted` or `LlmFailed`."""

    request: LlmRequest


class LlmCompleted(Message, frozen=True):
    """Reply: the provider's answer, with usage, cost, latency and attempts."""

    response: LlmResponse


class LlmFailed(Message, frozen=True):
    """Reply: no provider answered; ``failure`` names the kind, provider and cause."""

    failure: LlmFailure


class DescribeProviders(Message, frozen=True):
    """Which providers are configured and usable. Reply: `ProvidersDescribed`."""


class ProviderInfo(Message, frozen=True):
    """One configured provider (never its key)."""

    name: str
    kind: str
    model: str
    base_url: str
    api: str
    available: bool
    problem: str = ""


class ProvidersDescribed(Message, frozen=True):
    """Reply: the providers in fallback order."""

    providers: tuple[ProviderInfo, ...]


class Llm(Actor):
    """Owns an `LlmService` (the SDK clients) built from ``config``; logs to ``store``.

    ``store`` is the registered name of the Store actor (None: calls are not logged).
    """

    mailbox = MailboxSpec(capacity=256, overflow=Overflow.BLOCK)

    def __init__(self, config: LlmConfig, *, store: str | None = "store") -> None:
        self.config = config
        self.store_name = store
        self._service: LlmService | None = None

    async def on_start(self, ctx: ActorContext) -> None:
        """Build the SDK clients; fails (a start crash) if no provider has a key."""
        self.ctx = ctx
        store_name = self.store_name
        sink = None
        if store_name is not None:
            sink = StoreCallLog(
                lambda: ctx.lookup(store_name),
                log_prompts=self.config.log_prompts,
                text_chars=self.config.log_text_chars,
            )
        self._service = LlmService(self.config, on_call=sink, rng=ctx.random)
        ctx.start_soon(self._close_on_exit)

    async def _close_on_exit(self) -> None:
        # on_stop is skipped after a crash or a kill; this task is cancelled in every case.
        try:
            await trio.sleep_forever()
        finally:
            service, self._service = self._service, None
            if service is not None:
                with trio.CancelScope(shield=True), trio.move_on_after(5):
                    await service.aclose()

    @property
    def service(self) -> LlmService:
        """The running service."""
        if self._service is None:
            raise RuntimeError("the Llm actor is not running")
        return self._service

    @handles(Complete)
    async def complete(self, msg: Complete) -> None:
        """Run the request through the providers in fallback order, in a task of its own:
        calls run concurrently, and a call whose asker stopped waiting (timed out, or cancelled,
        e.g. a stop word) is cancelled too."""
        reply = self.ctx.defer_reply()
        self.ctx.start_soon(self._complete, msg.request, reply)

    async def _complete(self, request: LlmRequest, reply: Reply) -> None:
        service = self.service
        async with trio.open_nursery() as nursery:

            async def give_up_when_abandoned() -> None:
                await reply.wait_abandoned()
                nursery.cancel_scope.cancel()

            nursery.start_soon(give_up_when_abandoned)
            try:
                reply.send(LlmCompleted(response=await service.complete(request)))
            except LlmError as exc:
                reply.send(LlmFailed(failure=exc.failure))
            nursery.cancel_scope.cancel()

    @handles(DescribeProviders)
    async def describe(self, msg: DescribeProviders) -> ProvidersDescribed:
        """The configured providers, usable or not."""
        service = self.service
        return ProvidersDescribed(
            providers=tuple(
                ProviderInfo(
                    name=p.name,
                    kind=p.kind,
                    model=p.model,
                    base_url=p.resolved_base_url,
                    api=p.resolved_api,
                    available=p.name in service.providers,
                    problem=service.unavailable.get(p.name, ""),
                )
                for p in self.config.providers
            )
        )


def llm_child(
    config: LlmConfig,
    *,
    name: str = LLM_NAME,
    store: str | None = "store",
    restart: Restart = Restart.PERMANENT,
    shutdown: float | None = None,
) -> ChildSpec:
    """A child spec for an `Llm` actor on ``config``, registered runtime-wide as ``name``.

    Put it after the Store's child so the Store is up when calls start being logged.
    """
    return ChildSpec(
        name,
        lambda: Llm(config, store=store),
        mailbox=Llm.mailbox,  # a lambda factory hides the class's own spec
        restart=restart,
        shutdown=shutdown,
        register=name,
    )


class LlmClient:
    """Typed calls to an `Llm` actor: the response, or the typed `LlmError` raised."""

    def __init__(self, ref: ActorRef, *, timeout: float = 300.0) -> None:
        self.ref = ref
        self.timeout = timeout

    async def complete(self, request: LlmRequest) -> LlmResponse:
        """Ask the actor to run ``request``; waits for the request's own timeout plus a grace
        of 10 s (or the client's ``timeout`` when the request has none)."""
        wait = self.timeout if request.timeout is None else request.timeout + 10.0
        reply = await self.ref.ask(Complete(request=request), timeout=wait)
        if isinstance(reply, LlmCompleted):
            return reply.response
        if isinstance(reply, LlmFailed):
            raise reply.failure.to_exception()
        raise UnexpectedReply(self.ref.path, "LlmCompleted | LlmFailed", type(reply).__qualname__)

    async def describe(self) -> tuple[ProviderInfo, ...]:
        """The actor's providers in fallback order."""
        reply = await self.ref.ask(DescribeProviders(), ProvidersDescribed, timeout=math.inf)
        return reply.providers
