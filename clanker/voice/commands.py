"""Commands clanker writes to clankvox's stdin, one JSON object per line.

Each command is a frozen msgspec Struct and an actor message at once: the `Clankvox` actor is
told one and writes it as it is. On the wire the tag is `"type": "<snake_case>"` and the fields
are camelCase, except inside `voice_server.data` / `voice_state.data`, which carry Discord's own
snake_case keys (see docs/sandbox-voice.md and the protocol reference, section 1.2). Binary
fields (`pcm_base64`, `frame_base64`) hold raw bytes; JSON encoding turns them into base64.

Construction checks what clankvox would otherwise reject for the whole line: ids must be decimal
u64 strings and counters u32, and the error names the field.
"""

from __future__ import annotations

import msgspec

from clanker.voice._ids import check_snowflake, check_u32
from clanker.wire import Message


class ClankvoxCommand(Message, frozen=True, rename="camel"):
    """Base of every stdin command (tag field `type`, camelCase fields)."""

    def _ids(self, *names: str) -> None:
        for name in names:
            check_snowflake(type(self).__name__, name, getattr(self, name))

    def _u32(self, *names: str) -> None:
        for name in names:
            value = getattr(self, name)
            if value is not None:
                check_u32(type(self).__name__, name, value)


# -- joining voice --------------------------------------------------------------------------


class Join(ClankvoxCommand, frozen=True, tag="join"):
    """Start joining `channel_id`: clankvox answers with `adapter_send` (gateway op 4)."""

    guild_id: str
    channel_id: str
    self_deaf: bool = False
    self_mute: bool = False

    def __post_init__(self) -> None:
        self._ids("guild_id", "channel_id")


class VoiceServerData(msgspec.Struct, frozen=True, kw_only=True):
    """The raw VOICE_SERVER_UPDATE values clankvox needs (Discord's snake_case keys)."""

    endpoint: str | None = None
    token: str | None = None


class VoiceServer(ClankvoxCommand, frozen=True, tag="voice_server"):
    """Forward a VOICE_SERVER_UPDATE (send every one: the server can move)."""

    data: VoiceServerData


class VoiceStateData(msgspec.Struct, frozen=True, kw_only=True):
    """The raw VOICE_STATE_UPDATE values for the bot's own user (Discord's snake_case keys)."""

    session_id: str | None = None
    user_id: str | None = None
    channel_id: str | None = None


class VoiceState(ClankvoxCommand, frozen=True, tag="voice_state"):
    """Forward the bot's own VOICE_STATE_UPDATE (its `session_id` and `user_id`)."""

    data: VoiceStateData


TRANSPORT_MODES = ("aead_aes256_gcm_rtpsize", "aead_xchacha20_poly1305_rtpsize")
"""The transport encryption modes clankvox speaks (`Connect.mode`)."""


class Connect(ClankvoxCommand, frozen=True, tag="connect"):
    """[addition] `Join` + `VoiceState` + `VoiceServer` in one line, without `adapter_send`:
    for a caller that already joined on the main gateway and holds every value. `mode` forces
    a transport encryption mode (one of `TRANSPORT_MODES`)."""

    guild_id: str
    channel_id: str
    user_id: str
    session_id: str
    endpoint: str
    token: str
    self_mute: bool = False
    mode: str | None = None

    def __post_init__(self) -> None:
        self._ids("guild_id", "channel_id", "user_id")
        if self.mode is not None and self.mode not in TRANSPORT_MODES:
            raise ValueError(
                f"Connect.mode must be one of {', '.join(TRANSPORT_MODES)} or None, "
                f"got {self.mode!r}"
            )


class _StreamConnect(ClankvoxCommand, frozen=True):
    endpoint: str
    token: str
    server_id: str
    session_id: str
    user_id: str
    dave_channel_id: str

    def __post_init__(self) -> None:
        self._ids("user_id")


