"""What a voicesim test scripts, and what the sim records.

Transcription turns: a transcript (`str` or `SimTranscript`), a `SimError`, a `Stall` or a
`Disconnect`, or a function of the `RecordedAudioRequest` returning one. Speech turns: a
`SimError`, a `Stall` (with ``after_chunks``: mid-stream) or a `Disconnect`, or a function;
when no speech turn is queued the sim speaks the text (see `clanker.voicesim._pcm`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from clanker.voicesim._pcm import SimAudio

Api = Literal["transcription", "openai_speech", "elevenlabs"]


@dataclass(frozen=True)
class SimTranscript:
    """A transcript to answer with. ``logprob`` is every token's log-probability when the
    request asked for ``include[]=logprobs`` (``logprobs`` gives them one by one instead)."""

    text: str
    logprob: float = -0.05
    logprobs: tuple[float, ...] | None = None


@dataclass(frozen=True)
class SimError:
    """An HTTP error rendered in the endpoint's own shape.

    OpenAI: ``{"error": {"message", "type", "param", "code"}}``; ElevenLabs: ``{"detail":
    {"status": code, "message"}}``. ``retry_after`` sets ``retry-after`` / ``retry-after-ms``
    (the OpenAI SDK waits that long before its retry); ``delay`` holds the answer back.
    """

    status: int
    message: str = ""
    code: str | None = None
    param: str | None = None
    error_type: str | None = None
    retry_after: float | None = None
    delay: float = 0.0


@dataclass(frozen=True)
class Stall:
    """Never answer (``after_chunks`` None), or stop sending after that many audio chunks;
    either way until the client hangs up."""

    after_chunks: int | None = None


@dataclass(frozen=True)
class Disconnect:
    """Cut the connection: before the response head (``after_chunks`` None) or after that
    many audio chunks."""

    after_chunks: int | None = None


def server_error(status: int = 500, *, retry_after: float | None = 0.01) -> SimError:
    """A 5xx; by default with a short ``retry-after`` so the SDK's one retry comes quickly."""
    message = "The server had an error while processing your request."
    return SimError(status, message, retry_after=retry_after)


@dataclass(eq=False)
class RecordedAudioRequest:
    """One request as the sim saw it (times are trio time).

    ``fields`` holds the form fields (transcription; a bracketed list field such as
    ``include[]`` as a list) or the JSON body (speech). ``audio`` is the decoded upload;
    ``speech`` the PCM the sim meant to stream and ``chunk_times`` when each chunk left.
    """

    api: Api | None
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float
    fields: dict[str, Any] = field(default_factory=dict)
    file_name: str | None = None
    file_content_type: str | None = None
    audio: SimAudio | None = None
    status: int | None = None
    error: dict[str, Any] | None = None
    speech: bytes = b""
    chunk_times: list[float] = field(default_factory=list)
    finished_at: float | None = None
    hung_up: bool = False

    @property
    def model(self) -> str | None:
        """The model the request named (``model`` or ElevenLabs' ``model_id``)."""
        value = self.fields.get("model", self.fields.get("model_id"))
        return value if isinstance(value, str) else None


TranscriptionItem = str | SimTranscript | SimError | Stall | Disconnect
SpeechItem = SimError | Stall | Disconnect
TranscriptionTurn = TranscriptionItem | Callable[[RecordedAudioRequest], TranscriptionItem]
SpeechTurn = SpeechItem | Callable[[RecordedAudioRequest], SpeechItem | None]


def duration_transcript(request: RecordedAudioRequest) -> str:
    """The default transcript: what the sim heard, e.g. ``voicesim heard 1.50 s at 16000 Hz``."""
    audio = request.audio
    if audio is None:
        return "voicesim heard nothing"
    return f"voicesim heard {audio.duration:.2f} s at {audio.rate} Hz"
