"""From transcripts to turns the bot may answer, sans-IO: noise gates, banking, room-aware
coalescing, the deterministic admission gate and deferred turns.

* `noise_gate` drops what is not worth an answer (empty, punctuation only, the recogniser's
  control tokens, low confidence, too sparse for its length).
* `RoomDesk` coalesces: an utterance waits while other members are still talking (their
  captures are promoted or their transcripts are pending), unless it addresses the bot; the
  held utterances go out as one `RoomTurn` with per-speaker attribution once the room is quiet,
  or after `hold_max` seconds. Banked fragments (max-duration cuts) are merged into the
  speaker's next real utterance.
* `admit` is the gate, in order: output busy → defer; command-only without address → deny;
  music playing without address → deny; else admit (the model still may `[SKIP]`).
* `DeferredTurns` keeps deferred turns (at most 8, each for `ttl` seconds) and gives them back,
  merged, when the output is idle again.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, replace
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Utterance:
    user_id: int
    name: str  # the speaker's display name
    text: str
    started_at: float
    ended_at: float  # end of speech
    decided_at: float  # end of turn decided
    transcribed_at: float
    speech_seconds: float
    capture_id: int = 0
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    banked: bool = False
    asr: str | None = None  # which transcript: fresh | speculative (None: not recognised)


@dataclass(frozen=True, slots=True)
class RoomTurn:
    """What the room said since the bot last listened: one or more speakers, in order."""

    utterances: tuple[Utterance, ...]
    addressed: bool
    at: float  # when it was handed over

    @property
    def speakers(self) -> tuple[int, ...]:
        seen: list[int] = []
        for u in self.utterances:
            if u.user_id not in seen:
                seen.append(u.user_id)
        return tuple(seen)

    @property
    def last(self) -> Utterance:
        return self.utterances[-1]

    def merged(self, other: RoomTurn) -> RoomTurn:
        return RoomTurn(
            utterances=self.utterances + other.utterances,
            addressed=self.addressed or other.addressed,
            at=max(self.at, other.at),
        )


# -- noise gates ---------------------------------------------------------------------------------

_CONTROL = re.compile(
    r"^\s*[\[(](blank_audio|silence|music|noise|inaudible|applause|laughter|no speech)[\])]\s*$",
    re.IGNORECASE,
)
_WORDISH = re.compile(r"\w")


@dataclass(frozen=True, slots=True)
class GateConfig:
    min_logprob: float = -1.0  # mean token log-probability below which a transcript is a guess
    sparse_min_seconds: float = 2.0  # clips at least this long ...
    sparse_chars_per_second: float = 4.0  # ... need at least this many characters per second
    no_speech_prob: float = 0.8  # the recogniser's own "this was not speech"


def noise_gate(u: Utterance, config: GateConfig | None = None) -> str | None:
    """Why `u` should not be answered (a short reason), or None to keep it."""
    c = config or GateConfig()
    text = u.text.strip()
    if not text:
        return "empty"
    if _CONTROL.match(text):
        return "control_token"
    if not _WORDISH.search(text):
        return "punctuation_only"
    if u.no_speech_prob is not None and u.no_speech_prob >= c.no_speech_prob:
        return "no_speech"
    if u.avg_logprob is not None and u.avg_logprob < c.min_logprob:
        return "low_confidence"
    if (
        u.speech_seconds >= c.sparse_min_seconds
        and len(text) / u.speech_seconds < c.sparse_chars_per_second
    ):
        return "sparse"
    return None


def addresses(text: str, names: tuple[str, ...]) -> bool:
    """True when `text` names the bot (its name or an alias, as whole words, any case)."""
    for name in names:
        name = name.strip()
        if name and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE):
            return True
    return False


# -- coalescing ----------------------------------------------------------------------------------


class RoomDesk:
    def __init__(self, *, names: tuple[str, ...], hold_max: float = 4.0) -> None:
        if hold_max <= 0:
            raise ValueError(f"RoomDesk.hold_max must be > 0, got {hold_max}")
        self.names = names
        self.hold_max = hold_max
        self.held: list[Utterance] = []
        self._held_since: float | None = None
        self._addressed = False
        self._banked: dict[int, list[Utterance]] = {}

    def next_deadline(self) -> float | None:
        return None if self._held_since is None else self._held_since + self.hold_max

    def bank(self, u: Utterance) -> None:
        """Keep a max-duration fragment for the speaker's next real utterance."""
        self._banked.setdefault(u.user_id, []).append(u)

    def forget(self, user_id: int) -> None:
        self._banked.pop(user_id, None)

    def add(self, u: Utterance, now: float, *, busy: set[int]) -> RoomTurn | None:
        """A gated utterance; `busy` are the members still talking or being transcribed.
        It is held while someone not already held is busy (they may be answering): returns
        the turn to hand over now, or None while it is held."""
        fragments = self._banked.pop(u.user_id, [])
        if fragments:
            text = " ".join([f.text.strip() for f in fragments] + [u.text.strip()])
            u = replace(u, text=text, started_at=fragments[0].started_at, banked=False)
        self.held.append(u)
        if self._held_since is None:
            self._held_since = now
        if addresses(u.text, self.names):
            self._addressed = True
        if self._addressed or not (busy - {h.user_id for h in self.held}):
            return self._flush(now)
        return None

    def room_changed(self, now: float, *, busy: set[int]) -> RoomTurn | None:
        """Someone stopped talking (or a transcript came in): flush once nobody held is waited
        on; also the failsafe after `hold_max`."""
        if not self.held:
            return None
        held_speakers = {u.user_id for u in self.held}
        if not (busy - held_speakers) or self.tick_due(now):
            return self._flush(now)
        return None

    def tick_due(self, now: float) -> bool:
        deadline = self.next_deadline()
        return deadline is not None and now >= deadline - 1e-9

    def tick(self, now: float) -> RoomTurn | None:
        if self.held and self.tick_due(now):
            return self._flush(now)
        return None

    def _flush(self, now: float) -> RoomTurn:
        turn = RoomTurn(utterances=tuple(self.held), addressed=self._addressed, at=now)
        self.held = []
        self._held_since = None
        self._addressed = False
        return turn


