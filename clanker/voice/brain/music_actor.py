"""The voice brain's music: the thin IO around `MusicPolicy` (music.py), mixed into
`VoiceBrain`.

* clankvox's `player_state`, `music_idle`, `music_error` and `music_gain_reached` drive the
  policy; its actions go to clankvox through the link (`MusicControl`, in order with speech).
* A voice turn that names the bot (or comes from a member inside the wake latch) and is a
  music command (`parse_music_command`) is carried out here instead of being answered by the
  model. Without the name too (Whisper often drops a name said first): while music is on, a
  control that names the music ("pause the music", "skip this song"); and a play that names
  music and finds its title ("play the test tune"). `play`/`add`/"what's playing" (and,
  asked aloud, failures) are confirmed in one short spoken line.
  A turn that names the bot and is not a command pauses playing music (wake word).
* `MusicRequest` (from a text command or the dashboard) does the same with a verb and query
  and answers `MusicReply`; `GetMusicStatus` answers `MusicStatus`.
* Queries are looked up in the local library (`voice.music.library_dir`), whose files the
  brain serves to clankvox on 127.0.0.1 (`serve_library`); an http(s) URL is played as given.

Every command is logged as `voice_music_<verb>` (who, the query, what was said, the phase).
A restarted brain (after a crash) stops whatever clankvox still plays: its policy starts idle.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import trio

from clanker.runtime import ActorContext, ActorError, handles
from clanker.voice.brain.config import VoiceBrainConfig
from clanker.voice.brain.music import (
    MusicOutcome,
    MusicPolicy,
    MusicVerb,
    Track,
    parse_music_command,
)
from clanker.voice.brain.turns import RoomTurn
from clanker.voice.commands import ClankvoxCommand, MusicStop, music_url_problem
from clanker.voice.events import MusicError, MusicGainReached, MusicIdle, PlayerState
from clanker.voice.link_messages import MusicControl
from clanker.voice.music_library import LibraryServer, MusicLibrary, serve_library
from clanker.wire import Message

log = logging.getLogger("clanker.voice.music")

_SPOKEN = {MusicVerb.PLAY, MusicVerb.ADD, MusicVerb.NOW}
# Said without the bot's name, these count while music is on when they name the music ("pause
# the music", "skip this song"): Whisper often drops a name said first.
_CONTROLS = {MusicVerb.PAUSE, MusicVerb.RESUME, MusicVerb.SKIP, MusicVerb.STOP, MusicVerb.NOW}
# ... and a play or add that names music ("play the test tune") when the title is found.
_PLAYS = {MusicVerb.PLAY, MusicVerb.ADD}


class MusicRequest(Message, frozen=True):
    """Do a music command in the call (`verb`: play, add, pause, resume, skip, stop,
    now_playing; `query`: a title in the library or an http(s) URL). Reply: `MusicReply`."""

    verb: str
    query: str = ""
    by: str = "the operator"
    user_id: int | None = None
    musical: bool = True  # False: a play of something that may not be music (then only if found)


class MusicReply(Message, frozen=True):
    handled: bool  # False: not a music command after all (a "play" of nothing in the library)
    ok: bool
    said: str
    phase: str


class GetMusicStatus(Message, frozen=True):
    """Reply: `MusicStatus`."""


class MusicStatus(Message, frozen=True):
    phase: str
    now_playing: str | None
    queue: list[str]
    gain: float
    last_error: str
    library_tracks: int


class VoiceMusic:
    """Mixed into `VoiceBrain` (which provides `ctx`, `config`, `_log`, `_say`, `output`)."""

    ctx: ActorContext
    config: VoiceBrainConfig
    music: MusicPolicy
    _library: MusicLibrary | None
    _library_server: LibraryServer | None
    _library_ready: trio.Event

    def _music_init(self) -> None:
        self.music = MusicPolicy(self.config.music)
        root = self.config.music_library
        self._library = MusicLibrary(Path(root)) if root else None
        self._library_server = None
        self._library_ready = trio.Event()

    def _music_start(self) -> None:
        if self.ctx.incarnation > 1:
            # a restarted brain knows nothing of what clankvox plays: stop it (a clean slate;
            # the queue died with the crash)
            self.ctx.start_soon(self._music_send, [MusicStop()])
        if self._library is not None:
            self.ctx.start_soon(self._serve_library, self._library)
        else:
            self._library_ready.set()

    async def _serve_library(self, library: MusicLibrary) -> None:
        async with trio.open_nursery() as nursery:
            self._library_server = await nursery.start(serve_library, library)
            self._library_ready.set()

    # -- stand-ins for what VoiceBrain provides ---------

    async def _log(
        self, kind: str, uid: int | None, content: str, meta: Mapping[str, object] | None = None
    ) -> None:
        raise NotImplementedError

    async def _say(self, turn: RoomTurn | None, text: str) -> bool:
        raise NotImplementedError

    def _changed(self) -> None:
        raise NotImplementedError

    # -- clankvox's events ---------

    async def _music_player_state(self, msg: PlayerState) -> None:
        await self._music_send(self.music.player_state(msg.status))

    @handles(MusicIdle)
    async def music_idle(self, msg: MusicIdle) -> None:
        await self._music_send(self.music.music_idle())
        await self._log_music("voice_music_idle", None, "", {})

    @handles(MusicError)
    async def music_error(self, msg: MusicError) -> None:
        log.warning("voice: music failed: %s", msg.message[:500])
        await self._music_send(self.music.music_error(msg.message))
        await self._log_music("voice_music_error", None, msg.message, {})

    @handles(MusicGainReached)
    async def music_gain_reached(self, msg: MusicGainReached) -> None:
        self.music.gain_reached(msg.gain)

    # -- the bot's speech, the room, the clock ---------

    async def _music_speaking(self, speaking: bool, now: float) -> None:
        await self._music_send(self.music.speaking(speaking, now))

    async def _music_tick(self, now: float) -> None:
        error = self.music.last_error
        await self._music_send(self.music.tick(now))
        if self.music.last_error != error:  # a track that never started
            await self._log_music("voice_music_error", None, self.music.last_error, {})

    async def _music_turn(self, turn: RoomTurn, now: float) -> bool:
        """A voice turn: True when it was a music command (done here, not for the model)."""
        u = turn.last
        cmd = parse_music_command(u.text, self.config.bot_names)
        named = turn.addressed or self.music.latched(u.user_id, now)
        if not named and not (
            cmd is not None
            and cmd.musical
            and (cmd.verb in _PLAYS or (cmd.verb in _CONTROLS and self.music.active))
        ):
            return False
        if cmd is not None:
            reply = await self._music_do(
                MusicRequest(
                    verb=cmd.verb.value,
                    query=cmd.query,
                    by=u.name,
                    user_id=u.user_id,
                    # unnamed, a play counts only when it finds something
                    musical=cmd.musical and named,
                ),
                turn,
            )
            if reply.handled:
                return True
        if turn.addressed:
            paused = self.music.addressed(u.user_id, now)
            if paused:
                await self._log_music("voice_music_wake_pause", u.user_id, u.text, {})
            await self._music_send(paused)
        return False

    # -- requests ---------

    @handles(MusicRequest)
    async def music_request(self, msg: MusicRequest) -> MusicReply:
        return await self._music_do(msg, None)

    @handles(GetMusicStatus)
    async def music_status(self, msg: GetMusicStatus) -> MusicStatus:
        m = self.music
        return MusicStatus(
            phase=m.phase.value,
            now_playing=None if m.current is None else m.current.title,
            queue=[t.title for t in m.queue],
            gain=m.gain,
            last_error=m.last_error[:500],
            library_tracks=0 if self._library is None else len(self._library.tracks()),
        )

    async def _music_do(self, msg: MusicRequest, turn: RoomTurn | None) -> MusicReply:
        try:
            verb = MusicVerb(msg.verb)
        except ValueError:
            verbs = ", ".join(v.value for v in MusicVerb)
            return MusicReply(
                handled=False,
                ok=False,
                said=f"Unknown music action {msg.verb!r}; one of: {verbs}.",
                phase=self.music.phase.value,
            )
        m = self.music
        outcome: MusicOutcome
        if verb in (MusicVerb.PLAY, MusicVerb.ADD):
            track, problem = await self._resolve(msg.query, msg.by)
            if track is None:
                if not msg.musical:
                    return MusicReply(handled=False, ok=False, said=problem, phase=m.phase.value)
                outcome = MusicOutcome([], problem, ok=False)
            else:
                outcome = m.play(track) if verb is MusicVerb.PLAY else m.add(track)
        elif verb is MusicVerb.PAUSE:
            outcome = m.pause()
        elif verb is MusicVerb.RESUME:
            outcome = m.resume()
        elif verb is MusicVerb.SKIP:
            outcome = m.skip()
        elif verb is MusicVerb.STOP:
            outcome = m.stop()
        else:
            outcome = m.now_playing()
        spoken = False
        # announcements always; a failure only to whoever asked aloud (text gets a reply)
        if (verb in _SPOKEN and outcome.ok) or (turn is not None and not outcome.ok):
            spoken = await self._say(turn, outcome.said)
        await self._music_send(outcome.actions)
        meta = {
            "query": msg.query,
            "said": outcome.said,
            "ok": outcome.ok,
            "spoken": spoken,
            "by": msg.by,
            "phase": m.phase.value,
            "now_playing": None if m.current is None else m.current.title,
            "queue": len(m.queue),
        }
        await self._log_music(f"voice_music_{verb.value}", msg.user_id, msg.query, meta)
        return MusicReply(handled=True, ok=outcome.ok, said=outcome.said, phase=m.phase.value)

    async def _resolve(self, query: str, by: str) -> tuple[Track | None, str]:
        q = query.strip()
        if not q:
            return None, "Play what? Say a title or a link."
        if q.lower().startswith(("http://", "https://")):
            problem = music_url_problem(q)
            if problem is not None:
                return None, f"I can't play that link: it {problem}."
            return Track(title=q, url=q, direct=True, requested_by=by), ""
        if self._library is None:
            return None, (
                f"I couldn't find {q}: there is no music library (voice.music.library_dir)."
            )
        found = self._library.find(q)
        if found is None:
            return None, f"I couldn't find {q} in the music library."
        await self._library_ready.wait()
        if self._library_server is None:
            return None, "The music library is not being served."
        url = self._library_server.url(found)
        return Track(title=found.title, url=url, direct=True, requested_by=by), ""

    # -- sending, logging ---------

    async def _music_send(self, actions: list[ClankvoxCommand]) -> None:
        link = self.ctx.lookup(self.config.link)
        for a in actions:
            try:
                await link.tell(MusicControl(command=a))  # type: ignore[arg-type]
            except ActorError as exc:
                log.info("voice: %s not sent: %s", type(a).__name__, exc)
        if actions:
            self.music.clock(trio.current_time())
            self._changed()  # the policy may have a new deadline

    async def _log_music(
        self, kind: str, uid: int | None, content: str, meta: Mapping[str, object]
    ) -> None:
        await self._log(kind, uid, content, meta)


__all__ = ["GetMusicStatus", "MusicReply", "MusicRequest", "MusicStatus", "VoiceMusic"]
