"""Music in a call, sans-IO: what to play, ducking under the bot's speech, the wake-word pause.

`parse_music_command` is the fast path (no model): "play <query>", "add/queue <query>",
"pause", "resume", "skip/next", "stop (the music)", "what's playing", with the bot's name and
politeness stripped. `MusicPolicy` keeps the phase and the queue and answers every command and
clankvox event with the clankvox commands to send (its *actions*):

* phases `idle` → `loading` (`music_play` sent; clankvox holds the track until the
  announcement has played) → `playing` ⇄ `paused` (asked) / `paused_wake_word` → `stopping`
  (`music_stop` sent, fading) → `idle`.
* queue: *play* replaces what plays now (the queue is kept), *add* appends (and plays at once
  when nothing plays), *skip* plays the next one (or stops), *stop* stops and clears the queue;
  a track that ends (`music_idle`) or fails (`music_error`) makes way for the next.
* ducking: while the bot speaks (`speaking(True)`: a reply started, its audio queued or
  playing) the music's gain goes to `duck_gain` over `duck_fade_ms`, back to 1.0 once the
  speech has drained (`speaking(False)`). clankvox drops speech sent over un-ducked music, so
  the duck goes out before the reply's first audio. Resuming or starting a track resets
  clankvox's gain to 1.0: a `player_state playing` while the bot speaks ducks again.
* wake-word pause: a member naming the bot while music plays (`addressed`) pauses it
  (`paused_wake_word`) so they can be heard; it resumes once the bot's reply to it has drained
  from clankvox, or after `wake_resume_after` seconds when no reply started. An explicit
  *pause* is never resumed by itself.
* wake latch: after naming the bot, that member's turns are admitted for `wake_latch`
  seconds while music plays (`latched`).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from clanker.voice.commands import (
    ClankvoxCommand,
    MusicPause,
    MusicPlay,
    MusicResume,
    MusicSetGain,
    MusicStop,
)


class MusicPhase(StrEnum):
    IDLE = "idle"
    LOADING = "loading"
    PLAYING = "playing"
    PAUSED = "paused"
    PAUSED_WAKE_WORD = "paused_wake_word"
    STOPPING = "stopping"


class MusicVerb(StrEnum):
    PLAY = "play"
    ADD = "add"
    PAUSE = "pause"
    RESUME = "resume"
    SKIP = "skip"
    STOP = "stop"
    NOW = "now_playing"


@dataclass(frozen=True, slots=True)
class MusicCommand:
    verb: MusicVerb
    query: str = ""
    musical: bool = False  # names music (song, track, a URL…): surely meant for the player


@dataclass(frozen=True, slots=True)
class Track:
    title: str
    url: str  # an http(s) URL clankvox can play
    direct: bool = True  # a media file URL (ffmpeg reads it), not a page for yt-dlp
    requested_by: str = ""


# -- the fast path -------------------------------------------------------------------------------

_MUSIC_WORDS = re.compile(
    r"\b(music|song|songs|track|tracks|tune|tunes|playlist|album|radio)\b", re.IGNORECASE
)
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_POLITE = re.compile(
    r"^(?:(?:hey|ok|okay|yo|so|um|uh|and|now|please|pls)\b[\s,]*"
    r"|(?:can|could|would|will) you\b\s*"
    r"|(?:go ahead and|i want you to|i'd like you to)\b\s*)+",
    re.IGNORECASE,
)
_TRAILING = re.compile(r"[\s,]*(?:\bplease\b|\bthanks\b|\bthank you\b)?[\s.!?,]*$", re.IGNORECASE)
_THE_MUSIC = r"(?:the |this |that )?(?:music|song|track|tune|it|playback|playing)"
_EXACT: list[tuple[re.Pattern[str], MusicVerb]] = [
    (re.compile(rf"^pause(?: {_THE_MUSIC})?$", re.IGNORECASE), MusicVerb.PAUSE),
    (
        re.compile(rf"^(?:resume|unpause|continue|play)(?: {_THE_MUSIC})?(?: again)?$", re.I),
        MusicVerb.RESUME,
    ),
    (
        re.compile(
            rf"^(?:skip|next)(?: {_THE_MUSIC}| one| song| track)?$|^(?:play )?the next "
            r"(?:one|song|track)$",
            re.IGNORECASE,
        ),
        MusicVerb.SKIP,
    ),
    (re.compile(rf"^stop(?: {_THE_MUSIC})?$|^(?:turn|shut) off the music$", re.I), MusicVerb.STOP),
    (
        re.compile(
            r"^(?:what(?:'s| is) (?:playing|this song|this track|the song|this)(?: now)?"
            r"|what song is (?:this|playing)|now playing)$",
            re.IGNORECASE,
        ),
        MusicVerb.NOW,
    ),
]
_PLAY = re.compile(r"^(?:play|put on|start playing)\s+(.+)$", re.IGNORECASE)
_ADD = re.compile(r"^(?:add|queue(?: up)?|enqueue)\s+(.+?)(?:\s+to (?:the )?queue)?$", re.I)


def parse_music_command(text: str, names: tuple[str, ...] = ()) -> MusicCommand | None:
    """The music command in `text` (a transcript or a message), or None.

    The bot's names are stripped where they address it ("clanker, play x", "play x,
    clanker"); mentions (`<@123>`) too. Only a whole utterance that is a command counts:
    "I paused the movie" is not "pause"."""
    s = re.sub(r"<@!?\d+>", " ", text)
    for name in sorted((n for n in names if n), key=len, reverse=True):
        s = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", " ", s, flags=re.IGNORECASE)
    s = re.sub(r"\s+", " ", s).strip(" \t,.!?;:-")
    s = _POLITE.sub("", s).strip(" ,")
    s = _TRAILING.sub("", s).strip(" ,")
    if not s:
        return None
    for pattern, verb in _EXACT:
        if pattern.match(s):
            return MusicCommand(verb, musical=bool(_MUSIC_WORDS.search(s)))
    for pattern, verb in ((_PLAY, MusicVerb.PLAY), (_ADD, MusicVerb.ADD)):
        m = pattern.match(s)
        if m:
            query = m.group(1).strip(" ,")
            url = _URL.search(query)
            if url:
                return MusicCommand(verb, url.group(0).rstrip(".,!?)"), musical=True)
            query = re.sub(r"^(?:me |us )", "", query, flags=re.IGNORECASE)
            musical = bool(_MUSIC_WORDS.search(query))
            query = re.sub(
                r"^(?:(?:some|a|the) )?(?:song|track|tune|music)s?(?: called| named)? ",
                "",
                query,
                flags=re.IGNORECASE,
            )
            return MusicCommand(verb, query.strip(), musical=musical or verb is MusicVerb.ADD)
    return None


# -- the policy -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MusicConfig:
    duck_gain: float = 0.15
    duck_fade_ms: int = 300
    wake_latch: float = 12.0  # seconds a member's turns are admitted after naming the bot
    wake_resume_after: float = 8.0  # seconds of a wake-word pause with no reply, then resume
    loading_max: float = 20.0  # clankvox starts a track within 15 s; after this it was lost
    queue_max: int = 50


@dataclass(frozen=True, slots=True)
class MusicOutcome:
    """What a command did: the clankvox commands to send and a short line saying it."""

    actions: list[ClankvoxCommand]
    said: str
    ok: bool = True


@dataclass
class MusicPolicy:
    config: MusicConfig = field(default_factory=MusicConfig)
    phase: MusicPhase = MusicPhase.IDLE
    current: Track | None = None
    queue: deque[Track] = field(default_factory=deque)
    gain: float = 1.0  # the gain last asked of clankvox
    last_error: str = ""
    _speaking: bool = False
    _latch: dict[int, float] = field(default_factory=dict)  # member -> latched until
    _wake_until: float | None = None  # resume at this time if no reply started
    _wake_reply: bool = False  # a reply started during the wake-word pause
    _loading_since: float | None = None  # when the track now loading was sent (`clock`)

    # -- commands ---------------------------------------------------------------------------------

    def play(self, track: Track) -> MusicOutcome:
        """Play `track` now (what plays is replaced; the queue is kept)."""
        return MusicOutcome(self._start(track), f"Playing {track.title}.")

    def add(self, track: Track) -> MusicOutcome:
        if self.current is None or self.phase is MusicPhase.IDLE:
            return MusicOutcome(self._start(track), f"Playing {track.title}.")
        if len(self.queue) >= self.config.queue_max:
            return MusicOutcome([], f"The queue is full ({self.config.queue_max}).", ok=False)
        self.queue.append(track)
        return MusicOutcome([], f"Added {track.title}, number {len(self.queue)} in the queue.")

    def pause(self) -> MusicOutcome:
        if self.phase in (MusicPhase.PLAYING, MusicPhase.LOADING, MusicPhase.PAUSED_WAKE_WORD):
            was = self.phase
            self.phase = MusicPhase.PAUSED
            self._wake_until = None
            actions: list[ClankvoxCommand] = (
                [] if was is MusicPhase.PAUSED_WAKE_WORD else [MusicPause()]
            )
            return MusicOutcome(actions, "Paused.")
        return MusicOutcome([], "Nothing is playing.", ok=False)

    def resume(self) -> MusicOutcome:
        if self.phase in (MusicPhase.PAUSED, MusicPhase.PAUSED_WAKE_WORD):
            return MusicOutcome(self._resume(), "Resuming.")
        if self.phase is MusicPhase.IDLE and self.queue:
            return MusicOutcome(self._start(self.queue.popleft()), "Resuming the queue.")
        if self.phase in (MusicPhase.PLAYING, MusicPhase.LOADING):
            return MusicOutcome([], "It is playing.", ok=False)
        return MusicOutcome([], "Nothing is paused.", ok=False)

    def skip(self) -> MusicOutcome:
        if self.current is None and not self.queue:
            return MusicOutcome([], "Nothing is playing.", ok=False)
        if self.queue:
            track = self.queue.popleft()
            return MusicOutcome(self._start(track), f"Skipping to {track.title}.")
        return MusicOutcome(self._stop(), "That was the last one.")

    def stop(self) -> MusicOutcome:
        if self.current is None and not self.queue:
            return MusicOutcome([], "Nothing is playing.", ok=False)
        self.queue.clear()
        return MusicOutcome(self._stop(), "Stopped the music.")

    def now_playing(self) -> MusicOutcome:
        if self.current is None:
            return MusicOutcome([], "Nothing is playing.", ok=False)
        state = "" if self.phase is MusicPhase.PLAYING else f" ({self.phase.value})"
        more = f" {len(self.queue)} more queued." if self.queue else ""
        return MusicOutcome([], f"Now playing: {self.current.title}{state}.{more}")

    # -- the bot's speech and the room ------------------------------------------------------------

    def speaking(self, speaking: bool, now: float) -> list[ClankvoxCommand]:
        """The bot's output became busy (a reply started) or idle (its speech drained)."""
        if speaking == self._speaking:
            return []
        self._speaking = speaking
        if speaking:
            if self.phase is MusicPhase.PAUSED_WAKE_WORD:
                self._wake_reply = True
                self._wake_until = None
            return self._set_gain(self.config.duck_gain) if self._audible() else []
        if self.phase is MusicPhase.PAUSED_WAKE_WORD and self._wake_reply:
            return self._resume()
        return self._set_gain(1.0) if self._audible() else []

    def addressed(self, user_id: int, now: float) -> list[ClankvoxCommand]:
        """`user_id` named the bot: latch their turns; pause playing music for them."""
        if self.phase not in (MusicPhase.PLAYING, MusicPhase.LOADING, MusicPhase.PAUSED_WAKE_WORD):
            return []
        self._latch[user_id] = now + self.config.wake_latch
        if self.phase is MusicPhase.PAUSED_WAKE_WORD:
            if not self._wake_reply:
                self._wake_until = now + self.config.wake_resume_after
            return []
        self.phase = MusicPhase.PAUSED_WAKE_WORD
        self._wake_reply = self._speaking
        self._wake_until = None if self._speaking else now + self.config.wake_resume_after
        return [MusicPause()]

    def latched(self, user_id: int, now: float) -> bool:
        until = self._latch.get(user_id)
        if until is None:
            return False
        if now >= until:
            del self._latch[user_id]
            return False
        return True

    def clock(self, now: float) -> None:
        """Note the time after commands were sent (a track that started loading is timed)."""
        if self.phase is MusicPhase.LOADING and self._loading_since is None:
            self._loading_since = now

    def tick(self, now: float) -> list[ClankvoxCommand]:
        if (
            self.phase is MusicPhase.LOADING
            and self._loading_since is not None
            and now >= self._loading_since + self.config.loading_max - 1e-9
        ):
            # clankvox never started it (the connection dropped while it waited, say)
            return self.music_error(f"the track did not start in {self.config.loading_max:g} s")
        if (
            self.phase is MusicPhase.PAUSED_WAKE_WORD
            and self._wake_until is not None
            and now >= self._wake_until - 1e-9
        ):
            return self._resume()
        return []

    def next_deadline(self) -> float | None:
        if self.phase is MusicPhase.LOADING and self._loading_since is not None:
            return self._loading_since + self.config.loading_max
        return self._wake_until if self.phase is MusicPhase.PAUSED_WAKE_WORD else None

    # -- clankvox's events -----------------------------------------------------------------

    def player_state(self, status: str) -> list[ClankvoxCommand]:
        if status == "playing":
            if self.phase in (MusicPhase.LOADING, MusicPhase.PLAYING):
                self.phase = MusicPhase.PLAYING
                self._loading_since = None
                self.gain = 1.0  # a start fades in to 1.0, a resume jumps to it
                if self._speaking:
                    return self._set_gain(self.config.duck_gain)
        elif status == "paused" and self.phase in (MusicPhase.PLAYING, MusicPhase.LOADING):
            self.phase = MusicPhase.PAUSED  # paused by someone else (not us)
        return []

    def music_idle(self) -> list[ClankvoxCommand]:
        """The track ended (or a stop finished): the next in the queue, or idle. While a new
        track loads, an idle is the old one's (a stop that finished as the play was sent):
        clankvox reports none for a track it has not started."""
        if self.phase in (MusicPhase.IDLE, MusicPhase.LOADING):
            return []
        if self.phase is not MusicPhase.STOPPING and self.queue:
            return self._start(self.queue.popleft())
        self._idle()
        return []

    def music_error(self, message: str) -> list[ClankvoxCommand]:
        self.last_error = message
        if self.phase is not MusicPhase.STOPPING and self.queue:
            return self._start(self.queue.popleft())
        self._idle()
        return []

    def gain_reached(self, gain: float) -> None:
        self.gain = gain

    # -- inside ----------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Music is on (loading, playing or paused), as admission sees it."""
        return self.phase is not MusicPhase.IDLE

    def _audible(self) -> bool:
        return self.phase is MusicPhase.PLAYING

    def _start(self, track: Track) -> list[ClankvoxCommand]:
        self.current = track
        self.phase = MusicPhase.LOADING
        self._loading_since = None
        self._wake_until = None
        self.gain = 1.0
        actions: list[ClankvoxCommand] = [
            MusicPlay(url=track.url, resolved_direct_url=track.direct)
        ]
        return actions

    def _stop(self) -> list[ClankvoxCommand]:
        if self.phase is MusicPhase.STOPPING:
            return []
        self.phase = MusicPhase.STOPPING
        self._wake_until = None
        return [MusicStop()]

    def _resume(self) -> list[ClankvoxCommand]:
        self.phase = MusicPhase.PLAYING
        self._wake_until = None
        self._wake_reply = False
        self.gain = 1.0
        actions: list[ClankvoxCommand] = [MusicResume()]
        if self._speaking:
            actions += self._set_gain(self.config.duck_gain)
        return actions

    def _set_gain(self, gain: float) -> list[ClankvoxCommand]:
        if abs(self.gain - gain) < 1e-6:
            return []
        self.gain = gain
        return [MusicSetGain(target=gain, fade_ms=self.config.duck_fade_ms)]

    def _idle(self) -> None:
        self.phase = MusicPhase.IDLE
        self.current = None
        self._wake_until = None
        self._wake_reply = False


__all__ = [
    "MusicCommand",
    "MusicConfig",
    "MusicOutcome",
    "MusicPhase",
    "MusicPolicy",
    "MusicVerb",
    "Track",
    "parse_music_command",
]
