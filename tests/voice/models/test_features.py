"""The numpy pieces under the models: resampling and Whisper's log-mel features."""

from __future__ import annotations

import numpy as np
import pytest

from clanker.voice.models._audio import to_vad_rate
from clanker.voice.models._logmel import _mel_filters, log_mel


@pytest.mark.parametrize("rate", [48_000, 44_100, 24_000, 22_050, 8_000])
def test_resampling_keeps_a_tone_and_its_timing(rate: int) -> None:
    t = np.arange(2 * rate) / rate
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    out = to_vad_rate(tone, rate)
    assert out.size == 32_000
    expected = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(out.size) / 16_000)
    assert np.abs(out[300:-300] - expected[300:-300]).max() < 1e-3


@pytest.mark.parametrize("rate", [48_000, 24_000, 22_050])
def test_resampling_removes_what_16khz_cannot_carry(rate: int) -> None:
    t = np.arange(rate) / rate
    high = (0.5 * np.sin(2 * np.pi * 9_500 * t)).astype(np.float32)  # above 8 kHz
    out = to_vad_rate(high, rate)
    assert np.sqrt(np.mean(out[300:-300] ** 2)) < 1e-3  # no alias at 6.5 kHz


def test_16khz_passes_through_untouched() -> None:
    samples = np.arange(10, dtype=np.float32)
    assert to_vad_rate(samples, 16_000) is samples


def test_eight_seconds_make_800_frames_and_30_make_3000() -> None:
    assert log_mel(np.zeros(8 * 16_000, np.float32)).shape == (80, 800)
    assert log_mel(np.zeros(30 * 16_000, np.float32)).shape == (80, 3000)


def test_a_tone_lights_the_mel_band_of_its_frequency() -> None:
    t = np.arange(16_000) / 16_000
    features = log_mel((0.3 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32))
    filters = _mel_filters()
    bin_1khz = round(1000 / (8000 / 200))
    assert features.mean(axis=1).argmax() == filters[bin_1khz].argmax()
    # Clamped to 8 decades below the peak, then (x + 4) / 4: a range of exactly 2.0.
    assert features.max() - features.min() == pytest.approx(2.0, abs=1e-5)


def test_slaney_filters_have_unit_area() -> None:
    filters = _mel_filters()
    spacing = 8000 / 200
    areas = filters.sum(axis=0) * spacing
    # Each triangle is sampled at 40 Hz bins, so single areas are off by up to ~8 % (and the
    # narrow low filters fall between bins); on average they are 1.
    assert areas[20:] == pytest.approx(1.0, rel=0.1)
    assert areas[20:].mean() == pytest.approx(1.0, rel=0.01)


def test_a_clip_shorter_than_one_window_is_refused() -> None:
    with pytest.raises(ValueError, match="too short"):
        log_mel(np.zeros(100, np.float32))
