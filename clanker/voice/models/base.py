"""What the voice brain asks of its models: speech activity, end of turn, speech recognition and
speech synthesis. Local models (the default, no key) and cloud providers implement the same
protocols; every call is async on trio, and a local model runs its blocking work in a worker
thread (`trio.to_thread.run_sync` with the model's own limiter), never on the trio loop.

Audio is always s16le mono `bytes`; each call states its sample rate.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Protocol

VAD_RATE = 16_000
"""Sample rate of the audio the VAD and the end-of-turn model take."""


class ModelError(RuntimeError):
    """A model could not be loaded or could not run; the message names the model and why."""


@dataclass(frozen=True, slots=True)
class Transcript:
    """What a recogniser heard in one clip."""

    text: str
    # Mean token log-probability (None when the engine gives none): below -1.0 is a poor guess.
    avg_logprob: float | None = None
    # Probability that the clip holds no speech at all (None when unknown).
    no_speech_prob: float | None = None
    language: str | None = None


class VoiceActivity(Protocol):
    """A per-speaker, stateful speech detector (one instance per speaker)."""

    frame_samples: int  # samples per frame at VAD_RATE that `probability` takes

    def probability(self, frame: bytes) -> float:
        """P(speech) of one frame of `frame_samples` s16le samples at VAD_RATE. Cheap (a few
        ms at most): called inline by the capture loop."""
        ...

    def reset(self) -> None:
        """Forget the recurrent state (a new utterance)."""
        ...


class VadFactory(Protocol):
    def __call__(self) -> VoiceActivity: ...


class TurnDetector(Protocol):
    async def complete_probability(self, pcm: bytes) -> float:
        """P(the speaker finished their turn) for the utterance so far (s16le at VAD_RATE; the
        detector looks at the last 8 s)."""
        ...


class Transcriber(Protocol):
    name: str  # for logs and the dashboard, e.g. "faster-whisper tiny.en"

    async def transcribe(self, pcm: bytes, sample_rate: int, *, prompt: str = "") -> Transcript:
        """Recognise one finished clip. `prompt` may carry names the recogniser should know."""
        ...


class SpeechSynth(Protocol):
    name: str
    sample_rate: int  # of the PCM `synthesize` yields

    def synthesize(self, text: str) -> AsyncGenerator[bytes, None]:
        """Speak one sentence: s16le mono chunks at `sample_rate`, yielded as they are made (the
        first chunk as early as the engine allows). Cancelling the iteration stops the work."""
        ...
