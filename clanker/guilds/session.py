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
from clanker.guilds.messages import (
    GuildInfo,
    Identity,
    JoinVoice,
    LeaveVoice,
    VoiceJoined,
    VoiceLeft,
    VoiceRefused,
    channel_name,
    channels_name,
    clankvox_name,
    voice_link_name,
    voices_name,
)
from clanker.runtime import (
    Actor,
    ActorContext,
    ActorRef,
    ActorStopped,
    ChildSpec,
    ChildStartFailed,
    MailboxSpec,
    Message,
    NameTaken,
    NotRegistered,
    Restart,
    handles,
)
from clanker.voice import VoiceLinkConfig, voice_link_spec
from clanker.voice.session_spec import DEFAULT_BINARY

log = logging.getLogger("clanker.guilds")


@dataclass(frozen=True)
class VoiceConfig:
    """How a guild session runs its voice connection (see docs/voice.md)."""

    command: tuple[str, ...] = (str(DEFAULT_BINARY),)  # the clankvox binary and its arguments
    env: dict[str, str] | None = None  # extra environment for clankvox (e.g. CLANKVOX_LOG)
    bridge: str = "discord"  # registered name of the Discord bridge
    mode: str | None = None  # force a transport encryption mode (tests)
    record_audio: bool = False  # keep listened users' PCM in the link (tests, demos)


@dataclass(frozen=True)
class SessionConfig:
    """Where a session's channels find the other actors, and how it runs voice."""

    channel: ChannelConfig = field(default_factory=ChannelConfig)
    voice: VoiceConfig = field(default_factory=VoiceConfig)


class GuildSession(Actor):
    """See the module docstring. ``key`` is the guild id as text, or ``"dm"``."""

    mailbox = MailboxSpec(capacity=512)

    def __init__(self, key: str, config: SessionConfig) -> None:
        self.key = key
        self.config = config
        self.identity: Identity | None = None
        self.channels: dict[int, ChannelInfo] = {}
        self.seen = 0
        self.voice_channel: int | None = None  # the channel of the running voice connection

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

    @handles(VoiceStateChanged, VoiceServerChanged)
    async def voice_update(self, msg: VoiceStateChanged | VoiceServerChanged) -> None:
        """Forwarded to the voice connection, if one runs (it picks what concerns it)."""
        self.seen += 1
        if self.voice_channel is None:
            return
        with contextlib.suppress(NotRegistered, ActorStopped):
            await self.ctx.lookup(voice_link_name(self.key)).tell(msg)

    @handles(JoinVoice)
    async def join_voice(self, msg: JoinVoice) -> VoiceJoined | VoiceRefused:
        """Start a voice connection to `msg.channel_id` (after leaving another one)."""
        identity = self.identity
        if identity is None or not self.key.isdigit():
            return VoiceRefused(reason="voice needs a guild and the bot's identity (READY)")
        info = self.channels.get(msg.channel_id)
        if info is not None and info.kind not in ("voice", "stage_voice"):
            return VoiceRefused(reason=f"channel {msg.channel_id} is a {info.kind} channel")
        link = voice_link_name(self.key)
        if self.voice_channel == msg.channel_id and self._voice_running():
            return VoiceJoined(channel_id=msg.channel_id, link=link)
        await self._stop_voice()
        voice = self.config.voice
        config = VoiceLinkConfig(
            guild_id=int(self.key),
            channel_id=msg.channel_id,
            user_id=identity.user_id,
            clankvox=clankvox_name(self.key),
            bridge=voice.bridge,
            mode=voice.mode,
            record_audio=voice.record_audio,
        )
        spec = voice_link_spec(link, config, command=voice.command, env=voice.env)
        try:
            await self.ctx.lookup_supervisor(voices_name(self.key)).start_child(
                ChildSpec("voice", spec, restart=Restart.TRANSIENT)
            )
        except (ChildStartFailed, NameTaken, NotRegistered, ActorStopped) as exc:
            return VoiceRefused(reason=f"could not start the voice connection: {exc}")
        self.voice_channel = msg.channel_id
        return VoiceJoined(channel_id=msg.channel_id, link=link)

    @handles(LeaveVoice)
    async def leave_voice(self, msg: LeaveVoice) -> VoiceLeft:
        """Stop the voice connection: clankvox is destroyed, then op 4 leaves the channel."""
        left = self.voice_channel
        await self._stop_voice()
        return VoiceLeft(channel_id=left)

    def _voice_running(self) -> bool:
        try:
            self.ctx.lookup(voice_link_name(self.key))
        except NotRegistered:
            return False
        return True

    async def _stop_voice(self) -> None:
        self.voice_channel = None
        with contextlib.suppress(NotRegistered, ActorStopped):
            await self.ctx.lookup_supervisor(voices_name(self.key)).terminate_child("voice")

    @handles(
        MessageEdited,
        ReactionChanged,
        MemberJoined,
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
