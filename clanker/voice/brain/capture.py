"""Capture and end of turn, per speaker, sans-IO.

One `Capture` per speaker while they talk. It starts *provisional* on `speaking_start` or on
the first audio (it holds the audio and costs nothing more); voice activity promotes it once it
holds `promote_speech` seconds of speech; a provisional capture with no promotion after
`provisional_abort` seconds of audio is discarded unheard (no recognition cost).

End of turn: once a promoted capture has been silent for `vad_stop` seconds the desk asks for
an end-of-turn check (`CheckTurn`, the smart-turn model on the audio so far). A complete turn
finalizes at once; an incomplete one waits for speech to resume, and finalizes anyway after
`incomplete_wait` seconds of silence (the fallback), or at clankvox's `user_audio_end`, or
when the model is not answering. Silence is measured on trio time, not on audio frames:
Discord sends nothing while a member is silent.

Speculative recognition (`speculate=True`, the brain's `speculative_asr`): the `CheckTurn` also
asks for the audio so far to be transcribed while the model decides, named by capture id and
sample count. Any audio after it makes it stale (`SpeculationStale`: discard it); a
`Finalized` whose clip is exactly that audio says `speculative=True` (use that transcript, do
not recognise again). Discord sends nothing while a member is silent, so the silence fallback
after an "incomplete" check usually finalizes the speculated clip too.

A capture that reaches `max_duration` is cut there and *banked*: its transcript is kept and
merged into the speaker's next real end of turn instead of being answered as a fragment.

The desk is fed events and returns actions; it never sleeps. The caller sleeps until
`next_deadline()` and then calls `tick(now)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from clanker.voice.models.base import VAD_RATE


@dataclass(frozen=True, slots=True)
class CaptureConfig:
    vad_threshold: float = 0.5  # P(speech) of a frame that counts as speech
    frame_seconds: float = 512 / VAD_RATE  # the VAD's frame (silero: 512 samples at 16 kHz)
    promote_speech: float = 0.2  # seconds of speech frames that promote a capture
    provisional_abort: float = 1.0  # seconds of audio without promotion: discard
    vad_stop: float = 0.2  # seconds of silence after speech before the end-of-turn check
    turn_threshold: float = 0.5  # P(complete) at or above which the turn is over
    incomplete_wait: float = 1.2  # seconds of silence that end an "incomplete" turn anyway
    check_timeout: float = 0.5  # seconds an end-of-turn check may take before it is ignored
    max_duration: float = 8.0  # seconds of capture before it is cut and banked
    min_clip: float = 0.3  # seconds of speech below which a finished capture is dropped

    def __post_init__(self) -> None:
        for name in (
            "frame_seconds",
            "promote_speech",
            "provisional_abort",
            "vad_stop",
            "incomplete_wait",
            "check_timeout",
            "max_duration",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"CaptureConfig.{name} must be > 0, got {getattr(self, name)}")
        if not 0.0 < self.vad_threshold < 1.0:
            raise ValueError(f"CaptureConfig.vad_threshold must be in (0, 1): {self.vad_threshold}")
        if not 0.0 < self.turn_threshold <= 1.0:
            raise ValueError(
                f"CaptureConfig.turn_threshold must be in (0, 1]: {self.turn_threshold}"
            )
        if self.incomplete_wait < self.vad_stop:
            raise ValueError("CaptureConfig.incomplete_wait must be >= vad_stop")


class EndReason(StrEnum):
    TURN_COMPLETE = "turn_complete"  # the end-of-turn model said so
    SILENCE = "silence"  # incomplete_wait of silence (the fallback)
    STREAM_END = "stream_end"  # clankvox's user_audio_end
    MAX_DURATION = "max_duration"  # cut and banked
    LEFT = "left"  # the speaker left the call


class DropReason(StrEnum):
    NO_SPEECH = "no_speech"  # never promoted
    TOO_SHORT = "too_short"  # promoted but under min_clip of speech


@dataclass(frozen=True, slots=True)
class CheckTurn:
    """Run the end-of-turn model on `pcm` (s16le at VAD_RATE); answer `turn_checked`."""

    user_id: int
    check_id: int
    pcm: bytes
    capture_id: int = 0
    speculate: bool = False  # also transcribe `pcm` now (see `Finalized.speculative`)


@dataclass(frozen=True, slots=True)
class SpeculationStale:
    """More audio came after the speculative transcription of `capture_id` at `samples`:
    discard it (it will never be used)."""

    user_id: int
    capture_id: int
    samples: int


@dataclass(frozen=True, slots=True)
class Promoted:
    """The speaker's capture now holds real speech (barge-in and coalescing care)."""

    user_id: int
    started_at: float


