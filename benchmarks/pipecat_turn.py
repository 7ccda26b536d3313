"""The local voice turn through Pipecat's own pipeline, with clanker's models (issue 13, 10(d)).

    scripts/pipecat-env   # once: builds .venv-pipecat from benchmarks/pipecat/uv.lock
    .venv-pipecat/bin/python benchmarks/pipecat_turn.py [--turns N] [--llm-url URL]

Dev-only: runs in its own environment (Pipecat is no dependency of clanker's, and clanker never
imports it). `benchmarks/voice_turn.py` runs this script and reports `pipecat_ratio`.

The same scenario as voice_turn.py's local turn, the pipeline being Pipecat's:

* alice's four Piper-made questions (Piper joe-medium, noise off, leading and trailing quiet
  below 2 % of full scale cut: as voice_turn.py makes them), resampled to 16 kHz (the rate
  clankvox delivers to clanker's brain), fed in real time as 20 ms `InputAudioRawFrame`s by an
  input transport that, like a microphone, sends silence frames between utterances;
* Pipecat's pipeline as its docs build it: transport input -> STT -> user context aggregator
  (Pipecat's `SileroVADAnalyzer` and its default turn stop strategy, smart-turn v3.2 through
  `LocalSmartTurnAnalyzerV3`) -> `OpenAILLMService` -> TTS -> transport output -> assistant
  aggregator;
* the STT and TTS are Pipecat service subclasses (`SegmentedSTTService`, `TTSService`) around
  the same engines clanker uses, imported from `clanker/voice/models`: Whisper tiny.en on
  CTranslate2 (2 threads) and the Piper voice on onnxruntime with espeak-ng phonemes (noise
  off). Pipecat's own Whisper service needs faster-whisper (PyAV, GPL x264 inside) and its
  Piper service the GPL piper-tts, so neither is used; the comparison is of pipelines, not
  models;
* the LLM is llmsim answering "That is a good question." at once: voice_turn.py passes the URL
  of its own llmsim; without `--llm-url` this script starts one (`python -m clanker.llmsim`);
* the output transport plays like a device (each frame takes its duration) and is where the
  figure's end is taken.

Figure: the time the last frame of alice's speech was pushed into the pipeline -> the time the
first non-silent frame of the bot's audio reached the output transport's write. One warm-up
turn is not counted. The microphone sends 0.5 s of silence before each question and keeps
sending silence until the bot has been quiet for 0.8 s (+ 0.3 s), then nothing until the next
turn. `--serve` takes turns one at a time from stdin (how voice_turn.py interleaves them with
clanker's). The last line is one JSON object (`pipecat_turn_p50_ms`, `_p90_ms`, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import subprocess
import sys
import time
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # clanker's model classes, straight from the tree

from clanker.voice.models._audio import float_to_pcm, pcm_to_float, to_vad_rate  # noqa: E402
from clanker.voice.models.piper import (  # noqa: E402
    PiperSettings,
    PiperVoice,
    load_piper,
    split_chunks,
)
from clanker.voice.models.whisper import WhisperTranscriber, load_whisper  # noqa: E402

try:
    import pipecat
    from loguru import logger
    from pipecat.audio.vad.silero import SileroVADAnalyzer
    from pipecat.frames.frames import (
        Frame,
        InputAudioRawFrame,
        LLMContextFrame,
        LLMTextFrame,
        OutputAudioRawFrame,
        StartFrame,
        TranscriptionFrame,
        TTSAudioRawFrame,
        UserStoppedSpeakingFrame,
        VADUserStoppedSpeakingFrame,
    )
    from pipecat.observers.base_observer import BaseObserver, FramePushed
    from pipecat.pipeline.pipeline import Pipeline
    from pipecat.pipeline.worker import PipelineParams, PipelineWorker
    from pipecat.processors.aggregators.llm_context import LLMContext
    from pipecat.processors.aggregators.llm_response_universal import (
        LLMContextAggregatorPair,
        LLMUserAggregatorParams,
    )
    from pipecat.services.openai.llm import OpenAILLMService
    from pipecat.services.settings import STTSettings, TTSSettings
    from pipecat.services.stt_service import SegmentedSTTService
    from pipecat.services.tts_service import TTSService
    from pipecat.transports.base_input import BaseInputTransport
    from pipecat.transports.base_output import BaseOutputTransport
    from pipecat.transports.base_transport import BaseTransport, TransportParams
    from pipecat.utils.time import time_now_iso8601
    from pipecat.workers.runner import WorkerRunner
except ImportError as e:  # run with the wrong python
    sys.exit(
        f"pipecat_turn.py: Pipecat is not importable ({e}); build its environment with "
        "scripts/pipecat-env and run .venv-pipecat/bin/python benchmarks/pipecat_turn.py"
    )

QUESTIONS = (  # as benchmarks/voice_turn.py
    "What is the capital of France?",
    "How far away is the moon?",
    "Can you tell me a short joke?",
    "What should I cook for dinner tonight?",
)
SHORT_REPLY = "That is a good question."  # what llmsim answers (voice_turn.py's `respond`)
IN_RATE = 16_000  # what clankvox hands clanker's brain
OUT_RATE = 48_000  # Discord's rate
FRAME = 0.02
FRAME_BYTES = int(IN_RATE * FRAME) * 2
WAIT = 30.0
QUIET_AFTER = 0.8  # the bot is done when no sound has been written for this long
ASR_PROMPT = "clanker"  # clanker's brain prompts Whisper with the bot's names


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (`q` in 0..1), as voice_turn.py."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def trimmed_16k(pcm: bytes, rate: int) -> bytes:
    """Piper's audio without its leading and trailing quiet (voice_turn.py's cut), at 16 kHz."""
    x = np.frombuffer(pcm, "<i2")
    loud = np.flatnonzero(np.abs(x) > 0.02 * 32767)
    cut = x[loud[0] : loud[-1] + 1].tobytes()
    return float_to_pcm(to_vad_rate(pcm_to_float(cut, what="question"), rate))


# -- the transport: a microphone that says what it is given, a speaker that keeps time ----------


class FeedInput(BaseInputTransport):
    """A microphone: 20 ms frames in real time while `live` (the queued utterance's audio, else
    silence); nothing at all while not (between turns, so an idle Pipecat costs nothing while
    voice_turn.py measures clanker's turn in between)."""

    def __init__(self, params: TransportParams) -> None:
        super().__init__(params)
        self.utterances: asyncio.Queue[tuple[bytes, asyncio.Future[float]]] = asyncio.Queue()
        self.live = asyncio.Event()
        self._feeder: asyncio.Task[None] | None = None

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)
        if self._feeder is None:
            self._feeder = self.create_task(self._feed())

    async def stop(self, frame: Frame) -> None:  # type: ignore[override]
        await self._stop_feeder()
        await super().stop(frame)  # type: ignore[arg-type]

    async def cancel(self, frame: Frame) -> None:  # type: ignore[override]
        await self._stop_feeder()
        await super().cancel(frame)  # type: ignore[arg-type]

    async def _stop_feeder(self) -> None:
        if self._feeder is not None:
            await self.cancel_task(self._feeder)
            self._feeder = None

    async def _feed(self) -> None:
        silence = bytes(FRAME_BYTES)
        speech, pos, ended = b"", 0, None
        while True:
            await self.live.wait()
            due = time.monotonic()
            while self.live.is_set() or speech:
                if not speech and not self.utterances.empty():
                    speech, ended = self.utterances.get_nowait()
                    pos = 0
                chunk = silence
                if speech:
                    chunk = speech[pos : pos + FRAME_BYTES].ljust(FRAME_BYTES, b"\0")
                    pos += FRAME_BYTES
                await self.push_audio_frame(
                    InputAudioRawFrame(audio=chunk, sample_rate=IN_RATE, num_channels=1)
                )
                if speech and pos >= len(speech):
                    assert ended is not None
                    ended.set_result(time.monotonic())  # her last frame is in the pipeline
                    speech = b""
                due += FRAME
                await asyncio.sleep(max(0.0, due - time.monotonic()))


