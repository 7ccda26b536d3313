"""Events clankvox writes to stdout, as typed messages.

Format 0 frames carry one JSON object tagged `"type": "<snake_case>"` with camelCase fields;
optional fields are omitted when empty. Format 1 frames carry `user_audio` in a binary layout
(`framing.py`); it decodes to `UserAudio`, the same kind of struct. The `PipeReader` actor tells
these to its target actor as they are.

String-valued states (`status`, `reason`, `role`, `code`, `level`) stay `str`: an unfamiliar
value from a newer clankvox reaches the session instead of being thrown away as malformed. The
values the protocol defines are listed on each field.
"""

from __future__ import annotations

from typing import Any, get_args

import msgspec

from clanker.wire import Message


class ClankvoxEvent(Message, frozen=True, rename="camel", omit_defaults=True):
    """Base of every stdout event (tag field `type`, camelCase, empty optionals omitted)."""


class Ready(ClankvoxEvent, frozen=True, tag="ready"):
    """The primary voice transport finished its handshake (also after each reconnect)."""


class VoiceStateRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Gateway op 4 data: join (`channel_id`) or leave (`None`)."""

    guild_id: str | int
    channel_id: str | int | None = None
    self_mute: bool = False
    self_deaf: bool = False


class GatewayVoiceStateUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """A gateway payload for the bot's main websocket: `{"op": 4, "d": {...}}`."""

    op: int
    d: VoiceStateRequest


class AdapterSend(ClankvoxEvent, frozen=True, tag="adapter_send"):
    """Send `payload` on the bot's main gateway connection (always op 4)."""

    payload: GatewayVoiceStateUpdate


class ConnectionState(ClankvoxEvent, frozen=True, tag="connection_state"):
    """Primary voice connection: `ready`, `reconnecting` or `disconnected`."""

    status: str


class TransportState(ClankvoxEvent, frozen=True, tag="transport_state"):
    """A transport role (`voice`, `stream_watch`, `stream_publish`) changed status
    (`connecting`, `ready`, `failed`, `disconnected`, `reconnecting`, `playing`, `paused`,
    `waiting_for_transport`)."""

    role: str
    status: str
    reason: str | None = None


class PlayerState(ClankvoxEvent, frozen=True, tag="player_state"):
    """Music player: `playing`, `paused` or `idle`."""

    status: str


class PlaybackArmed(ClankvoxEvent, frozen=True, tag="playback_armed"):
    """Playback may start: `connection_ready`, `stop_playback`, `music_stop`, `music_pause`,
    `music_idle` or `music_error`."""

    reason: str


class TtsPlaybackState(ClankvoxEvent, frozen=True, tag="tts_playback_state"):
    """TTS buffer: `buffered` or `idle`."""

    status: str


class SpeakingStart(ClankvoxEvent, frozen=True, tag="speaking_start"):
    """First accepted audio packet of a burst from `user_id` (subscribed or not)."""

    user_id: str


class SpeakingEnd(ClankvoxEvent, frozen=True, tag="speaking_end"):
    """No audio from `user_id` for 100 ms."""

    user_id: str


class UserAudioEnd(ClankvoxEvent, frozen=True, tag="user_audio_end"):
    """A subscribed user was silent for the subscription's silence duration."""

    user_id: str


