"""`RealtimeLink`: one actor owning one realtime provider's WebSocket, around any sans-IO
`RealtimeSession` (issue 14).

The session decides every byte; the link only moves them. On start it makes a fresh session
(the config's factory) and returns; a background task then opens the socket where
`session.target()` says, sends the `start(config)` frames, tells the owner
`RealtimeConnected`, and reads: each frame goes to `session.receive`, each event it makes is
told to the owner as a `RealtimeLinkEvent`, and frames the session owes the server (an
ElevenLabs ``pong``, from ``take_frames()``) are sent at once.

Each command message calls the session's command of the same name and sends the frames it
returns, in order. `Unsupported` and `ValueError` are refusals (`CommandRefused`: the reply
of an ask, else told to the owner), never a crash; so is a command while there is no socket.
A command that arrives while the link still connects waits for the connection (at most the
connect timeout), so commands sent right after the start keep their order behind `start`.

**No silent reconnect.** When the socket goes away by itself (the provider closed it, the
network broke, or a frame could not be sent within ``send_timeout``), the session's
``connection_lost`` events are told to the owner, then `RealtimeDropped` with the close code
and reason, and the link stops normally. A failed connect is `RealtimeConnectFailed`, and
the link stops too. So under a ``transient`` (or ``temporary``) child spec nothing is
restarted: the owner decides whether to start another link. Only a bug (a crash) restarts it.

**Backpressure.** The mailbox is bounded (256) and blocks: commands, audio included, are
never dropped or reordered behind the owner's back, because a lost ``commit`` or a reordered
append would corrupt the turn. The link drains the mailbox as fast as the socket takes
frames. Every send is bounded by ``send_timeout``: a provider that stops taking frames for
that long ends the link (`RealtimeDropped`, reason ``send stalled``), its mailbox closes, and
a waiting ``tell`` fails with `ActorStopped`, so a sender is never blocked forever. An owner
that must never wait (the live audio path) sends `AppendAudio` with ``try_tell`` and counts
a False as dropped audio: late audio is worth less than dropped audio. Events go to the
owner with ``tell``, so a slow owner slows the reading, and the provider's socket (TCP)
pushes back on the provider.

**Costs.** With ``RealtimeLinkConfig.costs`` the link logs what its use costs
(`clanker.voice.realtime.pricing`): every `ResponseDone` carrying token usage becomes a
``realtime_usage`` action (priced by modality), and the connection of a per-minute provider a
``realtime_session`` action when it ends (closed or dropped), both told to the Store without
waiting, with the provider and model in the metadata, so the dashboard's cost view counts them.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import msgspec
import trio
from trio_websocket import (
    ConnectionClosed,
    ConnectionRejected,
    HandshakeError,
    WebSocketConnection,
    wrap_client_stream,
)

from clanker.runtime import (
    Actor,
    ActorContext,
    ActorError,
    ActorRef,
    ChildSpec,
    MailboxSpec,
    Message,
    Overflow,
    Restart,
    handles,
)
from clanker.store.messages import LogAction
from clanker.store.validation import to_json
from clanker.voice.realtime.api import (
    Outgoing,
    ProviderError,
    RealtimeEvent,
    RealtimeSession,
    ResponseDone,
    SessionConfig,
    Unsupported,
)
from clanker.voice.realtime.link_messages import (
    AddTextTurn,
    AppendAudio,
    CancelResponse,
    ClearAudio,
    Close,
    CommandRefused,
    CommandSent,
    CommitTurn,
    GetLinkStatus,
    LinkCommand,
    LinkNotice,
    LinkState,
    LinkStatus,
    RealtimeClosed,
    RealtimeConnected,
    RealtimeConnectFailed,
    RealtimeDropped,
    RealtimeLinkEvent,
    RefusalKind,
    RequestResponse,
    SpeakExact,
    ToolResult,
    Truncate,
    Update,
)
from clanker.voice.realtime.pricing import (
    DEFAULT_REALTIME_PRICES,
    RealtimePrice,
    price_for,
    response_cost,
    session_cost,
)

log = logging.getLogger("clanker.voice.realtime")

MAILBOX = MailboxSpec(capacity=256, overflow=Overflow.BLOCK)


@dataclass(frozen=True)
class RealtimeLinkConfig:
    """What one link needs.

    ``session`` makes a fresh provider session (called once per start); ``start`` is the
    configuration its `start` sends; ``owner`` is where every notice goes: a registered
    actor name (looked up again when a tell fails, so a restarted owner still hears) or a
    ref. ``connect_timeout`` bounds the TCP connect and the WebSocket handshake,
    ``send_timeout`` one frame's send, ``close_timeout`` the closing handshake.
    ``max_message_size`` is the largest frame accepted from the provider (a bigger one
    closes the socket with 1009).
    """

    session: Callable[[], RealtimeSession]
    owner: str | ActorRef
    start: SessionConfig = field(default_factory=SessionConfig)
    connect_timeout: float = 10.0
    send_timeout: float = 5.0
    close_timeout: float = 2.0
    max_message_size: int = 16 * 1024 * 1024
    costs: RealtimeCosts | None = None  # None: nothing logged

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "send_timeout", "close_timeout"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"RealtimeLinkConfig.{name} must be > 0 seconds, got {value!r}")
        if self.max_message_size < 1:
            raise ValueError(
                f"RealtimeLinkConfig.max_message_size must be >= 1, got {self.max_message_size}"
            )
        if isinstance(self.owner, str) and not self.owner:
            raise ValueError("RealtimeLinkConfig.owner must name an actor; it is empty")


@dataclass(frozen=True)
class RealtimeCosts:
    """Where a link logs what its use costs (`clanker.voice.realtime.pricing`): each response
    with token usage as a ``realtime_usage`` action, and a per-minute provider's connection as
    a ``realtime_session`` action when it ends, with the guild and channel of the call. The
    dashboard's cost view counts them by provider and model like the LLM's calls."""

    store: str = "store"
    guild_id: int | None = None
    channel_id: int | None = None
    prices: Mapping[tuple[str, str], RealtimePrice] = field(
        default_factory=lambda: dict(DEFAULT_REALTIME_PRICES)
    )


class _SendStalled(Exception):
    """The provider did not take a frame within the send timeout."""


class RealtimeLink(Actor):
    """One provider WebSocket around one `RealtimeSession`; see the module docstring."""

    mailbox = MAILBOX

    def __init__(self, config: RealtimeLinkConfig) -> None:
        self.config = config
        self.session: RealtimeSession | None = None
        self.provider = ""
        self.state: LinkState = "connecting"
        self.ended = ""
        self.frames_sent = 0
        self.frames_received = 0
        self.events = 0
        self.undelivered = 0
        self._ws: WebSocketConnection | None = None
        self._stream: trio.SocketStream | trio.SSLStream[trio.SocketStream] | None = None
        self._settled = trio.Event()
        """Set once the connect attempt is over (connected, or failed)."""
        self._close_done = trio.Event()
        self._ctx: ActorContext | None = None
        self._owner: ActorRef | None = None
        self.model = ""
        self._connected_at: float | None = None
        self.usd_cost = 0.0

    # -- life ------------------------------------------------------------------------------

    async def on_start(self, ctx: ActorContext) -> None:
        self._ctx = ctx
        self.session = self.config.session()
        self.provider = self.session.capabilities.provider
        self.model = str(getattr(self.session, "model", "") or "")
        ctx.start_soon(self._run)

    async def on_stop(self) -> None:
        """A graceful stop while connected closes the socket politely (the closing frames,
        then the close handshake) and tells the owner `RealtimeClosed`."""
        if self.state == "connected":
            await self._close()

    @property
    def _path(self) -> str:
        return self._ctx.path if self._ctx is not None else ""

    async def _run(self) -> None:
        rejected: ConnectionRejected | None = None
        try:
            # The nursery holds trio-websocket's own reader task, which is where a refused
            # handshake is raised.
            async with trio.open_nursery() as nursery:
                ws = await self._connect(nursery)
                if ws is not None:
                    await self._serve(ws)
                nursery.cancel_scope.cancel()
        except* ConnectionRejected as group:
            first = group.exceptions[0]
            assert isinstance(first, ConnectionRejected)
            rejected = first
        finally:
            self._settled.set()
            with trio.CancelScope(shield=True):
                await self._release()
        if rejected is not None:
            status = rejected.status_code
            body = (rejected.body or b"")[:200].decode("utf-8", "replace").strip()
            reason = f"the provider refused the handshake with HTTP {status}"
            await self._connect_failed(f"{reason}: {body}" if body else reason, status)

    async def _connect(self, nursery: trio.Nursery) -> WebSocketConnection | None:
        assert self.session is not None
        target = self.session.target()
        headers = [(k.lower().encode(), v.encode()) for k, v in target.headers]
        with trio.move_on_after(self.config.connect_timeout):
            try:
                self._stream = await _open_stream(target.url)
                host, resource = _host_and_resource(target.url)
                ws = await wrap_client_stream(
                    nursery,
                    self._stream,
                    host,
                    resource,
                    subprotocols=list(target.subprotocols) or None,
                    extra_headers=headers,
                    max_message_size=self.config.max_message_size,
                )
            except (OSError, ValueError, HandshakeError, trio.BrokenResourceError) as exc:
                await self._connect_failed(
                    f"could not connect to the provider: {type(exc).__name__}: {exc}"
                )
                return None
            self._ws = ws
            return ws
        await self._connect_failed(
            f"the provider did not answer within {self.config.connect_timeout} s"
        )
        return None

    async def _connect_failed(self, reason: str, status: int | None = None) -> None:
        notice = RealtimeConnectFailed(
            link=self._path, provider=self.provider, reason=reason, status=status
        )
        await self._end(notice, reason)

    async def _serve(self, ws: WebSocketConnection) -> None:
        assert self.session is not None
        try:
            await self._send(self.session.start(self.config.start))
        except ValueError as exc:
            # A configuration the session itself refuses: nothing to talk about.
            await self._connect_failed(f"the session refused the start configuration: {exc}")
            return
        except ConnectionClosed:
            self.ended = "the socket closed while the session started"  # the read says how
        except _SendStalled:
            self._settled.set()
            await self._dropped(None, "send stalled")
            return
        else:
            self.state = "connected"
            self._connected_at = trio.current_time()
            await self._notify(RealtimeConnected(link=self._path, provider=self.provider))
        self._settled.set()
        await self._read(ws)

    async def _read(self, ws: WebSocketConnection) -> None:
        assert self.session is not None
        take_frames: Callable[[], list[Outgoing]] | None = getattr(
            self.session, "take_frames", None
        )
        while True:
            try:
                frame = await ws.get_message()
            except ConnectionClosed as exc:
                closed = exc.reason
                await self._dropped(
                    closed.code if closed else None, closed.reason or "" if closed else ""
                )
                return
            self.frames_received += 1
            for event in self.session.receive(frame):
                await self._event(event)
            if take_frames is not None:
                try:
                    await self._send(take_frames())
                except ConnectionClosed:
                    pass  # the next read reports the close
                except _SendStalled:
                    await self._dropped(None, "send stalled")
                    return

    async def _dropped(self, code: int | None, reason: str) -> None:
        if self.state == "closing":
            # Our own Close: it reports itself. trio-websocket finishes its closing
            # handshake only while its stream is open, so the stream stays until then.
            await self._close_done.wait()
            return
        if self.state == "ended":
            return  # a second reading of one drop is none
        assert self.session is not None
        said = f"code {code}" if code is not None else "no close frame"
        # Ended before the owner is told anything: a command handled meanwhile is refused
        # with this reason, not tried on a dead socket.
        self.state = "ended"
        self.ended = f"the socket closed ({said}{', ' + reason if reason else ''})"
        lost = _connection_lost(self.session, code, reason)
        for event in lost:
            await self._event(event)
        errors = [e.code for e in lost if isinstance(e, ProviderError) and e.fatal]
        notice = RealtimeDropped(
            link=self._path,
            provider=self.provider,
            code=code,
            reason=reason,
            error=errors[-1] if errors else "connection_lost",
        )
        await self._end(notice, self.ended)

    async def _end(self, notice: LinkNotice, why: str) -> None:
        self.state = "ended"
        self.ended = why
        self._settled.set()
        self._log_session()
        await self._notify(notice)
        assert self._ctx is not None
        self._ctx.stop()

    async def _close(self) -> None:
        assert self.session is not None
        self.state = "closing"
        with suppress(ConnectionClosed, _SendStalled):
            await self._send(self.session.close())
        if self._ws is not None:
            with trio.move_on_after(self.config.close_timeout):
                await self._ws.aclose()
        self.state = "ended"
        self.ended = "closed by its owner"
        self._close_done.set()
        self._log_session()
        await self._notify(RealtimeClosed(link=self._path, provider=self.provider))

    async def _release(self) -> None:
        # trio-websocket leaves the TCP stream open when the server closed first (and never
        # closes it after a refused handshake): the link opened it, the link closes it.
        if self._ws is not None and not self._ws.closed:
            with trio.move_on_after(self.config.close_timeout):
                await self._ws.aclose()
        if self._stream is not None:
            await self._stream.aclose()

    # -- moving frames and notices ---------------------------------------------------------

    async def _send(self, frames: list[Outgoing]) -> int:
        assert self._ws is not None
        for frame in frames:
            with trio.move_on_after(self.config.send_timeout) as timer:
                await self._ws.send_message(frame)
            if timer.cancelled_caught:
                raise _SendStalled
            self.frames_sent += 1
        return len(frames)

    async def _event(self, event: RealtimeEvent) -> None:
        self.events += 1
        if isinstance(event, ResponseDone) and event.usage is not None:
            self._log_usage(event)
        await self._notify(RealtimeLinkEvent(link=self._path, event=event))

    # -- costs -----------------------------------------------------------------------------

    def _price(self) -> RealtimePrice | None:
        costs = self.config.costs
        return None if costs is None else price_for(self.provider, self.model, costs.prices)

    def _log_usage(self, done: ResponseDone) -> None:
        costs, usage = self.config.costs, done.usage
        if costs is None or usage is None:
            return
        price = self._price()
        usd = response_cost(usage, price) if price is not None else 0.0
        self.usd_cost += usd
        self._tell_store(
            "realtime_usage",
            f"{self.provider} {self.model or '?'} response {done.response_id}: {done.status}",
            {
                "response_id": done.response_id,
                "status": done.status,
                "usage": msgspec.to_builtins(usage),
                "input_tokens": usage.audio_in + usage.text_in,
                "output_tokens": usage.audio_out + usage.text_out,
                "priced": price is not None,
            },
            usd,
        )

    def _log_session(self) -> None:
        price = self._price()
        if self._connected_at is None or price is None or price.per_minute <= 0:
            return
        seconds = trio.current_time() - self._connected_at
        self._connected_at = None  # one ending, one record
        usd = session_cost(seconds, price)
        self.usd_cost += usd
        self._tell_store(
            "realtime_session",
            f"{self.provider} {self.model or '?'}: {seconds:.1f} s connected",
            {"seconds": round(seconds, 3), "per_minute": price.per_minute, "ended": self.ended},
            usd,
        )

    def _tell_store(self, kind: str, content: str, meta: dict[str, object], usd: float) -> None:
        costs = self.config.costs
        if costs is None or self._ctx is None:
            return
        metadata = {"provider": self.provider, "model": self.model, "link": self._path, **meta}
        try:
            self._ctx.lookup(costs.store).try_tell(
                LogAction(
                    kind=kind,
                    guild_id=costs.guild_id,
                    channel_id=costs.channel_id,
                    content=content,
                    metadata=to_json(metadata),
                    usd_cost=round(usd, 8),
                )
            )
        except ActorError as exc:
            log.warning("%s: %s not logged: %s", self._path, kind, exc)

    async def _notify(self, notice: Message) -> None:
        owner = self.config.owner
        assert self._ctx is not None
        for attempt in range(2):
            try:
                if isinstance(owner, ActorRef):
                    ref = owner
                else:
                    if self._owner is None or attempt:
                        self._owner = self._ctx.lookup(owner)
                    ref = self._owner
                await ref.tell(notice)
                return
            except ActorError as exc:
                if attempt or isinstance(owner, ActorRef):
                    self.undelivered += 1
                    log.debug("%s: cannot tell the owner %s: %s", self._path, owner, exc)
                    return

    # -- commands --------------------------------------------------------------------------

    async def _command(self, msg: LinkCommand, call: Callable[[], list[Outgoing]]) -> Message:
        name = type(msg).__name__
        if self.state == "connecting":
            # The attempt itself is bounded (connect, then send timeouts), so this ends.
            await self._settled.wait()
        if self.state != "connected":
            why = self.ended or "the link is still connecting"
            return await self._refuse(name, "not_connected", f"no socket: {why}")
        try:
            frames = call()
        except Unsupported as exc:
            return await self._refuse(name, "unsupported", str(exc))
        except ValueError as exc:
            return await self._refuse(name, "invalid", str(exc))
        try:
            sent = await self._send(frames)
        except ConnectionClosed as exc:
            code = exc.reason.code if exc.reason else None
            why = f"the socket closed (code {code}) while the frames were sent"
            return await self._refuse(name, "not_connected", why)
        except _SendStalled:
            await self._stalled()
            why = f"the provider took no frame for {self.config.send_timeout} s"
            return await self._refuse(name, "not_connected", why)
        return CommandSent(command=name, frames=sent)

    async def _stalled(self) -> None:
        if self.state != "connected":
            return
        await self._dropped(None, "send stalled")

    async def _refuse(self, command: str, kind: RefusalKind, reason: str) -> Message:
        refusal = CommandRefused(link=self._path, command=command, kind=kind, reason=reason)
        assert self._ctx is not None
        if not self._ctx.handling_ask:
            await self._notify(refusal)
        return refusal

    @property
    def _s(self) -> RealtimeSession:
        assert self.session is not None
        return self.session

    @handles(AppendAudio)
    async def append_audio(self, msg: AppendAudio) -> Message:
        return await self._command(msg, lambda: self._s.append_audio(msg.pcm))

    @handles(CommitTurn)
    async def commit_turn(self, msg: CommitTurn) -> Message:
        return await self._command(msg, self._s.commit_turn)

    @handles(ClearAudio)
    async def clear_audio(self, msg: ClearAudio) -> Message:
        return await self._command(msg, self._s.clear_audio)

    @handles(AddTextTurn)
    async def add_text_turn(self, msg: AddTextTurn) -> Message:
        return await self._command(msg, lambda: self._s.add_text_turn(msg.speaker, msg.text))

    @handles(RequestResponse)
    async def request_response(self, msg: RequestResponse) -> Message:
        return await self._command(msg, self._s.request_response)

    @handles(SpeakExact)
    async def speak_exact(self, msg: SpeakExact) -> Message:
        return await self._command(msg, lambda: self._s.speak_exact(msg.text))

    @handles(CancelResponse)
    async def cancel_response(self, msg: CancelResponse) -> Message:
        return await self._command(msg, self._s.cancel_response)

    @handles(Truncate)
    async def truncate(self, msg: Truncate) -> Message:
        return await self._command(msg, lambda: self._s.truncate(msg.item_id, msg.played_ms))

    @handles(ToolResult)
    async def tool_result(self, msg: ToolResult) -> Message:
        return await self._command(msg, lambda: self._s.tool_result(msg.call_id, msg.output))

    @handles(Update)
    async def update(self, msg: Update) -> Message:
        return await self._command(
            msg, lambda: self._s.update(instructions=msg.instructions, tools=msg.tools)
        )

    @handles(Close)
    async def close(self, msg: Close) -> Message:
        if self.state == "connecting":
            # The attempt itself is bounded (connect, then send timeouts), so this ends.
            await self._settled.wait()
        if self.state != "connected":
            why = self.ended or "the link is still connecting"
            return await self._refuse("Close", "not_connected", f"no socket: {why}")
        await self._close()
        assert self._ctx is not None
        self._ctx.stop()
        return CommandSent(command="Close", frames=0)

    @handles(GetLinkStatus)
    async def status(self, _: GetLinkStatus) -> LinkStatus:
        return LinkStatus(
            provider=self.provider,
            state=self.state,
            frames_sent=self.frames_sent,
            frames_received=self.frames_received,
            events=self.events,
            undelivered=self.undelivered,
            ended=self.ended,
        )


def realtime_link_child(
    name: str, config: RealtimeLinkConfig, *, register: str | None = None
) -> ChildSpec:
    """The child spec of a link: ``transient`` (a drop or a failed connect ends it normally,
    so it is not restarted; only a crash is) with the link's own mailbox bound."""
    return ChildSpec(
        name,
        lambda: RealtimeLink(config),
        restart=Restart.TRANSIENT,
        mailbox=RealtimeLink.mailbox,
        register=register,
    )


