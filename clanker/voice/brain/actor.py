"""`VoiceBrain`: the cascaded voice brain of one voice connection, a thin actor around the
sans-IO policies in this package.

    clankvox ─▶ VoiceLink ─(ObserveVoice, ListenTo)─▶ VoiceBrain
      speaking_start → subscribe at 16 kHz → VAD per frame (inline) → CaptureDesk
      silence → CheckTurn (smart-turn, worker thread; Whisper speculatively beside it)
      → Finalized → recognition (worker; the speculative transcript if the clip is the same)
      → noise gate → RoomDesk (coalescing) → admit → reply: Llm StreamTo → sentences
      → synthesis (worker) → SpeakPcm → clankvox; telemetry → OutputState
      a member talking over the bot → check_barge_in → StopSpeaking, cancel, remember

What a fresh incarnation knows: nothing of earlier captures or replies (they are lost with
the crash); on start it loads (or reuses) the models, tells the link to deliver the room's
events to it, and subscribes again to each member as they start speaking. The voice
transcript lives in the Store (as messages of the voice channel), so the next prompt still
has the conversation. Every step is logged as a `voice_*` action.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import trio

from clanker.guilds.messages import LeaveVoice, MembersLearned
from clanker.guilds.recall import recall_section
from clanker.llm import (
    CallContext,
    CancelStream,
    LlmRequest,
    LlmResponse,
    LlmStreamEnded,
    LlmStreamText,
    StreamTo,
    SystemPart,
    user,
)
from clanker.memory.journal import spoken_line_id
from clanker.memory.owners import reply_scope
from clanker.runtime import (
    Actor,
    ActorContext,
    ActorError,
    ActorRef,
    MailboxSpec,
    NotRegistered,
    handles,
)
from clanker.store import LogAction, RecentMessages, StoreClient, StoreMessage, to_iso, to_json
from clanker.store.messages import MessageRows
from clanker.text.tool_registry import ToolContext
from clanker.voice.brain.bargein import check_barge_in
from clanker.voice.brain.capture import (
    CaptureAction,
    CaptureDesk,
    CheckTurn,
    Dropped,
    Finalized,
    Promoted,
    SpeculationStale,
)
from clanker.voice.brain.config import VoiceBrainConfig
from clanker.voice.brain.control import SetBrainMuted
from clanker.voice.brain.music_actor import VoiceMusic
from clanker.voice.brain.output import OutputState, Phase
from clanker.voice.brain.prompt import (
    JOIN_EVENT,
    Interruption,
    Line,
    greeting_prompt,
    skip_state,
    system_prompt,
    user_prompt,
)
from clanker.voice.brain.sentences import SentenceSplitter
from clanker.voice.brain.soundboard import MarkerFilter, Piece, SoundCue, strip_markers
from clanker.voice.brain.soundboard_actor import VoiceSoundboard
from clanker.voice.brain.tool_round import follow_up_request
from clanker.voice.brain.tool_step import VOICE_TOOL_GUIDANCE, VOICE_TOOL_TIMEOUT
from clanker.voice.brain.turns import (
    DeferredTurns,
    RoomDesk,
    RoomTurn,
    Utterance,
    Verdict,
    admit,
    noise_gate,
)
from clanker.voice.events import (
    BufferDepth,
    ClientDisconnect,
    PlayerState,
    Ready,
    SpeakingEnd,
    SpeakingStart,
    TtsPlaybackState,
    UserAudio,
    UserAudioEnd,
)
from clanker.voice.link_messages import (
    GetVoiceLinkStatus,
    GetVoiceMute,
    ListenTo,
    ObserveVoice,
    SpeakPcm,
    StopSpeaking,
    VoiceLinkStatus,
    VoiceMute,
)
from clanker.voice.models.base import ModelError, SpeechSynth, Transcript, VoiceActivity
from clanker.wire import Message

VOICE_RECALL_TIMEOUT = 0.5  # seconds a spoken answer waits for memory at most

log = logging.getLogger("clanker.voice.brain")

QUEUE_AHEAD = 4.0  # seconds of the bot's speech queued to clankvox ahead of playback, at most


class _Tick(Message, frozen=True):
    pass


class _TurnChecked(Message, frozen=True):
    user_id: int
    check_id: int
    probability: float


class _Transcribed(Message, frozen=True):
    user_id: int
    capture_id: int
    text: str
    avg_logprob: float | None
    no_speech_prob: float | None
    started_at: float
    ended_at: float
    decided_at: float
    speech_seconds: float
    banked: bool
    reason: str
    error: str | None = None
    asr: str = "fresh"  # fresh | speculative (started at the end-of-turn check)
    asr_seconds: float = 0.0  # the recognition's own time


class _AudioQueued(Message, frozen=True):
    reply_id: int
    text: str
    samples: int
    rate: int


class _SpeechFinished(Message, frozen=True):
    reply_id: int
    error: str | None = None


class CutOff(Message, frozen=True):
    """Stop the bot speaking now (the operator's "stop speaking"): playback cleared, the reply's
    generation and synthesis cancelled, what was heard kept for the next prompt (told)."""

    by: str = "the operator"


class GetVoiceBrainStatus(Message, frozen=True):
    """Ask the brain what it is doing. Reply: `VoiceBrainStatus`."""


class TurnRecord(Message, frozen=True):
    """One answered (or skipped) turn, with its latency stages in seconds."""

    reply_id: int
    speakers: list[str]
    said: str
    reply: str
    outcome: str  # spoken | skipped | failed | interrupted | superseded
    speech_end_to_decided: float | None = None
    decided_to_transcript: float | None = None
    transcript_to_first_token: float | None = None
    first_token_to_first_audio: float | None = None
    speech_end_to_first_audio: float | None = None
    asr: str | None = None  # the transcript used: fresh | speculative (from the VAD stop)


class VoiceBrainStatus(Message, frozen=True):
    phase: str
    speaking: list[int]
    listening: list[int]
    deferred: int
    turns: list[TurnRecord]
    barge_ins: int
    dropped: dict[str, int]
    names: dict[str, str] = {}  # user id -> name, for the members speaking or listening
    muted: bool = False  # the operator muted it: it hears, and says nothing


@dataclass
class _Reply:
    reply_id: int
    turn: RoomTurn
    started_at: float
    text: str = ""
    spoken: list[str] = field(default_factory=list)
    first_token_at: float | None = None
    first_audio_at: float | None = None
    skip: bool | None = None
    generation_done: bool = False
    splitter: SentenceSplitter = field(default_factory=SentenceSplitter)
    markers: MarkerFilter = field(default_factory=MarkerFilter)  # [[SOUNDBOARD:…]] cues
    chunks_sent: int = 0  # audio chunks the speaking task gave clankvox ...
    chunks_seen: int = 0  # ... and those the output state has been told of
    send: trio.MemorySendChannel[Piece] | None = None
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    loud: dict[int, float] = field(default_factory=dict)  # user -> loud speech seconds
    greeting: bool = False  # the join greeting (no member's turn: anyone may cut it off)
    request: LlmRequest | None = None  # what was asked (a tool round asks again from it)
    tool_round: bool = False  # its one round of tool calls has been made


@dataclass
class _Speculation:
    """A transcription started at the end-of-turn check, of `samples` of capture `capture_id`."""

    capture_id: int
    samples: int
    started_at: float
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    done: trio.Event = field(default_factory=trio.Event)
    transcript: Transcript | None = None
    finished_at: float | None = None


class VoiceBrain(VoiceSoundboard, VoiceMusic, Actor):
    mailbox = MailboxSpec(capacity=4096)

    def __init__(self, config: VoiceBrainConfig) -> None:
        self.config = config
        self.desk = CaptureDesk(config.capture, speculate=config.speculative_asr)
        self.room = RoomDesk(names=config.bot_names, hold_max=config.hold_max)
        self.output = OutputState()
        self.deferred = DeferredTurns()
        self._vads: dict[int, VoiceActivity] = {}
        self._frames: dict[int, bytearray] = {}
        self._listening: set[int] = set()
        self._transcribing: set[int] = set()
        self._speculations: dict[int, _Speculation] = {}  # user -> speculative transcription
        self._reply: _Reply | None = None
        self._next_reply = 1
        self._interrupted: Interruption | None = None
        self._music_playing = False
        self._turns: deque[TurnRecord] = deque(maxlen=50)
        self._barge_ins = 0
        self._dropped: dict[str, int] = {}
        self._wake = trio.Event()
        self._timer_at = math.inf
        self._started_at = self._active_at = 0.0
        self._leaving = False
        self._seq = 0
        self.models = config.models
        self._names: dict[int, str] = dict(config.member_names)
        self._greet_pending = False
        self.muted = config.muted
        self._music_init()
        self._soundboard_init()

    # -- lifecycle ------------------------------------------------------------------------------

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx
        self._started_at = self._active_at = trio.current_time()
        link = ctx.lookup(self.config.link)
        await link.ask(ObserveVoice(deliver_to=self.config.name))
        ctx.start_soon(self._timer)
        self._music_start()
        self._soundboard_start()
        if ctx.incarnation > 1 and self.config.session is not None:
            # The mute may have changed since the call began: ask the session that keeps it.
            try:
                mute = await ctx.lookup(self.config.session).ask(
                    GetVoiceMute(), VoiceMute, timeout=2.0
                )
            except ActorError as exc:
                log.warning("voice brain: could not ask about the mute: %s", exc)
            else:
                self.muted = mute.muted
        # The join greeting: only the first incarnation of a connection's brain (a restarted
        # one, after a crash or a killed clankvox, is mid-call and stays quiet); once the call
        # is up (clankvox ready now, or at its first `ready`).
        if self.config.join_greeting and ctx.incarnation == 1:
            self._greet_pending = True
            status = await link.ask(GetVoiceLinkStatus(), VoiceLinkStatus)
            if status.readies > 0:
                await self._greet()

    def _next_deadline(self, now: float) -> float:
        deadlines = [
            d
            for d in (
                self.desk.next_deadline(),
                self.room.next_deadline(),
                self.output.next_change(now),
                self.music.next_deadline(),
            )
            if d is not None
        ]
        deadlines += [d for d in self._leave_deadlines() if d is not None]
        return min(deadlines, default=now + 3600.0)

    def _leave_deadlines(self) -> tuple[float | None, float | None]:
        c = self.config
        if c.session is None or self._leaving:
            return None, None
        idle = None if c.idle_leave is None else self._active_at + c.idle_leave
        longest = None if c.max_duration is None else self._started_at + c.max_duration
        return idle, longest

    async def _maybe_leave(self, now: float) -> None:
        idle, longest = self._leave_deadlines()
        reason = None
        if longest is not None and now >= longest - 1e-9:
            reason = "max_duration"
        elif idle is not None and now >= idle - 1e-9:
            if self.desk.speaking() or self.output.busy(now) or self._transcribing:
                self._active_at = now  # not idle after all
                return
            reason = "idle"
        if reason is None or self.config.session is None:
            return
        self._leaving = True
        await self._log("voice_leave", None, reason, {"reason": reason})
        with contextlib.suppress(ActorError):
            await self.ctx.lookup(self.config.session).tell(LeaveVoice())

    async def _timer(self) -> None:
        """Tell the actor `_Tick` at the next deadline of its policies (woken when one moves
        earlier)."""
        while True:
            wake = self._wake = trio.Event()
            self._timer_at = self._next_deadline(trio.current_time())
            with trio.move_on_at(self._timer_at):
                await wake.wait()
                continue
            self._timer_at = math.inf
            await self.ctx.ref.tell(_Tick())

    def _changed(self) -> None:
        """Something moved: the timer re-reads the deadlines if one may now be earlier."""
        if self._next_deadline(trio.current_time()) < self._timer_at:
            self._wake.set()

    # -- the room -------------------------------------------------------------------------------

    @handles(SpeakingStart)
    async def speaking_start(self, msg: SpeakingStart) -> None:
        uid = int(msg.user_id)
        if uid == self.config.bot_user_id:
            return
        if uid not in self._listening:
            self._listening.add(uid)
            await self.ctx.lookup(self.config.link).ask(
                ListenTo(
                    user_id=uid,
                    sample_rate=self.config.input_rate,
                    silence_duration_ms=self.config.silence_duration_ms,
                    deliver_to=self.config.name,
                )
            )
        await self._carry_out(self.desk.start(uid, trio.current_time()))

    @handles(UserAudio)
    async def user_audio(self, msg: UserAudio) -> None:
        uid = int(msg.user_id)
        if uid == self.config.bot_user_id:
            return
        vad = self._vads.get(uid)
        if vad is None:
            vad = self._vads[uid] = self.models.vad_factory()
        buffer = self._frames.setdefault(uid, bytearray())
        buffer += msg.pcm
        step = vad.frame_samples * 2
        probabilities: list[float] = []
        while len(buffer) >= step:
            probabilities.append(vad.probability(bytes(buffer[:step])))
            del buffer[:step]
        now = trio.current_time()
        await self._carry_out(self.desk.audio(uid, now, msg.pcm, probabilities))
        self._changed()
        await self._maybe_barge_in(uid, probabilities, now)

    @handles(UserAudioEnd)
    async def user_audio_end(self, msg: UserAudioEnd) -> None:
        uid = int(msg.user_id)
        self._reset_vad(uid)
        await self._carry_out(self.desk.stream_end(uid, trio.current_time()))

    @handles(ClientDisconnect)
    async def client_disconnect(self, msg: ClientDisconnect) -> None:
        uid = int(msg.user_id)
        self._reset_vad(uid)
        self._listening.discard(uid)
        self.room.forget(uid)
        await self._carry_out(self.desk.left(uid, trio.current_time()))

    def _reset_vad(self, uid: int) -> None:
        vad = self._vads.get(uid)
        if vad is not None:
            vad.reset()
        self._frames.pop(uid, None)

    # -- clankvox's playback telemetry -----------------------------------------------------------

    @handles(TtsPlaybackState)
    async def tts_state(self, msg: TtsPlaybackState) -> None:
        self.output.tts_state(msg.status == "buffered", trio.current_time())
        await self._output_changed()

    @handles(BufferDepth)
    async def buffer_depth(self, msg: BufferDepth) -> None:
        self.output.buffer_depth(msg.tts_samples, trio.current_time())
        await self._output_changed()

    @handles(PlayerState)
    async def player_state(self, msg: PlayerState) -> None:
        self._music_playing = msg.status == "playing"
        await self._music_player_state(msg)
        await self._output_changed()

    @handles(MembersLearned)
    async def members_learned(self, msg: MembersLearned) -> None:
        for m in msg.members:
            self._names[m.user_id] = m.name

    @handles(SpeakingEnd)
    async def speaking_end(self, msg: SpeakingEnd) -> None:
        """Not used: the brain's own end of turn (VAD, model, silence) decides."""

    @handles(Ready)
    async def ready(self, msg: Ready) -> None:
        """clankvox (re)connected: its buffers start empty."""
        self.output.tts_state(False, trio.current_time())
        if self._greet_pending:
            await self._greet()
        await self._output_changed()

    @handles(_Tick)
    async def tick(self, msg: _Tick) -> None:
        now = trio.current_time()
        await self._maybe_leave(now)
        await self._music_tick(now)
        await self._carry_out(self.desk.tick(now))
        turn = self.room.tick(now)
        if turn is not None:
            await self._handle_turn(turn)
        await self._output_changed()

    async def _output_changed(self) -> None:
        now = trio.current_time()
        if not self.output.busy(now, music_playing=self._music_playing) and len(self.deferred):
            turn = self.deferred.take(now)
            if turn is not None:
                await self._log("voice_turn_readmitted", turn.last.user_id, turn.last.text)
                await self._handle_turn(turn)
        await self._music_speaking(self.output.phase(now) is not Phase.IDLE, now)
        self._output_moved()
        self._changed()

    # -- capture actions ------------------------------------------------------------------------

    async def _carry_out(self, actions: list[CaptureAction]) -> None:
        for a in actions:
            if isinstance(a, CheckTurn):
                self.ctx.start_soon(self._check_turn, a)
                if a.speculate:
                    self._discard_speculation(a.user_id)
                    spec = _Speculation(a.capture_id, len(a.pcm) // 2, trio.current_time())
                    self._speculations[a.user_id] = spec
                    self.ctx.start_soon(self._speculate, spec, a.pcm)
            elif isinstance(a, SpeculationStale):
                self._discard_speculation(a.user_id)
            elif isinstance(a, Finalized):
                self._reset_vad(a.user_id)  # the next capture starts frame-aligned, fresh
                self._transcribing.add(a.user_id)
                held = self._speculations.get(a.user_id)
                if not (
                    a.speculative
                    and held is not None
                    and (held.capture_id, held.samples) == (a.capture_id, len(a.pcm) // 2)
                ):
                    held = None  # never a transcript of other audio
                    self._discard_speculation(a.user_id)
                self._speculations.pop(a.user_id, None)
                self.ctx.start_soon(self._transcribe, a, held)
            elif isinstance(a, Dropped):
                self._reset_vad(a.user_id)
                self._discard_speculation(a.user_id)
                self._dropped[a.reason.value] = self._dropped.get(a.reason.value, 0) + 1
                if a.promoted:
                    await self._room_changed()
            elif isinstance(a, Promoted):
                self._active_at = trio.current_time()  # barge-in, coalescing: desk.speaking()
        if actions:
            self._changed()

    async def _check_turn(self, check: CheckTurn) -> None:
        try:
            p = await self.models.turn.complete_probability(check.pcm)
        except ModelError as exc:
            log.warning("voice: end-of-turn model failed: %s", exc)
            return  # the silence fallback decides
        await self.ctx.ref.tell(
            _TurnChecked(user_id=check.user_id, check_id=check.check_id, probability=p)
        )

    @handles(_TurnChecked)
    async def turn_checked(self, msg: _TurnChecked) -> None:
        now = trio.current_time()
        await self._carry_out(
            self.desk.turn_checked(msg.user_id, msg.check_id, msg.probability, now)
        )

    def _discard_speculation(self, uid: int) -> None:
        spec = self._speculations.pop(uid, None)
        if spec is not None:
            spec.scope.cancel()  # frees the recogniser if it has not started yet

    async def _speculate(self, spec: _Speculation, pcm: bytes) -> None:
        """Transcribe the audio so far while the end-of-turn model decides."""
        with spec.scope:
            try:
                names = ", ".join(self.config.bot_names)
                spec.transcript = await self.models.transcriber.transcribe(
                    pcm, self.config.input_rate, prompt=names
                )
            except ModelError as exc:
                log.info("voice: speculative recognition failed: %s", exc)
        spec.finished_at = trio.current_time()
        spec.done.set()

    async def _transcribe(self, f: Finalized, spec: _Speculation | None = None) -> None:
        text, logprob, no_speech, error = "", None, None, None
        t: Transcript | None = None
        asr, started = "fresh", trio.current_time()
        if spec is not None:
            await spec.done.wait()
            if spec.transcript is not None:  # else (it failed): recognise afresh
                t, asr, started = spec.transcript, "speculative", spec.started_at
        try:
            if t is None:
                names = ", ".join(self.config.bot_names)
                t = await self.models.transcriber.transcribe(
                    f.pcm, self.config.input_rate, prompt=names
                )
            text, logprob, no_speech = t.text, t.avg_logprob, t.no_speech_prob
        except ModelError as exc:
            error = str(exc)
        finished = spec.finished_at if asr == "speculative" and spec else trio.current_time()
        assert finished is not None
        await self.ctx.ref.tell(
            _Transcribed(
                user_id=f.user_id,
                capture_id=f.capture_id,
                text=text,
                avg_logprob=logprob,
                no_speech_prob=no_speech,
                started_at=f.started_at,
                ended_at=f.ended_at,
                decided_at=f.decided_at,
                speech_seconds=f.speech_seconds,
                banked=f.banked,
                reason=f.reason.value,
                error=error,
                asr=asr,
                asr_seconds=finished - started,
            )
        )

    @handles(_Transcribed)
    async def transcribed(self, msg: _Transcribed) -> None:
        now = trio.current_time()
        self._transcribing.discard(msg.user_id)
        if msg.error is not None:
            await self._log("voice_asr_failed", msg.user_id, msg.error)
            await self._room_changed()
            return
        u = Utterance(
            user_id=msg.user_id,
            name=self._name(msg.user_id),
            text=msg.text.strip(),
            started_at=msg.started_at,
            ended_at=msg.ended_at,
            decided_at=msg.decided_at,
            transcribed_at=now,
            speech_seconds=msg.speech_seconds,
            capture_id=msg.capture_id,
            avg_logprob=msg.avg_logprob,
            no_speech_prob=msg.no_speech_prob,
            banked=msg.banked,
            asr=msg.asr,
        )
        reason = noise_gate(u)
        meta = {
            "capture_id": msg.capture_id,
            "end_reason": msg.reason,
            "speech_seconds": round(msg.speech_seconds, 3),
            "avg_logprob": msg.avg_logprob,
            "asr": msg.asr,  # fresh, or speculative (started at the end-of-turn check)
            "asr_seconds": round(msg.asr_seconds, 3),  # the recognition's own time
            "transcript_wait": round(now - msg.decided_at, 3),  # end decided -> transcript
            "gate": reason,
        }
        await self._log("voice_transcript", msg.user_id, u.text, meta)
        if reason is not None:
            self._dropped[reason] = self._dropped.get(reason, 0) + 1
            await self._room_changed()
            return
        await self._store_line(msg.user_id, u.name, u.text, is_bot=False)
        if u.banked:
            self.room.bank(u)
            await self._room_changed()
            return
        turn = self.room.add(u, now, busy=self._busy())
        if turn is not None:
            await self._handle_turn(turn)
        self._changed()

    def _busy(self) -> set[int]:
        return self.desk.speaking() | self._transcribing

    async def _room_changed(self) -> None:
        turn = self.room.room_changed(trio.current_time(), busy=self._busy())
        if turn is not None:
            await self._handle_turn(turn)

    # -- turns and replies ----------------------------------------------------------------------

    async def _handle_turn(self, turn: RoomTurn) -> None:
        now = trio.current_time()
        r = self._reply
        if (
            r is not None
            and self.output.phase(now) is Phase.RESPONSE_PENDING
            and set(turn.speakers) & set(r.turn.speakers)
        ):
            # supersede: the same speaker said more before we answered; answer both
            await self._cancel_reply(r, "superseded")
            turn = r.turn.merged(turn)
        if r is not None and turn.addressed and r.first_audio_at is not None:
            # named while speaking: a wake word interrupts (unless the policy is nobody)
            check = check_barge_in(
                self.config.barge_in,
                user_id=turn.last.user_id,
                bot_audio_out=self.output.phase(now)
                in (Phase.SPEAKING_LIVE, Phase.SPEAKING_BUFFERED),
                bot_audio_started_at=r.first_audio_at,
                reply_targets=r.turn.speakers,
                speech_seconds=turn.last.speech_seconds,
                named_bot=True,
                now=now,
            )
            if check.interrupt:
                await self._barge_in(r, turn.last.user_id, check.reason, now)
        if await self._music_turn(turn, now):
            return  # a music command, done (music_actor.py)
        verdict = admit(
            turn,
            output_busy=self.output.busy(now),
            music_playing=self._music_playing and not self.music.latched(turn.last.user_id, now),
            command_only=self.config.command_only,
            muted=self.muted,
        )
        meta = {"verdict": verdict.verdict.value, "reason": verdict.reason}
        await self._log("voice_admission", turn.last.user_id, turn.last.text, meta)
        if verdict.verdict is Verdict.DEFER:
            self.deferred.push(turn)
        elif verdict.verdict is Verdict.ADMIT:
            await self._start_reply(turn)

    async def _greet(self) -> None:
        """Ask the model for a short greeting with the synthetic join event (it may skip)."""
        self._greet_pending = False
        if self._reply is not None or self.muted:
            return  # someone spoke first (that answer is the greeting), or muted
        now = trio.current_time()
        event = Utterance(
            user_id=self.config.bot_user_id,
            name=self._bot_name,
            text=JOIN_EVENT,
            started_at=now,
            ended_at=now,
            decided_at=now,
            transcribed_at=now,
            speech_seconds=0.0,
        )
        await self._log("voice_join_greeting", None, JOIN_EVENT, {"source": "bot_join_greeting"})
        await self._start_reply(RoomTurn(utterances=(event,), addressed=False, at=now))

    async def _say(self, turn: RoomTurn | None, text: str) -> bool:
        """Speak a fixed line (a music confirmation) as a reply of its own, with no model;
        False when the bot is already saying something (then it says nothing)."""
        now = trio.current_time()
        if self.muted or not text:
            return False
        if self._reply is not None and self.output.phase(now) is not Phase.IDLE:
            return False
        if turn is None:
            u = Utterance(
                user_id=self.config.bot_user_id,
                name=self._bot_name,
                text=text,
                started_at=now,
                ended_at=now,
                decided_at=now,
                transcribed_at=now,
                speech_seconds=0.0,
            )
            turn = RoomTurn(utterances=(u,), addressed=True, at=now)
        reply = _Reply(reply_id=self._next_reply, turn=turn, started_at=now, text=text)
        reply.skip, reply.generation_done = False, True
        self._next_reply += 1
        self._reply = reply
        self.output.reply_started(reply.reply_id, now)
        await self._music_speaking(True, now)
        send, receive = trio.open_memory_channel[str](1)
        self.ctx.start_soon(self._speak, reply, receive)
        async with send:
            await send.send(text)
        return True

    async def _start_reply(self, turn: RoomTurn) -> None:
        now = trio.current_time()
        greeting = turn.last.user_id == self.config.bot_user_id
        reply = _Reply(reply_id=self._next_reply, turn=turn, started_at=now, greeting=greeting)
        self._next_reply += 1
        self._reply = reply
        self.output.reply_started(reply.reply_id, now)
        await self._music_speaking(True, now)  # duck before any audio (clankvox drops speech
        # sent over un-ducked music)
        history, text_lines = await self._context(turn_stored=not greeting)
        remembered = None if greeting else await self._remembered(turn, reply.reply_id)
        interrupted, self._interrupted = self._interrupted, None
        bot_name = self._bot_name
        said = (
            greeting_prompt(history=history, text_channel=text_lines)
            if greeting
            else user_prompt(
                turn=turn,
                history=history,
                text_channel=text_lines,
                interrupted=interrupted,
                remembered=remembered,
            )
        )
        tools = self.config.tools if not greeting else None
        request = LlmRequest(
            tools=tuple(t.spec for t in tools.enabled()) if tools is not None else (),
            system=(
                SystemPart(
                    text=system_prompt(
                        bot_name=bot_name,
                        channel_name=self.config.channel_name,
                        persona=self.config.persona,
                        speakers=len(self._listening) or len(turn.speakers),
                        soundboard=self._soundboard_prompt(),
                    )
                ),
                *((VOICE_TOOL_GUIDANCE,) if tools is not None else ()),
            ),
            messages=(user(said),),
            max_tokens=self.config.reply_max_tokens,
            timeout=self.config.reply_timeout,
            context=CallContext(
                purpose="voice_greeting" if greeting else "voice_reply",
                guild_id=self.config.guild_id,
                channel_id=self.config.channel_id,
                user_id=turn.last.user_id,
            ),
        )
        reply.request = request
        send, receive = trio.open_memory_channel[Piece](64)
        reply.send = send
        self.ctx.start_soon(self._speak, reply, receive)
        try:
            await self.ctx.lookup(self.config.llm).ask(
                StreamTo(request=request, deliver_to=self.config.name, stream_id=reply.reply_id)
            )
        except ActorError as exc:
            await self._reply_failed(reply, f"the Llm actor is unavailable: {exc}")

    @handles(LlmStreamText)
    async def stream_text(self, msg: LlmStreamText) -> None:
        r = self._reply
        if r is None or r.reply_id != msg.stream_id or r.skip:
            return
        if r.first_token_at is None:
            r.first_token_at = trio.current_time()
        r.text += msg.text
        if r.skip is None:
            r.skip = skip_state(r.text)
            if r.skip is None:
                return
            if r.skip:
                await self._finish_skip(r)
                return
            sentences = self._split(r, r.markers.feed(r.text))
        else:
            sentences = self._split(r, r.markers.feed(msg.text))
        await self._queue_sentences(r, sentences)

    @handles(LlmStreamEnded)
    async def stream_ended(self, msg: LlmStreamEnded) -> None:
        r = self._reply
        if r is None or r.reply_id != msg.stream_id:
            return
        if msg.failure is not None:
            await self._reply_failed(r, f"{msg.failure.kind}: {msg.failure.message}")
            return
        if msg.response is not None and msg.response.tool_calls and not r.tool_round:
            r.tool_round = True
            await self._queue_sentences(r, [*r.splitter.finish()])  # "let me check", said now
            r.splitter = SentenceSplitter()
            self.ctx.start_soon(self._run_tools, r, msg.response)
            return
        if r.skip is None:
            r.skip = skip_state(r.text) is not False
            if r.skip:
                await self._finish_skip(r)
                return
            await self._queue_sentences(r, self._split(r, r.markers.feed(r.text)))
        if r.skip:
            return
        r.generation_done = True
        await self._queue_sentences(r, [*self._split(r, r.markers.finish()), *r.splitter.finish()])
        if r.send is not None:
            await r.send.aclose()

    def _registered(self, name: str) -> ActorRef | None:
        try:
            return self.ctx.lookup(name)
        except NotRegistered:
            return None

    async def _run_tools(self, r: _Reply, response: LlmResponse) -> None:
        """The answer's one round of tool calls, then the answer streamed again with the
        results (tool_step.py). A reply cut off meanwhile drops the results."""
        assert r.request is not None and self.config.tools is not None
        store = StoreClient(self.ctx.lookup(self.config.store)) if self.config.store else None
        context = ToolContext(
            guild_id=self.config.guild_id,
            channel_id=self.config.channel_id,
            message_id=0,  # a voice turn has no message
            user_id=r.turn.last.user_id,
            lookup=self.ctx.lookup,  # `music` asks this brain (its calls run in a task)
            services=self._registered,  # the memory tools find the memory service
        )
        try:
            request = await follow_up_request(
                r.request,
                response,
                self.config.tools,
                context,
                store=store,
                timeout=VOICE_TOOL_TIMEOUT,
                reply_id=r.reply_id,
            )
        except ActorError as exc:
            request, why = None, str(exc)
        else:
            why = "the model's tool calls could not be run"
        if self._reply is not r:
            return
        if request is None:
            await self._reply_failed(r, why)
            return
        if r.text and not r.text.endswith((" ", "\n")):
            r.text += " "
        try:
            await self.ctx.lookup(self.config.llm).ask(
                StreamTo(request=request, deliver_to=self.config.name, stream_id=r.reply_id)
            )
        except ActorError as exc:
            await self._reply_failed(r, f"the Llm actor is unavailable: {exc}")

    def _split(self, r: _Reply, pieces: list[Piece]) -> list[Piece]:
        """Sentences to speak, and soundboard cues after the sentences before them."""
        out: list[Piece] = []
        for p in pieces:
            if isinstance(p, SoundCue):
                out += r.splitter.finish()  # what came before the cue is said before it
                r.splitter = SentenceSplitter()
                out.append(p)
            else:
                out += r.splitter.feed(p)
        return out

    async def _queue_sentences(self, r: _Reply, sentences: list[Piece]) -> None:
        if r.send is None:
            return
        for s in sentences:
            await r.send.send(s)

    async def _speak(self, r: _Reply, sentences: trio.MemoryReceiveChannel[Piece]) -> None:
        """Synthesize each sentence as it comes and queue its audio to clankvox."""
        error: str | None = None
        link = self.ctx.lookup(self.config.link)
        synth = self.models.synth
        with r.scope:
            try:
                async with sentences:
                    async for sentence in sentences:
                        if isinstance(sentence, SoundCue):  # after the speech before it
                            await self._play_cue(
                                r.reply_id,
                                r.turn.last.user_id,
                                sentence,
                                told=lambda: r.chunks_seen >= r.chunks_sent,
                            )
                            continue
                        # aclosing: a barge-in cancels mid-sentence; the generator is closed
                        # at once (no synthesis left running, no unfinished generator to GC)
                        async with contextlib.aclosing(synth.synthesize(sentence)) as chunks:
                            await self._speak_chunks(r, link, synth, sentence, chunks)
            except (ModelError, ActorError) as exc:
                error = str(exc)
            await self.ctx.ref.tell(_SpeechFinished(reply_id=r.reply_id, error=error))

    async def _speak_chunks(
        self,
        r: _Reply,
        link: ActorRef,
        synth: SpeechSynth,
        sentence: str,
        chunks: AsyncIterator[bytes],
    ) -> None:
        async for pcm in chunks:
            if not pcm:
                continue
            # backpressure: clankvox holds at most 15 s and drops the rest; keep no more than
            # QUEUE_AHEAD seconds queued ahead of playback (a barge-in then has less to clear)
            ahead = self.output.ahead_seconds(trio.current_time())
            if ahead > QUEUE_AHEAD:
                await trio.sleep(ahead - QUEUE_AHEAD)  # playback runs at 1 s per second
            await link.ask(SpeakPcm(pcm=pcm, sample_rate=synth.sample_rate))
            r.chunks_sent += 1
            await self.ctx.ref.tell(
                _AudioQueued(
                    reply_id=r.reply_id,
                    text=sentence,
                    samples=len(pcm) // 2,
                    rate=synth.sample_rate,
                )
            )
            sentence = ""  # later chunks of the same sentence add no text

    @handles(_AudioQueued)
    async def audio_queued(self, msg: _AudioQueued) -> None:
        r = self._reply
        if r is None or r.reply_id != msg.reply_id:
            return
        now = trio.current_time()
        self.output.audio_queued(msg.reply_id, msg.text, msg.samples, msg.rate, now)
        r.chunks_seen += 1
        self._output_moved()
        self._active_at = now
        if msg.text:
            r.spoken.append(msg.text)
        if r.first_audio_at is None:
            r.first_audio_at = now
            r.loud.clear()
            await self._log_turn(r, "first_audio")
        self._changed()

    @handles(_SpeechFinished)
    async def speech_finished(self, msg: _SpeechFinished) -> None:
        r = self._reply
        if r is None or r.reply_id != msg.reply_id:
            return
        now = trio.current_time()
        if msg.error is not None:
            await self._log("voice_tts_failed", r.turn.last.user_id, msg.error)
        self.output.reply_made(r.reply_id, now)
        spoken = " ".join(r.spoken)
        if spoken:
            await self._store_line(self.config.bot_user_id, self._bot_name, spoken, is_bot=True)
        self._record(r, "spoken" if msg.error is None else "failed")
        await self._output_changed()

    async def _finish_skip(self, r: _Reply) -> None:
        await self._stop_stream(r)
        r.scope.cancel()
        self.output.reply_made(r.reply_id, trio.current_time())
        self._reply = None
        self._record(r, "skipped")
        await self._log("voice_skip", r.turn.last.user_id, r.turn.last.text)
        await self._output_changed()

    async def _reply_failed(self, r: _Reply, why: str) -> None:
        r.scope.cancel()
        self.output.reply_made(r.reply_id, trio.current_time())
        self._reply = None
        self._record(r, "failed")
        await self._log("voice_reply_failed", r.turn.last.user_id, why)
        await self._output_changed()

    async def _cancel_reply(self, r: _Reply, outcome: str) -> None:
        await self._stop_stream(r)
        r.scope.cancel()
        self.output.reply_made(r.reply_id, trio.current_time())
        self._reply = None
        self._record(r, outcome)

    async def _stop_stream(self, r: _Reply) -> None:
        if not r.generation_done:
            with contextlib.suppress(ActorError):
                await self.ctx.lookup(self.config.llm).tell(
                    CancelStream(deliver_to=self.config.name, stream_id=r.reply_id)
                )

    # -- barge-in -------------------------------------------------------------------------------

    async def _maybe_barge_in(self, uid: int, probabilities: list[float], now: float) -> None:
        r = self._reply
        if r is None or r.first_audio_at is None:
            return
        cfg = self.config.barge_in
        loud = sum(1 for p in probabilities if p >= cfg.vad_threshold)
        r.loud[uid] = r.loud.get(uid, 0.0) + loud * self.config.capture.frame_seconds
        if uid not in self.desk.speaking():
            return
        phase = self.output.phase(now)
        check = check_barge_in(
            cfg,
            user_id=uid,
            bot_audio_out=phase in (Phase.SPEAKING_LIVE, Phase.SPEAKING_BUFFERED),
            bot_audio_started_at=r.first_audio_at,
            reply_targets=(uid,) if r.greeting else r.turn.speakers,
            speech_seconds=r.loud[uid],
            named_bot=False,
            now=now,
        )
        if not check.interrupt:
            return
        await self._barge_in(r, uid, check.reason, now)

    @handles(SetBrainMuted)
    async def set_muted(self, msg: SetBrainMuted) -> None:
        """The operator's mute: what it is saying is cut off; it hears on, and says nothing."""
        if msg.muted == self.muted:
            return
        self.muted = msg.muted
        await self._log("voice_mute", None, "muted" if msg.muted else "unmuted", {})
        if msg.muted:
            self._greet_pending = False
            if self._reply is not None:
                await self._barge_in(self._reply, None, "muted", trio.current_time(), by="a mute")

    @handles(CutOff)
    async def cut_off(self, msg: CutOff) -> None:
        r = self._reply
        if r is None:
            await self.ctx.lookup(self.config.link).tell(StopSpeaking())
            return
        await self._barge_in(r, None, "cut_off", trio.current_time(), by=msg.by)

    async def _barge_in(
        self, r: _Reply, uid: int | None, reason: str, now: float, *, by: str | None = None
    ) -> None:
        """Cut the bot off: clankvox's TTS cleared, generation and synthesis cancelled, what
        was heard stored and kept for the next prompt."""
        await self.ctx.lookup(self.config.link).tell(StopSpeaking())
        await self._stop_stream(r)
        r.scope.cancel()
        _, seconds, heard = self.output.stopped(now)
        self._reply = None
        self._barge_ins += 1
        meant = " ".join(r.spoken) or r.text
        who = by if by is not None else self._name(uid) if uid is not None else "someone"
        self._interrupted = Interruption(heard=heard, meant=meant, by=who)
        self._record(r, "interrupted")
        if heard:
            await self._store_line(self.config.bot_user_id, self._bot_name, heard, is_bot=True)
        meta = {"reason": reason, "played_seconds": round(seconds, 3), "heard": heard}
        await self._log("voice_barge_in", uid, meant, meta)
        self._changed()

    # -- status, context, logging ---------------------------------------------------------------

    @handles(GetVoiceBrainStatus)
    async def status(self, msg: GetVoiceBrainStatus) -> VoiceBrainStatus:
        return VoiceBrainStatus(
            phase=self.output.phase(trio.current_time()).value,
            speaking=sorted(self.desk.speaking()),
            listening=sorted(self._listening),
            deferred=len(self.deferred),
            turns=list(self._turns),
            barge_ins=self._barge_ins,
            dropped=dict(self._dropped),
            names={
                str(uid): self._names[uid]
                for uid in {*self.desk.speaking(), *self._listening}
                if uid in self._names
            },
            muted=self.muted,
        )

    @property
    def _bot_name(self) -> str:
        return self.config.bot_names[0] if self.config.bot_names else "clanker"

    def _name(self, uid: int) -> str:
        if uid == self.config.bot_user_id:
            return self._bot_name
        return self._names.get(uid, f"member {uid}")

    def _record(self, r: _Reply, outcome: str) -> None:
        """Keep the turn's record (a later outcome of the same reply replaces the earlier one:
        all of it queued, then cut off while clankvox still played it)."""
        u = r.turn.last
        stages = _stages(r, u)
        for old in [t for t in self._turns if t.reply_id == r.reply_id]:
            self._turns.remove(old)
        self._turns.append(
            TurnRecord(
                reply_id=r.reply_id,
                speakers=[self._name(s) for s in r.turn.speakers],
                said=" / ".join(x.text for x in r.turn.utterances),
                reply=strip_markers(r.text),
                outcome=outcome,
                asr=u.asr,
                **stages,
            )
        )

    async def _log_turn(self, r: _Reply, what: str) -> None:
        u = r.turn.last
        meta: dict[str, object] = {"reply_id": r.reply_id, "asr": u.asr, **_stages(r, u)}
        await self._log("voice_turn", u.user_id, u.text, meta)

    async def _remembered(self, turn: RoomTurn, reply_id: int) -> str | None:
        """What is remembered about this turn's speakers and the guild (bounded: a spoken
        answer waits at most `VOICE_RECALL_TIMEOUT` for it)."""
        name = self.config.memory
        if name is None:
            return None

        def memory() -> ActorRef | None:
            try:
                return self.ctx.lookup(name)
            except NotRegistered:
                return None

        speakers = [u for u in turn.speakers if u != self.config.bot_user_id]
        if not speakers:
            return None
        scope = reply_scope(
            guild_id=self.config.guild_id,
            speaker_id=turn.last.user_id,
            participant_ids=speakers,
            bot_user_id=self.config.bot_user_id,
        )
        return await recall_section(
            memory,
            scope,
            [u.text for u in turn.utterances],
            {uid: self._name(uid) for uid in speakers},
            channel_id=self.config.channel_id,
            job_id=reply_id,
            timeout=VOICE_RECALL_TIMEOUT,
        )

    async def _context(self, *, turn_stored: bool = True) -> tuple[list[Line], list[Line]]:
        if self.config.store is None:
            return [], []
        history = await self._recent(self.config.channel_id, self.config.history_lines)
        text: list[Line] = []
        if self.config.text_channel_id is not None:
            text = await self._recent(self.config.text_channel_id, self.config.text_lines)
        # the turn itself is in the history already (stored as it came): leave it to the turn
        return history[:-1] if history and turn_stored else history, text

    async def _recent(self, channel_id: int, limit: int) -> list[Line]:
        assert self.config.store is not None
        try:
            rows = await self.ctx.lookup(self.config.store).ask(
                RecentMessages(channel_id=channel_id, limit=limit), MessageRows, timeout=5.0
            )
        except (ActorError, trio.TooSlowError) as exc:
            log.info("voice: no context from the store: %s", exc)
            return []
        return [
            Line(
                speaker="You" if r.author_id == self.config.bot_user_id else r.author_name,
                text=r.content,
            )
            for r in rows.rows
        ]

    async def _store_line(self, uid: int, name: str, text: str, *, is_bot: bool) -> None:
        if self.config.store is None or not text:
            return
        self._seq = (self._seq + 1) % 4096
        ms = int(time.time() * 1000)
        # A snowflake-shaped id for a spoken line: the time, then bits no Discord id has set
        # in that place for us (worker 31, process 31), then a counter; journals mark it voice.
        message_id = spoken_line_id(ms, self._seq)
        try:
            await self.ctx.lookup(self.config.store).tell(
                StoreMessage(
                    message_id=message_id,
                    guild_id=self.config.guild_id,
                    channel_id=self.config.channel_id,
                    author_id=uid,
                    author_name=name,
                    content=text,
                    created_at=to_iso(datetime.now(UTC)),
                    is_bot=is_bot,
                )
            )
        except ActorError as exc:
            log.info("voice: transcript not stored: %s", exc)

    async def _log(
        self, kind: str, uid: int | None, content: str, meta: Mapping[str, object] | None = None
    ) -> None:
        if self.config.store is None:
            return
        try:
            await self.ctx.lookup(self.config.store).tell(
                LogAction(
                    kind=kind,
                    guild_id=self.config.guild_id,
                    channel_id=self.config.channel_id,
                    user_id=uid,
                    content=content[:2000],
                    metadata=to_json(dict(meta or {})),
                )
            )
        except ActorError as exc:
            log.info("voice: %s not logged: %s", kind, exc)


def _stages(r: _Reply, u: Utterance) -> dict[str, float | None]:
    def gap(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else round(b - a, 4)

    return {
        "speech_end_to_decided": gap(u.ended_at, u.decided_at),
        "decided_to_transcript": gap(u.decided_at, u.transcribed_at),
        "transcript_to_first_token": gap(u.transcribed_at, r.first_token_at),
        "first_token_to_first_audio": gap(r.first_token_at, r.first_audio_at),
        "speech_end_to_first_audio": gap(u.ended_at, r.first_audio_at),
    }


__all__ = ["GetVoiceBrainStatus", "TurnRecord", "VoiceBrain", "VoiceBrainStatus"]
