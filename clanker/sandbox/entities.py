"""The sandbox's entities: plain dataclasses for users, guilds, channels, members, messages,
reactions and voice states, plus deterministic snowflake ids. `World` holds and changes them.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

# Discord's snowflake epoch (2015-01-01T00:00:00Z) in Unix milliseconds.
DISCORD_EPOCH_MS = 1_420_070_400_000
# The sandbox's clock for snowflakes starts at 2025-01-01T00:00:00Z and advances one millisecond
# per id, so timestamps are ordered like ids and independent of the machine's clock.
SANDBOX_START_MS = 1_735_689_600_000


class SandboxLookupError(LookupError):
    """An id or name did not match anything in the world.

    `code` is the Discord JSON error code the REST layer answers with (10003 Unknown Channel...).
    """

    def __init__(self, message: str, *, code: int) -> None:
        super().__init__(message)
        self.code = code


class ChannelKind(enum.IntEnum):
    """Channel types the sandbox emulates (values are Discord's channel type numbers)."""

    TEXT = 0
    DM = 1
    VOICE = 2


class SnowflakeFactory:
    """Deterministic snowflake ids: one millisecond per id from a fixed start."""

    def __init__(self, start_ms: int = SANDBOX_START_MS) -> None:
        self._start_ms = start_ms
        self._count = 0

    def now_ms(self) -> int:
        """The Unix time in milliseconds of the latest id (the sandbox's own clock)."""
        return self._start_ms + self._count

    def next(self) -> int:
        """Return a fresh id, strictly greater than every id returned before."""
        self._count += 1
        ms = self._start_ms + self._count - DISCORD_EPOCH_MS
        return (ms << 22) | (self._count & 0xFFF)

    @staticmethod
    def unix_ms(snowflake: int) -> int:
        """The Unix time in milliseconds encoded in `snowflake`."""
        return (snowflake >> 22) + DISCORD_EPOCH_MS


@dataclass
class User:
    """A Discord account: the bot's own user account or a simulated member."""

    id: int
    username: str
    global_name: str | None = None


@dataclass
class Channel:
    """A guild channel (text or voice), or a DM between the bot and one user."""

    id: int
    guild_id: int | None  # None for a DM
    name: str
    kind: ChannelKind
    position: int
    topic: str | None = None
    last_message_id: int | None = None
    recipient_ids: list[int] = field(default_factory=list)  # a DM's two ends (bot first)


@dataclass
class Member:
    """A user's membership of a guild."""

    guild_id: int
    user_id: int
    joined_at_ms: int
    nick: str | None = None


@dataclass
class Guild:
    """A guild; channel and member order is creation order."""

    id: int
    name: str
    owner_id: int
    channel_ids: list[int] = field(default_factory=list)
    member_ids: list[int] = field(default_factory=list)
    # Where Discord posts its system messages (a member's join); None: it posts none.
    system_channel_id: int | None = None


@dataclass(frozen=True)
class Emoji:
    """A reaction emoji: a unicode character (`id is None`) or a custom emoji `name:id`."""

    name: str
    id: int | None = None

    @classmethod
    def parse(cls, text: str) -> Emoji:
        """Parse the form discord.py puts in reaction URLs: `👍`, `name:id` or `<:name:id>`."""
        match = re.fullmatch(r"<?a?:?([\w~-]+):(\d+)>?", text)
        if match:
            return cls(match.group(1), int(match.group(2)))
        return cls(text)


@dataclass
class Reaction:
    """The users who reacted to a message with one emoji, in reaction order."""

    emoji: Emoji
    user_ids: list[int] = field(default_factory=list)


@dataclass
class Attachment:
    """A file attached to a message; the bytes are kept so tests can check what was uploaded."""

    id: int
    filename: str
    content_type: str | None
    data: bytes
    # Set for images (Discord gives width and height for images it can read).
    width: int | None = None
    height: int | None = None


@dataclass
class Message:
    """A message in a channel, as the sandbox stores it."""

    id: int
    channel_id: int
    guild_id: int | None  # None in a DM
    author_id: int
    content: str
    reference_id: int | None = None
    nonce: str | int | None = None
    edited_ms: int | None = None
    attachments: list[Attachment] = field(default_factory=list)
    mention_ids: list[int] = field(default_factory=list)
    # What the sender asked for, recorded as sent so tests can assert on it.
    allowed_mentions: dict[str, object] | None = None
    reactions: list[Reaction] = field(default_factory=list)
    deleted: bool = False
    kind: int = 0  # Discord's message type when it is a system message (7: a member joined)

    @property
    def created_ms(self) -> int:
        """Creation time in Unix milliseconds (from the id, as in Discord)."""
        return SnowflakeFactory.unix_ms(self.id)


@dataclass
class VoiceState:
    """Where a user is connected in a guild's voice channels."""

    guild_id: int
    user_id: int
    channel_id: int
    session_id: str
    self_mute: bool = False
    self_deaf: bool = False
