"""The chat panel's seam to the sandbox: post as a simulated member, read a channel, follow
new messages, and say something aloud in the voice call.

`SandboxChat` is what the dashboard uses; `WorldChat` implements it over a running
`clanker.sandbox.Sandbox` (its scripting API), so a message posted from the browser reaches the
bot exactly as a member's message would: over the sandbox's gateway.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

import trio

from clanker.dashboard.directory import world_guilds
from clanker.dashboard.shapes import ChatMessage, MemberView, SaidAloud, SandboxInfo
from clanker.sandbox import Channel, ChannelKind, Message, Sandbox, SandboxLookupError
from clanker.sandbox.voice.audio import Pcm
from clanker.sandbox.voice.speech import PLAY_RATE, piper_speech
from clanker.voice.models.base import ModelError

MAX_CONTENT_CHARS = 2000
MAX_SPOKEN_CHARS = 500


class ChatRefused(ValueError):
    """The post cannot be made; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class SandboxChat(Protocol):
    """What the chat panel needs from the sandbox."""

    def info(self) -> SandboxInfo:
        """Guilds, channels and the members one can speak as."""
        ...

    def messages(self, channel_id: int, limit: int) -> list[ChatMessage]:
        """The channel's latest ``limit`` messages, oldest first (`ChatRefused` if unknown)."""
        ...

    def post(
        self, channel_id: int, author_id: int | None, content: str, reply_to: int | None
    ) -> ChatMessage:
        """Post as a simulated member (the default member when ``author_id`` is None)."""
        ...

    async def say_aloud(self, author_id: int | None, text: str) -> SaidAloud:
        """A simulated member says ``text`` aloud in the voice call (`ChatRefused` if not)."""
        ...

    async def speak_pcm(self, author_id: int | None, pcm: bytes, rate: int) -> SaidAloud:
        """A simulated member says what the browser recorded (s16le mono at ``rate``) in the
        voice call (`ChatRefused` if not); ``text`` of the answer is empty."""
        ...

    def messages_after(self, last_id: int) -> list[ChatMessage]:
        """Every message (any channel) with an id above ``last_id``, oldest first."""
        ...

    async def wait_for_message_after(self, last_id: int) -> None:
        """Return once a message with an id above ``last_id`` exists."""
        ...

    def last_message_id(self) -> int:
        """The newest message id so far (0 if none)."""
        ...


