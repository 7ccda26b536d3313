"""PCM audio for the sandbox: a small container, WAV files, deterministic test signals, speech.

`Pcm` holds interleaved s16le samples with their rate and channel count. Tests prefer the
deterministic signals (`tone`, `chirp`, `silence`); demos can speak with espeak-ng
(`speech`, installed by `scripts/bootstrap`). Everything here is plain Python (`array`), fast
enough for seconds of audio.
"""

from __future__ import annotations

import array
import math
import shutil
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import trio

SAMPLE_RATE = 48_000


class AudioError(ValueError):
    """Audio that cannot be used as given (format, rate, file)."""


@dataclass(frozen=True)
class Pcm:
    """Interleaved signed 16-bit little-endian samples."""

    data: bytes
    rate: int = SAMPLE_RATE
    channels: int = 1

    def __post_init__(self) -> None:
        if self.channels not in (1, 2):
            raise AudioError(f"PCM must be mono or stereo, got {self.channels} channels")
        if self.rate <= 0:
            raise AudioError(f"sample rate must be positive, got {self.rate}")
        if len(self.data) % (2 * self.channels):
            raise AudioError(
                f"{len(self.data)} bytes is not a whole number of "
                f"{self.channels}-channel s16 frames"
            )

    @property
    def frames(self) -> int:
        """Samples per channel."""
        return len(self.data) // (2 * self.channels)

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return self.frames / self.rate

    def samples(self) -> array.array[int]:
        """The interleaved samples as an `array('h')`."""
        out = array.array("h")
        out.frombytes(self.data)
        if sys.byteorder == "big":
            out.byteswap()
        return out

    @classmethod
    def from_samples(cls, samples: array.array[int], rate: int, channels: int) -> Pcm:
        """Build from an `array('h')` of interleaved samples."""
        if sys.byteorder == "big":
            samples = array.array("h", samples)
            samples.byteswap()
        return cls(samples.tobytes(), rate, channels)

    def to_mono(self) -> Pcm:
        """Average the channels."""
        if self.channels == 1:
            return self
        s = self.samples()
        mono = array.array("h", ((s[i] + s[i + 1]) // 2 for i in range(0, len(s), 2)))
        return Pcm.from_samples(mono, self.rate, 1)

    def to_stereo(self) -> Pcm:
        """Copy a mono signal to both channels."""
        if self.channels == 2:
            return self
        s = self.samples()
        stereo = array.array("h", bytes(4 * len(s)))
        stereo[0::2] = s
        stereo[1::2] = s
        return Pcm.from_samples(stereo, self.rate, 2)

    def resample(self, rate: int) -> Pcm:
        """Linear-interpolation resampling: enough for test signals and sandbox speech."""
        if rate == self.rate:
            return self
        if rate <= 0:
            raise AudioError(f"sample rate must be positive, got {rate}")
        s, ch = self.samples(), self.channels
        n_in = self.frames
        n_out = n_in * rate // self.rate
        out = array.array("h", bytes(2 * n_out * ch))
        step = self.rate / rate
        for i in range(n_out):
            pos = i * step
            j = int(pos)
            frac = pos - j
            k = min(j + 1, n_in - 1)
            for c in range(ch):
                a, b = s[j * ch + c], s[k * ch + c]
                out[i * ch + c] = round(a + (b - a) * frac)
        return Pcm.from_samples(out, rate, ch)

    def for_discord(self) -> Pcm:
        """48 kHz stereo, what Discord's Opus streams carry."""
        return self.resample(SAMPLE_RATE).to_stereo()

    def rms(self) -> float:
        """Root mean square of all samples (0 for silence)."""
        s = self.samples()
        return math.sqrt(sum(v * v for v in s) / len(s)) if len(s) else 0.0

    def __add__(self, other: Pcm) -> Pcm:
        if (other.rate, other.channels) != (self.rate, self.channels):
            raise AudioError("only PCM of the same rate and channel count can be joined")
        return Pcm(self.data + other.data, self.rate, self.channels)


# -- files --------------------------------------------------------------------------------------


def read_wav(path: str | Path) -> Pcm:
    """A 16-bit PCM WAV file (mono or stereo, any rate)."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2:
                raise AudioError(
                    f"{path}: only 16-bit PCM WAV is supported, got {8 * wav.getsampwidth()}-bit"
                )
            data = wav.readframes(wav.getnframes())
            return Pcm(data, wav.getframerate(), wav.getnchannels())
    except (wave.Error, EOFError) as exc:
        raise AudioError(f"{path}: not a PCM WAV file ({exc})") from exc


def write_wav(path: str | Path, pcm: Pcm) -> None:
    """Write `pcm` as a 16-bit WAV file."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(pcm.channels)
        wav.setsampwidth(2)
        wav.setframerate(pcm.rate)
        wav.writeframes(pcm.data)


# -- deterministic signals ----------------------------------------------------------------------


def tone(
    frequency: float, seconds: float, *, rate: int = SAMPLE_RATE, amplitude: float = 0.3
) -> Pcm:
    """A mono sine tone."""
    n = round(seconds * rate)
    peak = amplitude * 32767
    w = 2 * math.pi * frequency / rate
    return Pcm.from_samples(
        array.array("h", (round(peak * math.sin(w * i)) for i in range(n))), rate, 1
    )


def chirp(
    start_hz: float,
    end_hz: float,
    seconds: float,
    *,
    rate: int = SAMPLE_RATE,
    amplitude: float = 0.3,
) -> Pcm:
    """A mono linear sweep from `start_hz` to `end_hz` (a signal that is different at every
    instant, so alignment and loss show up in comparisons)."""
    n = round(seconds * rate)
    peak = amplitude * 32767
    k = (end_hz - start_hz) / seconds
    samples = array.array(
        "h",
        (
            round(peak * math.sin(2 * math.pi * (start_hz * t + 0.5 * k * t * t)))
            for t in (i / rate for i in range(n))
        ),
    )
    return Pcm.from_samples(samples, rate, 1)


def silence(seconds: float, *, rate: int = SAMPLE_RATE, channels: int = 1) -> Pcm:
    """Digital silence."""
    return Pcm(bytes(2 * channels * round(seconds * rate)), rate, channels)


def goertzel_power(pcm: Pcm, frequency: float) -> float:
    """Relative power of `frequency` in a mono signal (normalised by length): a cheap
    "is this tone there" measure for tests."""
    s = pcm.to_mono().samples()
    w = 2 * math.pi * frequency / pcm.rate
    coeff = 2 * math.cos(w)
    q1 = q2 = 0.0
    for v in s:
        q0 = coeff * q1 - q2 + v
        q2, q1 = q1, q0
    power = q1 * q1 + q2 * q2 - coeff * q1 * q2
    return power / max(1, len(s)) ** 2


# -- speech -------------------------------------------------------------------------------------


async def speech(text: str, *, voice: str = "en-us", words_per_minute: int = 160) -> Pcm:
    """`text` spoken by espeak-ng (mono, at espeak's own rate, usually 22050 Hz)."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise AudioError(
            "espeak-ng is not installed: `apt-get install espeak-ng` (scripts/bootstrap does)"
        )
    with tempfile.TemporaryDirectory(prefix="clanker-speech-") as tmp:
        path = Path(tmp) / "speech.wav"
        await trio.run_process(
            [binary, "-v", voice, "-s", str(words_per_minute), "-w", str(path), text],
            capture_stdout=True,
            capture_stderr=True,
        )
        return await trio.to_thread.run_sync(read_wav, path)
