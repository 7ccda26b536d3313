"""`VoiceLink`: one guild's voice connection as the rest of clanker sees it.

It is the target of the voice session's pipe actors (every clankvox event and lifecycle notice
comes here) and the one actor that talks to the Discord bridge about voice. A thin loop around
`VoiceJoin` (`join.py`): on start it asks the bridge to send op 4; the guild session forwards the
bot's VOICE_STATE_UPDATE / VOICE_SERVER_UPDATE; once the five values clankvox needs are known it
tells the `Clankvox` actor `Connect`; after a clankvox restart (`ClankvoxStarted`) it sends
`Connect` and the subscriptions again. On a graceful stop it sends op 4 with no channel (the pipe
actors, stopped first, have ended clankvox by then).

It also serves the session: `SpeakPcm` streams TTS PCM in, `ListenTo` subscribes to a user
(optionally delivering that user's audio to another actor), and it keeps a bounded log of
events and, with `record_audio`, each listened user's PCM (what the tests read).
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass

import msgspec
import trio

from clanker.discord.events import (
    BridgeFailure,
    Done,
    SendGatewayOp,
    VoiceServerChanged,
    VoiceStateChanged,
)
from clanker.runtime import (
    Actor,
    ActorContext,
    ActorError,
    MailboxSpec,
    Message,
    NotRegistered,
    handles,
)
from clanker.voice.commands import Audio, ClankvoxCommand, DaveVerificationCode, StopTtsPlayback
from clanker.voice.events import (
    AdapterSend,
    BufferDepth,
    ClankvoxEvent,
    ClientDisconnect,
    DaveState,
    DaveVerificationCodeEvent,
    Error,
    MusicError,
    MusicGainReached,
    MusicIdle,
    PlayerState,
    Ready,
    SpeakingEnd,
    SpeakingStart,
    TtsPlaybackState,
    UserAudio,
    UserAudioEnd,
)
from clanker.voice.join import (
    READY_DEADLINE,
    GatewayVoiceState,
    JoinAction,
    JoinFailed,
    Subscription,
    VoiceJoin,
)
from clanker.voice.link_messages import (
    GetHeard,
    GetVerificationCode,
    GetVoiceLinkStatus,
    GetVoiceLog,
    GetVoiceMute,
    Heard,
    Listening,
    ListenTo,
    MusicControl,
    ObserveVoice,
    Observing,
    RequestVerificationCode,
    SetSelfMute,
    SpeakPcm,
    SpeechQueued,
    StopListening,
    StopSpeaking,
    VerificationCode,
    VerificationCodeRequested,
    VoiceLinkStatus,
    VoiceLog,
    VoiceLogEntry,
    VoiceMute,
)
from clanker.voice.messages import ClankvoxExited, ClankvoxStarted, PipeClosed

log = logging.getLogger("clanker.voice")

_CHUNK_SECONDS = 1.0  # SpeakPcm is split into audio lines of at most this much speech
_LOG_SIZE = 20_000
# What an ObserveVoice observer is told, besides speaking_start and user_audio_end.
_OBSERVED = (
    SpeakingEnd,
    ClientDisconnect,
    TtsPlaybackState,
    BufferDepth,
    PlayerState,
    Ready,
    MusicIdle,
    MusicError,
    MusicGainReached,
)
_MAX_RECORDED_BYTES = 64 * 1024 * 1024  # per user; older audio is dropped beyond it
_BRIDGE_ATTEMPTS = 5


class VoiceLinkFailed(RuntimeError):
    """The link could not do what joining needs (e.g. the gateway refused op 4 repeatedly)."""


@dataclass(frozen=True)
class VoiceLinkConfig:
    """One voice connection: where, who, and the names of the actors it talks to."""

    guild_id: int
    channel_id: int
    user_id: int  # the bot's own user id
    clankvox: str  # registered name of the session's `Clankvox` actor
    bridge: str = "discord"
    self_mute: bool = False
    # Who keeps the mute (the guild session): a restarted link asks it (`GetVoiceMute`), as
    # the operator may have muted the bot since this config was made.
    mute_owner: str | None = None
    mode: str | None = None  # force a transport encryption mode (tests)
    record_audio: bool = False
    # Seconds a connect attempt may take to reach clankvox's `ready` (then: retry, backed off).
    ready_deadline: float = READY_DEADLINE


class VoiceLink(Actor):
    """See the module docstring."""

    # Audio frames arrive at 50 per second per speaker: room for a few seconds of backlog.
    mailbox = MailboxSpec(capacity=2048)

    def __init__(self, config: VoiceLinkConfig) -> None:
        self.config = config
        self.join = VoiceJoin(
            guild_id=config.guild_id,
            channel_id=config.channel_id,
            user_id=config.user_id,
            self_mute=config.self_mute,
            mode=config.mode,
            clock=trio.current_time,
            ready_deadline=config.ready_deadline,
        )
        self._timers_changed = trio.Event()
        self._stopping = False  # in on_stop: a bridge that is gone is not retried
        self.dave: DaveState | None = None
        self.clankvox_starts = 0
        self.readies = 0
        self.audio_frames = 0
        self.delivery_drops = 0
        self._log: deque[VoiceLogEntry] = deque(maxlen=_LOG_SIZE)
        self._next_index = 0
        self._deliver: dict[str, str] = {}  # user id -> actor name
        self._observer: str | None = None  # gets the room's events (ObserveVoice)
        self._heard: dict[str, bytearray] = {}
        self._heard_frames: dict[str, int] = {}
        # user id -> the latest dave_verification_code answer (None: asked, not yet answered)
        self._verification: dict[str, DaveVerificationCodeEvent | None] = {}

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx
        # The network part (op 4 through the bridge, then clankvox's connect) runs in the
        # background after on_start returns, so a slow bridge holds up neither the voice
        # supervisor nor the mailbox: `GetVoiceLinkStatus` reports where the join is meanwhile.
        # A join that fails for good raises VoiceLinkFailed there, which crashes the link.
        ctx.start_soon(self._join)
        ctx.start_soon(self._timers)

    async def _join(self) -> None:
        owner = self.config.mute_owner
        if owner is not None and self.ctx.incarnation > 1:
            # A fresh incarnation knows the mute of when the call began: ask its keeper.
            try:
                reply = await self.ctx.lookup(owner).ask(GetVoiceMute(), VoiceMute, timeout=2.0)
            except ActorError as exc:
                log.warning("voice link: could not ask %s about the mute: %s", owner, exc)
            else:
                self.join.self_mute = reply.muted
        await self._carry_out(self.join.start())

    async def on_stop(self) -> None:
        leave: list[JoinAction] = [a for a in self.join.leave() if isinstance(a, GatewayVoiceState)]
        self._stopping = True
        with trio.move_on_after(5.0):
            await self._carry_out(leave)

    # -- the gateway's updates (forwarded by the guild session) ---------------------------------

    @handles(VoiceStateChanged)
    async def voice_state(self, msg: VoiceStateChanged) -> None:
        await self._carry_out(
            self.join.voice_state(
                guild_id=msg.guild_id,
                user_id=msg.user_id,
                channel_id=msg.channel_id,
                session_id=msg.session_id,
            )
        )

    @handles(VoiceServerChanged)
    async def voice_server(self, msg: VoiceServerChanged) -> None:
        await self._carry_out(
            self.join.voice_server(guild_id=msg.guild_id, endpoint=msg.endpoint, token=msg.token)
        )

    # -- clankvox -------------------------------------------------------------------------------

    @handles(ClankvoxStarted)
    async def started(self, msg: ClankvoxStarted) -> None:
        self.clankvox_starts += 1
        self.dave = None  # a new process has a new call state
        self._verification.clear()  # and new keys: earlier codes no longer hold
        self._record("clankvox_started", None, msg)
        await self._carry_out(self.join.clankvox_started())

    @handles(ClankvoxExited)
    async def exited(self, msg: ClankvoxExited) -> None:
        self._record("clankvox_exited", None, msg)

    @handles(PipeClosed)
    async def pipe_closed(self, msg: PipeClosed) -> None:
        self._record("pipe_closed", None, msg)

    @handles(UserAudio)
    async def user_audio(self, msg: UserAudio) -> None:
        self.audio_frames += 1
        self._record("user_audio", msg.user_id, None, detail=str(len(msg.pcm) // 2))
        if self.config.record_audio:
            buffer = self._heard.setdefault(msg.user_id, bytearray())
            buffer += msg.pcm
            if len(buffer) > _MAX_RECORDED_BYTES:
                del buffer[: len(buffer) - _MAX_RECORDED_BYTES]
            self._heard_frames[msg.user_id] = self._heard_frames.get(msg.user_id, 0) + 1
        self._forward(msg.user_id, msg)

    @handles(ClankvoxEvent)
    async def event(self, msg: ClankvoxEvent) -> None:
        kind = str(type(msg).__struct_config__.tag)
        user_id = getattr(msg, "user_id", None)
        self._record(kind, user_id if isinstance(user_id, str) else None, msg)
        if isinstance(msg, Ready):
            self.readies += 1
            self.join.clankvox_ready()
            self._timers_changed.set()
        elif isinstance(msg, DaveState):
            self.dave = msg
        elif isinstance(msg, DaveVerificationCodeEvent):
            self._verification[msg.user_id] = msg
        elif isinstance(msg, Error):
            log.warning("voice: clankvox error %s: %s", msg.code, msg.message)
            await self._carry_out(self.join.clankvox_error(msg.code, msg.message))
        elif isinstance(msg, AdapterSend):
            # Only sent after a `join` command (the legacy join flow): the op 4 it asks for is
            # the one we already sent, unless clankvox is rejoining after a failure.
            data = msgspec.to_builtins(msg.payload.d)
            if msg.payload.op == 4 and self.join.is_repeat_of_our_op4(data):
                return
            await self._gateway(SendGatewayOp(op=msg.payload.op, data=data))
        if isinstance(msg, SpeakingStart | UserAudioEnd):
            self._forward(msg.user_id, msg)
            if self._observer is not None and self._observer != self._deliver.get(msg.user_id):
                self._tell_observer(msg)
        elif isinstance(msg, _OBSERVED):
            self._tell_observer(msg)

    # -- the session's requests -----------------------------------------------------------------

    @handles(SpeakPcm)
    async def speak(self, msg: SpeakPcm) -> SpeechQueued:
        step = max(2, int(msg.sample_rate * _CHUNK_SECONDS) * 2)
        chunks = [msg.pcm[i : i + step] for i in range(0, len(msg.pcm), step)]
        for chunk in chunks:
            await self._to_clankvox(Audio(pcm_base64=chunk, sample_rate=msg.sample_rate))
        return SpeechQueued(chunks=len(chunks), samples=len(msg.pcm) // 2)

    @handles(StopSpeaking)
    async def stop_speaking(self, msg: StopSpeaking) -> None:
        await self._to_clankvox(StopTtsPlayback())

    @handles(SetSelfMute)
    async def set_self_mute(self, msg: SetSelfMute) -> None:
        await self._carry_out(self.join.set_self_mute(msg.muted))

    @handles(MusicControl)
    async def music(self, msg: MusicControl) -> None:
        await self._to_clankvox(msg.command)

    @handles(ListenTo)
    async def listen(self, msg: ListenTo) -> Listening:
        subscription = Subscription(
            user_id=msg.user_id,
            sample_rate=msg.sample_rate,
            silence_duration_ms=msg.silence_duration_ms,
            jitter_buffer_ms=msg.jitter_buffer_ms,
        )
        if msg.deliver_to is not None:
            self._deliver[str(msg.user_id)] = msg.deliver_to
        await self._carry_out(self.join.subscribe(subscription))
        return Listening(user_id=msg.user_id)

    @handles(ObserveVoice)
    async def observe(self, msg: ObserveVoice) -> Observing:
        self._observer = msg.deliver_to
        return Observing(deliver_to=msg.deliver_to)

    @handles(StopListening)
    async def stop_listening(self, msg: StopListening) -> None:
        self._deliver.pop(str(msg.user_id), None)
        await self._carry_out(self.join.unsubscribe(msg.user_id))

    @handles(GetVoiceLinkStatus)
    async def status(self, msg: GetVoiceLinkStatus) -> VoiceLinkStatus:
        join = self.join
        return VoiceLinkStatus(
            guild_id=join.guild_id,
            channel_id=join.channel_id,
            phase=str(join.phase),
            session_id=join.session_id,
            endpoint=join.endpoint,
            connects=join.connects,
            clankvox_starts=self.clankvox_starts,
            readies=self.readies,
            audio_frames=self.audio_frames,
            delivery_drops=self.delivery_drops,
            failures=join.failures,
            last_error=join.last_error,
            retry_at=join.retry_at,
            legacy_join=join.legacy,
            dave=self.dave,
            self_mute=join.self_mute,
        )

    @handles(GetVoiceLog)
    async def get_log(self, msg: GetVoiceLog) -> VoiceLog:
        return VoiceLog(
            entries=[e for e in self._log if e.index >= msg.after], next=self._next_index
        )

    @handles(RequestVerificationCode)
    async def request_verification(self, msg: RequestVerificationCode) -> VerificationCodeRequested:
        self._verification[str(msg.user_id)] = None
        await self._to_clankvox(DaveVerificationCode(user_id=str(msg.user_id)))
        return VerificationCodeRequested(user_id=msg.user_id)

    @handles(GetVerificationCode)
    async def verification(self, msg: GetVerificationCode) -> VerificationCode:
        key = str(msg.user_id)
        if key not in self._verification:
            return VerificationCode(user_id=msg.user_id, requested=False)
        answer = self._verification[key]
        if answer is None:
            return VerificationCode(user_id=msg.user_id, requested=True)
        return VerificationCode(
            user_id=msg.user_id, requested=True, code=answer.code, error=answer.error
        )

    @handles(GetHeard)
    async def heard(self, msg: GetHeard) -> Heard:
        key = str(msg.user_id)
        subscription = self.join.subscriptions.get(msg.user_id)
        return Heard(
            user_id=msg.user_id,
            sample_rate=24_000 if subscription is None else subscription.sample_rate,
            pcm=bytes(self._heard.get(key, b"")),
            frames=self._heard_frames.get(key, 0),
        )

    # -- doing ----------------------------------------------------------------------------------

    async def _carry_out(self, actions: list[JoinAction]) -> None:
        for action in actions:
            if isinstance(action, GatewayVoiceState):
                await self._gateway(SendGatewayOp(op=4, data=action.data))
            elif isinstance(action, JoinFailed):
                when = (
                    "clankvox retries on its own backoff"
                    if action.retry_in is None
                    else f"retrying in {action.retry_in:g} s"
                )
                log.warning(
                    "voice: join of guild %d failed (attempt %d): %s; %s",
                    self.config.guild_id,
                    action.attempt,
                    action.reason,
                    when,
                )
                self._record("join_failed", None, None, detail=f"{action.reason}; {when}")
            else:
                await self._to_clankvox(action)
        self._timers_changed.set()

    async def _timers(self) -> None:
        """Run the join's deadlines: a connect attempt that never got ready, a due retry."""
        while True:
            self._timers_changed = trio.Event()
            deadline = self.join.next_deadline()
            with trio.move_on_at(math.inf if deadline is None else deadline):
                await self._timers_changed.wait()
                continue
            await self._carry_out(self.join.poll())

    async def _gateway(self, op: SendGatewayOp) -> None:
        problem = "not attempted"
        for attempt in range(_BRIDGE_ATTEMPTS):
            try:
                reply = await self.ctx.lookup(self.config.bridge).ask(op, timeout=10.0)
            except NotRegistered as exc:
                if self._stopping:
                    # Shutting down after the bridge: its gateway session is gone, and Discord
                    # ends the bot's voice state with it.
                    log.info("voice: no bridge to send the leave (op %d) through: %s", op.op, exc)
                    return
                problem = str(exc)
            except ActorError as exc:
                problem = str(exc)
            else:
                if isinstance(reply, Done):
                    return
                problem = reply.detail if isinstance(reply, BridgeFailure) else repr(reply)
            log.warning("voice: gateway op %d failed (%s), attempt %d", op.op, problem, attempt + 1)
            await trio.sleep(0.5 * 2**attempt)
        raise VoiceLinkFailed(
            f"the Discord bridge ({self.config.bridge!r}) could not send gateway op {op.op} "
            f"for guild {self.config.guild_id}: {problem}"
        )

    async def _to_clankvox(self, command: ClankvoxCommand) -> None:
        try:
            await self.ctx.lookup(self.config.clankvox).tell(command)
        except ActorError as exc:
            # Between processes: the next ClankvoxStarted re-sends what matters (the join and
            # the subscriptions); speech meant for the dead process is gone with it.
            log.info("voice: %s not delivered to clankvox: %s", type(command).__name__, exc)

    def _forward(self, user_id: str, msg: Message) -> None:
        name = self._deliver.get(user_id)
        if name is not None:
            self._try_deliver(name, msg)

    def _tell_observer(self, msg: Message) -> None:
        if self._observer is not None:
            self._try_deliver(self._observer, msg)

    def _try_deliver(self, name: str, msg: Message) -> None:
        """`try_tell` the actor registered as `name`; a full mailbox or a missing actor is a
        counted drop, never a wait (audio keeps flowing for everyone else)."""
        try:
            delivered = self.ctx.lookup(name).try_tell(msg)
        except ActorError:
            delivered = False
        if not delivered:
            self.delivery_drops += 1

    def _record(
        self, kind: str, user_id: str | None, event: msgspec.Struct | None, detail: str = ""
    ) -> None:
        if event is not None:
            detail = msgspec.json.encode(event).decode()
        self._log.append(
            VoiceLogEntry(
                index=self._next_index,
                at=trio.current_time(),
                kind=kind,
                user_id=user_id,
                detail=detail,
            )
        )
        self._next_index += 1
