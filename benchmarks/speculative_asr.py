"""Speculative recognition on this machine's cores: the models' part of the end of turn, in one run.

    .venv/bin/python benchmarks/speculative_asr.py [--reps N] [--whisper-threads N ...]

At the VAD stop the brain asks smart-turn whether the turn is over. Without speculation Whisper
starts once smart-turn has said "complete"; with it (`VoiceBrainConfig.speculative_asr`) Whisper
starts at the same moment in another worker thread. The critical path of a turn that ends at
its first check is smart-turn then Whisper (``sequential``) against the later of the two run
together (``speculative``). On 2 cores the two fight for the cores, so the gain is smaller than
smart-turn's own time, and may be none; this measures it.

Piper says the four questions of benchmarks/voice_turn.py (16 kHz, leading and trailing quiet
cut); each repetition runs every question both ways, alternating, so the machine's changing
load falls on both alike. Models as the brain runs them (smart-turn 1 thread; Whisper int8,
beam 1, 2 threads unless `--whisper-threads` says otherwise); the blocking calls are timed
directly in threads (no trio hop). The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time

import numpy as np

from clanker.voice.models._audio import pcm_to_float, to_vad_rate
from clanker.voice.models.piper import PiperSettings, load_piper
from clanker.voice.models.smart_turn import load_smart_turn
from clanker.voice.models.whisper import WhisperSettings, WhisperTranscriber, load_whisper

QUESTIONS = (
    "What is the capital of France?",
    "How far away is the moon?",
    "Can you tell me a short joke?",
    "What should I cook for dinner tonight?",
)
PROMPT = "clanker"


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def questions() -> list[np.ndarray]:
    piper = load_piper(settings=PiperSettings(noise_scale=0.0, noise_w=0.0))
    out = []
    for q in QUESTIONS:
        pcm = b"".join(piper.speak_chunk(c) for c in [q])
        x = to_vad_rate(pcm_to_float(pcm, what="bench"), piper.sample_rate)
        loud = np.flatnonzero(np.abs(x) > 0.02)
        out.append(x[loud[0] : loud[-1] + 1].astype(np.float32))
    return out


def recognise(whisper: WhisperTranscriber, x: np.ndarray, done: list[float]) -> None:
    whisper.recognise(x, 16_000, PROMPT)
    done.append(time.perf_counter())


def measure(reps: int, threads: int, clips: list[np.ndarray]) -> dict[str, float]:
    turn = load_smart_turn()
    whisper = load_whisper(settings=WhisperSettings(cpu_threads=threads))
    for x in clips:  # warm up
        turn.score(x)
        whisper.recognise(x, 16_000, PROMPT)
    seq: list[float] = []
    spec: list[float] = []
    turn_alone: list[float] = []
    turn_beside: list[float] = []
    for _ in range(reps):
        for x in clips:
            t0 = time.perf_counter()
            turn.score(x)
            t1 = time.perf_counter()
            whisper.recognise(x, 16_000, PROMPT)
            seq.append(time.perf_counter() - t0)
            turn_alone.append(t1 - t0)

            done: list[float] = []
            asr = threading.Thread(target=recognise, args=(whisper, x, done))
            t0 = time.perf_counter()
            asr.start()
            turn.score(x)
            t1 = time.perf_counter()
            asr.join()
            spec.append(max(t1, done[0]) - t0)
            turn_beside.append(t1 - t0)
    ms = 1000.0
    return {
        f"w{threads}_sequential_p50_ms": round(pct(seq, 0.5) * ms, 1),
        f"w{threads}_sequential_p90_ms": round(pct(seq, 0.9) * ms, 1),
        f"w{threads}_speculative_p50_ms": round(pct(spec, 0.5) * ms, 1),
        f"w{threads}_speculative_p90_ms": round(pct(spec, 0.9) * ms, 1),
        f"w{threads}_ratio_p50": round(pct(spec, 0.5) / pct(seq, 0.5), 3),
        f"w{threads}_smart_turn_alone_p50_ms": round(pct(turn_alone, 0.5) * ms, 1),
        f"w{threads}_smart_turn_beside_whisper_p50_ms": round(pct(turn_beside, 0.5) * ms, 1),
        f"w{threads}_n": len(seq),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=10, help="repetitions of the 4 questions")
    parser.add_argument("--whisper-threads", type=int, nargs="+", default=[2])
    args = parser.parse_args()
    load = os.getloadavg()[0]
    clips = questions()
    result: dict[str, object] = {}
    for threads in args.whisper_threads:
        figures = measure(args.reps, threads, clips)
        for k, v in figures.items():
            print(f"{k:<40} {v}", flush=True)
        result |= figures
    result["load_avg_1m"] = [load, os.getloadavg()[0]]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
