"""Messages of the `VoiceLink` actor: what the rest of clanker asks of a voice connection."""

from __future__ import annotations

from clanker.voice.commands import MusicPause, MusicPlay, MusicResume, MusicSetGain, MusicStop
from clanker.voice.events import DaveState
from clanker.wire import Message


class SpeakPcm(Message, frozen=True):
    """Play speech: s16le mono PCM at `sample_rate` (e.g. a TTS chunk). Answered with
    `SpeechQueued`. clankvox drops it silently while no connection is ready (protocol §2.2)."""

    pcm: bytes
    sample_rate: int = 24_000


class SpeechQueued(Message, frozen=True):
    """The PCM went to clankvox as `chunks` audio commands (`samples` samples in all)."""

    chunks: int
    samples: int


class StopSpeaking(Message, frozen=True):
    """Drop the speech still buffered in clankvox (barge-in). Told, not asked."""


class MusicControl(Message, frozen=True):
    """Pass a music command to clankvox (in order with the speech sent before and after it).
    Told, not asked; what clankvox does is seen in its `player_state` / `music_*` events."""

    command: MusicPlay | MusicStop | MusicPause | MusicResume | MusicSetGain


class ListenTo(Message, frozen=True):
    """Decode and forward `user_id`'s audio (remembered across clankvox restarts). With
    `deliver_to`, that actor is told the user's `SpeakingStart`, `UserAudio` and
    `UserAudioEnd` (dropped with a count when its mailbox is full). Answered with `Listening`."""

    user_id: int
    sample_rate: int = 24_000
    silence_duration_ms: int = 700
    jitter_buffer_ms: int = 60
    deliver_to: str | None = None


class Listening(Message, frozen=True):
    """The subscription was sent to clankvox."""

    user_id: int


class ObserveVoice(Message, frozen=True):
    """Tell the actor registered as `deliver_to` every room event of the call (`try_tell`;
    drops counted): `speaking_start`/`speaking_end` of anyone, `user_audio_end`,
    `client_disconnect`, `tts_playback_state`, `buffer_depth`, `player_state`, `ready` and
    the music events. One observer per link (a new one replaces it). Reply: `Observing`."""

    deliver_to: str


class Observing(Message, frozen=True):
    deliver_to: str


class StopListening(Message, frozen=True):
    """Stop forwarding `user_id`'s audio. Told, not asked."""

    user_id: int


class GetVoiceMute(Message, frozen=True):
    """Ask the mute's keeper (the guild session) whether the bot is muted in voice: a
    restarted link or voice brain asks. Answered with `VoiceMute`."""


class VoiceMute(Message, frozen=True):
    muted: bool
    in_call: bool = False  # a voice connection was running (and was told)


class SetSelfMute(Message, frozen=True):
    """Mute or unmute the bot in the call (gateway op 4 with ``self_mute``). Told."""

    muted: bool


class GetVoiceLinkStatus(Message, frozen=True):
    """Ask a `VoiceLink` for its `VoiceLinkStatus`."""


class VoiceLinkStatus(Message, frozen=True):
    """Where the join stands and what happened so far."""

    guild_id: int
    channel_id: int
    phase: str  # a `JoinPhase` value
    session_id: str | None
    endpoint: str | None
    connects: int  # Connect commands sent
    clankvox_starts: int  # clankvox processes seen starting
    readies: int  # `ready` events
    audio_frames: int  # user_audio frames received (all users)
    delivery_drops: int  # frames a `deliver_to` actor had no room for
    failures: int = 0  # failed connect attempts since the last `ready`
    last_error: str | None = None  # why the last attempt failed
    retry_at: float | None = None  # trio time of the next attempt, while `retrying`
    legacy_join: bool = False  # clankvox refused `connect`: joined with join/voice_*
    # The call's end-to-end encryption (clankvox's last `dave_state`); None before one came.
    dave: DaveState | None = None
    self_mute: bool = False  # the bot is self-muted in the call


class VoiceLogEntry(Message, frozen=True):
    """One event the link saw. `kind` is the event's wire type (`speaking_start`,
    `user_audio`, ...) or a lifecycle notice (`clankvox_started`, `clankvox_exited`,
    `pipe_closed`, `join_failed`); `detail` is the event as JSON (audio bytes left out)."""

    index: int
    at: float  # trio time
    kind: str
    user_id: str | None = None
    detail: str = ""


class GetVoiceLog(Message, frozen=True):
    """Ask for the log entries with `index >= after` (a bounded log: the oldest go first)."""

    after: int = 0


class VoiceLog(Message, frozen=True):
    entries: list[VoiceLogEntry]
    next: int  # pass as `after` to get only newer entries


class GetHeard(Message, frozen=True):
    """Ask for everything recorded of `user_id` (only with `record_audio` on)."""

    user_id: int


class Heard(Message, frozen=True):
    """The user's decoded audio, concatenated: s16le mono at `sample_rate`."""

    user_id: int
    sample_rate: int
    pcm: bytes
    frames: int


class RequestVerificationCode(Message, frozen=True):
    """Ask clankvox for the DAVE verification code of the pair (the bot, `user_id`): the code
    both can read out to each other to check nobody sits in the middle. It takes clankvox an
    scrypt (tens of milliseconds, off its media loop); `GetVerificationCode` has the answer."""

    user_id: int


class VerificationCodeRequested(Message, frozen=True):
    user_id: int


class GetVerificationCode(Message, frozen=True):
    """The latest answer to `RequestVerificationCode` for `user_id`."""

    user_id: int


class VerificationCode(Message, frozen=True):
    """`code` (45 digits, shown in groups of five) or `error`; both None while the request is
    pending, `requested` False when none was made (since clankvox last started)."""

    user_id: int
    requested: bool
    code: str | None = None
    error: str | None = None
