"""The sandbox's generated music library: the tracks exist and are the tones they say."""

from __future__ import annotations

import math
import wave
from array import array
from pathlib import Path

from clanker.sandbox.music import TRACKS, write_demo_library
from clanker.voice.music_library import MusicLibrary


def _level(pcm: array, rate: int, hz: float) -> float:
    """Goertzel amplitude of `hz` (fraction of full scale)."""
    coeff = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in pcm:
        s1, s2 = x / 32768 + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return 2 * math.sqrt(max(power, 0.0)) / len(pcm)


def test_the_tracks_are_written_and_found(tmp_path: Path) -> None:
    root = write_demo_library(tmp_path / "m")
    lib = MusicLibrary(root)
    assert sorted(t.title for t in lib.tracks()) == sorted(TRACKS)
    tune = lib.find("the test tune")
    assert tune is not None
    with wave.open(str(tune.path)) as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    assert len(frames) / 2 / rate == TRACKS["Test Tune"][1]
    middle = array("h", frames)[rate : rate + rate // 10]  # 100 ms, one second in
    assert abs(_level(middle, rate, 440.0) - 0.3) < 0.01
    assert _level(middle, rate, 330.0) < 0.01
