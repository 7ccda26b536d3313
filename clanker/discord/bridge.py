"""`DiscordBridge`: the one asyncio island. discord.py-self runs here, under trio-asyncio.

Inbound, each gateway event handler converts the library's objects into the bridge's structs
at once and puts them, in dispatch order, on one bounded FIFO (`Inbound`); one trio task drains
it to the router actor (registered name ``route_to``), retrying while the router restarts.
Outbound, REST commands run in one lane per channel (`Lanes`: order kept within a channel, a
rate limit in one channel stalls no other) and answer with typed results (`Sent`, `Done`,
`History`) or a `BridgeFailure` — never a discord exception, never a crash.

Logging in happens after ``on_start`` returns, so the supervisor above is never frozen by a
slow gateway: `BridgeStatus.state` says where the login is, `AwaitReady` waits for it, and a
login that has not completed within ``login_timeout`` crashes the bridge (its own supervisor
restarts it with backoff).

Shape (python-stack notes 3e): ``client.start`` runs in one background task and a guard task
owns the shutdown: when the actor stops or crashes, the guard's ``finally`` closes the client
from a *different* task, which ends ``start`` even when Python 3.11's ``asyncio.wait_for`` has
swallowed the cancel.
"""

from __future__ import annotations

import datetime
import functools
import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import discord
import trio
import trio_asyncio

from clanker.discord import convert, raw
from clanker.discord.events import (
    BRIDGE_NAME,
    AddReaction,
    AttachmentData,
    AwaitReady,
    BridgeFailure,
    BridgeNotReady,
    BridgeReady,
    BridgeStatus,
    DmOpened,
    Done,
    EditMessage,
    FetchAttachment,
    FetchHistory,
    GatewayEvent,
    GetBridgeStatus,
    GetGuild,
    GetIdentity,
    GuildAvailable,
    History,
    MemberJoined,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    OpenDm,
    ReactionChanged,
    SendGatewayOp,
    SendMessage,
    Sent,
    StartTyping,
    TypingStarted,
)
from clanker.discord.inbound import Inbound
from clanker.discord.lanes import Lanes
from clanker.discord.offline import apply_offline_patches, clamp_negative_timer_delays
from clanker.discord.soundboard import SoundboardCommands
from clanker.discord.watchdog import GatewayWatchdog, WatchdogConfig
from clanker.runtime import (
    Actor,
    ActorContext,
    ActorError,
    Backoff,
    ChildSpec,
    MailboxSpec,
    Reply,
    Runtime,
    Strategy,
    SupervisorSpec,
    handles,
)

log = logging.getLogger("clanker.discord")

CLOSE_TIMEOUT = 10.0


@dataclass(frozen=True)
class BridgeConfig:
    """How to reach Discord. ``rest_url`` / ``gateway_url`` point elsewhere (the sandbox);
    left None, the library's discord.com defaults stay."""

    token: str
    route_to: str
    rest_url: str | None = None
    gateway_url: str | None = None
    login_timeout: float = 60.0
    watchdog: WatchdogConfig = field(default_factory=WatchdogConfig)
    # Gateway dispatches to pass through untouched as `RawDispatch` (e.g. {"TYPING_START"}).
    raw_events: frozenset[str] = frozenset()
    # discord.py-self's own "no heartbeat ACK for this long → reconnect" (None: its default).
    heartbeat_timeout: float | None = None
    # Gateway events waiting for the router, at most (then the newest is dropped and counted).
    event_queue: int = 10_000
    # One REST command's limit, rate-limit waits included; then it fails with a BridgeFailure.
    command_timeout: float = 60.0
    lane_depth: int = 64  # commands waiting per channel
    max_lanes: int = 256  # channels with commands in progress at once

    def __post_init__(self) -> None:
        if not self.token.strip():
            raise ValueError("the Discord token is empty: set DISCORD_TOKEN to a user token")
        for name in ("event_queue", "lane_depth", "max_lanes"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"BridgeConfig.{name} must be at least 1, got {getattr(self, name)}"
                )
        if not self.command_timeout > 0 or not self.login_timeout > 0:
            raise ValueError("BridgeConfig.command_timeout and login_timeout must be > 0 seconds")
        if (self.rest_url is None) != (self.gateway_url is None):
            raise ValueError("give both rest_url and gateway_url, or neither")