# -- admission -----------------------------------------------------------------------------------


class Verdict(StrEnum):
    ADMIT = "admit"
    DEFER = "defer"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class Admission:
    verdict: Verdict
    reason: str


def admit(
    turn: RoomTurn,
    *,
    output_busy: bool,
    music_playing: bool,
    command_only: bool,
    muted: bool = False,
) -> Admission:
    """The deterministic voice admission gate (module docstring). A muted bot answers nobody."""
    if muted:
        return Admission(Verdict.DENY, "muted")
    if output_busy:
        return Admission(Verdict.DEFER, "output_busy")
    if command_only and not turn.addressed:
        return Admission(Verdict.DENY, "command_only")
    if music_playing and not turn.addressed:
        return Admission(Verdict.DENY, "music_playing")
    return Admission(Verdict.ADMIT, "addressed" if turn.addressed else "generation_decides")


class DeferredTurns:
    def __init__(self, *, capacity: int = 8, ttl: float = 20.0) -> None:
        self.capacity = capacity
        self.ttl = ttl
        self._turns: deque[RoomTurn] = deque()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._turns)

    def push(self, turn: RoomTurn) -> None:
        self._turns.append(turn)
        while len(self._turns) > self.capacity:
            self._turns.popleft()
            self.dropped += 1

    def take(self, now: float) -> RoomTurn | None:
        """Every deferred turn still fresh, merged in order (None: nothing left)."""
        fresh = [t for t in self._turns if now - t.at <= self.ttl]
        self.dropped += len(self._turns) - len(fresh)
        self._turns.clear()
        if not fresh:
            return None
        merged = fresh[0]
        for t in fresh[1:]:
            merged = merged.merged(t)
        return merged
