"""The audio voicesim makes and reads: a deterministic "speech" pattern and WAV uploads.

`speech_pcm` is what every TTS endpoint of the sim speaks: one tone per character, its pitch
chosen by the character, spaces silent, ``ms_per_char`` long each (divided by the requested
speed). Nothing random, so a test can compute the exact bytes a request must yield.
"""

from __future__ import annotations

import io
import itertools
import wave
from dataclasses import dataclass

import numpy as np

MS_PER_CHAR = 60.0
"""How long the sim speaks each character of the text (at speed 1.0)."""

_AMPLITUDE = 6000


def samples_per_char(rate: int, *, ms_per_char: float = MS_PER_CHAR, speed: float = 1.0) -> int:
    """Samples one character lasts at ``rate``."""
    return round(rate * ms_per_char / 1000.0 / speed)


def speech_pcm(
    text: str, rate: int, *, ms_per_char: float = MS_PER_CHAR, speed: float = 1.0
) -> bytes:
    """s16le mono "speech" for ``text``: ``len(text)`` tones of `samples_per_char` each."""
    n = samples_per_char(rate, ms_per_char=ms_per_char, speed=speed)
    t = np.arange(n, dtype=np.float64) / rate
    pieces = []
    for ch in text:
        if ch.isspace():
            pieces.append(np.zeros(n, dtype=np.int16))
            continue
        freq = 220.0 + 20.0 * (ord(ch) % 24)
        pieces.append((np.sin(2 * np.pi * freq * t) * _AMPLITUDE).astype(np.int16))
    if not pieces:
        return b""
    return np.concatenate(pieces).astype("<i2").tobytes()


def split_odd(total: int, parts: int) -> list[tuple[int, int]]:
    """(start, end) byte ranges cutting ``total`` bytes into up to ``parts`` pieces at odd
    offsets, so every boundary splits a 16-bit sample (a client must carry the odd byte)."""
    cuts = sorted({(total * k // parts) | 1 for k in range(1, parts)})
    cuts = [c for c in cuts if 0 < c < total]
    edges = [0, *cuts, total]
    return [(a, b) for a, b in itertools.pairwise(edges) if b > a]


@dataclass(frozen=True, slots=True)
class SimAudio:
    """An uploaded WAV as the sim decoded it."""

    rate: int
    channels: int
    sample_width: int  # bytes per sample
    frames: int
    pcm: bytes

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return self.frames / self.rate if self.rate else 0.0


def read_wav(data: bytes) -> SimAudio:
    """Decode a WAV file; raises ``ValueError`` saying why when it is not one."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            frames = wav.getnframes()
            audio = SimAudio(
                rate=wav.getframerate(),
                channels=wav.getnchannels(),
                sample_width=wav.getsampwidth(),
                frames=frames,
                pcm=wav.readframes(frames),
            )
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"not a WAV file ({exc})") from exc
    expected = audio.frames * audio.channels * audio.sample_width
    if len(audio.pcm) != expected:
        raise ValueError(
            f"the WAV header promises {audio.frames} frames but the data holds "
            f"{len(audio.pcm) // max(1, audio.channels * audio.sample_width)}"
        )
    return audio