class _Client(discord.Client):
    """discord.py-self client whose event handlers hand converted events to the bridge."""

    def __init__(self, bridge: DiscordBridge) -> None:
        options: dict[str, Any] = {}
        if bridge.config.heartbeat_timeout is not None:
            options["heartbeat_timeout"] = bridge.config.heartbeat_timeout
        # Debug events give us every raw gateway message: the watchdog's pulse, and the voice
        # updates discord.py-self would only hand to a voice client of its own.
        super().__init__(chunk_guilds_at_startup=False, enable_debug_events=True, **options)
        self._bridge = bridge

    def dispatch(self, event: str, /, *args: Any, **kwargs: Any) -> None:
        # A closed client (replaced by a re-login) may still read a last frame; its loop is
        # gone by then, so drop the event instead of crashing on it.
        if self.is_closed():
            return
        super().dispatch(event, *args, **kwargs)

    async def _emit(self, event: GatewayEvent) -> None:
        # Synchronous on purpose: the event is queued before this handler's first await, so
        # events keep the order the library dispatched them in.
        self._bridge.inbound.put(event)

    async def on_socket_raw_receive(self, msg: str | bytes) -> None:
        self._bridge.gateway_heard()
        try:
            event = raw.convert(msg, self._bridge.config.raw_events)
        except ValueError as exc:
            log.warning("skipped a gateway message: %s", exc)
            return
        if event is not None:
            await self._emit(event)

    async def on_disconnect(self) -> None:
        self._bridge.gateway_lost()

    async def on_resumed(self) -> None:
        self._bridge.gateway_ready()

    async def on_guild_available(self, guild: discord.Guild) -> None:
        await self._emit(convert.guild(guild))

    async def on_ready(self) -> None:
        user = self.user
        assert user is not None
        self._bridge.gateway_ready()
        for guild in self.guilds:
            await self._emit(convert.guild(guild))
        await self._emit(
            BridgeReady(
                user_id=user.id,
                user_name=user.name,
                guild_ids=tuple(g.id for g in self.guilds),
            )
        )

    async def on_message(self, message: discord.Message) -> None:
        await self._emit(MessageCreated(message=convert.message(message)))

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        data: dict[str, Any] = payload.data  # type: ignore[assignment]
        await self._emit(
            MessageEdited(
                message_id=payload.message_id,
                channel_id=payload.channel_id,
                guild_id=payload.guild_id,
                content=data.get("content"),
            )
        )

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self._emit(
            MessageDeleted(
                message_id=payload.message_id,
                channel_id=payload.channel_id,
                guild_id=payload.guild_id,
            )
        )

    async def _reaction(self, payload: discord.RawReactionActionEvent, added: bool) -> None:
        await self._emit(
            ReactionChanged(
                message_id=payload.message_id,
                channel_id=payload.channel_id,
                guild_id=payload.guild_id,
                user_id=payload.user_id,
                emoji=str(payload.emoji),
                added=added,
            )
        )

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, True)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, False)

    async def on_typing(
        self,
        channel: discord.abc.Messageable,
        user: discord.User | discord.Member,
        when: datetime.datetime,
    ) -> None:
        # discord.py-self dispatches this only for a channel and user it can resolve (the
        # sandbox and Discord send the member with TYPING_START in guilds).
        guild = getattr(channel, "guild", None)
        await self._emit(
            TypingStarted(
                channel_id=cast(Any, channel).id,
                guild_id=guild.id if guild is not None else None,
                user_id=user.id,
                is_bot=bool(user.bot),
                at=when.timestamp(),
            )
        )

    async def on_member_join(self, member: discord.Member) -> None:
        await self._emit(
            MemberJoined(guild_id=member.guild.id, user_id=member.id, user_name=member.name)
        )


