"""The messages of the `RealtimeLink` actor (`actor.py`): the commands it takes, its replies,
and the notices it tells its owner.

Commands mirror the `RealtimeSession` interface one for one. An ask gets `CommandSent` (how
many frames went out) or `CommandRefused`; a told command that is refused is told to the
owner as `CommandRefused`, so a refusal is never lost. The provider's events reach the owner
wrapped in `RealtimeLinkEvent` (they are the interface's own tagged structs, so they travel
as they are); the link's own life is `RealtimeConnected`, `RealtimeConnectFailed`,
`RealtimeDropped` and `RealtimeClosed`. Every notice names the link (its actor path), so one
owner can hold several.

A leaf module: msgspec and the interface only.
"""

from __future__ import annotations

from typing import Literal

from clanker.voice.realtime.api import (
    AudioDelta,
    InputTranscript,
    OutputTranscript,
    ProviderError,
    ResponseDone,
    ResponseStarted,
    SessionReady,
    ToolCall,
    ToolSpec,
)
from clanker.wire import Message

# -- commands: owner → link -------------------------------------------------------------------


class AppendAudio(Message, frozen=True):
    """s16le mono PCM at the provider's `Capabilities.input_rate`."""

    pcm: bytes


class CommitTurn(Message, frozen=True):
    """The member's turn ended (our end-of-turn)."""


class ClearAudio(Message, frozen=True):
    """Drop the audio appended since the last commit."""


class AddTextTurn(Message, frozen=True):
    """A member's turn as labelled text."""

    speaker: str
    text: str


class RequestResponse(Message, frozen=True):
    """Answer now."""


class SpeakExact(Message, frozen=True):
    """Say exactly this line, outside the conversation."""

    text: str


class CancelResponse(Message, frozen=True):
    """Stop the response in progress."""


class Truncate(Message, frozen=True):
    """Cut an output item's audio at what the room heard."""

    item_id: str
    played_ms: int


class ToolResult(Message, frozen=True):
    """The output of a tool the provider called."""

    call_id: str
    output: str


class Update(Message, frozen=True):
    """Change the instructions and/or the tools mid-session (None: leave as is)."""

    instructions: str | None = None
    tools: tuple[ToolSpec, ...] | None = None


class Close(Message, frozen=True):
    """Send the session's closing frames, close the socket, and end the link."""


LinkCommand = (
    AppendAudio
    | CommitTurn
    | ClearAudio
    | AddTextTurn
    | RequestResponse
    | SpeakExact
    | CancelResponse
    | Truncate
    | ToolResult
    | Update
    | Close
)


class GetLinkStatus(Message, frozen=True):
    """Ask for `LinkStatus`."""


# -- replies ----------------------------------------------------------------------------------

RefusalKind = Literal["unsupported", "invalid", "not_connected"]


class CommandSent(Message, frozen=True):
    """The command's frames went out, in order (``frames`` may be 0: nothing was owed)."""

    command: str
    frames: int


class CommandRefused(Message, frozen=True):
    """The command was not carried out. ``kind``: ``unsupported`` (the provider cannot do it),
    ``invalid`` (a bad argument), ``not_connected`` (no socket: not yet up, failed or gone).
    ``reason`` says what, for a person."""

    link: str
    command: str
    kind: RefusalKind
    reason: str


LinkState = Literal["connecting", "connected", "closing", "ended"]


class LinkStatus(Message, frozen=True):
    """What the link is doing and what it has moved."""

    provider: str
    state: LinkState
    frames_sent: int
    frames_received: int
    events: int
    """Provider events told to the owner."""
    undelivered: int
    """Notices the owner could not be told (it was gone)."""
    ended: str = ""
    """Why the link ended ("" while it runs)."""


# -- notices: link → owner --------------------------------------------------------------------

AnyRealtimeEvent = (
    SessionReady
    | ResponseStarted
    | AudioDelta
    | OutputTranscript
    | InputTranscript
    | ToolCall
    | ResponseDone
    | ProviderError
)


class RealtimeLinkEvent(Message, frozen=True):
    """One event the provider's session made of a frame (or of the socket's close)."""

    link: str
    event: AnyRealtimeEvent


class RealtimeConnected(Message, frozen=True):
    """The socket is open and the session's `start` frames are sent. `SessionReady` (an
    event) follows when the provider accepts the configuration."""

    link: str
    provider: str


class RealtimeConnectFailed(Message, frozen=True):
    """The socket could not be opened (refused handshake, network error, timeout). The link
    has ended; nothing retries."""

    link: str
    provider: str
    reason: str
    status: int | None = None
    """The HTTP status of a refused handshake, when there was one."""


class RealtimeDropped(Message, frozen=True):
    """The socket closed without our `Close`: the provider closed it, the network broke, or
    it stopped taking frames. ``code`` is the close code (None: no close frame), ``error`` the
    code of the fatal `ProviderError` the session made of it (told just before). The link has
    ended; nothing reconnects: the owner decides whether to start another."""

    link: str
    provider: str
    code: int | None
    reason: str
    error: str


class RealtimeClosed(Message, frozen=True):
    """The link closed the socket because it was told `Close` (or stopped); it has ended."""

    link: str
    provider: str


LinkNotice = (
    RealtimeLinkEvent
    | RealtimeConnected
    | RealtimeConnectFailed
    | RealtimeDropped
    | RealtimeClosed
    | CommandRefused
)
