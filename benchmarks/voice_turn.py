"""Voice-turn latency: the voice brain end to end on this machine, all local, in one run.

    .venv/bin/python benchmarks/voice_turn.py [--quick] [--turns N] [--local-turns N]
                                              [--barge-ins N] [--pipecat-python PATH]
                                              [--no-pipecat] [--no-speculative-asr]

One sandbox (Discord and its voice server, a DAVE call), the real clankvox binary and the tree
(Store, guilds, the Discord bridge, the Llm actor on llmsim through the real SDK), as in
tests/voice/voice_app.py. The bot joins the Lounge, alice joins and talks through the sandbox
(`VoiceServer.play`: one RTP packet every 20 ms); what the bot says is what the sandbox's voice
server receives from clankvox. Every time is trio's clock in this process: when the sandbox
sent a packet of alice's, when a packet of the bot's arrived there.

* **overhead** (``overhead_*``): instant stubs for the models (VAD by loudness: P = 1 for a
  32 ms frame whose RMS is over 500, else 0; end of turn always "complete"; ASR a fixed
  sentence; TTS a fixed 0.8 s tone per sentence); llmsim answers a short sentence at once.
  alice says 1 s of speech-like sound (never silent, so the end of her speech is her last
  packet). Figure: her last audio packet sent -> the bot's first audio packet arrived, minus
  the configured end-of-turn wait (`CaptureConfig.vad_stop`, 0.2 s). Target p50 <= 150 ms.
* **local turn** (``local_turn_*``): the real local models (silero VAD, smart-turn v3.2,
  Whisper tiny.en, Piper joe-medium, as `load_local_models` loads them, Piper with its noise
  off), llmsim answering one short sentence at once; alice asks Piper-made questions (their
  trailing silence cut, so her last packet is the end of her speech). Figure: last audio packet
  sent -> first bot audio packet arrived, nothing subtracted. Target p50 <= 1.0 s.
* **barge-in** (``bargein_*``): the stubs again; llmsim answers a long reply (8 sentences,
  6.4 s of tone). One second after the bot's first packet arrives, alice (whom it answers)
  talks over it for 1.2 s. The brain interrupts once the bot's audio has played `echo_guard`
  (1.0 s) and alice's loud speech reaches `BargeInConfig.min_speech` (0.5 s), so her speech
  is *confirmed* at the send time of her first packet + `min_speech`. Figure: confirmed -> the
  arrival of the bot's last audible packet (decoded peak over 1 % of full scale) before its
  audio stops. Target p99 <= 100 ms.
* **CPU per session** (``session_cpu_percent``): over clanker's local turns (each from its
  question sent to its answer played, summed; Pipecat's turns in between not counted), this
  process's CPU (`time.process_time`, every
  thread) plus clankvox's (/proc/<pid>/stat utime + stime), as % of one core. This process
  also runs the sandbox (Discord, voice server, the simulated member's Opus and DAVE) and
  llmsim, all on the trio thread, so the figure is an upper bound. The split is printed and in
  the JSON: the trio thread (clanker's actors and discord.py, and the sandbox and llmsim),
  the worker threads (clanker's only: the models, the Store's SQLite) and clankvox.

A warm-up turn before each phase is not counted. The models are switched between phases inside
one call (`ModelSwitch`), so every phase runs on the same connection and DAVE group.

* **Pipecat** (``pipecat_*``): the same local turn through Pipecat's own pipeline with the
  same models: `benchmarks/pipecat_turn.py --serve`, run with the dev-only environment's
  python (`scripts/pipecat-env` builds `.venv-pipecat`; `--pipecat-python`) against this run's
  llmsim, started (and warmed up) before the call. Each of clanker's local turns is followed
  by the same question through Pipecat, so a shared machine's changing load falls on both
  alike; Pipecat's microphone is silent in between (no frames). ``pipecat_ratio`` =
  ``local_turn_p50_ms`` / ``pipecat_turn_p50_ms`` (ours / theirs: <= 1.0 means clanker's turn
  is as fast or faster; target <= 1.0). Ours is measured at the sandbox, through clankvox, UDP
  and DAVE both ways; Pipecat's has no network at all (frames in and out of its transport), so
  the ratio is conservative. Without the environment the ratio stays null and stderr says why.

The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import trio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the tree and the signal helpers of tests/voice/voice_app.py

from clanker.llm import LlmConfig, ProviderConfig  # noqa: E402
from clanker.llmsim import LlmSim, RecordedRequest, Text, open_llmsim  # noqa: E402
from clanker.sandbox.voice.audio import Pcm  # noqa: E402
from clanker.sandbox.voice.playback import FRAME_SECONDS  # noqa: E402
from clanker.sandbox.voice.recording import StreamRecording  # noqa: E402
from clanker.sandbox.voice.rtp import sequence_distance  # noqa: E402
from clanker.sandbox.voice.server import NoVoiceSession, PlaybackReport, VoiceServer  # noqa: E402
from clanker.sandbox.world import User  # noqa: E402
from clanker.settings import Settings  # noqa: E402
from clanker.store import ActionRows, ActionsQuery  # noqa: E402
from clanker.voice.brain.actor import GetVoiceBrainStatus, VoiceBrainStatus  # noqa: E402
from clanker.voice.brain.bargein import BargeInConfig  # noqa: E402
from clanker.voice.brain.capture import CaptureConfig  # noqa: E402
from clanker.voice.brain.config import (  # noqa: E402
    VoiceBrainOptions,
    VoiceModels,
    voice_brain_name,
)
from clanker.voice.models.base import Transcript, VoiceActivity  # noqa: E402
from clanker.voice.models.local import LocalModels, load_local_models  # noqa: E402
from clanker.voice.models.piper import PiperSettings  # noqa: E402
from tests.voice.voice_app import VoiceApp, open_voice_app, speechlike, to_pcm  # noqa: E402

QUESTIONS = (
    "What is the capital of France?",
    "How far away is the moon?",
    "Can you tell me a short joke?",
    "What should I cook for dinner tonight?",
)
SHORT_REPLY = "That is a good question."
LONG_REPLY = " ".join(f"This is sentence number {n} of a long answer." for n in range(1, 9))
HEARD = "what time is it over there"  # what the stub ASR hears, whatever was said
LOUD_RMS = 500.0  # the stub VAD's speech threshold (s16 RMS of a 32 ms frame)
AUDIBLE = 0.01 * 32767  # a bot packet is audible when its decoded peak is above this
TONE_SECONDS = 0.8  # the stub TTS's audio per sentence
BARGE_LEAD = 1.0  # seconds after the bot's first packet that alice talks over it
WAIT = 30.0  # for any one step; generous on a loaded 2-core machine
PIPECAT_PYTHON = ROOT / ".venv-pipecat" / "bin" / "python"  # scripts/pipecat-env


# -- the instant stubs and the switch -----------------------------------------------------------


class LoudnessVad:
    """Stub VAD: P(speech) = 1 for a frame whose RMS is over `LOUD_RMS`, else 0 (no model)."""

    frame_samples = 512

    def probability(self, frame: bytes) -> float:
        x = np.frombuffer(frame, "<i2").astype(np.float32)
        return 1.0 if float(np.sqrt(np.mean(x * x))) > LOUD_RMS else 0.0

    def reset(self) -> None:
        """Stateless."""


class SwitchedVad:
    """One speaker's VAD: the loudness stub or silero, whichever the switch says now."""

    frame_samples = 512

    def __init__(self, switch: ModelSwitch) -> None:
        self._switch = switch
        self._stub = LoudnessVad()
        self._silero: VoiceActivity = switch.real.vad_factory()

    def probability(self, frame: bytes) -> float:
        vad = self._silero if self._switch.use_real else self._stub
        return vad.probability(frame)

    def reset(self) -> None:
        self._silero.reset()