class PlayOutput(BaseOutputTransport):
    """Plays like a device: a write returns when the frame before it has played. Notes when
    the first sound of a turn is written and when the last was."""

    def __init__(self, params: TransportParams) -> None:
        super().__init__(params)
        self.first_sound: asyncio.Future[float] | None = None
        self.last_sound = 0.0
        self._played_until = 0.0

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        now = time.monotonic()
        if np.frombuffer(frame.audio, "<i2").any():
            self.last_sound = now
            if self.first_sound is not None and not self.first_sound.done():
                self.first_sound.set_result(now)
        seconds = len(frame.audio) / 2 / frame.num_channels / frame.sample_rate
        start = max(now, self._played_until)
        self._played_until = start + seconds
        await asyncio.sleep(start - now)
        return True


class BenchTransport(BaseTransport):
    def __init__(self, params: TransportParams) -> None:
        super().__init__()
        self.mic = FeedInput(params)
        self.speaker = PlayOutput(params)

    def input(self) -> FeedInput:
        return self.mic

    def output(self) -> PlayOutput:
        return self.speaker


# -- clanker's engines as Pipecat services ------------------------------------------------------


class ClankerWhisperSTT(SegmentedSTTService):
    """Pipecat's segmented STT around clanker's Whisper tiny.en (CTranslate2)."""

    def __init__(self, whisper: WhisperTranscriber, **kwargs: object) -> None:
        super().__init__(  # type: ignore[misc]
            settings=STTSettings(model=None, language=None),
            # Only a fallback for turn stop strategies waiting on a transcript that is never
            # final; every transcript here is final. Pipecat's default, said out loud.
            ttfs_p99_latency=1.0,
            **kwargs,
        )
        self._whisper = whisper
        self.heard: list[str] = []

    @property
    def wants_wav_segments(self) -> bool:
        return False  # raw s16le, as a local model wants

    def can_generate_metrics(self) -> bool:
        return True

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame, None]:
        await self.start_processing_metrics()
        samples = pcm_to_float(audio, what="Whisper")
        heard = await asyncio.to_thread(
            self._whisper.recognise, samples, self.sample_rate, ASR_PROMPT
        )
        await self.stop_processing_metrics()
        self.heard.append(heard.text)
        yield TranscriptionFrame(heard.text, "alice", time_now_iso8601())


