"""What a Gemini Live sim connection recorded, and its default responder.

Turns and responses use the family's script types (`Say`, `CallTool`, `Fail`, `SimResponse`,
see `clanker.realtimesim.script`); the Gemini reading of `Fail` is in `gemini_responses`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from clanker.realtimesim.script import Say, SimResponse, Turn

INPUT_RATE = 16_000
"""The rate the sim assumes for ``audio/pcm`` without a ``rate=`` (Gemini's input rate)."""


@dataclass
class SimActivity:
    """One user activity (``activityStart`` … ``activityEnd``): its audio and texts."""

    started_at: float
    audio: bytearray = field(default_factory=bytearray)
    rate: int = INPUT_RATE
    texts: list[str] = field(default_factory=list)
    ended_at: float | None = None

    @property
    def audio_ms(self) -> int:
        return len(self.audio) * 1000 // (self.rate * 2)


@dataclass
class GeminiSimConnection:
    """One client connection as the Gemini sim saw it.

    ``headers`` are lower-cased with ``x-goog-api-key`` redacted (a ``key`` in the query is
    not kept: ``path`` has no query); ``setup`` is the setup message's body (camelCase);
    ``received`` holds every client message as ``{kind: body}`` in order
    (``{"unreadable": frame}`` for one it refused),
    ``sent`` every server message; ``turns`` the ended activities, ``content_texts`` the user
    texts of ``clientContent`` turns, ``outside_audio`` the bytes of audio sent outside any
    activity (not part of a turn), ``tool_responses`` the ``functionResponses`` taken,
    ``responses`` the model turns streamed; ``close_code`` / ``close_reason`` what the sim
    closed with, if it closed."""

    path: str
    headers: dict[str, str]
    opened_at: float
    authorised: bool = True
    setup: dict[str, Any] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    activity: SimActivity | None = None
    """The activity in progress."""
    turns: list[SimActivity] = field(default_factory=list)
    content_texts: list[str] = field(default_factory=list)
    outside_audio: int = 0
    tool_responses: list[dict[str, Any]] = field(default_factory=list)
    responses: list[SimResponse] = field(default_factory=list)
    closed_at: float | None = None
    closed_by: str = ""
    """"client" or "server" once closed."""
    close_code: int | None = None
    close_reason: str = ""

    @property
    def model(self) -> str:
        """The model the setup named (``models/…``), or ""."""
        return str(self.setup.get("model", ""))

    def received_of(self, kind: str) -> list[dict[str, Any]]:
        """The bodies of the client messages of one kind (``realtimeInput``, …)."""
        return [m[kind] for m in self.received if kind in m]

    def sent_of(self, kind: str) -> list[dict[str, Any]]:
        """The server messages that carry ``kind`` (``serverContent``, ``toolCall``, …)."""
        return [m for m in self.sent if kind in m]

    @property
    def last_text(self) -> str:
        """The last user text heard (an activity's ``text`` or a ``clientContent`` turn)."""
        for turn in reversed(self.turns):
            if turn.texts:
                return turn.texts[-1]
        return self.content_texts[-1] if self.content_texts else ""


GeminiResponder = Callable[[GeminiSimConnection], Turn]
GeminiScriptItem = Turn | GeminiResponder


def gemini_echo(connection: GeminiSimConnection) -> Turn:
    """The default responder: names the last turn's texts, or the length of its audio."""
    if connection.turns:
        last = connection.turns[-1]
        if last.texts:
            return Say(f"you said {' '.join(last.texts)}")
        if last.audio:
            return Say(f"I heard {last.audio_ms} ms")
    if connection.content_texts:
        return Say(f"you said {connection.content_texts[-1]}")
    return Say("hello")