@dataclass
class ModelSwitch:
    """The brain's four models: the instant stubs, or the real local ones (`use_real`), switched
    between phases while nobody speaks. One object serves as end-of-turn model, recogniser and
    synthesiser."""

    real: LocalModels
    use_real: bool = False
    name: str = "benchmark switch"
    tone: bytes = b""
    sample_rate: int = 0

    def __post_init__(self) -> None:
        self.sample_rate = self.real.synth.sample_rate
        t = np.arange(int(TONE_SECONDS * self.sample_rate)) / self.sample_rate
        self.tone = to_pcm(0.3 * 32767 * np.sin(2 * np.pi * 440 * t))

    def bundle(self, settings: Settings | None = None) -> VoiceModels:
        """`VoiceBrainOptions.load_models`: the same switch whatever the settings say."""
        return VoiceModels(
            vad_factory=lambda: SwitchedVad(self), turn=self, transcriber=self, synth=self
        )

    async def complete_probability(self, pcm: bytes) -> float:
        if self.use_real:
            return await self.real.turn.complete_probability(pcm)
        return 1.0

    async def transcribe(self, pcm: bytes, sample_rate: int, *, prompt: str = "") -> Transcript:
        if self.use_real:
            return await self.real.transcriber.transcribe(pcm, sample_rate, prompt=prompt)
        return Transcript(HEARD, avg_logprob=-0.1, no_speech_prob=0.01)

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        if self.use_real:
            async for pcm in self.real.synth.synthesize(text):
                yield pcm
        else:
            yield self.tone