class ClankerPiperTTS(TTSService):
    """Pipecat's TTS service around clanker's Piper voice: each chunk's audio once made."""

    def __init__(self, voice: PiperVoice, **kwargs: object) -> None:
        super().__init__(  # type: ignore[misc]
            push_start_frame=True,
            push_stop_frames=True,
            settings=TTSSettings(model=None, voice=None, language=None),
            **kwargs,
        )
        self._voice = voice
        self.said: list[str] = []

    def can_generate_metrics(self) -> bool:
        return True

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame, None]:
        self.said.append(text)

        async def chunks() -> AsyncIterator[bytes]:
            for chunk in split_chunks(text):
                pcm = await asyncio.to_thread(self._voice.speak_chunk, chunk)
                if pcm:
                    yield pcm

        await self.start_tts_usage_metrics(text)
        async for frame in self._stream_audio_frames_from_iterator(
            chunks(), in_sample_rate=self._voice.sample_rate, context_id=context_id
        ):
            await self.stop_ttfb_metrics()
            yield frame


class Stages(BaseObserver):
    """When each stage of a turn first showed up after alice's speech ended (monotonic s)."""

    WATCH = (
        ("vad_stopped", VADUserStoppedSpeakingFrame),
        ("transcript", TranscriptionFrame),
        ("turn_stopped", UserStoppedSpeakingFrame),
        ("llm_request", LLMContextFrame),
        ("first_token", LLMTextFrame),
        ("first_tts_audio", TTSAudioRawFrame),
    )

    def __init__(self) -> None:
        super().__init__(observe_every_push=False)
        self.seen: dict[str, float] = {}

    async def on_push_frame(self, data: FramePushed) -> None:
        now = time.monotonic()
        for name, kind in self.WATCH:
            if isinstance(data.frame, kind) and name not in self.seen:
                self.seen[name] = now