class WorldChat:
    """`SandboxChat` over a running sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.world = sandbox.world
        self.heard: list[tuple[int, Pcm]] = []  # push-to-talk recordings, as played

    def _view(self, m: Message) -> ChatMessage:
        author = self.world.users.get(m.author_id)
        name = "?" if author is None else (author.global_name or author.username)
        return ChatMessage(
            id=str(m.id),
            channel_id=str(m.channel_id),
            author_id=str(m.author_id),
            author_name=name,
            is_bot=m.author_id == self.world.bot.id,
            content=m.content,
            created_at=datetime.fromtimestamp(m.created_ms / 1000, UTC).isoformat(
                timespec="milliseconds"
            ),
            reply_to=None if m.reference_id is None else str(m.reference_id),
        )

    def _members(self) -> list[MemberView]:
        seen: dict[int, MemberView] = {}
        for (_, user_id), _member in self.world.members.items():
            user = self.world.users[user_id]
            seen.setdefault(
                user_id,
                MemberView(
                    id=str(user_id),
                    name=user.global_name or user.username,
                    is_bot=user_id == self.world.bot.id,
                ),
            )
        return list(seen.values())

    def _text_channels(self) -> list[int]:
        return [c.id for c in self.world.channels.values() if c.kind is ChannelKind.TEXT]

    def info(self) -> SandboxInfo:
        """The world as the chat panel offers it."""
        members = self._members()
        people = [m for m in members if not m.is_bot]
        channels = self._text_channels()
        return SandboxInfo(
            guilds=world_guilds(self.world),
            members=members,
            default_channel_id=str(channels[0]) if channels else None,
            default_author_id=people[0].id if people else None,
        )

    def messages(self, channel_id: int, limit: int) -> list[ChatMessage]:
        """Latest messages of a channel, oldest first."""
        try:
            history = self.world.history(channel_id, limit=limit)
        except SandboxLookupError as exc:
            raise ChatRefused(str(exc), status=404) from None
        return [self._view(m) for m in reversed(history)]

    def post(
        self, channel_id: int, author_id: int | None, content: str, reply_to: int | None
    ) -> ChatMessage:
        """Post as a member; refuses the bot's own account, voice channels and empty text."""
        if not content.strip():
            raise ChatRefused("content must not be empty")
        if len(content) > MAX_CONTENT_CHARS:
            raise ChatRefused(
                f"content is {len(content)} characters; Discord allows {MAX_CONTENT_CHARS}"
            )
        channel = self.world.channels.get(channel_id)
        if channel is None:
            raise ChatRefused(f"no sandbox channel with id {channel_id}", status=404)
        if channel.kind is not ChannelKind.TEXT:
            raise ChatRefused(f"#{channel.name} is a voice channel; post in a text channel")
        if author_id is None:
            default = self.info().default_author_id
            if default is None:
                raise ChatRefused("the sandbox has no simulated member to post as", status=409)
            author_id = int(default)
        if author_id == self.world.bot.id:
            raise ChatRefused("post as a simulated member, not as the bot's own account")
        try:
            posted = self.sandbox.post_message(author_id, channel_id, content, reply_to=reply_to)
        except SandboxLookupError as exc:
            raise ChatRefused(str(exc), status=404 if exc.code == 10003 else 400) from None
        return self._view(posted)

    async def say_aloud(self, author_id: int | None, text: str) -> SaidAloud:
        """A simulated member says `text` in Piper's voice in the guild's voice channel (joining
        it first if not in one); refused while the bot is not in that call."""
        text = text.strip()
        if not text:
            raise ChatRefused("text must not be empty")
        if len(text) > MAX_SPOKEN_CHARS:
            raise ChatRefused(f"text is {len(text)} characters; say at most {MAX_SPOKEN_CHARS}")
        author_id, lounge = self._speaker(author_id)
        try:
            pcm = await piper_speech(text)
        except ModelError as exc:
            raise ChatRefused(f"no speech: {exc}", status=503) from None
        return await self._play(author_id, lounge, pcm, text)

    async def speak_pcm(self, author_id: int | None, pcm: bytes, rate: int) -> SaidAloud:
        """Push-to-talk: the member says what the browser recorded, resampled to the voice
        server's 48 kHz (`self.heard` keeps each recording as played, for tests)."""
        author_id, lounge = self._speaker(author_id)
        audio = Pcm(pcm, rate)
        if rate != PLAY_RATE:
            audio = await trio.to_thread.run_sync(audio.resample, PLAY_RATE)
        self.heard.append((author_id, audio))
        return await self._play(author_id, lounge, audio, "")

    async def _play(self, author_id: int, lounge: Channel, pcm: Pcm, text: str) -> SaidAloud:
        voice = self.sandbox.voice
        assert voice is not None
        state = self.world.voice_states.get((lounge.guild_id or 0, author_id))
        if state is None or state.channel_id != lounge.id:
            self.sandbox.join_voice(author_id, lounge)
        await voice.play(author_id, pcm, channel_id=lounge.id)
        return SaidAloud(
            author_id=str(author_id),
            channel_id=str(lounge.id),
            text=text,
            seconds=round(pcm.duration, 3),
        )

    def _speaker(self, author_id: int | None) -> tuple[int, Channel]:
        """Who speaks, in which voice channel; `ChatRefused` when nobody would hear it."""
        voice = self.sandbox.voice
        if voice is None:
            raise ChatRefused("this sandbox has no voice server", status=409)
        if author_id is None:
            default = self.info().default_author_id
            if default is None:
                raise ChatRefused("the sandbox has no simulated member to speak as", status=409)
            author_id = int(default)
        if author_id == self.world.bot.id:
            raise ChatRefused("speak as a simulated member, not as the bot's own account")
        if author_id not in self.world.users:
            raise ChatRefused(f"no sandbox member with id {author_id}", status=404)
        lounge = next(
            (c for c in self.world.channels.values() if c.kind is ChannelKind.VOICE), None
        )
        if lounge is None or lounge.guild_id is None:
            raise ChatRefused("the sandbox has no voice channel", status=409)
        if not voice.gateway.ready_sessions(str(lounge.id)):
            raise ChatRefused(
                f'the bot is not in #{lounge.name}: ask it in text ("clanker, come to voice")',
                status=409,
            )
        return author_id, lounge

    def messages_after(self, last_id: int) -> list[ChatMessage]:
        """New messages in every channel, oldest first."""
        fresh = sorted(
            (m for m in self.world.messages.values() if m.id > last_id), key=lambda m: m.id
        )
        return [self._view(m) for m in fresh if not m.deleted]

    async def wait_for_message_after(self, last_id: int) -> None:
        """Wait for the sandbox to hold a message newer than ``last_id``."""
        await self.sandbox.wait_until(lambda: next(reversed(self.world.messages), 0) > last_id)

    def last_message_id(self) -> int:
        """The newest message id so far (0 if none)."""
        return max(self.world.messages, default=0)
