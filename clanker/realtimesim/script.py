"""What a realtimesim connection does per response, and what it recorded.

A test queues turns with ``sim.script(...)``; each ``response.create`` in the conversation
takes the next one (an out-of-band response that brings its own input message, as
`speak_exact` sends, just says that message's text and takes no turn). A script item may
also be a function of the `SimConnection` returning a turn. With the queue empty the
sim's ``default`` answers (by default: `Say` naming the last text turn, or the audio heard).

Turns:

* `Say` — an audio answer: `speech_pcm` of ``text`` (the voicesim's deterministic tones, 60 ms
  a character) at 24 kHz, streamed in ``chunk_ms`` pieces with ``chunk_delay`` seconds (trio
  time) between them, the transcript in word deltas alongside.
* `CallTool` — a function call (optionally after a spoken ``text``), its arguments streamed in
  ``response.function_call_arguments.delta`` pieces.
* `Fail` — the response starts and streams ``after_chunks`` audio chunks of ``text``, then an
  ``error`` event (``error=True``) and either ``response.done`` with status ``failed`` or, with
  ``drop=True``, the socket closes (code ``close_code``) with no ``response.done``.

Times are trio time, so a test on a MockClock sees exact virtual pacing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

RATE = 24_000
"""The sim's only PCM rate, in and out (the Realtime API's ``audio/pcm``)."""


@dataclass(frozen=True)
class SimUsage:
    """Usage to report for a response; None fields are estimated (see `estimate_usage`)."""

    audio_in: int | None = None
    text_in: int | None = None
    cached_in: int = 0
    audio_out: int | None = None
    text_out: int | None = None


@dataclass(frozen=True)
class Say:
    """An audio answer with its transcript."""

    text: str
    chunk_ms: int = 100
    chunk_delay: float = 0.05
    delay: float = 0.0
    usage: SimUsage | None = None

    def __post_init__(self) -> None:
        if self.chunk_ms <= 0:
            raise ValueError(f"Say.chunk_ms must be positive, got {self.chunk_ms}")
        if self.chunk_delay < 0 or self.delay < 0:
            raise ValueError("Say's delays cannot be negative")


@dataclass(frozen=True)
class CallTool:
    """A function call; ``call_id`` is generated when None."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    call_id: str | None = None
    text: str = ""
    chunk_delay: float = 0.05
    delay: float = 0.0
    usage: SimUsage | None = None


@dataclass(frozen=True)
class Fail:
    """A response that fails after ``after_chunks`` audio chunks of ``text``."""

    after_chunks: int = 0
    text: str = "this answer breaks off"
    error: bool = True
    drop: bool = False
    error_type: str = "server_error"
    code: str | None = None
    message: str = "The server had an error while processing your request (realtimesim)"
    close_code: int = 1011
    chunk_delay: float = 0.05

    def __post_init__(self) -> None:
        if not self.error and not self.drop:
            raise ValueError("a Fail must send an error event, drop the socket, or both")
        if self.after_chunks < 0:
            raise ValueError(f"Fail.after_chunks cannot be negative, got {self.after_chunks}")


Turn = Say | CallTool | Fail


@dataclass
class SimResponse:
    """One response the sim made: its turn, what it streamed, how it ended (trio times)."""

    id: str
    turn: Turn
    out_of_band: bool
    started_at: float
    item_id: str = ""
    audio: bytearray = field(default_factory=bytearray)
    status: str = "in_progress"
    done_at: float | None = None

    @property
    def audio_ms(self) -> int:
        """Milliseconds of audio streamed so far."""
        return len(self.audio) * 1000 // (RATE * 2)


@dataclass
class SimConnection:
    """One client connection as the sim saw it.

    ``headers`` are lower-cased with ``authorization`` redacted; ``received`` holds every
    client event (parsed JSON) in order, ``sent`` every server event; ``turns`` the committed
    audio turns (PCM), ``items`` the conversation items the client created, ``truncations``
    the ``conversation.item.truncate`` events honoured, ``responses`` the responses made."""

    path: str
    model: str
    headers: dict[str, str]
    opened_at: float
    authorised: bool = True
    session: dict[str, Any] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    buffer: bytearray = field(default_factory=bytearray)
    turns: list[bytes] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    truncations: list[dict[str, Any]] = field(default_factory=list)
    responses: list[SimResponse] = field(default_factory=list)
    closed_at: float | None = None
    closed_by: str = ""
    """"client" or "server" once closed."""

    def received_of(self, kind: str) -> list[dict[str, Any]]:
        """The client events of one type."""
        return [e for e in self.received if e.get("type") == kind]

    def sent_of(self, kind: str) -> list[dict[str, Any]]:
        """The server events of one type."""
        return [e for e in self.sent if e.get("type") == kind]

    @property
    def last_text(self) -> str:
        """The text of the last user text item, or ""."""
        for item in reversed(self.items):
            if item.get("type") == "message" and item.get("role") == "user":
                for part in item.get("content") or []:
                    if isinstance(part, dict) and part.get("type") == "input_text":
                        return str(part.get("text", ""))
        return ""

    @property
    def tool_outputs(self) -> list[dict[str, Any]]:
        """The ``function_call_output`` items the client sent, oldest first."""
        return [i for i in self.items if i.get("type") == "function_call_output"]


Responder = Callable[[SimConnection], Turn]
ScriptItem = Turn | Responder


def echo(connection: SimConnection) -> Turn:
    """The default responder: names the last text turn, or the audio last committed."""
    if connection.last_text:
        return Say(f"you said {connection.last_text}")
    if connection.turns:
        return Say(f"I heard {len(connection.turns[-1]) * 1000 // (RATE * 2)} ms")
    return Say("hello")
