"""`GuildSession`: one actor per guild (and one for DMs), created on the guild's first event.

It is told every event of its guild, after the router stored it. It owns the guild's state
(identity, channels); for now its one decision is the placeholder acknowledgement (see `ack`).
The text brain replaces that with per-channel reply queues.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from clanker.discord.events import (
    BridgeFailure,
    ChannelInfo,
    MemberJoined,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    RawDispatch,
    ReactionChanged,
    SendMessage,
    Sent,
    VoiceServerChanged,
    VoiceStateChanged,
)
from clanker.guilds import ack
from clanker.guilds.messages import GuildInfo, Identity
from clanker.runtime import Actor, ActorContext, ActorError, MailboxSpec, handles
from clanker.store import LogAction, StoreClient, StoreRequestError, to_json

log = logging.getLogger("clanker.guilds")


@dataclass(frozen=True)
class SessionConfig:
    """Where a session finds the bridge and the store, and what else the bot answers to."""

    bridge: str = "discord"
    store: str = "store"
    aliases: tuple[str, ...] = ()
    send_timeout: float = 30.0


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
        self.store = StoreClient(ctx.lookup(self.config.store))

    @handles(Identity)
    async def set_identity(self, msg: Identity) -> None:
        self.identity = msg

    @handles(GuildInfo)
    async def set_guild(self, msg: GuildInfo) -> None:
        self.channels = {c.channel_id: c for c in msg.channels}

    @handles(MessageCreated)
    async def message(self, msg: MessageCreated) -> None:
        self.seen += 1
        identity = self.identity
        m = msg.message
        if identity is None or m.author_id == identity.user_id:
            return
        replied_to_bot = await self._replies_to(m.reply_to_message_id, identity.user_id)
        if not ack.is_addressed(
            m, identity, replied_to_bot=replied_to_bot, aliases=self.config.aliases
        ):
            return
        if not await self.store.claim_trigger(m.message_id, "acknowledgement"):
            return  # already answered (e.g. a replayed dispatch after a RESUME)
        command = SendMessage(
            channel_id=m.channel_id,
            content=ack.acknowledgement(m),
            reply_to_message_id=m.message_id,
            allow_user_mentions=False,
        )
        reply = await self._send(command)
        meta: dict[str, object] = {"trigger_message_id": str(m.message_id)}
        if isinstance(reply, Sent):
            kind, content = "acknowledgement_sent", reply.message.content
            meta["sent_message_id"] = str(reply.message.message_id)
        else:
            kind, content = "send_failed", command.content
            meta.update(detail=reply.detail, status=reply.status)
        await self.store.log_action(
            LogAction(
                kind=kind,
                guild_id=m.guild_id,
                channel_id=m.channel_id,
                message_id=m.message_id,
                user_id=m.author_id,
                content=content,
                metadata=to_json(meta),
            )
        )

    async def _replies_to(self, message_id: int | None, bot_id: int) -> bool:
        if message_id is None:
            return False
        try:
            row = await self.store.get_message(message_id)
        except (ActorError, StoreRequestError) as exc:
            log.warning("could not look up replied-to message %s: %s", message_id, exc)
            return False
        return row is not None and row.author_id == bot_id

    async def _send(self, command: SendMessage) -> Sent | BridgeFailure:
        bridge = self.ctx.lookup(self.config.bridge)
        try:
            reply = await bridge.ask(command, timeout=self.config.send_timeout)
        except ActorError as exc:
            return BridgeFailure(command="SendMessage", status=None, code=None, detail=str(exc))
        if isinstance(reply, Sent | BridgeFailure):
            return reply
        return BridgeFailure(
            command="SendMessage", status=None, code=None, detail=f"unexpected reply {reply!r}"
        )

    @handles(
        MessageEdited,
        MessageDeleted,
        ReactionChanged,
        MemberJoined,
        VoiceStateChanged,
        VoiceServerChanged,
        RawDispatch,
    )
    async def other(self, msg: object) -> None:
        """Seen (and stored by the router); nothing in this guild acts on these yet."""
        self.seen += 1
