"""The bridge's typed messages: gateway events in, commands out, typed results back.

Everything past the bridge sees only these structs, never a discord.py object. Discord ids are
ints here (msgspec encodes int64 exactly); they become strings only for the browser.
"""

from __future__ import annotations

from typing import Any

from clanker.wire import Message

BRIDGE_NAME = "discord"
"""The runtime-wide name the Discord bridge registers."""


class AttachmentInfo(Message, frozen=True):
    """An attachment on a message, by reference (no bytes)."""

    filename: str
    url: str
    size: int
    content_type: str | None = None
    attachment_id: int = 0  # Discord's id; 0 when not known (older stored records)
    width: int | None = None  # images only
    height: int | None = None

    @property
    def is_image(self) -> bool:
        """Discord says it is an image (by content type, else by a picture's dimensions)."""
        if self.content_type is not None:
            return self.content_type.startswith("image/")
        return self.width is not None


class ReactionCount(Message, frozen=True):
    """How many people reacted to a message with one emoji."""

    emoji: str
    count: int


class DiscordMessage(Message, frozen=True):
    """A message as the bridge saw it (created, or fetched from history)."""

    message_id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    author_name: str
    author_is_bot: bool
    content: str
    created_at: str  # ISO 8601, Discord's own timestamp
    reply_to_message_id: int | None = None
    mention_ids: tuple[int, ...] = ()
    attachments: tuple[AttachmentInfo, ...] = ()
    embed_count: int = 0
    embed_urls: tuple[str, ...] = ()
    reactions: tuple[ReactionCount, ...] = ()
    # A thread's parent channel (threads inherit its permissions); None outside threads.
    parent_channel_id: int | None = None
    # A system message's meaning, for the ones clanker acts on: "member_join" (Discord's
    # "X joined the server" in the system channel, authored by the newcomer). None: a message.
    event: str | None = None


# -- gateway events (bridge -> guild actors) ---------------------------------------------------


class BridgeReady(Message, frozen=True):
    """The client logged in (again): who we are and which guilds we see."""

    user_id: int
    user_name: str
    guild_ids: tuple[int, ...]


class MessageCreated(Message, frozen=True):
    """MESSAGE_CREATE."""

    message: DiscordMessage


class MessageEdited(Message, frozen=True):
    """MESSAGE_UPDATE (content is None when the update did not carry it)."""

    message_id: int
    channel_id: int
    guild_id: int | None
    content: str | None


class MessageDeleted(Message, frozen=True):
    """MESSAGE_DELETE."""

    message_id: int
    channel_id: int
    guild_id: int | None


class ReactionChanged(Message, frozen=True):
    """MESSAGE_REACTION_ADD (added=True) or MESSAGE_REACTION_REMOVE."""

    message_id: int
    channel_id: int
    guild_id: int | None
    user_id: int
    emoji: str
    added: bool


class TypingStarted(Message, frozen=True):
    """TYPING_START: someone started typing in a channel. Discord shows it for about 10 s;
    clients send another about every 8-10 s while the member keeps typing, and a member's
    message ends it. ``at`` is Discord's own stamp (Unix seconds, whole seconds): the reply
    queue times typing by when the event reached it instead."""

    channel_id: int
    guild_id: int | None
    user_id: int
    is_bot: bool
    at: float


class MemberJoined(Message, frozen=True):
    """GUILD_MEMBER_ADD."""

    guild_id: int
    user_id: int
    user_name: str


class ChannelInfo(Message, frozen=True):
    """A guild channel as the bridge saw it. ``kind`` is Discord's channel type name
    (``"text"``, ``"voice"``, ``"category"``, …)."""

    channel_id: int
    name: str
    kind: str
    parent_id: int | None = None  # a thread's parent channel, a channel's category
    last_message_id: int | None = None  # the newest message when the bridge saw it (text kinds)


class MemberInfo(Message, frozen=True):
    """A guild member the bridge knows (its cached members): for ``@name`` mentions."""

    user_id: int
    name: str  # the name shown in the guild (nick, else display name)


class GuildAvailable(Message, frozen=True):
    """GUILD_CREATE / the guild became available: its name and channels."""

    guild_id: int
    name: str
    channels: tuple[ChannelInfo, ...]
    member_count: int | None = None
    members: tuple[MemberInfo, ...] = ()  # the members the bridge has cached (may be few)


class VoiceStateChanged(Message, frozen=True):
    """VOICE_STATE_UPDATE for anyone (``channel_id`` None: they left voice). For the bot's own
    user, ``session_id`` is the one the voice gateway needs."""

    guild_id: int | None
    channel_id: int | None
    user_id: int
    session_id: str
    self_mute: bool = False
    self_deaf: bool = False
    user_name: str | None = None  # from the update's member (nick, global name, username)


class VoiceServerChanged(Message, frozen=True):
    """VOICE_SERVER_UPDATE: where the voice gateway is and the token to identify with. Discord
    may send a new one at any time (a server move); forward every one."""

    guild_id: int | None
    channel_id: int | None  # set for private calls instead of guild_id
    token: str
    endpoint: str | None  # None: the voice server is being reallocated; wait for the next


class RawDispatch(Message, frozen=True):
    """A gateway dispatch the bridge was asked to pass through untouched (``raw_events``)."""

    event: str
    guild_id: int | None
    data: dict[str, Any]


