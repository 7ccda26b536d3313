"""Silero VAD and smart-turn on Piper speech, silence and noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clanker.voice.models._audio import float_to_pcm
from clanker.voice.models.base import ModelError
from clanker.voice.models.local import LocalModels, load_local_models
from clanker.voice.models.smart_turn import SmartTurn, load_smart_turn
from clanker.voice.models.vad import FRAME_SAMPLES

from .conftest import DETERMINISTIC


def frames(pcm: bytes) -> list[bytes]:
    size = 2 * FRAME_SAMPLES
    return [pcm[i : i + size] for i in range(0, len(pcm) - size + 1, size)]


def test_vad_hears_speech_and_not_silence_or_noise(
    local: LocalModels, question_16k: np.ndarray
) -> None:
    vad = local.vad_factory()
    assert vad.frame_samples == FRAME_SAMPLES == 512
    speech = [vad.probability(f) for f in frames(float_to_pcm(question_16k))]
    vad.reset()
    silence = [vad.probability(f) for f in frames(bytes(2 * 16_000))]
    vad.reset()
    noise = np.random.default_rng(7).normal(0, 0.1, 16_000).astype(np.float32)
    hiss = [vad.probability(f) for f in frames(float_to_pcm(noise))]

    assert np.median(speech) > 0.8 and max(speech) > 0.95
    assert max(silence) < 0.1
    assert max(hiss) < 0.3


def test_each_speaker_has_their_own_state_and_reset_forgets_it(
    local: LocalModels, question_16k: np.ndarray
) -> None:
    first, second = local.vad_factory(), local.vad_factory()
    clip = frames(float_to_pcm(question_16k))[:20]
    heard = [first.probability(f) for f in clip]
    assert [second.probability(f) for f in clip] == heard  # untouched by `first`
    first.reset()
    assert [first.probability(f) for f in clip] == heard


def test_vad_rejects_a_frame_of_the_wrong_size(local: LocalModels) -> None:
    vad = local.vad_factory()
    with pytest.raises(ValueError, match=r"512 samples \(1024 bytes.*not 960 bytes"):
        vad.probability(bytes(960))


async def test_a_full_question_is_a_finished_turn_and_a_cut_one_is_not(
    smart_turn: SmartTurn, question_16k: np.ndarray
) -> None:
    full = await smart_turn.complete_probability(float_to_pcm(question_16k))
    # "What is the weather like…": cut in the middle of the sentence.
    cut = await smart_turn.complete_probability(
        float_to_pcm(question_16k[: int(question_16k.size * 0.55)])
    )
    assert full >= 0.5 > cut
    assert full > 0.9 and cut < 0.1  # measured 0.98 and 0.01


async def test_smart_turn_looks_at_the_last_eight_seconds(
    smart_turn: SmartTurn, question_16k: np.ndarray
) -> None:
    cut = question_16k[: int(question_16k.size * 0.55)]
    gap = np.zeros(16_000, np.float32)
    # 10 s of audio: a finished question long ago, then a cut-off one at the end.
    long = np.concatenate([question_16k, gap, np.zeros(16_000 * 10, np.float32), cut])
    assert long.size > 8 * 16_000
    cut_alone = await smart_turn.complete_probability(float_to_pcm(cut))
    assert await smart_turn.complete_probability(float_to_pcm(long)) < 0.5
    # …and the other way round: the ending decides.
    ends_finished = np.concatenate([cut, np.zeros(16_000 * 9, np.float32), question_16k])
    assert await smart_turn.complete_probability(float_to_pcm(ends_finished)) > 0.5
    assert cut_alone < 0.5


async def test_smart_turn_rejects_bad_audio(smart_turn: SmartTurn) -> None:
    with pytest.raises(ValueError, match="utterance is empty"):
        await smart_turn.complete_probability(b"")
    with pytest.raises(ValueError, match="1001 bytes is an odd count"):
        await smart_turn.complete_probability(bytes(1001))


def test_a_missing_model_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"smart-turn: model file .*nowhere\.onnx does not exist"):
        load_smart_turn(tmp_path / "nowhere.onnx")


def test_a_corrupt_model_file_is_named(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelError, match=r"onnxruntime could not load .*junk\.onnx"):
        load_smart_turn(junk)


def test_the_models_load_once_per_process(local: LocalModels) -> None:
    assert load_local_models(piper=DETERMINISTIC) is local
    assert load_smart_turn() is local.turn
