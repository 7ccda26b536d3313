"""What Discord does when something happens: change the world, then tell the gateway sessions.

The REST routes (acting as the bot) and the scripting API (acting as simulated members) both go
through `SandboxOperations`, so a message posted either way is stored and dispatched identically.
Synchronous; gateway actions are handed to `deliver`, and `on_change` wakes anyone waiting.
"""

from __future__ import annotations

from collections.abc import Callable

from clanker.sandbox import payloads
from clanker.sandbox.gateway import GatewayAction, GatewayHub
from clanker.sandbox.soundboard import SoundboardRefused, SoundEffect, effect_json
from clanker.sandbox.world import Channel, ChannelKind, Emoji, Member, Message, World


class SandboxPermissionError(Exception):
    """The acting user may not do this (the REST layer answers 403 with Discord's `code`)."""

    def __init__(self, message: str, *, code: int) -> None:
        super().__init__(message)
        self.code = code


class SandboxOperations:
    """World mutations paired with the gateway dispatches Discord would send for them."""

    def __init__(
        self,
        world: World,
        hub: GatewayHub,
        *,
        deliver: Callable[[list[GatewayAction]], None],
        on_change: Callable[[], None],
    ) -> None:
        self.world = world
        self.hub = hub
        self._deliver = deliver
        self._on_change = on_change

    def post_message(
        self,
        author_id: int,
        channel_id: int,
        content: str,
        *,
        reference_id: int | None = None,
        nonce: str | int | None = None,
        attachments: list[tuple[str, str | None, bytes]] | None = None,
        allowed_mentions: dict[str, object] | None = None,
    ) -> Message:
        """Store a message and dispatch MESSAGE_CREATE."""
        message = self.world.create_message(
            channel_id,
            author_id,
            content,
            reference_id=reference_id,
            nonce=nonce,
            attachments=attachments,
            allowed_mentions=allowed_mentions,
        )
        self._dispatch("MESSAGE_CREATE", self._message_payload(message))
        return message

    def edit_message(self, message_id: int, content: str, *, editor_id: int) -> Message:
        """Edit a message as its author and dispatch MESSAGE_UPDATE."""
        message = self.world.message(message_id)
        if message.author_id != editor_id:
            raise SandboxPermissionError(
                f"user {editor_id} cannot edit message {message_id} "
                f"authored by {message.author_id}",
                code=50005,
            )
        self.world.edit_message(message_id, content)
        self._dispatch("MESSAGE_UPDATE", self._message_payload(message))
        return message

    def delete_message(self, message_id: int, *, deleter_id: int) -> Message:
        """Delete a message (its author or the guild owner may) and dispatch MESSAGE_DELETE."""
        message = self.world.message(message_id)
        owner_id = None if message.guild_id is None else self.world.guild(message.guild_id).owner_id
        if deleter_id not in (message.author_id, owner_id):
            raise SandboxPermissionError(
                f"user {deleter_id} may not delete message {message_id}", code=50013
            )
        self.world.delete_message(message_id)
        data = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
        self._dispatch("MESSAGE_DELETE", data)
        return message

    def add_reaction(self, message_id: int, user_id: int, emoji: Emoji) -> bool:
        """React; dispatches MESSAGE_REACTION_ADD unless the reaction already existed."""
        added = self.world.add_reaction(message_id, user_id, emoji)
        if added:
            message = self.world.message(message_id)
            data = payloads.reaction_event(
                self.world, message, user_id=user_id, e=emoji, added=True
            )
            self._dispatch("MESSAGE_REACTION_ADD", data)
        return added

    def remove_reaction(self, message_id: int, user_id: int, emoji: Emoji) -> bool:
        """Un-react; dispatches MESSAGE_REACTION_REMOVE if there was a reaction to remove."""
        removed = self.world.remove_reaction(message_id, user_id, emoji)
        if removed:
            message = self.world.message(message_id)
            data = payloads.reaction_event(
                self.world, message, user_id=user_id, e=emoji, added=False
            )
            self._dispatch("MESSAGE_REACTION_REMOVE", data)
        return removed

    def start_typing(self, channel_id: int, user_id: int) -> None:
        """A user starts typing; other users' clients get TYPING_START (never one's own)."""
        channel = self.world.channel(channel_id)
        if channel.guild_id is not None:
            self.world.member(channel.guild_id, user_id)
        elif user_id not in channel.recipient_ids:
            raise SandboxPermissionError(
                f"user {user_id} is not a recipient of DM channel {channel.id}", code=50001
            )
        if user_id != self.world.bot.id:
            now_ms = self.world.snowflakes.unix_ms(self.world.snowflakes.next())
            data = payloads.typing_event(
                self.world, channel_id=channel.id, user_id=user_id, now_ms=now_ms
            )
            self._dispatch("TYPING_START", data)
        self._on_change()

    def add_member(self, guild_id: int, username: str) -> Member:
        """Create a user who joins the guild; dispatches GUILD_MEMBER_ADD and, as Discord does
        when the guild has a system channel, posts the join message there (type 7, by the
        member, no content) with MESSAGE_CREATE."""
        user = self.world.add_user(username)
        member = self.world.add_member(guild_id, user.id)
        self._dispatch("GUILD_MEMBER_ADD", payloads.member_add_event(self.world, member))
        system = self.world.guild(guild_id).system_channel_id
        if system is not None:
            joined = self.world.create_message(
                system, user.id, "", kind=payloads.MESSAGE_TYPE_USER_JOIN
            )
            self._dispatch("MESSAGE_CREATE", self._message_payload(joined))
        return member

    def open_dm(self, user_id: int) -> Channel:
        """The DM channel between the bot and ``user_id``; a new one is announced to the bot
        with CHANNEL_CREATE (as Discord does before its first message)."""
        channel, created = self.world.open_dm(user_id)
        if created:
            self._dispatch("CHANNEL_CREATE", payloads.dm_channel(self.world, channel))
        return channel

    def play_sound(
        self, user_id: int, channel_id: int, sound_id: int, source_guild_id: int | None
    ) -> SoundEffect:
        """Play a soundboard sound in a voice channel (Discord's checks, `SoundboardRefused`
        if one fails), then VOICE_CHANNEL_EFFECT_SEND to the members connected to it."""
        channel = self.world.channel(channel_id)
        if channel.kind is not ChannelKind.VOICE or channel.guild_id is None:
            raise SoundboardRefused(
                f"channel {channel_id} is not a voice channel", status=400, code=50024
            )
        state = self.world.voice_states.get((channel.guild_id, user_id))
        sound = self.world.soundboard.check(
            user_id=user_id,
            channel_id=channel.id,
            channel_guild_id=channel.guild_id,
            connected_channel_id=None if state is None else state.channel_id,
            muted=state is not None and state.self_mute,
            deafened=state is not None and state.self_deaf,
            sound_id=sound_id,
            source_guild_id=source_guild_id,
        )
        effect = SoundEffect(channel.id, channel.guild_id, user_id, sound)
        self.world.soundboard.played.append(effect)
        # the gateway sessions are the bot's, and the bot is connected to the channel
        self._dispatch("VOICE_CHANNEL_EFFECT_SEND", effect_json(effect))
        return effect

    def _message_payload(self, message: Message) -> payloads.JsonObject:
        return payloads.message(self.world, message, viewer_id=self.world.bot.id, for_gateway=True)

    def _dispatch(self, event: str, data: payloads.JsonObject) -> None:
        self._deliver(self.hub.dispatch(event, data))
        self._on_change()