# -- measuring at the sandbox -------------------------------------------------------------------


def audible_packets(rec: StreamRecording) -> list[bool]:
    """Per accepted packet of `rec`: does its decoded 20 ms hold sound? The recording decodes
    one 20 ms chunk per packet, after the concealed chunks of a short gap before it."""
    if rec.decode_errors:
        raise AssertionError(f"{rec.decode_errors} packets of the bot's stream did not decode")
    data = np.abs(np.frombuffer(rec.pcm().data, "<i2").astype(np.int32))
    chunk = 960 * 2  # 20 ms of 48 kHz stereo
    out: list[bool] = []
    pos = 0
    for i, p in enumerate(rec.packets):
        if i:
            gap = sequence_distance(p.sequence, rec.packets[i - 1].sequence) - 1
            if 0 < gap <= rec.max_concealed:
                pos += gap * chunk
        out.append(bool(data[pos : pos + chunk].max(initial=0) > AUDIBLE))
        pos += chunk
    if pos != data.size:
        raise AssertionError(f"bot stream: {data.size} samples decoded, {pos} accounted for")
    return out


def speech_end(report: PlaybackReport) -> float:
    """When the sandbox sent alice's last audio packet (planned time; sending is never early)."""
    return report.started_at + (report.frames - 1) * FRAME_SECONDS


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (`q` in 0..1)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def trimmed(pcm: bytes, rate: int) -> Pcm:
    """Piper's audio without its leading and trailing quiet, at 48 kHz."""
    x = np.frombuffer(pcm, "<i2")
    loud = np.flatnonzero(np.abs(x) > 0.02 * 32767)
    return Pcm(x[loud[0] : loud[-1] + 1].tobytes(), rate).resample(48_000)


def cpu_of(pid: int) -> float:
    """utime + stime of a process (all its threads), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Bench:
    app: VoiceApp
    sim: LlmSim

    @property
    def voice(self) -> VoiceServer:
        assert self.app.sandbox.voice is not None
        return self.app.sandbox.voice

    @property
    def alice(self) -> User:
        return self.app.sandbox.world.user_named("alice")

    def bot_stream(self) -> StreamRecording | None:
        try:
            return self.voice.recording(self.app.sandbox.world.bot)
        except NoVoiceSession:
            return None

    def bot_packets(self) -> int:
        rec = self.bot_stream()
        return 0 if rec is None else len(rec.packets)

    async def status(self) -> VoiceBrainStatus:
        brain = self.app.runtime.lookup(voice_brain_name(self.app.guild_key))
        return await brain.ask(GetVoiceBrainStatus(), VoiceBrainStatus, timeout=WAIT)

    async def last_reply(self) -> int:
        return max((t.reply_id for t in (await self.status()).turns), default=0)

    async def first_bot_audio(self, after_index: int, after: float) -> float:
        """The arrival of the bot's first audio packet (not a silence frame) after `after`."""

        def found() -> float | None:
            rec = self.bot_stream()
            if rec is None:
                return None
            for p in rec.packets[after_index:]:
                if not p.silence and p.arrival > after:
                    return p.arrival
            return None

        with trio.fail_after(WAIT):
            await self.voice.wait_until(lambda: found() is not None)
        arrival = found()
        assert arrival is not None
        return arrival

    async def until_idle(self, replies_after: int, count: int = 1) -> None:
        """Until `count` more replies are recorded and the brain's output is idle again."""
        with trio.fail_after(WAIT):
            while True:
                s = await self.status()
                done = [t for t in s.turns if t.reply_id > replies_after]
                if len(done) >= count and s.phase == "idle" and not s.speaking:
                    return
                await trio.sleep(0.1)

    async def turn(self, speech: Pcm) -> float:
        """alice says `speech`; seconds from her last packet sent to the bot's first arrival."""
        before, index = await self.last_reply(), self.bot_packets()
        report = await self.voice.play(self.alice, speech)
        end = speech_end(report)
        first = await self.first_bot_audio(index, end)
        await self.until_idle(before)
        await trio.sleep(0.3)
        return first - end

    async def barge_in(self, question: Pcm, interruption: Pcm) -> float:
        """alice asks, the bot answers at length, she talks over it; seconds from her speech
        confirmed to the bot's last audible packet."""
        before, index = await self.last_reply(), self.bot_packets()
        barge_ins = (await self.status()).barge_ins
        self.sim.script(Text(LONG_REPLY))
        report = await self.voice.play(self.alice, question)
        first = await self.first_bot_audio(index, speech_end(report))
        await trio.sleep_until(first + BARGE_LEAD)
        talk = await self.voice.play(self.alice, interruption)
        confirmed = talk.started_at + BargeInConfig().min_speech
        await self.until_idle(before, count=2)  # the interrupted reply, then the next answer
        if (await self.status()).barge_ins != barge_ins + 1:
            raise AssertionError("alice talked over the bot and it did not stop")
        rec = self.bot_stream()
        assert rec is not None
        loud = audible_packets(rec)
        last = None
        for p, audible in zip(rec.packets, loud, strict=True):
            if p.arrival <= confirmed:
                continue
            if not audible:
                break
            last = p.arrival
        if last is None:
            raise AssertionError("the bot's audio had stopped before alice's speech counted")
        await trio.sleep(0.3)
        return last - confirmed