# -- the run ------------------------------------------------------------------------------------


def start_llmsim() -> tuple[subprocess.Popen[str], str]:
    """`python -m clanker.llmsim` answering SHORT_REPLY at once; its OpenAI base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "clanker.llmsim", "--reply", SHORT_REPLY, "--chunk-delay", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "openai" in line and "base_url" in line:
            return proc, line.split("base_url", 1)[1].strip()
    proc.kill()
    raise SystemExit("pipecat_turn.py: llmsim did not start")


class PipecatBench:
    """Pipecat's pipeline around clanker's engines, and one turn at a time through it."""

    def __init__(self, llm_url: str) -> None:
        self.started = time.perf_counter()
        piper = load_piper(settings=PiperSettings(noise_scale=0.0, noise_w=0.0))
        self.questions = []
        for q in QUESTIONS:
            pcm = b"".join(piper.speak_chunk(c) for c in split_chunks(q))
            self.questions.append(trimmed_16k(pcm, piper.sample_rate))
        params = TransportParams(
            audio_in_enabled=True,
            audio_in_sample_rate=IN_RATE,
            audio_out_enabled=True,
            audio_out_sample_rate=OUT_RATE,
            audio_out_10ms_chunks=2,  # 20 ms writes, as Discord's packets
        )
        self.transport = BenchTransport(params)
        self.stt = ClankerWhisperSTT(load_whisper())
        self.tts = ClankerPiperTTS(piper)
        llm = OpenAILLMService(
            api_key="llmsim",
            base_url=llm_url,
            settings=OpenAILLMService.Settings(
                model="m", system_instruction="You are a voice assistant. Answer in one sentence."
            ),
        )
        user, assistant = LLMContextAggregatorPair(
            LLMContext(), user_params=LLMUserAggregatorParams(vad_analyzer=SileroVADAnalyzer())
        )
        mic, speaker = self.transport.input(), self.transport.output()
        pipeline = Pipeline([mic, self.stt, user, llm, self.tts, speaker, assistant])
        self.stages = Stages()
        self.worker = PipelineWorker(
            pipeline,
            params=PipelineParams(audio_in_sample_rate=IN_RATE, audio_out_sample_rate=OUT_RATE),
            idle_timeout_secs=None,
            enable_rtvi=False,
            observers=[self.stages],
        )
        self.latencies: list[float] = []
        self.stamps: dict[str, list[float]] = {name: [] for name, _ in Stages.WATCH}
        self._running: asyncio.Task[None] | None = None

    async def start(self) -> None:
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(self.worker)
        self._running = asyncio.create_task(runner.run())
        await asyncio.sleep(1.0)  # started (StartFrame through every processor)

    async def turn(self, k: int, *, counted: bool = True) -> float:
        """alice says question `k`; seconds from her last frame to the bot's first sound."""
        loop = asyncio.get_running_loop()
        mic, speaker = self.transport.mic, self.transport.speaker
        lead = bytes(FRAME_BYTES * 25)  # 0.5 s of the microphone's silence before she speaks
        ended: asyncio.Future[float] = loop.create_future()
        speaker.first_sound = loop.create_future()
        await mic.utterances.put((lead + self.questions[k % len(self.questions)], ended))
        mic.live.set()
        end = await asyncio.wait_for(ended, WAIT)
        self.stages.seen = {}
        first = await asyncio.wait_for(speaker.first_sound, WAIT)
        while True:  # until the bot has been quiet for QUIET_AFTER
            left = speaker.last_sound + QUIET_AFTER - time.monotonic()
            if left <= 0:
                break
            await asyncio.sleep(left)
        await asyncio.sleep(0.3)
        mic.live.clear()
        if counted:
            self.latencies.append(first - end)
            for name, at in self.stages.seen.items():
                self.stamps[name].append(at - end)
        return first - end

    async def stop(self) -> dict[str, object]:
        await self.worker.cancel()
        if self._running is not None:
            await asyncio.wait_for(self._running, WAIT)

        def ms(values: list[float], q: float) -> float | None:
            return round(pct(values, q) * 1e3, 1) if values else None

        for name, values in self.stamps.items():
            print(f"  pipecat: speech end -> {name}: p50 {ms(values, 0.5)} ms (n={len(values)})")
        return {
            "pipecat_turn_p50_ms": ms(self.latencies, 0.5),
            "pipecat_turn_p90_ms": ms(self.latencies, 0.9),
            "pipecat_turn_n": len(self.latencies),
            "pipecat_version": pipecat.__version__,
            "pipecat_heard": self.stt.heard[-len(QUESTIONS) :],
            "pipecat_said": sorted(set(self.tts.said)),
            **{
                f"pipecat_speech_end_to_{name}_p50_ms": ms(values, 0.5)
                for name, values in self.stamps.items()
            },
            "pipecat_run_s": round(time.perf_counter() - self.started, 1),
        }