class StreamWatchConnect(_StreamConnect, frozen=True, tag="stream_watch_connect"):
    """Connect the Go Live watch transport."""


class StreamWatchDisconnect(ClankvoxCommand, frozen=True, tag="stream_watch_disconnect"):
    """Close the Go Live watch transport."""

    reason: str | None = None


class StreamPublishConnect(_StreamConnect, frozen=True, tag="stream_publish_connect"):
    """Connect the Go Live publish transport."""


class StreamPublishDisconnect(ClankvoxCommand, frozen=True, tag="stream_publish_disconnect"):
    """Close the Go Live publish transport."""

    reason: str | None = None


# -- speech out -----------------------------------------------------------------------------


class Audio(ClankvoxCommand, frozen=True, tag="audio"):
    """TTS audio to play: s16le mono PCM at `sample_rate` (base64 on the wire)."""

    pcm_base64: bytes
    sample_rate: int = 24_000

    def __post_init__(self) -> None:
        self._u32("sample_rate")
        if len(self.pcm_base64) % 2:
            raise ValueError(
                f"Audio.pcm_base64 must hold whole s16le samples (an even byte count), "
                f"got {len(self.pcm_base64)} bytes"
            )


class StopPlayback(ClankvoxCommand, frozen=True, tag="stop_playback"):
    """Stop music and clear both the TTS and music buffers."""


class StopTtsPlayback(ClankvoxCommand, frozen=True, tag="stop_tts_playback"):
    """Clear only the TTS buffer (music continues)."""


# -- hearing people -------------------------------------------------------------------------


class SubscribeUser(ClankvoxCommand, frozen=True, tag="subscribe_user"):
    """Forward `user_id`'s decoded audio as `user_audio` frames at `sample_rate`."""

    user_id: str
    silence_duration_ms: int = 700
    sample_rate: int = 24_000
    jitter_buffer_ms: int = 60  # [addition] how long a gap may wait for a late packet

    def __post_init__(self) -> None:
        self._ids("user_id")
        self._u32("silence_duration_ms", "sample_rate", "jitter_buffer_ms")


class UnsubscribeUser(ClankvoxCommand, frozen=True, tag="unsubscribe_user"):
    """Stop forwarding `user_id`'s audio."""

    user_id: str

    def __post_init__(self) -> None:
        self._ids("user_id")


class DaveVerificationCode(ClankvoxCommand, frozen=True, tag="dave_verification_code"):
    """[addition] Ask for the DAVE verification code of the pair (the bot, `user_id`): a
    `dave_verification_code` event answers."""

    user_id: str

    def __post_init__(self) -> None:
        self._ids("user_id")


class SubscribeUserVideo(ClankvoxCommand, frozen=True, tag="subscribe_user_video"):
    """Watch `user_id`'s video or screen share."""

    user_id: str
    max_frames_per_second: int = 2
    preferred_quality: int = 100
    preferred_pixel_count: int | None = None
    preferred_stream_type: str | None = None
    jpeg_quality: int | None = None

    def __post_init__(self) -> None:
        self._ids("user_id")
        self._u32(
            "max_frames_per_second", "preferred_quality", "preferred_pixel_count", "jpeg_quality"
        )


class UnsubscribeUserVideo(ClankvoxCommand, frozen=True, tag="unsubscribe_user_video"):
    """Stop watching `user_id`'s video."""

    user_id: str

    def __post_init__(self) -> None:
        self._ids("user_id")


# -- music ----------------------------------------------------------------------------------


class MusicPlay(ClankvoxCommand, frozen=True, tag="music_play"):
    """Play music from `url` (a direct media URL when `resolved_direct_url`)."""

    url: str
    resolved_direct_url: bool = False

    def __post_init__(self) -> None:
        problem = music_url_problem(self.url)
        if problem is not None:
            raise ValueError(f"MusicPlay.url {self.url[:200]!r}: {problem}")


MAX_MUSIC_URL = 2048