def _connection_lost(
    session: RealtimeSession, code: int | None, reason: str
) -> list[RealtimeEvent]:
    """The session's reading of a close (every provider session has ``connection_lost``; a
    session without one gets a plain fatal error)."""
    lost: Callable[[int | None, str | None], list[RealtimeEvent]] | None = getattr(
        session, "connection_lost", None
    )
    if lost is not None:
        return lost(code, reason or None)
    said = f"code {code}" if code is not None else "without a close frame"
    return [
        ProviderError(code="connection_lost", message=f"the socket closed ({said})", fatal=True)
    ]


def _host_and_resource(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    resource = parts.path or "/"
    if parts.query:
        resource += "?" + parts.query
    return host, resource


async def _open_stream(url: str) -> trio.SocketStream | trio.SSLStream[trio.SocketStream]:
    """The TCP (and, for ``wss://``, TLS) stream to the URL's host. The link opens it itself
    so that it can always close it (see `_release`)."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"a realtime target must be a ws:// or wss:// URL with a host: {url!r}")
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    tcp = await trio.open_tcp_stream(parts.hostname, port)
    if not secure:
        return tcp
    tls = trio.SSLStream(tcp, ssl.create_default_context(), server_hostname=parts.hostname)
    try:
        await tls.do_handshake()
    except BaseException:
        await tcp.aclose()
        raise
    return tls
