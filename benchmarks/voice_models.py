"""Local voice models benchmark: each model's cost on this machine's CPU, in one run.

    .venv/bin/python benchmarks/voice_models.py [--quick]

Reports percentiles (p50 / p90 / max) of:

* silero VAD per 32 ms frame (``vad_frame_ms``);
* smart-turn per inference on a 2 s utterance and on a full 8 s window (``turn_ms``);
* Whisper tiny.en per clip, beam 1 and beam 5, at 16 kHz (the hot path) and at 22.05 kHz (with
  our resampler) (``whisper_beam1_s`` ...);
* espeak-ng phonemes per sentence, long-lived process vs a spawn per sentence;
* Piper: time to the first chunk and the real-time factor (compute / audio seconds) for a
  ~5 s sentence of two clauses, with the voice's default noise.

Models run as the voice brain runs them (the same settings, one thread each except Whisper's
2); the blocking calls are timed directly, without the trio thread hop (~0.1-1 ms). The last
line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from functools import partial

import numpy as np

from clanker.voice.models import _espeak
from clanker.voice.models._audio import pcm_to_float, to_vad_rate
from clanker.voice.models.piper import load_piper, split_chunks
from clanker.voice.models.smart_turn import load_smart_turn
from clanker.voice.models.vad import silero_vad_factory
from clanker.voice.models.whisper import WhisperSettings, load_whisper

QUESTION = "What is the weather like in Paris today?"
# One sentence of ~5 s, in two clauses: the first chunk is the first clause.
REPLY = "It is sunny in Paris this afternoon, with a light wind and about twenty degrees."


def percentiles(samples: list[float], scale: float = 1.0) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * scale, 3)

    return {"p50": at(0.5), "p90": at(0.9), "max": round(ordered[-1] * scale, 3), "n": len(ordered)}


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    spent = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        spent.append(time.perf_counter() - start)
    return spent


def show(label: str, figures: dict[str, float], unit: str) -> None:
    print(
        f"{label:<44} p50 {figures['p50']:>8.3f} {unit}  p90 {figures['p90']:>8.3f} {unit}  "
        f"max {figures['max']:>8.3f} {unit}  (n={figures['n']})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    runs = 3 if parser.parse_args().quick else 10
    results: dict[str, float] = {}
    figures: dict[str, dict[str, float]] = {}

    start = time.perf_counter()
    piper = load_piper()
    whisper = {beam: load_whisper(settings=WhisperSettings(beam_size=beam)) for beam in (1, 5)}
    turn = load_smart_turn()
    vad = silero_vad_factory()()
    results["load_s"] = round(time.perf_counter() - start, 2)
    print(f"loaded the models in {results['load_s']} s")

    question_22k = pcm_to_float(piper.speak_chunk(QUESTION), what="benchmark")
    question = to_vad_rate(question_22k, piper.sample_rate)
    pcm16 = (question * 32767).astype("<i2").tobytes()

    frames = [pcm16[i : i + 1024] for i in range(0, len(pcm16) - 1023, 1024)]
    per_frame: list[float] = []
    for _ in range(runs):
        vad.reset()
        for frame in frames:
            t = time.perf_counter()
            vad.probability(frame)
            per_frame.append(time.perf_counter() - t)
    figures["vad_frame_ms"] = percentiles(per_frame, 1e3)
    show("silero VAD, one 32 ms frame", figures["vad_frame_ms"], "ms")

    window = np.concatenate([np.zeros(16_000 * 6, np.float32), question])[-16_000 * 8 :]
    figures["turn_ms"] = percentiles(timed(lambda: turn.score(question), runs * 2), 1e3)
    figures["turn_8s_ms"] = percentiles(timed(lambda: turn.score(window), runs * 2), 1e3)
    show("smart-turn, 2 s utterance", figures["turn_ms"], "ms")
    show("smart-turn, 8 s window", figures["turn_8s_ms"], "ms")

    seconds = question.size / 16_000
    for beam, model in whisper.items():
        model.recognise(question, 16_000)  # warm the caches
        key = f"whisper_beam{beam}_s"
        figures[key] = percentiles(timed(partial(model.recognise, question, 16_000), runs))
        show(f"whisper tiny.en beam {beam}, {seconds:.1f} s clip @16k", figures[key], "s")
    resampled = percentiles(
        timed(lambda: whisper[1].recognise(question_22k, piper.sample_rate), runs)
    )
    figures["whisper_beam1_22k_s"] = resampled
    show(f"whisper tiny.en beam 1, {seconds:.1f} s clip @22.05k", resampled, "s")

    process = _espeak.EspeakProcess("en-us")
    figures["espeak_process_ms"] = percentiles(
        timed(lambda: process.phonemize(QUESTION), runs * 3), 1e3
    )
    figures["espeak_spawn_ms"] = percentiles(
        timed(lambda: _espeak.phonemize_once(QUESTION, "en-us"), runs * 3), 1e3
    )
    process.close()
    show("espeak-ng phonemes, long-lived process", figures["espeak_process_ms"], "ms")
    show("espeak-ng phonemes, one spawn each", figures["espeak_spawn_ms"], "ms")

    first_chunk: list[float] = []
    rtf: list[float] = []
    audio_seconds = 0.0
    for _ in range(runs):
        t = time.perf_counter()
        chunks = []
        for i, chunk in enumerate(split_chunks(REPLY)):
            chunks.append(piper.speak_chunk(chunk))
            if i == 0:
                first_chunk.append(time.perf_counter() - t)
        spent = time.perf_counter() - t
        audio_seconds = sum(len(c) for c in chunks) / 2 / piper.sample_rate
        rtf.append(spent / audio_seconds)
    results["piper_audio_s"] = round(audio_seconds, 2)
    results["piper_chunks"] = len(split_chunks(REPLY))
    figures["piper_first_chunk_s"] = percentiles(first_chunk)
    figures["piper_rtf"] = percentiles(rtf)
    show(f"piper, first of {results['piper_chunks']} chunks", figures["piper_first_chunk_s"], "s")
    show(f"piper, real-time factor ({audio_seconds:.1f} s reply)", figures["piper_rtf"], "x")

    print(json.dumps({**results, **figures}))


if __name__ == "__main__":
    main()
