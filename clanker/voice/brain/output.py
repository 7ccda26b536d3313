"""The assistant's output phase, sans-IO: one state machine for "is the bot talking", driven by
what clanker queued and by clankvox's truthful playback telemetry.

Phases:
* `idle` — nothing generated, queued or playing.
* `response_pending` — a reply is being generated; no audio queued yet.
* `speaking_live` — the reply is still being made, and its audio is flowing.
* `speaking_buffered` — everything is made; clankvox still holds audio to play.

The music lock is orthogonal: `busy(music_playing)` is what admission and deferral use.

Where playback is: clankvox plays 48 000 samples a second and reports the samples it still
holds (`buffer_depth` every 500 ms while non-empty, then a final 0; `tts_playback_state idle`
when drained). So the samples played at `now` are (queued at the last report - the depth
reported) + 48 000 x the time since, never more than what was queued. Telemetry older than
`stale_after` seconds with nothing queued since does not keep the phase busy. Each queued
sentence is remembered with its sample count, so a barge-in knows how much of the reply was
actually heard (`heard_text`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

PLAYBACK_RATE = 48_000


class Phase(StrEnum):
    IDLE = "idle"
    RESPONSE_PENDING = "response_pending"
    SPEAKING_LIVE = "speaking_live"
    SPEAKING_BUFFERED = "speaking_buffered"


@dataclass(slots=True)
class _Sentence:
    text: str
    samples: int  # at PLAYBACK_RATE


@dataclass(slots=True)
class _Reply:
    reply_id: int
    started_at: float
    sentences: list[_Sentence] = field(default_factory=list)
    queued: int = 0  # samples at PLAYBACK_RATE queued to clankvox
    first_audio_at: float | None = None
    made: bool = False  # generation and synthesis finished


class OutputState:
    def __init__(self, *, stale_after: float = 1.6) -> None:
        self.stale_after = stale_after
        self._reply: _Reply | None = None
        self._report_at: float | None = None  # last buffer_depth / tts state report
        self._played_at_report = 0
        self._depth = 0  # clankvox's last reported TTS depth
        self._clankvox_buffered = False
        self._last_queued_at: float | None = None

    # -- events ---------------------------------------------------------------------------------

    def reply_started(self, reply_id: int, now: float) -> None:
        """A new reply owns the output (any earlier one is finished or was stopped)."""
        self._reply = _Reply(reply_id=reply_id, started_at=now)
        self._report_at = None
        self._played_at_report = 0
        self._depth = 0

    def audio_queued(self, reply_id: int, text: str, samples: int, rate: int, now: float) -> None:
        """`samples` of speech (at `rate`) for the sentence `text` went to clankvox."""
        r = self._reply
        if r is None or r.reply_id != reply_id:
            return
        n = round(samples * PLAYBACK_RATE / rate)
        r.sentences.append(_Sentence(text=text, samples=n))
        r.queued += n
        if r.first_audio_at is None:
            r.first_audio_at = now
        self._last_queued_at = now

    def reply_made(self, reply_id: int, now: float) -> None:
        """The reply has no more audio to queue (finished, skipped or failed)."""
        r = self._reply
        if r is not None and r.reply_id == reply_id:
            r.made = True
            if r.queued == 0:
                self._reply = None

    def buffer_depth(self, tts_samples: int, now: float) -> None:
        r = self._reply
        self._depth = tts_samples
        self._report_at = now
        if r is not None:
            self._played_at_report = max(0, r.queued - tts_samples)
        if tts_samples == 0:
            self._clankvox_buffered = False

    def tts_state(self, buffered: bool, now: float) -> None:
        self._clankvox_buffered = buffered
        if not buffered:
            self.buffer_depth(0, now)

    def stopped(self, now: float) -> tuple[int | None, float, str]:
        """Playback was cut (barge-in): returns (reply id, seconds heard, text heard) and
        leaves the output idle."""
        r = self._reply
        if r is None:
            return None, 0.0, ""
        played = self.played_samples(now)
        heard = self.heard_text(now)
        self._reply = None
        self._clankvox_buffered = False
        self._depth = 0
        return r.reply_id, played / PLAYBACK_RATE, heard

    # -- queries --------------------------------------------------------------------------------

    @property
    def reply_id(self) -> int | None:
        return None if self._reply is None else self._reply.reply_id

    def played_samples(self, now: float) -> int:
        r = self._reply
        if r is None or r.first_audio_at is None:
            return 0
        if self._report_at is None:
            estimate = (now - r.first_audio_at) * PLAYBACK_RATE
        else:
            estimate = self._played_at_report + (now - self._report_at) * PLAYBACK_RATE
        return max(0, min(r.queued, int(estimate)))

    def ahead_seconds(self, now: float) -> float:
        """Seconds of the current reply queued to clankvox but not yet played."""
        r = self._reply
        if r is None:
            return 0.0
        return (r.queued - self.played_samples(now)) / PLAYBACK_RATE

    def drained(self, now: float) -> bool:
        """Everything queued of the current reply so far has played out: the estimate says so
        and clankvox no longer holds TTS audio (or its telemetry went stale)."""
        r = self._reply
        if r is None or r.queued == 0:
            return True
        if self.played_samples(now) < r.queued:
            return False
        fresh = max(t for t in (self._report_at, self._last_queued_at) if t is not None)
        return not self._clankvox_buffered or now - fresh >= self.stale_after

    def heard_text(self, now: float) -> str:
        """The reply's text as far as it was played (a partial sentence cut at a word)."""
        r = self._reply
        if r is None:
            return ""
        left = self.played_samples(now)
        parts: list[str] = []
        for s in r.sentences:
            if left >= s.samples:
                parts.append(s.text)
                left -= s.samples
                continue
            if left > 0 and s.samples > 0:
                cut = int(len(s.text) * left / s.samples)
                partial = s.text[:cut].rsplit(" ", 1)[0] if " " in s.text[:cut] else ""
                if partial:
                    parts.append(partial + " —")
            break
        return " ".join(parts)

    def _holding(self, now: float) -> bool:
        """clankvox still holds (or is about to play) audio of the current reply."""
        r = self._reply
        if r is None or r.queued == 0:
            return False
        if self.played_samples(now) < r.queued:
            fresh = max(t for t in (self._report_at, self._last_queued_at) if t is not None)
            return now - fresh < self.stale_after or self._clankvox_buffered
        return (
            self._clankvox_buffered
            and self._depth > 0
            and self._report_at is not None
            and now - self._report_at < self.stale_after
        )

    def phase(self, now: float) -> Phase:
        r = self._reply
        if r is None:
            return Phase.IDLE
        if not r.made:
            return Phase.RESPONSE_PENDING if r.queued == 0 else Phase.SPEAKING_LIVE
        if self._holding(now):
            return Phase.SPEAKING_BUFFERED
        self._reply = None
        return Phase.IDLE

    def busy(self, now: float, *, music_playing: bool = False) -> bool:
        return music_playing or self.phase(now) is not Phase.IDLE

    def next_change(self, now: float) -> float | None:
        """When a buffered reply is expected to have played out (to re-check the phase)."""
        r = self._reply
        if r is None or not r.made or r.queued == 0:
            return None
        remaining = (r.queued - self.played_samples(now)) / PLAYBACK_RATE
        return now + max(remaining, 0.0) + 0.05