async def run(turns: int, llm_url: str, warm_up: bool = True) -> dict[str, object]:
    """`turns` turns back to back (after one uncounted warm-up turn)."""
    bench = PipecatBench(llm_url)
    await bench.start()
    print(f"pipecat pipeline ready in {time.perf_counter() - bench.started:.1f} s", flush=True)
    if warm_up:
        await bench.turn(0, counted=False)
    for k in range(1, turns + 1):
        latency = await bench.turn(k)
        print(f"  pipecat: {QUESTIONS[k % len(QUESTIONS)]!r}: {latency:.3f} s", flush=True)
    return await bench.stop()


async def serve(llm_url: str) -> dict[str, object]:
    """Driven over stdin by voice_turn.py, which interleaves these turns with clanker's (so
    the load of a shared machine falls on both alike): after a warm-up turn, prints `ready`;
    then each `turn K` line runs question K and prints its latency in seconds; `stop` (or the
    end of stdin) ends it. The summary is the last line, as in a plain run."""
    bench = PipecatBench(llm_url)
    await bench.start()
    await bench.turn(0, counted=False)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not line or line == ["stop"]:
            return await bench.stop()
        if len(line) != 2 or line[0] != "turn" or not line[1].isdigit():
            raise SystemExit(f"pipecat_turn.py --serve: expected 'turn K' or 'stop', got {line}")
        print(f"{await bench.turn(int(line[1])):.6f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=10, help="counted turns (10)")
    parser.add_argument("--llm-url", default=None, help="an llmsim's OpenAI base URL")
    parser.add_argument(
        "--serve", action="store_true", help="one turn per 'turn K' line on stdin (voice_turn.py)"
    )
    parser.add_argument("--verbose", action="store_true", help="Pipecat's own log on stderr")
    args = parser.parse_args()
    logger.remove()
    logger.add(sys.stderr, level="DEBUG" if args.verbose else "WARNING")
    sim = None
    url = args.llm_url
    if url is None:
        sim, url = start_llmsim()
    try:
        result = asyncio.run(serve(url) if args.serve else run(args.turns, url))
    finally:
        if sim is not None:
            sim.kill()
            sim.wait()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