@dataclass(frozen=True, slots=True)
class Finalized:
    """A finished utterance: recognise `pcm` (s16le at VAD_RATE)."""

    user_id: int
    capture_id: int
    pcm: bytes
    started_at: float
    ended_at: float  # the end of the last speech frame
    decided_at: float  # when the end was decided
    reason: EndReason
    speech_seconds: float
    banked: bool  # a max-duration cut: keep the transcript for the next real end
    # `pcm` is exactly the audio of this capture's speculative transcription: use that one
    speculative: bool = False


@dataclass(frozen=True, slots=True)
class Dropped:
    user_id: int
    capture_id: int
    reason: DropReason
    promoted: bool


CaptureAction = CheckTurn | Promoted | Finalized | Dropped | SpeculationStale


@dataclass(slots=True)
class Capture:
    user_id: int
    capture_id: int
    started_at: float
    pcm: bytearray = field(default_factory=bytearray)
    audio_seconds: float = 0.0
    speech_seconds: float = 0.0
    promoted: bool = False
    last_speech_at: float | None = None  # trio time a speech frame last ended
    check_id: int = 0  # of the check in flight (0: none)
    check_asked_at: float | None = None
    checked_silence_from: float | None = None  # the silence the last check looked at
    incomplete: bool = False  # the last check said "not done yet"
    speculated: int = 0  # samples of the speculative transcription in flight (0: none)