GatewayEvent = (
    BridgeReady
    | MessageCreated
    | MessageEdited
    | MessageDeleted
    | ReactionChanged
    | TypingStarted
    | MemberJoined
    | GuildAvailable
    | VoiceStateChanged
    | VoiceServerChanged
    | RawDispatch
)


# -- commands (anyone -> bridge) ---------------------------------------------------------------


class FileUpload(Message, frozen=True):
    """A file to attach to a sent message."""

    filename: str
    data: bytes


class SendMessage(Message, frozen=True):
    """Post ``content`` in a channel, optionally as a reply, with mention control."""

    channel_id: int
    content: str
    reply_to_message_id: int | None = None
    mention_replied_user: bool = False
    allow_user_mentions: bool = True
    allow_everyone: bool = False
    files: tuple[FileUpload, ...] = ()
    # Trio time (this process) after which the bridge must not start the send: it answers
    # `BridgeFailure` with ``expired`` instead (a pacing slot that lapsed while it waited).
    start_by: float | None = None


class EditMessage(Message, frozen=True):
    """Edit one of the bot's own messages."""

    channel_id: int
    message_id: int
    content: str


class StartTyping(Message, frozen=True):
    """Show the typing indicator in a channel (Discord keeps it about 10 s)."""

    channel_id: int


class AddReaction(Message, frozen=True):
    """React to a message as the bot."""

    channel_id: int
    message_id: int
    emoji: str


class OpenDm(Message, frozen=True):
    """Open (or find) the DM channel with ``user_id``. Reply: `DmOpened` or `BridgeFailure`."""

    user_id: int


class DmOpened(Message, frozen=True):
    """The DM channel with ``user_id``: send there with `SendMessage(channel_id=…)`."""

    user_id: int
    channel_id: int


class FetchHistory(Message, frozen=True):
    """Up to ``limit`` messages before ``before_message_id`` (newest first), for context."""

    channel_id: int
    limit: int = 50
    before_message_id: int | None = None


class FetchAttachment(Message, frozen=True):
    """Download one attachment's bytes through the library's CDN client. ``url`` is the link
    the message carried; when Discord answers it has expired (403/404) the bridge fetches the
    message again for a fresh link and tries once more. More than ``max_bytes`` (by the
    attachment's declared size, or the body) is refused. Reply: `AttachmentData` or
    `BridgeFailure`."""

    channel_id: int
    message_id: int
    attachment_id: int
    url: str
    max_bytes: int = 10_000_000


# -- results -------------------------------------------------------------------------------


class AttachmentData(Message, frozen=True):
    """An attachment's bytes, as Discord's CDN served them, and the link that served them."""

    data: bytes
    url: str


class Sent(Message, frozen=True):
    """The message the bot posted (or edited)."""

    message: DiscordMessage


class Done(Message, frozen=True):
    """The command succeeded and has nothing to return."""


class History(Message, frozen=True):
    """Messages, newest first."""

    messages: tuple[DiscordMessage, ...]


class SendGatewayOp(Message, frozen=True):
    """Send a raw gateway op on the current connection, e.g. op 4 (voice state update):
    ``SendGatewayOp(op=4, data={"guild_id": "1", "channel_id": "2", "self_mute": False,
    "self_deaf": False})``. Answered with `Done`, or a `BridgeFailure` when not connected."""

    op: int
    data: dict[str, Any] | None


class GetBridgeStatus(Message, frozen=True):
    """Ask the bridge how its gateway connection is doing."""


class BridgeStatus(Message, frozen=True):
    """The gateway's health as the bridge sees it, and its queues."""

    ready: bool
    relogins: int  # times the watchdog replaced the client since the bridge started
    seconds_since_heard: float
    # "logging_in" (no login completed yet), "ready", or "reconnecting" (lost after a login)
    state: str = "logging_in"
    inbound_depth: int = 0  # gateway events waiting to be routed
    inbound_capacity: int = 0
    inbound_dropped: int = 0  # events dropped because the inbound queue was full (ever)
    lanes: int = 0  # channels with REST commands running or queued now
    lane_refusals: int = 0  # commands refused because a lane (or the lane count) was full


class AwaitReady(Message, frozen=True):
    """Ask the bridge to answer once it has logged in: `BridgeReady` (at once when it has).
    Bound the wait with the ask's timeout."""


class GetIdentity(Message, frozen=True):
    """Ask the bridge who the bot is and which guilds it sees now, so an actor rebuilds that on
    start instead of waiting for the next READY (a RESUME sends none). Reply: `BridgeReady` as
    of the current login, or `BridgeNotReady`."""


class GetGuild(Message, frozen=True):
    """Ask the bridge for one guild's current name and channels. Reply: `GuildAvailable`, or
    `BridgeNotReady` when the bridge is not logged in or does not see that guild."""

    guild_id: int


class BridgeNotReady(Message, frozen=True):
    """The bridge cannot answer from a live login yet (still connecting, or logged out)."""

    reason: str


class BridgeFailure(Message, frozen=True):
    """A command failed on Discord's side (or could not be sent): what, and why."""

    command: str
    status: int | None  # HTTP status, None when no request was made
    code: int | None  # Discord's JSON error code
    detail: str
    expired: bool = False  # not attempted: the command's ``start_by`` had passed