class MaxResolution(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A video stream's maximum resolution."""

    width: int
    height: int
    type: str | None = None


class VideoStreamDescriptor(
    msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True
):
    """One of a user's video streams."""

    ssrc: int
    rtx_ssrc: int | None = None
    rid: str | None = None
    quality: int | None = None
    stream_type: str | None = None
    active: bool | None = None
    max_bitrate: int | None = None
    max_framerate: int | None = None
    max_resolution: MaxResolution | None = None


class UserVideoState(ClankvoxEvent, frozen=True, tag="user_video_state"):
    """A user's video state changed."""

    user_id: str
    audio_ssrc: int | None = None
    video_ssrc: int | None = None
    codec: str | None = None
    streams: list[VideoStreamDescriptor] = []


class UserVideoFrame(ClankvoxEvent, frozen=True, tag="user_video_frame"):
    """A raw VP8 frame (base64 on the wire)."""

    user_id: str
    ssrc: int
    codec: str
    keyframe: bool
    frame_base64: bytes
    rtp_timestamp: int
    dave_decrypted: bool
    stream_type: str | None = None
    rid: str | None = None


class DecodedVideoFrame(ClankvoxEvent, frozen=True, tag="decoded_video_frame"):
    """A decoded H264 frame as JPEG (base64 on the wire), with change scores."""

    user_id: str
    ssrc: int
    width: int
    height: int
    jpeg_base64: bytes
    rtp_timestamp: int
    change_score: float
    ema_change_score: float
    is_scene_cut: bool
    stream_type: str | None = None
    rid: str | None = None


class UserVideoEnd(ClankvoxEvent, frozen=True, tag="user_video_end"):
    """A user's video ended."""

    user_id: str
    ssrc: int | None = None


class ClientDisconnect(ClankvoxEvent, frozen=True, tag="client_disconnect"):
    """A user left the voice channel (voice op 13)."""

    user_id: str


class MusicIdle(ClankvoxEvent, frozen=True, tag="music_idle"):
    """The track finished and the buffers drained, or a stop completed."""


class MusicError(ClankvoxEvent, frozen=True, tag="music_error"):
    """The music pipeline failed; `message` ends with its last stderr lines."""

    message: str


class MusicGainReached(ClankvoxEvent, frozen=True, tag="music_gain_reached"):
    """A music gain ramp completed."""

    gain: float


class BufferDepth(ClankvoxEvent, frozen=True, tag="buffer_depth"):
    """Queued output in 48 kHz mono samples (every 500 ms while non-empty, once at zero)."""

    tts_samples: int
    music_samples: int


class Error(ClankvoxEvent, frozen=True, tag="error"):
    """Something failed in clankvox: `invalid_request`, `invalid_json`, `input_too_large`,
    `voice_connect_failed`, `stream_watch_connect_failed`, `stream_publish_connect_failed` or
    `voice_runtime_error`."""

    code: str
    message: str


class Log(ClankvoxEvent, frozen=True, tag="log"):
    """A clankvox tracing event (`info`, `warn`, `error`)."""

    level: str
    target: str
    message: str
    fields: dict[str, Any] = {}


class ReceiveStats(ClankvoxEvent, frozen=True, tag="receive_stats"):
    """[addition] Receive counters of one subscribed user's SSRC since clankvox first saw it
    (every 5 s while that user sends audio); `jitter_depth_ms` is the current depth."""

    user_id: str
    ssrc: int
    packets: int
    lost: int
    concealed: int
    fec_recovered: int
    late: int
    duplicates: int
    reordered: int
    jitter_depth_ms: int


class DaveState(ClankvoxEvent, frozen=True, tag="dave_state"):
    """[addition] The call's DAVE (end-to-end encryption) state, on every change and every 5 s
    on a DAVE call. `status`: `inactive` (protocol 0: transport encryption only), `pending`
    (a DAVE call without keys yet), `ready` (frames are end-to-end encrypted), `downgrading`.
    `privacy_code` is the call's voice privacy code, the one members compare. Counters run
    since the connection started."""

    protocol_version: int
    status: str
    epoch: int | None = None
    transition_id: int | None = None
    privacy_code: str | None = None
    encrypted_frames: int = 0
    decrypted_frames: int = 0
    decrypt_failures: int = 0
    early_dropped: int = 0
    passthrough_frames: int = 0
    outbound_dropped: int = 0
    last_error: str | None = None


class DaveVerificationCodeEvent(ClankvoxEvent, frozen=True, tag="dave_verification_code"):
    """[addition] The answer to a `dave_verification_code` command: the 45-digit code of the
    pair (the bot, `user_id`) that both can compare out of band, or `error` saying why there is
    none (no DAVE session, the user is not in the group)."""

    user_id: str
    code: str | None = None
    error: str | None = None


class UserAudio(ClankvoxEvent, frozen=True, tag="user_audio"):
    """Decoded audio of one subscribed user (a format 1 frame, never JSON on the pipe).

    `pcm` is s16le mono at the subscription's sample rate; the three signal figures are
    clankvox's: the peak absolute sample, samples above 500, and the samples in the chunk.
    """

    user_id: str
    signal_peak_abs: int
    signal_active_sample_count: int
    signal_sample_count: int
    pcm: bytes


AnyJsonEvent = (
    Ready
    | AdapterSend
    | ConnectionState
    | TransportState
    | PlayerState
    | PlaybackArmed
    | TtsPlaybackState
    | SpeakingStart
    | SpeakingEnd
    | UserAudioEnd
    | UserVideoState
    | UserVideoFrame
    | DecodedVideoFrame
    | UserVideoEnd
    | ClientDisconnect
    | MusicIdle
    | MusicError
    | MusicGainReached
    | BufferDepth
    | Error
    | Log
    | ReceiveStats
    | DaveState
    | DaveVerificationCodeEvent
)
"""Every event that travels as a format 0 (JSON) frame."""

AnyEvent = AnyJsonEvent | UserAudio
"""Every event the pipe can carry."""

JSON_EVENT_TYPES: frozenset[str] = frozenset(
    str(cls.__struct_config__.tag) for cls in get_args(AnyJsonEvent)
)
"""The `type` tags of the JSON events, to tell an unknown event from a malformed one."""