_Handler = TypeVar("_Handler", bound=Callable[..., Awaitable[Any]])


def _command(name: str) -> Callable[[_Handler], _Handler]:
    """A REST command handler whose every failure (not logged in, a bad argument, an error in
    the library outside the call itself) is a `BridgeFailure` reply, never a crash."""

    def wrap(fn: _Handler) -> _Handler:
        @functools.wraps(fn)
        async def run(self: DiscordBridge, cmd: Any) -> Any:
            try:
                return await fn(self, cmd)
            except Exception as exc:
                log.warning("%s failed: %s: %s", name, type(exc).__name__, exc)
                return convert.failure(name, exc)

        return cast(_Handler, run)

    return wrap


class DiscordBridge(SoundboardCommands, Actor):
    """Owns the discord.py-self client; see the module docstring.

    ``inbound``: the slot's event queue, made once and handed to every incarnation (see
    `bridge_factory`) so events received but not yet routed survive a crash."""

    mailbox = MailboxSpec(capacity=1024)

    def __init__(self, config: BridgeConfig, inbound: Inbound | None = None) -> None:
        self.config = config
        self.inbound = inbound if inbound is not None else Inbound(config.event_queue)
        self.lanes: Lanes | None = None
        self.ready = trio.Event()  # the first login of this incarnation completed
        self.ctx: ActorContext | None = None
        self.client: _Client | None = None
        self.relogins = 0  # how many times the watchdog replaced the client
        self._watchdog: GatewayWatchdog | None = None
        self._wake = trio.Event()
        self._relogin_requested = False
        self._closing = False  # our own shutdown closed the client

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx
        cfg = self.config
        clamp_negative_timer_delays()
        if cfg.rest_url is not None and cfg.gateway_url is not None:
            apply_offline_patches(rest_url=cfg.rest_url, gateway_url=cfg.gateway_url)
        self._watchdog = GatewayWatchdog(cfg.watchdog, trio.current_time())
        ctx.start_soon(self._lanes)
        ctx.start_soon(self._guard)
        ctx.start_soon(self._run)
        ctx.start_soon(self._watch)
        ctx.start_soon(self._drain)
        ctx.start_soon(self._login_deadline)
        # Returns at once: the login runs in `_run`; nothing waits on the gateway here.

    async def _lanes(self) -> None:
        cfg = self.config
        async with trio.open_nursery() as nursery:
            self.lanes = Lanes(nursery, depth=cfg.lane_depth, max_lanes=cfg.max_lanes)
            await trio.sleep_forever()

    async def _login_deadline(self) -> None:
        with trio.move_on_after(self.config.login_timeout):
            await self.ready.wait()
            return
        raise TimeoutError(
            f"not logged in to Discord within {self.config.login_timeout:g} s "
            "(check the token and the network); the bridge restarts and tries again"
        )

    # -- the client's life --------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            assert self._watchdog is not None
            self._watchdog.logging_in(trio.current_time())
            self._relogin_requested = False
            self.client = client = _Client(self)
            try:
                await trio_asyncio.aio_as_trio(client.start)(self.config.token)
            except Exception as exc:
                if not self._relogin_requested:
                    raise
                # The watchdog closed this client under its feet; how it ended is moot.
                log.debug("replaced client ended with %s: %s", type(exc).__name__, exc)
            if self._closing:
                return
            if not self._relogin_requested:
                # start() only returns once the client is closed: outside our own shutdown and
                # re-logins that is a connection the library gave up on, so crash and let the
                # supervisor restart us.
                raise ConnectionError("the Discord client stopped on its own")
            log.warning("gateway watchdog: logging in again (re-login %d)", self.relogins)

    async def _watch(self) -> None:
        """Re-login when the gateway has been silent too long while not ready."""
        watchdog = self._watchdog
        assert watchdog is not None
        while True:
            now = trio.current_time()
            if watchdog.poll(now) and self.client is not None:
                self.relogins += 1
                self._relogin_requested = True
                log.warning(
                    "gateway watchdog: not ready and nothing heard for %.1f s",
                    now - watchdog.last_heard,
                )
                await trio_asyncio.aio_as_trio(self.client.close)()
            self._wake = trio.Event()
            with trio.move_on_at(watchdog.next_check(trio.current_time())):
                await self._wake.wait()

    def gateway_heard(self) -> None:
        if self._watchdog is not None:
            self._watchdog.heard(trio.current_time())

    def gateway_lost(self) -> None:
        if self._watchdog is not None:
            self._watchdog.lost_connection(trio.current_time())
            self._wake.set()

    def gateway_ready(self) -> None:
        self.ready.set()
        if self._watchdog is not None:
            self._watchdog.became_ready(trio.current_time())
            self._wake.set()

    async def _guard(self) -> None:
        try:
            await trio.sleep_forever()
        finally:
            self._closing = True
            with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_TIMEOUT):
                if self.client is not None:
                    await trio_asyncio.aio_as_trio(self.client.close)()

    async def _drain(self) -> None:
        """Route queued gateway events in order; while the router is down, wait and retry, so
        an event received is not lost to a router restart."""
        assert self.ctx is not None
        while True:
            event = await self.inbound.wait()
            delay = 0.05
            while True:
                try:
                    await self.ctx.lookup(self.config.route_to).tell(event)
                    break
                except ActorError as exc:
                    if delay == 0.05:
                        log.warning(
                            "could not route %s (%s); retrying until the router is back",
                            type(event).__name__,
                            exc,
                        )
                    await trio.sleep(delay)
                    delay = min(delay * 2, 2.0)
            self.inbound.done()

    def _in_lane(
        self, channel_id: int, command: str, run: Callable[[], Awaitable[Any]]
    ) -> BridgeFailure | None:
        """Run ``run`` in ``channel_id``'s lane and answer the current ask from there."""
        assert self.ctx is not None
        if self.lanes is None:
            return BridgeFailure(
                command=command, status=None, code=None, detail="the bridge is still starting"
            )
        reply: Reply | None = self.ctx.defer_reply() if self.ctx.handling_ask else None
        timeout = self.config.command_timeout

        async def job() -> None:
            if reply is not None and reply.abandoned:
                return  # the caller stopped waiting before its turn: do not act behind its back
            result: Any = None
            with trio.move_on_after(timeout):
                result = await run()
            if result is None:
                result = BridgeFailure(
                    command=command,
                    status=None,
                    code=None,
                    detail=f"no answer from Discord within {timeout:g} s",
                )
                log.warning("%s on channel %d: %s", command, channel_id, result.detail)
            if reply is not None:
                reply.send(result)

        refused = self.lanes.submit(channel_id, job)
        if refused is not None:
            log.warning("%s on channel %d refused: %s", command, channel_id, refused)
            failure = BridgeFailure(command=command, status=None, code=None, detail=refused)
            if reply is None:
                return None
            reply.send(failure)
        return None

    def _messageable(self, channel_id: int) -> Any:
        if self.client is None:
            raise ConnectionError("not logged in to Discord yet")
        return self.client.get_channel(channel_id) or self.client.get_partial_messageable(
            channel_id
        )

    async def _call(self, command: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await trio_asyncio.aio_as_trio(fn)(*args, **kwargs)
        except discord.DiscordException as exc:
            # Anything else reaches the handler's `_command` wrapper, which answers it too.
            return convert.failure(command, exc)

    @handles(SendMessage)
    async def send(self, cmd: SendMessage) -> BridgeFailure | None:
        return self._in_lane(cmd.channel_id, "SendMessage", lambda: self._send(cmd))

    def _expired(self, cmd: SendMessage) -> BridgeFailure | None:
        if cmd.start_by is None or trio.current_time() <= cmd.start_by:
            return None
        late = trio.current_time() - cmd.start_by
        return BridgeFailure(
            command="SendMessage",
            status=None,
            code=None,
            detail=f"not sent: its start_by passed {late:.2f} s before its turn",
            expired=True,
        )

    @_command("SendMessage")
    async def _send(self, cmd: SendMessage) -> Sent | BridgeFailure:
        expired = self._expired(cmd)
        if expired is not None:
            return expired
        channel = self._messageable(cmd.channel_id)
        kwargs: dict[str, Any] = {
            "allowed_mentions": discord.AllowedMentions(
                everyone=cmd.allow_everyone,
                users=cmd.allow_user_mentions,
                roles=False,
                replied_user=cmd.mention_replied_user,
            ),
        }
        if cmd.reply_to_message_id is not None:
            kwargs["reference"] = discord.MessageReference(
                message_id=cmd.reply_to_message_id,
                channel_id=cmd.channel_id,
                fail_if_not_exists=False,
            )
        if cmd.files:
            kwargs["files"] = [
                discord.File(io.BytesIO(f.data), filename=f.filename) for f in cmd.files
            ]
        result = await self._call("SendMessage", channel.send, cmd.content, **kwargs)
        if isinstance(result, BridgeFailure):
            return result
        return Sent(message=convert.message(result))

    @handles(EditMessage)
    async def edit(self, cmd: EditMessage) -> BridgeFailure | None:
        return self._in_lane(cmd.channel_id, "EditMessage", lambda: self._edit(cmd))

    @_command("EditMessage")
    async def _edit(self, cmd: EditMessage) -> Sent | BridgeFailure:
        partial = self._messageable(cmd.channel_id).get_partial_message(cmd.message_id)
        result = await self._call("EditMessage", partial.edit, content=cmd.content)
        if isinstance(result, BridgeFailure):
            return result
        return Sent(message=convert.message(result))

    @handles(StartTyping)
    async def typing(self, cmd: StartTyping) -> BridgeFailure | None:
        return self._in_lane(cmd.channel_id, "StartTyping", lambda: self._typing(cmd))

    @_command("StartTyping")
    async def _typing(self, cmd: StartTyping) -> Done | BridgeFailure:
        channel = self._messageable(cmd.channel_id)
        result = await self._call("StartTyping", channel._state.http.send_typing, cmd.channel_id)
        return result if isinstance(result, BridgeFailure) else Done()

    @handles(OpenDm)
    async def open_dm(self, cmd: OpenDm) -> BridgeFailure | None:
        # Its own lane, keyed by the user (snowflakes never collide with a channel's).
        return self._in_lane(cmd.user_id, "OpenDm", lambda: self._open_dm(cmd))

    @_command("OpenDm")
    async def _open_dm(self, cmd: OpenDm) -> DmOpened | BridgeFailure:
        if self.client is None:
            raise ConnectionError("not logged in to Discord yet")
        result = await self._call("OpenDm", self.client.create_dm, discord.Object(id=cmd.user_id))
        if isinstance(result, BridgeFailure):
            return result
        return DmOpened(user_id=cmd.user_id, channel_id=result.id)

    @handles(AddReaction)
    async def react(self, cmd: AddReaction) -> BridgeFailure | None:
        return self._in_lane(cmd.channel_id, "AddReaction", lambda: self._react(cmd))

    @_command("AddReaction")
    async def _react(self, cmd: AddReaction) -> Done | BridgeFailure:
        partial = self._messageable(cmd.channel_id).get_partial_message(cmd.message_id)
        result = await self._call("AddReaction", partial.add_reaction, cmd.emoji)
        return result if isinstance(result, BridgeFailure) else Done()

    @handles(FetchHistory)
    async def history(self, cmd: FetchHistory) -> BridgeFailure | None:
        return self._in_lane(cmd.channel_id, "FetchHistory", lambda: self._history(cmd))

    @_command("FetchHistory")
    async def _history(self, cmd: FetchHistory) -> History | BridgeFailure:
        if not 1 <= cmd.limit <= 100:
            return BridgeFailure(
                command="FetchHistory",
                status=None,
                code=None,
                detail=f"limit must be between 1 and 100, got {cmd.limit}",
            )
        channel = self._messageable(cmd.channel_id)
        before = discord.Object(cmd.before_message_id) if cmd.before_message_id else None

        async def collect() -> list[discord.Message]:
            return [m async for m in channel.history(limit=cmd.limit, before=before)]

        result = await self._call("FetchHistory", collect)
        if isinstance(result, BridgeFailure):
            return result
        return History(messages=tuple(convert.message(m) for m in result))

    @handles(FetchAttachment)
    async def fetch_attachment(self, cmd: FetchAttachment) -> BridgeFailure | None:
        # Its own lane, keyed by the attachment: a download never holds up a channel's sends.
        return self._in_lane(
            cmd.attachment_id, "FetchAttachment", lambda: self._fetch_attachment(cmd)
        )

    @_command("FetchAttachment")
    async def _fetch_attachment(self, cmd: FetchAttachment) -> AttachmentData | BridgeFailure:
        if self.client is None:
            raise ConnectionError("not logged in to Discord yet")
        url = cmd.url
        data = await self._call("FetchAttachment", self.client.http.get_from_cdn, url)
        if isinstance(data, BridgeFailure) and data.status in (403, 404):
            # The link expired (Discord signs them for about a day): a fresh fetch of the
            # message carries fresh links.
            channel = self._messageable(cmd.channel_id)
            fetched = await self._call("FetchAttachment", channel.fetch_message, cmd.message_id)
            if isinstance(fetched, BridgeFailure):
                return fetched
            found = [a for a in fetched.attachments if a.id == cmd.attachment_id]
            if not found:
                return BridgeFailure(
                    command="FetchAttachment",
                    status=None,
                    code=None,
                    detail=f"message {cmd.message_id} has no attachment {cmd.attachment_id}",
                )
            url = found[0].url
            data = await self._call("FetchAttachment", self.client.http.get_from_cdn, url)
        if isinstance(data, BridgeFailure):
            return data
        if len(data) > cmd.max_bytes:
            return BridgeFailure(
                command="FetchAttachment",
                status=None,
                code=None,
                detail=f"attachment is {len(data)} bytes, over the limit of {cmd.max_bytes}",
            )
        return AttachmentData(data=bytes(data), url=url)

    @handles(SendGatewayOp)
    @_command("SendGatewayOp")
    async def send_op(self, cmd: SendGatewayOp) -> Done | BridgeFailure:
        ws = self.client.ws if self.client is not None else None
        if ws is None or not ws.open:
            return BridgeFailure(
                command="SendGatewayOp",
                status=None,
                code=None,
                detail=f"not connected to the gateway; op {cmd.op} was not sent",
            )
        result = await self._call("SendGatewayOp", ws.send_as_json, {"op": cmd.op, "d": cmd.data})
        return result if isinstance(result, BridgeFailure) else Done()

    @handles(GetIdentity)
    async def identity(self, msg: GetIdentity) -> BridgeReady | BridgeNotReady:
        """Who we are and which guilds we see, as of the current login."""
        client = self.client
        user = None if client is None else client.user
        if client is None or user is None or not self.ready.is_set():
            return BridgeNotReady(reason="the bridge has not finished logging in")
        return BridgeReady(
            user_id=user.id, user_name=user.name, guild_ids=tuple(g.id for g in client.guilds)
        )

    @handles(GetGuild)
    async def get_guild(self, msg: GetGuild) -> GuildAvailable | BridgeNotReady:
        """One guild's name and channels, as of the current login."""
        client = self.client
        if client is None or client.user is None or not self.ready.is_set():
            return BridgeNotReady(reason="the bridge has not finished logging in")
        guild = client.get_guild(msg.guild_id)
        if guild is None:
            return BridgeNotReady(reason=f"this account does not see guild {msg.guild_id}")
        return convert.guild(guild)

    @handles(GetBridgeStatus)
    async def status(self, msg: GetBridgeStatus) -> BridgeStatus:
        watchdog = self._watchdog
        assert watchdog is not None
        if watchdog.ready:
            state = "ready"
        elif self.ready.is_set():
            state = "reconnecting"
        else:
            state = "logging_in"
        lanes = self.lanes
        return BridgeStatus(
            ready=watchdog.ready,
            relogins=self.relogins,
            seconds_since_heard=trio.current_time() - watchdog.last_heard,
            state=state,
            inbound_depth=self.inbound.depth,
            inbound_capacity=self.inbound.capacity,
            inbound_dropped=self.inbound.dropped,
            lanes=0 if lanes is None else lanes.active,
            lane_refusals=0 if lanes is None else lanes.refused,
        )

    @handles(AwaitReady)
    async def await_ready(self, msg: AwaitReady) -> BridgeReady | None:
        """Answer with the identity once logged in (at once if already)."""
        if self.ready.is_set():
            return await self._identity_now()
        assert self.ctx is not None
        reply = self.ctx.defer_reply()

        async def answer() -> None:
            async with trio.open_nursery() as nursery:

                async def give_up() -> None:
                    await reply.wait_abandoned()  # the asker's timeout passed: stop waiting
                    nursery.cancel_scope.cancel()

                nursery.start_soon(give_up)
                await self.ready.wait()
                reply.send(await self._identity_now())
                nursery.cancel_scope.cancel()

        self.ctx.start_soon(answer)
        return None

    async def _identity_now(self) -> BridgeReady:
        identity = await self.identity(GetIdentity())
        if isinstance(identity, BridgeNotReady):  # logged in, then lost it again meanwhile
            client = self.client
            assert client is not None and client.user is not None
            user = client.user
            return BridgeReady(user_id=user.id, user_name=user.name, guild_ids=())
        return identity


def bridge_factory(config: BridgeConfig) -> Callable[[], DiscordBridge]:
    """A `ChildSpec` factory: every incarnation gets a fresh bridge and the slot's one inbound
    queue, so what was received but not routed survives a crash of the bridge."""
    inbound = Inbound(config.event_queue)
    return lambda: DiscordBridge(config, inbound)


def bridge_child(config: BridgeConfig, *, name: str = BRIDGE_NAME) -> ChildSpec:
    """The bridge under its own supervisor (``name``), with its own restart budget: a gateway
    that keeps failing is retried with backoff (1 s → 60 s) without spending the budget of the
    tree above it. The bridge itself registers as ``name``."""
    bridge = ChildSpec(
        "bridge",
        bridge_factory(config),
        register=name,
        shutdown=15.0,
        mailbox=DiscordBridge.mailbox,
    )
    return ChildSpec(
        name,
        SupervisorSpec(
            Strategy.ONE_FOR_ONE,
            [bridge],
            intensity=10,
            period=600.0,
            backoff=Backoff(initial=1.0, factor=2.0, maximum=60.0, jitter=0.1),
        ),
    )


async def wait_for_login(
    runtime: Runtime, *, timeout: float, name: str = BRIDGE_NAME
) -> BridgeReady:
    """Wait until the bridge registered as ``name`` has logged in (across its restarts);
    raises `TimeoutError` naming the bridge's last state when ``timeout`` passes first."""
    last = "not started"
    with trio.move_on_after(timeout):
        while True:
            try:
                return await runtime.lookup(name).ask(AwaitReady(), BridgeReady, timeout=1.0)
            except ActorError as exc:
                last = str(exc)
                await trio.sleep(0.1)
    raise TimeoutError(f"the Discord bridge did not log in within {timeout:g} s ({last})")
