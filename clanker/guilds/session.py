"""`GuildSession`: one actor per guild (and one for DMs), created on the guild's first event.

It is told every event of its guild after the router stored it, owns the guild's state
(identity, channels) and hands each text channel's messages to that channel's `ChannelActor`
(the reply queue), started on the channel's first message under the guild's ``channels``
supervisor.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

from clanker.discord.events import (
    ChannelInfo,
    MemberJoined,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    RawDispatch,
    ReactionChanged,
    VoiceServerChanged,
    VoiceStateChanged,
)
from clanker.guilds.channel import ChannelActor, ChannelConfig
from clanker.guilds.messages import GuildInfo, Identity, channel_name, channels_name
from clanker.runtime import (
    Actor,
    ActorContext,
    ActorRef,
    ActorStopped,
    ChildSpec,
    MailboxSpec,
    Message,
    NameTaken,
    NotRegistered,
    handles,
)

log = logging.getLogger("clanker.guilds")


@dataclass(frozen=True)
class SessionConfig:
    """Where a session's channels find the other actors."""

    channel: ChannelConfig = field(default_factory=ChannelConfig)


class GuildSession(Actor):
    """See the module docstring. ``key`` is the guild id as text, or ``"dm"``."""

    mailbox = MailboxSpec(capacity=512)

    def __init__(self, key: str, config: SessionConfig) -> None:
        self.key = key
        self.config = config
        self.identity: Identity | None = None
        self.channels: dict[int, ChannelInfo] = {}
        self.seen = 0

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx
        self.channel_sup = ctx.lookup_supervisor(channels_name(self.key))

    @handles(Identity)
    async def set_identity(self, msg: Identity) -> None:
        self.identity = msg

    @handles(GuildInfo)
    async def set_guild(self, msg: GuildInfo) -> None:
        self.channels = {c.channel_id: c for c in msg.channels}

    @handles(MessageCreated)
    async def message(self, msg: MessageCreated) -> None:
        self.seen += 1
        await self._to_channel(msg.message.channel_id, msg.message.guild_id, msg)

    @handles(MessageDeleted)
    async def deleted(self, msg: MessageDeleted) -> None:
        self.seen += 1
        name = channel_name(msg.channel_id)
        with contextlib.suppress(NotRegistered, ActorStopped):
            await self.ctx.lookup(name).tell(msg)  # only a running channel cares

    @handles(
        MessageEdited,
        ReactionChanged,
        MemberJoined,
        VoiceStateChanged,
        VoiceServerChanged,
        RawDispatch,
    )
    async def other(self, msg: object) -> None:
        """Seen (and stored by the router); nothing in this guild acts on these yet."""
        self.seen += 1

    async def _to_channel(self, channel_id: int, guild_id: int | None, msg: Message) -> None:
        for _attempt in range(3):
            try:
                await (await self._channel(channel_id, guild_id)).tell(msg)
                return
            except (ActorStopped, NotRegistered):
                continue
            except _NoIdentity:
                log.warning("message in channel %s before READY: stored, not answered", channel_id)
                return
        log.error("could not hand a message to channel %s", channel_id)

    async def _channel(self, channel_id: int, guild_id: int | None) -> ActorRef:
        name = channel_name(channel_id)
        try:
            return self.ctx.lookup(name)
        except NotRegistered:
            pass
        identity = self.identity
        if identity is None:
            raise _NoIdentity
        info = self.channels.get(channel_id)
        config = self.config.channel

        def make() -> Actor:
            return ChannelActor(
                channel_id=channel_id,
                guild_id=guild_id,
                identity=identity,
                channel_name=None if info is None else info.name,
                config=config,
            )

        with contextlib.suppress(NameTaken):
            await self.channel_sup.start_child(
                ChildSpec(
                    f"channel-{channel_id}", make, register=name, mailbox=ChannelActor.mailbox
                )
            )
        return self.ctx.lookup(name)


class _NoIdentity(Exception):
    pass
