"""The sandbox's music library: a few generated tracks, so "clanker, play the test tune" works
with no files and no network. Steady tones (easy to tell apart, and to measure in tests):

* `Test Tune.wav` — 440 Hz, 30 s
* `Second Song.wav` — 330 Hz, 10 s
* `Short Beep.wav` — 880 Hz, 2 s
"""

from __future__ import annotations

import math
import wave
from array import array
from pathlib import Path

RATE = 24_000
AMPLITUDE = 0.3  # of full scale
TRACKS: dict[str, tuple[float, float]] = {  # title -> (Hz, seconds)
    "Test Tune": (440.0, 30.0),
    "Second Song": (330.0, 10.0),
    "Short Beep": (880.0, 2.0),
}


def tone(hz: float, seconds: float, *, rate: int = RATE, amplitude: float = AMPLITUDE) -> bytes:
    """s16le mono: a sine with 10 ms fades at both ends."""
    n = int(seconds * rate)
    fade = rate // 100
    peak = amplitude * 32767
    samples = array("h", bytes(2 * n))
    step = 2 * math.pi * hz / rate
    for i in range(n):
        env = min(1.0, i / fade, (n - 1 - i) / fade)
        samples[i] = int(peak * env * math.sin(step * i))
    return samples.tobytes()


def write_demo_library(root: Path) -> Path:
    """Write the tracks into `root` (made if missing); returns `root`."""
    root.mkdir(parents=True, exist_ok=True)
    for title, (hz, seconds) in TRACKS.items():
        with wave.open(str(root / f"{title}.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(tone(hz, seconds))
    return root


__all__ = ["TRACKS", "tone", "write_demo_library"]
