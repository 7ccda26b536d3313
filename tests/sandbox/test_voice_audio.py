"""PCM helpers for the sandbox voice server: signals, WAV files, conversions and espeak-ng."""

from __future__ import annotations

import struct

import pytest

from clanker.sandbox.voice.audio import (
    AudioError,
    Pcm,
    chirp,
    goertzel_power,
    read_wav,
    silence,
    speech,
    tone,
    write_wav,
)


def test_a_tone_is_deterministic_and_has_its_frequency():
    a, b = tone(440, 0.1), tone(440, 0.1)
    assert a == b and a.frames == 4800 and a.rate == 48_000 and a.channels == 1
    assert goertzel_power(a, 440) > 1000 * goertzel_power(a, 880)
    assert max(abs(v) for v in a.samples()) == round(0.3 * 32767)


def test_a_chirp_sweeps_from_its_start_to_its_end_frequency():
    sweep = chirp(300, 3000, 1.0)
    head = Pcm(sweep.data[: 2 * 4800], 48_000)
    tail = Pcm(sweep.data[-2 * 4800 :], 48_000)
    assert goertzel_power(head, 435) > 10 * goertzel_power(head, 2865)
    assert goertzel_power(tail, 2865) > 10 * goertzel_power(tail, 435)


def test_channel_and_rate_conversions():
    mono = tone(1000, 0.05, rate=16_000)
    stereo = mono.to_stereo()
    assert stereo.channels == 2 and stereo.frames == mono.frames
    assert stereo.samples()[0::2] == stereo.samples()[1::2] == mono.samples()
    assert stereo.to_mono() == mono
    up = mono.for_discord()
    assert (up.rate, up.channels, up.frames) == (48_000, 2, 3 * mono.frames)
    assert goertzel_power(up, 1000) > 100 * goertzel_power(up, 3000)
    assert silence(0.01).rms() == 0 and tone(440, 0.1).rms() > 6000


def test_wav_files_round_trip(tmp_path):
    path = tmp_path / "a.wav"
    original = tone(440, 0.05, rate=22_050).to_stereo()
    write_wav(path, original)
    assert read_wav(path) == original


def test_bad_audio_is_refused_with_the_reason(tmp_path):
    with pytest.raises(AudioError, match="whole number of 2-channel"):
        Pcm(b"\x00\x00", 48_000, 2)
    with pytest.raises(AudioError, match="mono or stereo"):
        Pcm(b"", 48_000, 3)
    not_wav = tmp_path / "x.wav"
    not_wav.write_bytes(b"RIFF....nope")
    with pytest.raises(AudioError, match="not a PCM WAV file"):
        read_wav(not_wav)
    eight_bit = tmp_path / "8.wav"
    header = (
        b"RIFF"
        + struct.pack("<I", 36 + 4)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 8000, 1, 8)
    )
    eight_bit.write_bytes(header + b"data" + struct.pack("<I", 4) + b"\x80" * 4)
    with pytest.raises(AudioError, match="only 16-bit PCM WAV"):
        read_wav(eight_bit)
    with pytest.raises(AudioError, match="only PCM of the same rate"):
        tone(440, 0.01) + tone(440, 0.01, rate=16_000)


async def test_espeak_ng_speaks_text_as_pcm():
    spoken = await speech("hello from the sandbox")
    assert spoken.channels == 1 and spoken.rate == 22_050
    assert 0.8 < spoken.duration < 5
    assert spoken.rms() > 500
