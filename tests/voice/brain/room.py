"""A voice room on virtual time for the voice brain's tests.

Real: the `VoiceBrain`, the `VoiceLink` and the `Llm` actor (its service, retries and stream
relay). Stand-ins, each at the far end only:
* `PlayoutClankvox` answers the link's commands as clankvox does: `ready` on `connect`, TTS
  `audio` into a buffer that plays out at 48 kHz of trio time with the protocol's telemetry
  (`tts_playback_state buffered/idle`, `buffer_depth` every 500 ms and a final 0),
  `stop_tts_playback` clears it. `member_says` plays a member's speech in as clankvox would
  deliver it: `speaking_start`, then a 20 ms `user_audio` frame every 20 ms.
* `RoomProvider` is the LLM provider (the `ProviderClient` boundary): it records each request
  and streams the answer its `answer` function gives, in pieces `gap` seconds apart.
* `StubModels`: VAD by loudness, end of turn, recognition and synthesis with fixed delays and
  scripted results, so every virtual time in a test is exact.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field

import trio
import trio.lowlevel

from clanker.discord.events import Done, SendGatewayOp, VoiceServerChanged, VoiceStateChanged
from clanker.guilds.messages import LeaveVoice
from clanker.llm import LlmConfig, LlmRequest, ProviderConfig
from clanker.llm.actor import Llm
from clanker.llm.model import ProviderOutput, TextDelta, TextPart, Usage
from clanker.llm.providers import Emit
from clanker.runtime import Actor, ActorContext, ChildSpec, Runtime, SupervisorSpec, handles
from clanker.voice import commands as c
from clanker.voice.brain.actor import VoiceBrain
from clanker.voice.brain.config import VoiceBrainConfig, VoiceModels
from clanker.voice.events import (
    BufferDepth,
    MusicGainReached,
    MusicIdle,
    PlayerState,
    Ready,
    SpeakingStart,
    TtsPlaybackState,
    UserAudio,
    UserAudioEnd,
)
from clanker.voice.link import VoiceLink, VoiceLinkConfig
from clanker.voice.link_messages import GetVoiceMute, VoiceMute
from clanker.voice.models.base import Transcript

GUILD, CHANNEL, BOT = 10, 20, 30
ALICE, BOB = 101, 102
NAMES = {ALICE: "Alice", BOB: "Bob"}
RATE = 16_000
FRAME = RATE // 50  # 20 ms
LOUD = (3000).to_bytes(2, "little", signed=True) * FRAME
QUIET = b"\x00\x00" * FRAME


# -- the far end: clankvox ---------------------------------------------------------------------


@dataclass
class Playout:
    """What the stand-in clankvox played, and when."""

    audio: list[tuple[float, int]] = field(default_factory=list)  # (time, samples at 48 kHz)
    stops: list[float] = field(default_factory=list)
    idle_at: list[float] = field(default_factory=list)  # the buffer drained
    subscriptions: dict[str, int] = field(default_factory=dict)  # user -> sample rate
    buffered: int = 0  # samples at 48 kHz not yet played
    max_buffered: int = 0
    changed: trio.Event = field(default_factory=trio.Event)
    music: list[tuple[float, c.ClankvoxCommand]] = field(default_factory=list)  # (time, cmd)
    player: list[tuple[float, str]] = field(default_factory=list)  # (time, player_state sent)
    gain_target: float = 1.0
    music_state: str = "idle"  # idle | pending | playing | paused
    dropped_audio: list[float] = field(default_factory=list)  # speech over un-ducked music

    def poke(self) -> None:
        self.changed.set()
        self.changed = trio.Event()


class PlayoutClankvox(Actor):
    def __init__(self, playout: Playout) -> None:
        self.playout = playout
        self._playing = False
        self._track = 0
        self._tts_seen = False

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx

    @handles(c.ClankvoxCommand)
    async def command(self, cmd: c.ClankvoxCommand) -> None:
        link = self.ctx.lookup("link")
        p = self.playout
        now = trio.current_time()
        if isinstance(cmd, c.Connect):
            await link.tell(Ready())
        elif isinstance(cmd, c.SubscribeUser):
            p.subscriptions[cmd.user_id] = cmd.sample_rate
        elif isinstance(cmd, c.Audio):
            if p.music_state == "playing" and p.gain_target >= 1.0:
                p.dropped_audio.append(now)  # as clankvox: speech over loud music is dropped
                p.poke()
                return
            self._tts_seen = True
            n = len(cmd.pcm_base64) // 2 * 48_000 // cmd.sample_rate
            p.audio.append((now, n))
            if p.buffered == 0:
                await link.tell(TtsPlaybackState(status="buffered"))
            p.buffered += n
            p.max_buffered = max(p.max_buffered, p.buffered)
            if not self._playing:
                self._playing = True
                self.ctx.start_soon(self._play)
        elif isinstance(cmd, c.MusicPlay | c.MusicPause | c.MusicResume | c.MusicStop):
            await self._music(cmd, now)
        elif isinstance(cmd, c.MusicSetGain):
            p.music.append((now, cmd))
            p.gain_target = cmd.target
            self.ctx.start_soon(self._gain_reached, cmd)
        elif isinstance(cmd, c.StopTtsPlayback):
            p.stops.append(now)
            if p.buffered:
                p.buffered = 0
                await link.tell(TtsPlaybackState(status="idle"))
        p.poke()

    async def _music(self, cmd: c.ClankvoxCommand, now: float) -> None:
        """clankvox's music player (protocol §6.3), without the audio: a track starts once
        the announcement drained + 0.5 s (or after 5 s without one); a stop fades 0.3 s."""
        p = self.playout
        p.music.append((now, cmd))
        if isinstance(cmd, c.MusicPlay):
            self._track += 1
            self._tts_seen = p.buffered > 0
            p.music_state = "pending"
            p.gain_target = 0.0
            self.ctx.start_soon(self._pending, self._track, now)
        elif isinstance(cmd, c.MusicPause) and p.music_state in ("pending", "playing"):
            p.music_state = "paused"
            await self._player("paused")
        elif isinstance(cmd, c.MusicResume) and p.music_state == "paused":
            p.music_state = "playing"
            p.gain_target = 1.0
            await self._player("playing")
        elif isinstance(cmd, c.MusicStop) and p.music_state != "idle":
            self._track += 1
            self.ctx.start_soon(self._stop, 0.3 if p.music_state == "playing" else 0.0)

    async def _stop(self, fade: float) -> None:
        await trio.sleep(fade)
        self.playout.music_state = "idle"
        self.playout.gain_target = 1.0
        await self._player("idle")
        await self.ctx.lookup("link").tell(MusicIdle())

    async def _pending(self, track: int, since: float) -> None:
        p = self.playout
        drained_at: float | None = None
        while self._track == track and p.music_state == "pending":
            now = trio.current_time()
            if p.buffered > 0:
                self._tts_seen, drained_at = True, None
            elif self._tts_seen and drained_at is None:
                drained_at = now
            if (drained_at is not None and now - drained_at >= 0.5 - 1e-9) or (
                not self._tts_seen and now - since >= 5.0 - 1e-9
            ):
                p.music_state = "playing"
                p.gain_target = 1.0
                await self._player("playing")
                return
            await trio.sleep(0.02)

    async def _player(self, status: str) -> None:
        self.playout.player.append((trio.current_time(), status))
        await self.ctx.lookup("link").tell(PlayerState(status=status))
        self.playout.poke()

    async def _gain_reached(self, cmd: c.MusicSetGain) -> None:
        await trio.sleep(cmd.fade_ms / 1000)
        await self.ctx.lookup("link").tell(MusicGainReached(gain=cmd.target))

    async def _play(self) -> None:
        """Drain 960 samples per 20 ms tick; buffer_depth every 25 ticks, then a final 0."""
        link = self.ctx.lookup("link")
        ticks = 0
        while self.playout.buffered > 0:
            await trio.sleep(0.02)
            ticks += 1
            self.playout.buffered = max(0, self.playout.buffered - 960)
            if self.playout.buffered and ticks % 25 == 0:
                await link.tell(BufferDepth(tts_samples=self.playout.buffered, music_samples=0))
        self._playing = False
        self.playout.idle_at.append(trio.current_time())
        await link.tell(BufferDepth(tts_samples=0, music_samples=0))
        await link.tell(TtsPlaybackState(status="idle"))
        self.playout.poke()


class SessionStandIn(Actor):
    """Where the brain asks to leave and whether it is muted (the guild session's place in
    the tree). ``muted``: what it answers a restarted brain (a one-element list, shared)."""

    def __init__(self, leaves: list[float], muted: list[bool] | None = None) -> None:
        self.leaves = leaves
        self.muted = muted if muted is not None else [False]

    @handles(LeaveVoice)
    async def leave(self, msg: LeaveVoice) -> None:
        self.leaves.append(trio.current_time())

    @handles(GetVoiceMute)
    async def mute(self, msg: GetVoiceMute) -> VoiceMute:
        return VoiceMute(muted=self.muted[0], in_call=True)


class Bridge(Actor):
    @handles(SendGatewayOp)
    async def op(self, msg: SendGatewayOp) -> Done:
        return Done()


# -- the far end: the LLM provider -------------------------------------------------------------


class RoomProvider:
    def __init__(
        self, answer: Callable[[str], str], *, delay: float = 0.2, gap: float = 0.05
    ) -> None:
        self.config = ProviderConfig(
            name="room",
            kind="anthropic",
            model="room-model",
            api_key="k",
            base_url="http://127.0.0.1:1/v1",  # never dialled
        )
        self.answer = answer
        self.delay = delay
        self.gap = gap
        self.prompts: list[str] = []
        self.asked_at: list[float] = []

    async def _play(self, request: LlmRequest, emit: Emit | None) -> ProviderOutput:
        prompt = "\n".join(
            part.text for m in request.messages for part in m.parts if isinstance(part, TextPart)
        )
        self.prompts.append(prompt)
        self.asked_at.append(trio.current_time())
        text = self.answer(prompt)
        await trio.sleep(self.delay)
        words = text.split(" ")
        for i, w in enumerate(words):
            if emit is not None:
                await emit(TextDelta(w + (" " if i < len(words) - 1 else "")))
            await trio.sleep(self.gap)
        return ProviderOutput(text=text, usage=Usage(input_tokens=10, output_tokens=5))

    async def complete(self, request: LlmRequest) -> ProviderOutput:
        return await self._play(request, None)

    async def stream(self, request: LlmRequest, emit: Emit) -> ProviderOutput:
        return await self._play(request, emit)

    async def aclose(self) -> None:
        pass


# -- the far end: the models -------------------------------------------------------------------


class LoudnessVad:
    frame_samples = 512

    def probability(self, frame: bytes) -> float:
        peak = max(
            abs(int.from_bytes(frame[i : i + 2], "little", signed=True))
            for i in range(0, len(frame), 64)
        )
        return 0.95 if peak > 1000 else 0.02

    def reset(self) -> None:
        pass


@dataclass
class StubModels:
    turn_delay: float = 0.03
    complete: float = 0.9  # P(complete) the end-of-turn model answers
    asr_delay: float = 0.1
    tts_delay: float = 0.05
    tts_rate: int = 24_000
    tts_seconds_per_char: float = 0.05
    transcripts: deque[str] = field(default_factory=deque)
    turn_checks: list[float] = field(default_factory=list)
    transcribed: list[tuple[float, int]] = field(default_factory=list)  # (time, samples)
    spoken: list[tuple[float, str]] = field(default_factory=list)

    def bundle(self) -> VoiceModels:
        return VoiceModels(
            vad_factory=LoudnessVad,
            turn=self,
            transcriber=self,
            synth=self,  # type: ignore[arg-type]
        )

    # TurnDetector
    async def complete_probability(self, pcm: bytes) -> float:
        self.turn_checks.append(trio.current_time())
        await trio.sleep(self.turn_delay)
        return self.complete

    # Transcriber
    name = "stub"

    async def transcribe(self, pcm: bytes, sample_rate: int, *, prompt: str = "") -> Transcript:
        self.transcribed.append((trio.current_time(), len(pcm) // 2))
        await trio.sleep(self.asr_delay)
        text = self.transcripts.popleft() if self.transcripts else "something"
        return Transcript(text=text, avg_logprob=-0.2, no_speech_prob=0.01)

    # SpeechSynth
    @property
    def sample_rate(self) -> int:
        return self.tts_rate

    async def synthesize(self, text: str) -> AsyncGenerator[bytes, None]:
        await trio.sleep(self.tts_delay)
        self.spoken.append((trio.current_time(), text))
        n = int(len(text) * self.tts_seconds_per_char * self.tts_rate)
        yield b"\x10\x00" * n


# -- the tree ----------------------------------------------------------------------------------


def room_spec(
    models: StubModels,
    provider: RoomProvider,
    playout: Playout,
    leaves: list[float] | None = None,
    *,
    speculative_asr: bool = False,
    muted: list[bool] | None = None,
    brain_name: str = "brain",
    **brain: object,
) -> SupervisorSpec:
    """The room's tree. The exact times of most room tests are those of recognition after the
    end of turn, so speculative recognition (the product's default) is asked for by the tests
    of it (test_speculative_asr.py)."""
    link_config = VoiceLinkConfig(guild_id=GUILD, channel_id=CHANNEL, user_id=BOT, clankvox="kvox")
    config = VoiceBrainConfig(
        guild_id=GUILD,
        channel_id=CHANNEL,
        bot_user_id=BOT,
        link="link",
        name=brain_name,
        models=models.bundle(),
        member_names=NAMES,
        store=None,
        session="session" if leaves is not None else None,
        speculative_asr=speculative_asr,
        **brain,  # type: ignore[arg-type]
    )
    llm_config = LlmConfig(providers=(provider.config,))
    return SupervisorSpec(
        children=[
            ChildSpec("bridge", Bridge, register="discord"),
            *(
                [ChildSpec("session", lambda: SessionStandIn(leaves, muted), register="session")]
                if leaves is not None
                else []
            ),
            ChildSpec(
                "llm",
                lambda: Llm(llm_config, store=None, providers=[provider]),
                register="llm",
                mailbox=Llm.mailbox,
            ),
            ChildSpec("kvox", lambda: PlayoutClankvox(playout), register="kvox"),
            ChildSpec(
                "link", lambda: VoiceLink(link_config), register="link", mailbox=VoiceLink.mailbox
            ),
            ChildSpec(
                "brain", lambda: VoiceBrain(config), register=brain_name, mailbox=VoiceBrain.mailbox
            ),
        ]
    )


async def connect(rt: Runtime) -> None:
    link = rt.lookup("link")
    await link.tell(
        VoiceStateChanged(guild_id=GUILD, channel_id=CHANNEL, user_id=BOT, session_id="s1")
    )
    await link.tell(VoiceServerChanged(guild_id=GUILD, channel_id=None, token="t", endpoint="h:1"))
    await trio.sleep(0.01)


async def member_says(
    rt: Runtime, user_id: int, seconds: float, *, trailing_silence: float = 0.1
) -> float:
    """`user_id` speaks for `seconds` (loud 20 ms chunks, one every 20 ms), then
    `trailing_silence` of decoded silence (as the five Opus silence frames give), then nothing.

    Returns when speech ended *for the brain*: the arrival of the chunk that completes the
    512-sample VAD frame holding the last loud sample."""
    link = rt.lookup("link")
    uid = str(user_id)
    await link.tell(SpeakingStart(user_id=uid))
    await trio.lowlevel.checkpoint()
    start = trio.current_time()
    loud = round(seconds * 50)
    for pcm, count in ((LOUD, loud), (QUIET, round(trailing_silence * 50))):
        for _ in range(count):
            await trio.sleep(0.02)
            await link.tell(
                UserAudio(
                    user_id=uid,
                    signal_peak_abs=3000 if pcm is LOUD else 0,
                    signal_active_sample_count=FRAME if pcm is LOUD else 0,
                    signal_sample_count=FRAME,
                    pcm=pcm,
                )
            )
    vad_frame = 512
    frames = -(-loud * FRAME // vad_frame)  # frames holding loud samples
    chunk = -(-frames * vad_frame // FRAME)  # the chunk that completes the last of them
    return start + chunk * 0.02


async def track_ends(rt: Runtime, playout: Playout) -> None:
    """The track playing ran out (the test says when), as clankvox reports it."""
    playout.music_state = "idle"
    playout.player.append((trio.current_time(), "idle"))
    await rt.lookup("link").tell(PlayerState(status="idle"))
    await rt.lookup("link").tell(MusicIdle())


async def stream_ends(rt: Runtime, user_id: int) -> None:
    await rt.lookup("link").tell(UserAudioEnd(user_id=str(user_id)))
