"""The sandbox's world state: users, guilds, channels, members, messages, reactions, voice states.

Plain data and synchronous mutations, no I/O and no JSON: the REST routes and the gateway read and
change it through `SandboxOperations`, and payload builders turn it into Discord's wire shapes.
Snowflakes come from a counter, so two runs that do the same things produce the same ids.
"""

from __future__ import annotations

import hashlib
import re

from clanker.sandbox.entities import (
    Attachment,
    Channel,
    ChannelKind,
    Emoji,
    Guild,
    Member,
    Message,
    Reaction,
    SandboxLookupError,
    SnowflakeFactory,
    User,
    VoiceState,
)
from clanker.sandbox.images import image_size
from clanker.sandbox.soundboard import Soundboard

__all__ = [
    "Attachment",
    "Channel",
    "ChannelKind",
    "Emoji",
    "Guild",
    "Member",
    "Message",
    "Reaction",
    "SandboxLookupError",
    "SnowflakeFactory",
    "User",
    "VoiceState",
    "World",
]

_MENTION = re.compile(r"<@!?(\d+)>")


class World:
    """Everything the sandbox Discord knows. One user is the bot's account (`bot`), which logs in
    with `token`; every other user is a simulated member driven by tests or a person.
    """

    def __init__(self, *, bot_username: str = "clanker", token: str = "sandbox-token") -> None:
        self.snowflakes = SnowflakeFactory()
        self.token = token
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.members: dict[tuple[int, int], Member] = {}
        self.messages: dict[int, Message] = {}
        self.voice_states: dict[tuple[int, int], VoiceState] = {}
        self.soundboard = Soundboard()  # guild sounds, denied permissions, what was played
        # Attachment links: `open_sandbox` points `cdn_url` at its own HTTP server.
        self.cdn_url = "https://cdn.sandbox.invalid"
        self.cdn_generation = 0  # bumped by expire_attachment_links
        self.cdn_secret = self._cdn_secret()
        self.bot = self.add_user(bot_username)

    # -- building -----------------------------------------------------------------------------

    def add_user(self, username: str, *, global_name: str | None = None) -> User:
        """Create a user account (not yet a member of any guild)."""
        user = User(self.snowflakes.next(), username, global_name)
        self.users[user.id] = user
        return user

    def add_guild(self, name: str, *, owner: User | None = None) -> Guild:
        """Create a guild; the bot joins it (READY only lists guilds the account is in)."""
        guild = Guild(self.snowflakes.next(), name, (owner or self.bot).id)
        self.guilds[guild.id] = guild
        self.add_member(guild.id, self.bot.id)
        if owner is not None and owner.id != self.bot.id:
            self.add_member(guild.id, owner.id)
        return guild

    def add_channel(
        self, guild_id: int, name: str, kind: ChannelKind = ChannelKind.TEXT
    ) -> Channel:
        """Create a channel at the end of the guild's channel list."""
        guild = self.guild(guild_id)
        channel = Channel(self.snowflakes.next(), guild.id, name, kind, len(guild.channel_ids))
        self.channels[channel.id] = channel
        guild.channel_ids.append(channel.id)
        return channel

    def open_dm(self, user_id: int) -> tuple[Channel, bool]:
        """The DM channel between the bot and ``user_id`` (made on first use, as Discord does
        when either side opens it); ``True`` when it was made now."""
        user = self.user(user_id)
        if user.id == self.bot.id:
            raise SandboxLookupError("the bot cannot open a DM with itself", code=50007)
        for channel in self.channels.values():
            if channel.kind is ChannelKind.DM and channel.recipient_ids == [self.bot.id, user.id]:
                return channel, False
        channel = Channel(
            self.snowflakes.next(),
            None,
            "",
            ChannelKind.DM,
            0,
            recipient_ids=[self.bot.id, user.id],
        )
        self.channels[channel.id] = channel
        return channel, True

    def dm_channels(self) -> list[Channel]:
        return [c for c in self.channels.values() if c.kind is ChannelKind.DM]

    def add_member(self, guild_id: int, user_id: int, *, nick: str | None = None) -> Member:
        """Make `user_id` a member of `guild_id` (idempotent: an existing member is returned)."""
        guild = self.guild(guild_id)
        self.user(user_id)
        existing = self.members.get((guild.id, user_id))
        if existing is not None:
            return existing
        member = Member(guild.id, user_id, self._now_ms(), nick)
        self.members[(guild.id, user_id)] = member
        guild.member_ids.append(user_id)
        return member

    # -- lookups ------------------------------------------------------------------------------

    def user(self, user_id: int) -> User:
        """The user with `user_id`, or SandboxLookupError (Discord code 10013)."""
        try:
            return self.users[user_id]
        except KeyError:
            raise SandboxLookupError(
                f"no user with id {user_id} in the sandbox world", code=10013
            ) from None

    def guild(self, guild_id: int) -> Guild:
        """The guild with `guild_id`, or SandboxLookupError (Discord code 10004)."""
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise SandboxLookupError(
                f"no guild with id {guild_id} in the sandbox world", code=10004
            ) from None

    def channel(self, channel_id: int) -> Channel:
        """The channel with `channel_id`, or SandboxLookupError (Discord code 10003)."""
        try:
            return self.channels[channel_id]
        except KeyError:
            raise SandboxLookupError(
                f"no channel with id {channel_id} in the sandbox world", code=10003
            ) from None

    def message(self, message_id: int) -> Message:
        """The live (not deleted) message with `message_id`, or SandboxLookupError (code 10008)."""
        message = self.messages.get(message_id)
        if message is None or message.deleted:
            raise SandboxLookupError(
                f"no message with id {message_id} in the sandbox world", code=10008
            )
        return message

    def member(self, guild_id: int, user_id: int) -> Member:
        """The membership of `user_id` in `guild_id`, or SandboxLookupError (code 10007)."""
        try:
            return self.members[(guild_id, user_id)]
        except KeyError:
            raise SandboxLookupError(
                f"user {user_id} is not a member of guild {guild_id}", code=10007
            ) from None

    def user_named(self, username: str) -> User:
        """The user called `username` (for scripts and tests)."""
        for user in self.users.values():
            if user.username == username:
                return user
        known = ", ".join(sorted(u.username for u in self.users.values()))
        raise SandboxLookupError(f"no user named {username!r}; known users: {known}", code=10013)

    def guild_named(self, name: str) -> Guild:
        """The guild called `name` (for scripts and tests)."""
        for guild in self.guilds.values():
            if guild.name == name:
                return guild
        known = ", ".join(sorted(g.name for g in self.guilds.values()))
        raise SandboxLookupError(f"no guild named {name!r}; known guilds: {known}", code=10004)

    def channel_named(self, name: str, *, guild_id: int | None = None) -> Channel:
        """The channel called `name` (first match, optionally within one guild)."""
        for channel in self.channels.values():
            if channel.name == name and guild_id in (None, channel.guild_id):
                return channel
        known = ", ".join(sorted(c.name for c in self.channels.values()))
        raise SandboxLookupError(f"no channel named {name!r}; known channels: {known}", code=10003)

    def guild_members(self, guild_id: int) -> list[Member]:
        """The guild's members in join order."""
        guild = self.guild(guild_id)
        return [self.members[(guild.id, user_id)] for user_id in guild.member_ids]

    def guild_voice_states(self, guild_id: int) -> list[VoiceState]:
        """Who is connected to the guild's voice channels."""
        return [vs for (gid, _), vs in self.voice_states.items() if gid == guild_id]

    # -- messages -----------------------------------------------------------------------------

    def create_message(
        self,
        channel_id: int,
        author_id: int,
        content: str,
        *,
        reference_id: int | None = None,
        nonce: str | int | None = None,
        attachments: list[tuple[str, str | None, bytes]] | None = None,
        allowed_mentions: dict[str, object] | None = None,
        kind: int = 0,
    ) -> Message:
        """Store a new message; `attachments` are (filename, content type, bytes); ``kind``:
        Discord's message type of a system message (7: a member joined)."""
        channel = self.channel(channel_id)
        if channel.guild_id is not None:
            self.member(channel.guild_id, author_id)
        elif author_id not in channel.recipient_ids:
            raise SandboxLookupError(
                f"user {author_id} is not a recipient of DM channel {channel.id}", code=50001
            )
        if reference_id is not None:
            referenced = self.message(reference_id)
            if referenced.channel_id != channel.id:
                raise SandboxLookupError(
                    f"message {reference_id} is not in channel {channel.id}", code=10008
                )
        message = Message(
            id=self.snowflakes.next(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author_id,
            content=content,
            reference_id=reference_id,
            nonce=nonce,
            allowed_mentions=allowed_mentions,
            kind=kind,
        )
        for filename, content_type, data in attachments or []:
            size = image_size(data) if (content_type or "").startswith("image/") else None
            message.attachments.append(
                Attachment(
                    self.snowflakes.next(),
                    filename,
                    content_type,
                    data,
                    width=size[0] if size else None,
                    height=size[1] if size else None,
                )
            )
        message.mention_ids = self._mentions(content)
        # A reply pings its target's author unless allowed_mentions is given without
        # `replied_user: true` (how Discord reads discord.py's mention_author=False).
        if reference_id is not None and (
            allowed_mentions is None or allowed_mentions.get("replied_user")
        ):
            replied = self.messages[reference_id].author_id
            message.mention_ids = list(dict.fromkeys([*message.mention_ids, replied]))
        self.messages[message.id] = message
        channel.last_message_id = message.id
        return message

    def attachments_by_id(self) -> dict[int, tuple[int, Attachment]]:
        """Every attachment of a message not deleted: id -> (channel id, attachment)."""
        return {
            a.id: (m.channel_id, a)
            for m in self.messages.values()
            if not m.deleted
            for a in m.attachments
        }

    def expire_attachment_links(self) -> None:
        """Make every attachment link handed out so far stop working (a new CDN secret), as
        Discord's links expire; fetching the message again gives fresh ones."""
        self.cdn_generation += 1
        self.cdn_secret = self._cdn_secret()

    def _cdn_secret(self) -> bytes:
        # Derived, not random: two runs that do the same things hand out the same links.
        return hashlib.sha256(f"sandbox-cdn|{self.token}|{self.cdn_generation}".encode()).digest()

    def edit_message(self, message_id: int, content: str) -> Message:
        """Replace a message's content and stamp its edit time."""
        message = self.message(message_id)
        message.content = content
        message.mention_ids = self._mentions(content)
        message.edited_ms = self._now_ms()
        return message

    def delete_message(self, message_id: int) -> Message:
        """Mark a message deleted; it stays readable in `messages` for assertions."""
        message = self.message(message_id)
        message.deleted = True
        return message

    def add_reaction(self, message_id: int, user_id: int, emoji: Emoji) -> bool:
        """Record a reaction; False if this user had already reacted with this emoji."""
        message = self.message(message_id)
        self.user(user_id)
        for reaction in message.reactions:
            if reaction.emoji == emoji:
                if user_id in reaction.user_ids:
                    return False
                reaction.user_ids.append(user_id)
                return True
        message.reactions.append(Reaction(emoji, [user_id]))
        return True

    def remove_reaction(self, message_id: int, user_id: int, emoji: Emoji) -> bool:
        """Remove a reaction; False if there was none to remove."""
        message = self.message(message_id)
        for reaction in message.reactions:
            if reaction.emoji == emoji and user_id in reaction.user_ids:
                reaction.user_ids.remove(user_id)
                if not reaction.user_ids:
                    message.reactions.remove(reaction)
                return True
        return False

    def history(
        self,
        channel_id: int,
        *,
        limit: int = 50,
        before: int | None = None,
        after: int | None = None,
        around: int | None = None,
    ) -> list[Message]:
        """Live messages of a channel, newest first, with Discord's paging semantics:
        `after` returns the `limit` oldest messages newer than it, `before` the newest older ones.
        """
        channel = self.channel(channel_id)
        ordered = sorted(
            (m for m in self.messages.values() if m.channel_id == channel.id and not m.deleted),
            key=lambda m: m.id,
        )
        if around is not None:
            older = [m for m in ordered if m.id < around]
            older = older[max(0, len(older) - limit // 2) :]
            newer = [m for m in ordered if m.id >= around][: limit - len(older)]
            return list(reversed(older + newer))
        if after is not None:
            return list(reversed([m for m in ordered if m.id > after][:limit]))
        if before is not None:
            ordered = [m for m in ordered if m.id < before]
        return list(reversed(ordered[-limit:])) if limit else []

    # -- voice --------------------------------------------------------------------------------

    def set_voice_state(
        self,
        guild_id: int,
        user_id: int,
        channel_id: int | None,
        *,
        session_id: str,
        self_mute: bool = False,
        self_deaf: bool = False,
    ) -> VoiceState | None:
        """Connect a user to a voice channel (or disconnect with `channel_id=None`)."""
        self.member(guild_id, user_id)
        if channel_id is None:
            self.voice_states.pop((guild_id, user_id), None)
            return None
        channel = self.channel(channel_id)
        if channel.guild_id != guild_id or channel.kind is not ChannelKind.VOICE:
            raise SandboxLookupError(
                f"channel {channel_id} is not a voice channel of guild {guild_id}", code=10003
            )
        state = VoiceState(guild_id, user_id, channel.id, session_id, self_mute, self_deaf)
        self.voice_states[(guild_id, user_id)] = state
        return state

    # -- helpers ------------------------------------------------------------------------------

    def _now_ms(self) -> int:
        # Advancing the snowflake clock keeps edit and join times ordered with message ids.
        return SnowflakeFactory.unix_ms(self.snowflakes.next())

    def _mentions(self, content: str) -> list[int]:
        ids = [int(raw) for raw in _MENTION.findall(content)]
        return [uid for uid in dict.fromkeys(ids) if uid in self.users]
