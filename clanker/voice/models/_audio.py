"""PCM checks and conversions shared by the local models (numpy only, no I/O).

Every model takes s16le mono `bytes`; these helpers turn that into float32 samples in [-1, 1],
with errors that name what was wrong, and bring other sample rates to 16 kHz.
"""

from __future__ import annotations

from functools import cache
from math import gcd

import numpy as np
import numpy.typing as npt

from .base import VAD_RATE

Samples = npt.NDArray[np.float32]

# Half-width of the resampling filter in zero crossings of its sinc: 16 per side with a Kaiser
# window (beta 8.6) keep the stop band near -80 dB.
_ZERO_CROSSINGS = 16
_KAISER_BETA = 8.6
_MAX_PHASES = 1000
_BLOCK = 8192


def pcm_to_float(pcm: bytes, *, what: str) -> Samples:
    """`pcm` (s16le mono) as float32 samples in [-1, 1). `what` names the caller in errors."""
    if len(pcm) % 2:
        raise ValueError(
            f"{what}: {len(pcm)} bytes is an odd count; s16le audio has 2 bytes per sample "
            "(was the buffer cut mid-sample?)"
        )
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) * np.float32(1 / 32768)


def float_to_pcm(samples: npt.NDArray[np.floating]) -> bytes:
    """Float samples in [-1, 1] as s16le bytes (clipped, not wrapped, outside that range)."""
    scaled = np.clip(np.asarray(samples, dtype=np.float32) * 32767.0, -32768.0, 32767.0)
    return bytes(scaled.astype("<i2").tobytes())


def to_vad_rate(samples: Samples, sample_rate: int) -> Samples:
    """`samples` at `sample_rate` resampled to 16 kHz (unchanged when already at 16 kHz).

    Polyphase windowed-sinc interpolation for any rational ratio (48k -> 16k is 1/3, 22.05k ->
    16k is 320/441): each output sample is a Kaiser-windowed sinc of its neighbours, the filter
    cut at the lower of the two Nyquist frequencies. scipy is not a dependency and soxr's
    libsoxr is LGPL, so this is ours; it is exact enough for speech recognition and takes a few
    ms per second of audio. clankvox can deliver 16 kHz directly, which skips all of this.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample rate {sample_rate} Hz is not positive")
    if sample_rate == VAD_RATE or samples.size == 0:
        return samples
    g = gcd(VAD_RATE, sample_rate)
    up, down = VAD_RATE // g, sample_rate // g
    if up > _MAX_PHASES:
        raise ValueError(
            f"sample rate {sample_rate} Hz has no small ratio to {VAD_RATE} Hz; pass audio at a "
            "common rate (8, 11.025, 16, 22.05, 24, 32, 44.1 or 48 kHz)"
        )
    weights, half = _phase_filters(up, down)
    n_out = (samples.size * up + down - 1) // down
    # Zeros either side so every tap of every output reads a valid index.
    padded = np.concatenate([np.zeros(half, np.float32), samples, np.zeros(half + 1, np.float32)])
    offsets = np.arange(weights.shape[1])
    out = np.empty(n_out, dtype=np.float32)
    for first in range(0, n_out, _BLOCK):
        n = np.arange(first, min(first + _BLOCK, n_out))
        base = (n * down) // up  # the input sample at or before each output instant
        taps = padded[base[:, None] + offsets[None, :] + 1]
        out[first : first + n.size] = np.einsum("ij,ij->i", taps, weights[n % up])
    return out


@cache
def _phase_filters(up: int, down: int) -> tuple[Samples, int]:
    """Per output phase (n % up), the weights of the 2*half input samples around it."""
    cutoff = min(1.0, up / down)  # relative to the input Nyquist
    half = int(np.ceil(_ZERO_CROSSINGS / cutoff))
    # Input sample k (offset from the one at or before the output instant) is at distance
    # frac - k, frac being the output instant's fractional position in input samples.
    frac = (np.arange(up) * down % up) / up
    k = np.arange(-half + 1, half + 1)
    distance = frac[:, None] - k[None, :]
    window = np.i0(_KAISER_BETA * np.sqrt(np.clip(1 - (distance / half) ** 2, 0, 1)))
    weights = cutoff * np.sinc(cutoff * distance) * window / np.i0(_KAISER_BETA)
    return weights.astype(np.float32), half
