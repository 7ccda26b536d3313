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
from collections.abc import Sequence

import trio

from clanker.llm.calllog import StoreCallLog
from clanker.llm.config import LlmConfig
from clanker.llm.errors import LlmError, LlmFailure
from clanker.llm.model import LlmRequest, LlmResponse, StreamDone, TextDelta
from clanker.llm.providers import ProviderClient
from clanker.llm.service import LlmService
from clanker.llm.vision import supports_vision
from clanker.runtime import (
    Actor,
    ActorContext,
    ActorError,
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


class StreamTo(Message, frozen=True):
    """Stream ``request`` to the actor registered as ``deliver_to``: it is told one
    `LlmStreamText` per text delta, then one `LlmStreamEnded` (the response, or the failure).
    Reply: `LlmStreamStarted`. `CancelStream(stream_id)` (or ``deliver_to`` going away) cancels
    the call. ``stream_id`` is the caller's own label, echoed on every delta."""

    request: LlmRequest
    deliver_to: str
    stream_id: int


class LlmStreamStarted(Message, frozen=True):
    stream_id: int


class LlmStreamText(Message, frozen=True):
    stream_id: int
    text: str


class LlmStreamEnded(Message, frozen=True):
    stream_id: int
    response: LlmResponse | None = None
    failure: LlmFailure | None = None


class CancelStream(Message, frozen=True):
    """Cancel the stream ``stream_id`` of ``deliver_to`` (told; unknown ids are ignored)."""

    deliver_to: str
    stream_id: int


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
    vision: bool = False  # the model takes images (`clanker.llm.vision.supports_vision`)


class ProvidersDescribed(Message, frozen=True):
    """Reply: the providers in fallback order."""

    providers: tuple[ProviderInfo, ...]


class Llm(Actor):
    """Owns an `LlmService` (the SDK clients) built from ``config``; logs to ``store``.

    ``store`` is the registered name of the Store actor (None: calls are not logged).
    """

    mailbox = MailboxSpec(capacity=256, overflow=Overflow.BLOCK)

    def __init__(
        self,
        config: LlmConfig,
        *,
        store: str | None = "store",
        providers: Sequence[ProviderClient] | None = None,
    ) -> None:
        self.config = config
        self.providers = providers  # None: built from config (a test gives its own far end)
        self.store_name = store
        self._service: LlmService | None = None
        self._streams: dict[tuple[str, int], trio.CancelScope] = {}

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
        self._service = LlmService(
            self.config, providers=self.providers, on_call=sink, rng=ctx.random
        )
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

    @handles(StreamTo)
    async def stream_to(self, msg: StreamTo) -> LlmStreamStarted:
        """Start the stream in a task of its own (see `StreamTo`)."""
        scope = trio.CancelScope()
        key = (msg.deliver_to, msg.stream_id)
        old = self._streams.pop(key, None)
        if old is not None:
            old.cancel()
        self._streams[key] = scope
        self.ctx.start_soon(self._stream, msg, scope)
        return LlmStreamStarted(stream_id=msg.stream_id)

    @handles(CancelStream)
    async def cancel_stream(self, msg: CancelStream) -> None:
        scope = self._streams.pop((msg.deliver_to, msg.stream_id), None)
        if scope is not None:
            scope.cancel()

    async def _stream(self, msg: StreamTo, scope: trio.CancelScope) -> None:
        key = (msg.deliver_to, msg.stream_id)

        async def tell(item: Message) -> bool:
            try:
                await self.ctx.lookup(msg.deliver_to).tell(item)
            except ActorError:
                return False  # the receiver is gone: nobody listens, stop the call
            return True

        try:
            with scope:
                try:
                    async with self.service.stream(msg.request) as deltas:
                        async for delta in deltas:
                            if isinstance(delta, TextDelta) and delta.text:
                                if not await tell(
                                    LlmStreamText(stream_id=msg.stream_id, text=delta.text)
                                ):
                                    return
                            elif isinstance(delta, StreamDone):
                                await tell(
                                    LlmStreamEnded(stream_id=msg.stream_id, response=delta.response)
                                )
                                return
                except LlmError as exc:
                    await tell(LlmStreamEnded(stream_id=msg.stream_id, failure=exc.failure))
        finally:
            if self._streams.get(key) is scope:
                del self._streams[key]

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
                    vision=supports_vision(p),
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