class CaptureDesk:
    """Every speaker's capture (see the module docstring)."""

    def __init__(self, config: CaptureConfig | None = None, *, speculate: bool = False) -> None:
        self.config = config or CaptureConfig()
        self.speculate = speculate
        self.captures: dict[int, Capture] = {}
        self._next_capture = 1
        self._next_check = 1

    # -- queries --------------------------------------------------------------------------------

    def speaking(self) -> set[int]:
        """Speakers whose capture is promoted and not finished."""
        return {u for u, c in self.captures.items() if c.promoted}

    def capture(self, user_id: int) -> Capture | None:
        return self.captures.get(user_id)

    def next_deadline(self) -> float | None:
        """The earliest trio time at which `tick` has something to decide."""
        c = self.config
        deadlines: list[float] = []
        for cap in self.captures.values():
            if not cap.promoted or cap.last_speech_at is None:
                continue
            if cap.check_id:
                assert cap.check_asked_at is not None
                deadlines.append(cap.check_asked_at + c.check_timeout)
            elif cap.checked_silence_from != cap.last_speech_at:
                deadlines.append(cap.last_speech_at + c.vad_stop)
            deadlines.append(cap.last_speech_at + c.incomplete_wait)
        return min(deadlines, default=None)

    # -- events ---------------------------------------------------------------------------------

    def start(self, user_id: int, now: float) -> list[CaptureAction]:
        """clankvox's `speaking_start`: a provisional capture, unless one runs."""
        if user_id not in self.captures:
            self._open(user_id, now)
        return []

    def audio(
        self, user_id: int, now: float, pcm: bytes, probabilities: list[float]
    ) -> list[CaptureAction]:
        """A chunk of the speaker's audio (s16le at VAD_RATE) and the P(speech) of each VAD
        frame that the chunk completed."""
        if len(pcm) % 2:
            raise ValueError(f"audio of user {user_id}: odd byte count {len(pcm)}")
        cap = self.captures.get(user_id) or self._open(user_id, now)
        c = self.config
        cap.pcm += pcm
        cap.audio_seconds += len(pcm) / 2 / VAD_RATE
        actions: list[CaptureAction] = []
        if cap.speculated and pcm:
            actions.append(
                SpeculationStale(user_id=user_id, capture_id=cap.capture_id, samples=cap.speculated)
            )
            cap.speculated = 0
        for p in probabilities:
            if p >= c.vad_threshold:
                cap.speech_seconds += c.frame_seconds
                cap.last_speech_at = now
                cap.incomplete = False
        if not cap.promoted:
            if cap.speech_seconds >= c.promote_speech - 1e-9:
                cap.promoted = True
                actions.append(Promoted(user_id=user_id, started_at=cap.started_at))
            elif cap.audio_seconds >= c.provisional_abort:
                actions.append(self._drop(cap, DropReason.NO_SPEECH))
                return actions
        if cap.promoted and cap.audio_seconds >= c.max_duration - 1e-9:
            actions.append(self._finalize(cap, now, EndReason.MAX_DURATION))
        return actions

    def stream_end(self, user_id: int, now: float) -> list[CaptureAction]:
        """clankvox's `user_audio_end` (silence past its own threshold) or an unsubscribe."""
        cap = self.captures.get(user_id)
        if cap is None:
            return []
        return [self._end(cap, now, EndReason.STREAM_END)]

    def left(self, user_id: int, now: float) -> list[CaptureAction]:
        cap = self.captures.get(user_id)
        if cap is None:
            return []
        return [self._end(cap, now, EndReason.LEFT)]

    def turn_checked(
        self, user_id: int, check_id: int, probability: float, now: float
    ) -> list[CaptureAction]:
        """The end-of-turn model's answer to `CheckTurn(check_id)`."""
        cap = self.captures.get(user_id)
        if cap is None or cap.check_id != check_id:
            return []  # stale: the capture ended or speech resumed meanwhile
        cap.check_id = 0
        cap.check_asked_at = None
        if cap.last_speech_at != cap.checked_silence_from:
            return []  # speech resumed while the model ran: a new silence gets a new check
        if probability >= self.config.turn_threshold:
            return [self._finalize(cap, now, EndReason.TURN_COMPLETE)]
        cap.incomplete = True
        return []

    def tick(self, now: float) -> list[CaptureAction]:
        c = self.config
        actions: list[CaptureAction] = []
        for cap in list(self.captures.values()):
            if not cap.promoted or cap.last_speech_at is None:
                continue
            silent = now - cap.last_speech_at
            if silent >= c.incomplete_wait - 1e-9:
                actions.append(self._finalize(cap, now, EndReason.SILENCE))
                continue
            if cap.check_id:
                assert cap.check_asked_at is not None
                if now - cap.check_asked_at >= c.check_timeout - 1e-9:
                    # the model is too slow: stop waiting for it; the fallback decides
                    cap.check_id = 0
                    cap.check_asked_at = None
                continue
            if silent >= c.vad_stop - 1e-9 and cap.checked_silence_from != cap.last_speech_at:
                cap.check_id = self._next_check
                self._next_check += 1
                cap.check_asked_at = now
                cap.checked_silence_from = cap.last_speech_at
                if self.speculate:
                    cap.speculated = len(cap.pcm) // 2
                actions.append(
                    CheckTurn(
                        user_id=cap.user_id,
                        check_id=cap.check_id,
                        pcm=bytes(cap.pcm),
                        capture_id=cap.capture_id,
                        speculate=self.speculate,
                    )
                )
        return actions

    # -- internals ------------------------------------------------------------------------------

    def _open(self, user_id: int, now: float) -> Capture:
        cap = Capture(user_id=user_id, capture_id=self._next_capture, started_at=now)
        self._next_capture += 1
        self.captures[user_id] = cap
        return cap

    def _end(self, cap: Capture, now: float, reason: EndReason) -> CaptureAction:
        if not cap.promoted:
            return self._drop(cap, DropReason.NO_SPEECH)
        return self._finalize(cap, now, reason)

    def _drop(self, cap: Capture, reason: DropReason) -> Dropped:
        del self.captures[cap.user_id]
        return Dropped(
            user_id=cap.user_id, capture_id=cap.capture_id, reason=reason, promoted=cap.promoted
        )

    def _finalize(self, cap: Capture, now: float, reason: EndReason) -> CaptureAction:
        if cap.speech_seconds < self.config.min_clip - 1e-9:
            return self._drop(cap, DropReason.TOO_SHORT)
        del self.captures[cap.user_id]
        return Finalized(
            user_id=cap.user_id,
            capture_id=cap.capture_id,
            pcm=bytes(cap.pcm),
            started_at=cap.started_at,
            ended_at=cap.last_speech_at if cap.last_speech_at is not None else now,
            decided_at=now,
            reason=reason,
            speech_seconds=cap.speech_seconds,
            banked=reason is EndReason.MAX_DURATION,
            speculative=cap.speculated > 0 and cap.speculated == len(cap.pcm) // 2,
        )