async def end_reasons(app: VoiceApp, last: int) -> dict[str, int]:
    """How the brain ended the `last` captures it recognised (the `voice_transcript` log)."""
    query = ActionsQuery(kind="voice_transcript", limit=last)
    rows = await app.runtime.lookup("store").ask(query, ActionRows, timeout=WAIT)
    counts: dict[str, int] = {}
    for row in rows.rows:
        reason = str(json.loads(row.metadata).get("end_reason"))
        counts[reason] = counts.get(reason, 0) + 1
    return counts


def respond(request: RecordedRequest) -> Text:
    """llmsim's answer when nothing is scripted: one short sentence, at once."""
    return Text(SHORT_REPLY)


class PipecatPeer:
    """benchmarks/pipecat_turn.py --serve in the Pipecat environment: Pipecat's pipeline with
    the same models, asked for one turn at a time, so its turns interleave with clanker's."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self._pending = b""
        self.latencies: list[float] = []

    async def line(self) -> str:
        """Its next stdout line; a clear error if it ended instead (its stderr is ours)."""
        assert self.process.stdout is not None
        with trio.fail_after(2 * WAIT):
            while b"\n" not in self._pending:
                data = await self.process.stdout.receive_some()
                if not data:
                    code = await self.process.wait()
                    raise RuntimeError(
                        f"pipecat_turn.py exited with {code} (its error is above, on stderr)"
                    )
                self._pending += data
        line, self._pending = self._pending.split(b"\n", 1)
        return line.decode()

    async def _send(self, text: str) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send_all(text.encode() + b"\n")

    async def turn(self, k: int) -> float:
        """Question `k` (as clanker's turn k); seconds from speech end to first audio."""
        await self._send(f"turn {k}")
        self.latencies.append(float(await self.line()))
        print(f"  pipecat: {QUESTIONS[k % len(QUESTIONS)]!r}: {self.latencies[-1]:.3f} s")
        return self.latencies[-1]

    async def stop(self) -> dict[str, object]:
        """Its summary (the JSON line); the lines before it are echoed."""
        await self._send("stop")
        lines = []
        with trio.fail_after(WAIT):
            while True:
                try:
                    lines.append(await self.line())
                except RuntimeError:
                    break
        if self.process.returncode != 0 or not lines:
            raise RuntimeError(f"pipecat_turn.py exited with {self.process.returncode}")
        for line in lines[:-1]:
            print(line)
        result: dict[str, object] = json.loads(lines[-1])
        return result


@asynccontextmanager
async def open_pipecat(python: Path | None, llm_url: str) -> AsyncIterator[PipecatPeer | None]:
    """The Pipecat peer started and warmed up (None without `python`); killed at the end."""
    if python is None:
        yield None
        return
    script = ROOT / "benchmarks" / "pipecat_turn.py"
    process = await trio.lowlevel.open_process(
        [str(python), str(script), "--serve", "--llm-url", llm_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=str(ROOT),
    )
    peer = PipecatPeer(process)
    try:
        with trio.fail_after(120):  # loading, and one warm-up turn
            ready = await peer.line()
        if ready != "ready":
            raise RuntimeError(f"pipecat_turn.py --serve said {ready!r}, not 'ready'")
        yield peer
    finally:
        if process.returncode is None:
            process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()


def show(label: str, values: list[float], extra: str = "") -> None:
    ms = [v * 1e3 for v in values]
    print(
        f"{label:<52} p50 {pct(ms, 0.5):8.1f} ms  p90 {pct(ms, 0.9):8.1f} ms  "
        f"p99 {pct(ms, 0.99):8.1f} ms  max {max(ms):8.1f} ms  (n={len(ms)}){extra}",
        flush=True,
    )


async def run(
    turns: int,
    local_turns: int,
    barge_ins: int,
    *,
    warm_up: bool = True,
    pipecat_python: Path | None = None,
    speculative_asr: bool = True,
) -> dict[str, object]:
    """The whole benchmark; `warm_up=False` (the smoke test) counts every turn. With
    `pipecat_python`, the Pipecat comparison too (interleaved, on the same llmsim)."""
    start = time.perf_counter()
    load_before = os.getloadavg()[0]
    local = load_local_models(piper=PiperSettings(noise_scale=0.0, noise_w=0.0))
    switch = ModelSwitch(real=local)
    piper = local.synth
    questions = []
    for q in QUESTIONS:
        pcm = b"".join([c async for c in piper.synthesize(q)])
        questions.append(trimmed(pcm, piper.sample_rate))
    stub_speech = [Pcm(to_pcm(speechlike(1.0, 48_000, seed=k)), 48_000) for k in range(1, 9)]
    interruption = Pcm(to_pcm(speechlike(1.2, 48_000, seed=99)), 48_000)
    capture = CaptureConfig()
    async with open_llmsim(default=respond) as sim:
        llm = LlmConfig(
            providers=(
                ProviderConfig(
                    name="sim", kind="openai_compatible", model="m", base_url=sim.openai_url
                ),
            )
        )
        brain = VoiceBrainOptions(
            load_models=switch.bundle, capture=capture, speculative_asr=speculative_asr
        )
        with tempfile.TemporaryDirectory() as tmp:
            async with (
                open_pipecat(pipecat_python, sim.openai_url) as peer,
                open_voice_app(Path(tmp), brain=brain, llm=llm, record_audio=False) as app,
            ):
                sb = app.sandbox
                assert sb.voice is not None
                await app.join()
                await app.wait_ready()
                await sb.voice.wait_for_session(sb.world.bot)
                sb.join_voice(sb.world.user_named("alice"), sb.world.channel_named("Lounge"))
                await app.wait_e2ee("alice")
                bench = Bench(app, sim)
                clankvox = (await app.clankvox_status()).pid
                print(f"call ready in {time.perf_counter() - start:.1f} s", flush=True)

                if warm_up:
                    await bench.turn(stub_speech[0])
                overhead = []
                for k in range(turns):
                    latency = await bench.turn(stub_speech[k % len(stub_speech)])
                    overhead.append(latency - capture.vad_stop)
                show("overhead: speech end -> first bot audio - vad_stop", overhead)

                stops = []
                for k in range(barge_ins):
                    stops.append(
                        await bench.barge_in(stub_speech[k % len(stub_speech)], interruption)
                    )
                show("barge-in: speech confirmed -> bot audio stops", stops)

                switch.use_real = True
                if warm_up:
                    await bench.turn(questions[0])
                wall = cpu = main = vox = 0.0  # summed over clanker's turns only
                local_latency = []
                for k in range(local_turns):
                    cpu0, main0, vox0 = time.process_time(), time.thread_time(), cpu_of(clankvox)
                    wall0 = time.perf_counter()
                    local_latency.append(await bench.turn(questions[k % len(questions)]))
                    wall += time.perf_counter() - wall0
                    cpu += time.process_time() - cpu0
                    main += time.thread_time() - main0
                    vox += cpu_of(clankvox) - vox0
                    print(f"  {QUESTIONS[k % len(QUESTIONS)]!r}: {local_latency[-1]:.3f} s")
                    if peer is not None:  # the same question through Pipecat, right after
                        await peer.turn(k)
                pipecat: dict[str, object] = {} if peer is None else await peer.stop()
                records = [t for t in (await bench.status()).turns if t.outcome == "spoken"]
                records = records[-local_turns:]
                reasons = await end_reasons(app, local_turns)
        show("local models: speech end -> first bot audio", local_latency)
        llm_requests = len(sim.requests)  # clanker's and Pipecat's

    def stage(name: str) -> float | None:
        values = [getattr(r, name) for r in records if getattr(r, name) is not None]
        return round(pct(values, 0.5) * 1e3, 1) if values else None

    stages = {
        f"local_{name}_p50_ms": stage(name)
        for name in (
            "speech_end_to_decided",
            "decided_to_transcript",
            "transcript_to_first_token",
            "first_token_to_first_audio",
            "speech_end_to_first_audio",
        )
    }
    for name, value in stages.items():
        print(f"  brain's own stamps, {name}: {value} ms")
    print(f"  how the brain ended those turns: {reasons}")
    share = {
        "session_cpu_percent": round((cpu + vox) / wall * 100, 1),
        "process_cpu_percent": round(cpu / wall * 100, 1),
        "trio_thread_cpu_percent": round(main / wall * 100, 1),
        "worker_threads_cpu_percent": round((cpu - main) / wall * 100, 1),
        "clankvox_cpu_percent": round(vox / wall * 100, 1),
    }
    print(
        f"CPU over {wall:.1f} s of conversation: {share['session_cpu_percent']} % of a core "
        f"(this process {share['process_cpu_percent']} %: trio thread "
        f"{share['trio_thread_cpu_percent']} %, worker threads "
        f"{share['worker_threads_cpu_percent']} %; clankvox {share['clankvox_cpu_percent']} %)"
    )

    def ms(values: list[float], q: float) -> float:
        return round(pct(values, q) * 1e3, 1)

    return {
        "overhead_p50_ms": ms(overhead, 0.5),
        "overhead_p90_ms": ms(overhead, 0.9),
        "overhead_n": len(overhead),
        "local_turn_p50_ms": ms(local_latency, 0.5),
        "local_turn_p90_ms": ms(local_latency, 0.9),
        "local_turn_n": len(local_latency),
        "bargein_p50_ms": ms(stops, 0.5),
        "bargein_p99_ms": ms(stops, 0.99),
        "bargein_n": len(stops),
        "pipecat_ratio": (
            round(ms(local_latency, 0.5) / float(str(pipecat["pipecat_turn_p50_ms"])), 3)
            if pipecat
            else None
        ),
        **pipecat,
        **share,
        "cpu_window_s": round(wall, 1),
        **stages,
        "local_end_reasons": reasons,
        "vad_stop_ms": round(capture.vad_stop * 1e3, 1),
        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "llm_requests": llm_requests,
        "run_s": round(time.perf_counter() - start, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer turns (under two minutes)")
    parser.add_argument("--turns", type=int, default=None, help="stub turns (20, quick 8)")
    parser.add_argument("--local-turns", type=int, default=None, help="real-model turns (10, 4)")
    parser.add_argument("--barge-ins", type=int, default=None, help="barge-ins (20, quick 4)")
    parser.add_argument(
        "--pipecat-python",
        type=Path,
        default=None,
        help=f"the Pipecat environment's python (default {PIPECAT_PYTHON.relative_to(ROOT)} "
        "if it exists; scripts/pipecat-env builds it)",
    )
    parser.add_argument("--no-pipecat", action="store_true", help="skip the Pipecat comparison")
    parser.add_argument(
        "--no-speculative-asr",
        action="store_true",
        help="recognise only after the end of turn (VoiceBrainConfig.speculative_asr off)",
    )
    args = parser.parse_args()
    turns = args.turns or (8 if args.quick else 20)
    local_turns = args.local_turns or (4 if args.quick else 10)
    barge_ins = args.barge_ins or (4 if args.quick else 20)
    python = args.pipecat_python or PIPECAT_PYTHON
    if args.no_pipecat:
        print("pipecat comparison skipped (--no-pipecat): pipecat_ratio is null", file=sys.stderr)
        python = None
    elif not python.exists():
        print(
            f"no Pipecat environment at {python} (build it with scripts/pipecat-env): "
            "pipecat_ratio is null",
            file=sys.stderr,
        )
        python = None
    result = trio.run(
        partial(
            run,
            turns,
            local_turns,
            barge_ins,
            pipecat_python=python,
            speculative_asr=not args.no_speculative_asr,
        )
    )
    result["speculative_asr"] = not args.no_speculative_asr
    print(json.dumps(result))


if __name__ == "__main__":
    main()
