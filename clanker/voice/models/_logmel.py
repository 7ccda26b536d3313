"""Whisper's log-mel spectrogram, in numpy (no I/O).

Both Whisper and smart-turn (a Whisper encoder with a classifier head) read the same features,
as Whisper's paper and reference code define them: a centred STFT (400-sample periodic Hann
window, hop 160, reflect padding) of 16 kHz audio, its power spectrum through 80 Slaney-normalised
mel filters spanning 0-8 kHz, log10 floored at 1e-10, clamped to 8 decades below the loudest
value, then scaled by (x + 4) / 4 to roughly [-1, 1]. One frame per 10 ms; the STFT's last frame
is dropped so 8 s make exactly 800 frames and 30 s exactly 3000.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from ._audio import Samples
from .base import VAD_RATE

N_FFT = 400
HOP = 160
N_MELS = 80

Features = npt.NDArray[np.float32]


def log_mel(samples: Samples) -> Features:
    """The `[80, len(samples) // 160]` log-mel features of 16 kHz float samples."""
    if samples.size < N_FFT // 2 + 1:
        raise ValueError(f"{samples.size} samples is too short for a spectrogram (need > 200)")
    padded = np.pad(samples.astype(np.float32, copy=False), N_FFT // 2, mode="reflect")
    frames = sliding_window_view(padded, N_FFT)[::HOP][:-1]
    spectrum = np.fft.rfft(frames * _window(), axis=-1)
    power = spectrum.real**2 + spectrum.imag**2  # [frames, 201]
    mel = power.astype(np.float32) @ _mel_filters()  # [frames, 80]
    logs = np.log10(np.maximum(mel, 1e-10))
    logs = np.maximum(logs, logs.max() - 8.0)
    return np.ascontiguousarray(((logs + 4.0) / 4.0).T, dtype=np.float32)


@cache
def _window() -> Samples:
    # Periodic Hann (as torch.hann_window): the symmetric window of N+1 points without its last.
    return np.hanning(N_FFT + 1)[:-1].astype(np.float32)


def _hz_to_mel(hz: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    # Slaney's scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above.
    linear = hz * 3.0 / 200.0
    logarithmic = 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) * (27.0 / np.log(6.4))
    return np.where(hz >= 1000.0, logarithmic, linear)


def _mel_to_hz(mel: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    linear = mel * 200.0 / 3.0
    logarithmic = 1000.0 * np.exp((mel - 15.0) * (np.log(6.4) / 27.0))
    return np.where(mel >= 15.0, logarithmic, linear)


@cache
def _mel_filters() -> npt.NDArray[np.float32]:
    """`[201, 80]` triangular filters, equally spaced in mels, each scaled to unit area."""
    top = _hz_to_mel(np.array(VAD_RATE / 2))
    edges_mel = np.linspace(_hz_to_mel(np.array(0.0)), top, N_MELS + 2)
    edges = _mel_to_hz(edges_mel)
    bins = np.linspace(0.0, VAD_RATE / 2, N_FFT // 2 + 1)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins[:, None] - lower) / (centre - lower)
    falling = (upper - bins[:, None]) / (upper - centre)
    triangles = np.maximum(0.0, np.minimum(rising, falling))
    triangles *= 2.0 / (upper - lower)  # Slaney normalisation: equal area per filter
    return triangles.astype(np.float32)