def music_url_problem(url: str) -> str | None:
    """Why ``url`` may not be handed to yt-dlp/ffmpeg, or None. Only absolute http(s) URLs
    with a host pass: no local paths or other schemes (``file:``, ``-`` for stdin, ffmpeg's
    protocols), nothing option-like, no whitespace or control characters. clankvox checks the
    same rules again before it starts a process."""
    if not url:
        return "is empty"
    if len(url) > MAX_MUSIC_URL:
        return f"is {len(url)} characters long; at most {MAX_MUSIC_URL}"
    if url.startswith("-"):
        return "looks like a command-line option; only http(s) URLs are played"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "contains whitespace or control characters"
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return "is not an http(s) URL (local paths and other schemes are refused)"
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
    if not host or host.startswith(":"):
        return "has no host"
    return None


class MusicStop(ClankvoxCommand, frozen=True, tag="music_stop"):
    """Fade out and stop the music."""


class MusicPause(ClankvoxCommand, frozen=True, tag="music_pause"):
    """Pause the music in place."""


class MusicResume(ClankvoxCommand, frozen=True, tag="music_resume"):
    """Resume paused music."""


class MusicSetGain(ClankvoxCommand, frozen=True, tag="music_set_gain"):
    """Ramp the music gain to `target` (0..1) over `fade_ms`."""

    target: float
    fade_ms: int = 0

    def __post_init__(self) -> None:
        self._u32("fade_ms")


# -- Go Live publishing ---------------------------------------------------------------------


class StreamPublishPlay(ClankvoxCommand, frozen=True, tag="stream_publish_play"):
    """Publish a URL's video on the Go Live transport."""

    url: str
    resolved_direct_url: bool = False


class StreamPublishPlayVisualizer(
    ClankvoxCommand, frozen=True, tag="stream_publish_play_visualizer"
):
    """Publish an audio visualizer of a URL."""

    url: str
    resolved_direct_url: bool = False
    visualizer_mode: str = "cqt"


class StreamPublishBrowserStart(ClankvoxCommand, frozen=True, tag="stream_publish_browser_start"):
    """Publish frames pushed over stdin (PNG only)."""

    mime_type: str = "image/png"


class StreamPublishBrowserFrame(ClankvoxCommand, frozen=True, tag="stream_publish_browser_frame"):
    """One browser frame to publish (base64 on the wire)."""

    mime_type: str
    frame_base64: bytes
    captured_at_ms: int = 0


class StreamPublishStop(ClankvoxCommand, frozen=True, tag="stream_publish_stop"):
    """Stop publishing."""


class StreamPublishPause(ClankvoxCommand, frozen=True, tag="stream_publish_pause"):
    """Pause publishing."""


class StreamPublishResume(ClankvoxCommand, frozen=True, tag="stream_publish_resume"):
    """Resume publishing."""


# -- lifecycle ------------------------------------------------------------------------------


class Destroy(ClankvoxCommand, frozen=True, tag="destroy"):
    """Close every connection and exit (status 0)."""


AnyCommand = (
    Join
    | Connect
    | VoiceServer
    | VoiceState
    | StreamWatchConnect
    | StreamWatchDisconnect
    | StreamPublishConnect
    | StreamPublishDisconnect
    | Audio
    | StopPlayback
    | StopTtsPlayback
    | SubscribeUser
    | UnsubscribeUser
    | DaveVerificationCode
    | SubscribeUserVideo
    | UnsubscribeUserVideo
    | MusicPlay
    | MusicStop
    | MusicPause
    | MusicResume
    | MusicSetGain
    | StreamPublishPlay
    | StreamPublishPlayVisualizer
    | StreamPublishBrowserStart
    | StreamPublishBrowserFrame
    | StreamPublishStop
    | StreamPublishPause
    | StreamPublishResume
    | Destroy
)
"""Every stdin command, as one union (decodes by its `type` tag)."""
