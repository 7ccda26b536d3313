"""Messages of the guild layer: the directory of known guilds and the key of a session."""

from __future__ import annotations

from clanker.discord.events import ChannelInfo
from clanker.wire import Message

DM_KEY = "dm"


def session_key(guild_id: int | None) -> str:
    """The session an event belongs to: the guild's id, or ``"dm"`` for direct messages."""
    return DM_KEY if guild_id is None else str(guild_id)


def session_name(key: str) -> str:
    """The runtime-wide name of a guild's session actor."""
    return f"guild:{key}"


def channels_name(key: str) -> str:
    """The runtime-wide name of a guild's dynamic supervisor of channel actors."""
    return f"channels:{key}"


def voices_name(key: str) -> str:
    """The runtime-wide name of a guild's dynamic supervisor of its voice connection."""
    return f"voices:{key}"


def voice_link_name(key: str) -> str:
    """The runtime-wide name of a guild's `VoiceLink` (at most one voice channel per guild)."""
    return f"voice:{key}"


def clankvox_name(key: str) -> str:
    """The runtime-wide name of a guild's `Clankvox` actor."""
    return f"clankvox:{key}"


def channel_name(channel_id: int) -> str:
    """The runtime-wide name of a text channel's reply queue actor."""
    return f"channel:{channel_id}"


class Identity(Message, frozen=True):
    """Who the bot is on Discord (from the bridge's READY)."""

    user_id: int
    user_name: str


class Member(Message, frozen=True):
    """A guild member by id and the name shown for them."""

    user_id: int
    name: str


class GuildInfo(Message, frozen=True):
    guild_id: int
    name: str
    channels: tuple[ChannelInfo, ...]
    member_count: int | None = None
    members: tuple[Member, ...] = ()


class MembersLearned(Message, frozen=True):
    """Told by a guild session to its channel actors: members that are new (or renamed)."""

    members: tuple[Member, ...]


class GetSessionState(Message, frozen=True):
    """Ask a guild session what it knows (a restarted router rebuilds from its sessions when
    the bridge cannot answer). Reply: `SessionState`."""


class SessionState(Message, frozen=True):
    key: str
    identity: Identity | None
    guild: GuildInfo | None


class GetDirectory(Message, frozen=True):
    """Ask the router which guilds, channels and sessions it knows."""


class Directory(Message, frozen=True):
    identity: Identity | None
    guilds: tuple[GuildInfo, ...]
    sessions: tuple[str, ...]  # session keys with a running session
    stored: int  # messages stored by this router incarnation
    store_failures: int  # messages it could not store (still routed; see the log)


class JoinVoice(Message, frozen=True):
    """Ask a guild session to join a voice channel (leaving the one it is in, if another).
    Answered with `VoiceJoined` once the voice connection's actors run (the connection itself
    becomes ready later: ask the link, `voice_link_name(key)`, for its status), or
    `VoiceRefused`. `text_channel_id`: the text channel the request came from (its recent
    text is context for the voice brain)."""

    channel_id: int
    text_channel_id: int | None = None


class LeaveVoice(Message, frozen=True):
    """Ask a guild session to leave voice. Answered with `VoiceLeft`."""


class VoiceJoined(Message, frozen=True):
    channel_id: int
    link: str  # registered name of the `VoiceLink`


class VoiceLeft(Message, frozen=True):
    channel_id: int | None  # the channel it left, None when it was in none


class VoiceRefused(Message, frozen=True):
    reason: str


class SetVoiceMute(Message, frozen=True):
    """Ask a guild session to mute (or unmute) the bot in voice: Discord shows it self-muted
    and the voice brain says nothing while it hears and transcribes. Kept by the session for
    the calls it joins until unmuted. Answered with `VoiceMute` (clanker.voice.link_messages),
    which ``GetVoiceMute`` also gets."""

    muted: bool
