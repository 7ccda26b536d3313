"""`DiscordBridge`: the one asyncio island. discord.py-self runs here, under trio-asyncio.

Inbound, each gateway event handler converts the library's objects into the bridge's structs
at once and tells them to the router actor (registered name ``route_to``). Outbound, the
bridge's handlers run commands on the asyncio side and answer with typed results
(`Sent`, `Done`, `History`) or a `BridgeFailure` — never a discord exception.

Shape (python-stack notes 3e): ``client.start`` runs in one background task and a guard task
owns the shutdown: when the actor stops or crashes, the guard's ``finally`` closes the client
from a *different* task, which ends ``start`` even when Python 3.11's ``asyncio.wait_for`` has
swallowed the cancel.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any

import discord
import trio
import trio_asyncio

from clanker.discord import convert
from clanker.discord.events import (
    AddReaction,
    BridgeFailure,
    BridgeReady,
    Done,
    EditMessage,
    FetchHistory,
    GatewayEvent,
    History,
    MemberJoined,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    ReactionChanged,
    SendMessage,
    Sent,
    StartTyping,
)
from clanker.discord.offline import apply_offline_patches, clamp_negative_timer_delays
from clanker.runtime import Actor, ActorContext, ActorError, handles

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

    def __post_init__(self) -> None:
        if not self.token.strip():
            raise ValueError("the Discord token is empty: set DISCORD_TOKEN to a user token")
        if (self.rest_url is None) != (self.gateway_url is None):
            raise ValueError("give both rest_url and gateway_url, or neither")


class _Client(discord.Client):
    """discord.py-self client whose event handlers hand converted events to the bridge."""

    def __init__(self, bridge: DiscordBridge) -> None:
        super().__init__(chunk_guilds_at_startup=False)
        self._bridge = bridge

    async def _emit(self, event: GatewayEvent) -> None:
        await trio_asyncio.trio_as_aio(self._bridge.deliver)(event)

    async def on_ready(self) -> None:
        user = self.user
        assert user is not None
        self._bridge.ready.set()
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

    async def on_member_join(self, member: discord.Member) -> None:
        await self._emit(
            MemberJoined(guild_id=member.guild.id, user_id=member.id, user_name=member.name)
        )


class DiscordBridge(Actor):
    """Owns the discord.py-self client; see the module docstring."""

    def __init__(self, config: BridgeConfig) -> None:
        self.config = config
        self.ready = trio.Event()
        self.ctx: ActorContext | None = None
        self.client: _Client | None = None

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx
        cfg = self.config
        clamp_negative_timer_delays()
        if cfg.rest_url is not None and cfg.gateway_url is not None:
            apply_offline_patches(rest_url=cfg.rest_url, gateway_url=cfg.gateway_url)
        self.client = _Client(self)
        ctx.start_soon(self._guard)
        ctx.start_soon(self._run)
        with trio.fail_after(cfg.login_timeout):
            await self.ready.wait()

    async def _run(self) -> None:
        assert self.client is not None
        await trio_asyncio.aio_as_trio(self.client.start)(self.config.token)
        # start() only returns once the client is closed: outside our own shutdown that is a
        # lost connection the library gave up on, so crash and let the supervisor restart us.
        raise ConnectionError("the Discord client stopped on its own")

    async def _guard(self) -> None:
        try:
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_TIMEOUT):
                if self.client is not None:
                    await trio_asyncio.aio_as_trio(self.client.close)()

    async def deliver(self, event: GatewayEvent) -> None:
        """Hand an event to the router (called from the asyncio side through trio_as_aio)."""
        assert self.ctx is not None
        try:
            await self.ctx.lookup(self.config.route_to).tell(event)
        except ActorError as exc:  # the router is down: the event is logged, not lost silently
            log.error("could not route %s: %s", type(event).__name__, exc)

    def _messageable(self, channel_id: int) -> Any:
        assert self.client is not None
        return self.client.get_channel(channel_id) or self.client.get_partial_messageable(
            channel_id
        )

    async def _call(self, command: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await trio_asyncio.aio_as_trio(fn)(*args, **kwargs)
        except discord.DiscordException as exc:
            return convert.failure(command, exc)

    @handles(SendMessage)
    async def send(self, cmd: SendMessage) -> Sent | BridgeFailure:
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
    async def edit(self, cmd: EditMessage) -> Sent | BridgeFailure:
        partial = self._messageable(cmd.channel_id).get_partial_message(cmd.message_id)
        result = await self._call("EditMessage", partial.edit, content=cmd.content)
        if isinstance(result, BridgeFailure):
            return result
        return Sent(message=convert.message(result))

    @handles(StartTyping)
    async def typing(self, cmd: StartTyping) -> Done | BridgeFailure:
        channel = self._messageable(cmd.channel_id)
        result = await self._call("StartTyping", channel._state.http.send_typing, cmd.channel_id)
        return result if isinstance(result, BridgeFailure) else Done()

    @handles(AddReaction)
    async def react(self, cmd: AddReaction) -> Done | BridgeFailure:
        partial = self._messageable(cmd.channel_id).get_partial_message(cmd.message_id)
        result = await self._call("AddReaction", partial.add_reaction, cmd.emoji)
        return result if isinstance(result, BridgeFailure) else Done()

    @handles(FetchHistory)
    async def history(self, cmd: FetchHistory) -> History | BridgeFailure:
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
