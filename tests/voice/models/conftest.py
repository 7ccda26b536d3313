"""Session-wide local models: each loads once for the whole test run (~1.5 s in all).

Piper runs with its noise turned off (noise_scale = noise_w = 0) so every synthesis of a
sentence is the same audio and a test cannot pass or fail on a lucky draw; with the voice's
default noise, Whisper tiny.en hears "Paris" as "pairs" in about a third of the takes.
"""

from __future__ import annotations

import pytest

from clanker.voice.models._audio import Samples, pcm_to_float, to_vad_rate
from clanker.voice.models.local import LocalModels, load_local_models
from clanker.voice.models.piper import PiperSettings, PiperVoice
from clanker.voice.models.smart_turn import SmartTurn
from clanker.voice.models.whisper import WhisperTranscriber

QUESTION = "What is the weather like in Paris today?"
DETERMINISTIC = PiperSettings(noise_scale=0.0, noise_w=0.0)


@pytest.fixture(scope="session")
def local() -> LocalModels:
    return load_local_models(piper=DETERMINISTIC)


@pytest.fixture(scope="session")
def piper(local: LocalModels) -> PiperVoice:
    assert isinstance(local.synth, PiperVoice)
    return local.synth


@pytest.fixture(scope="session")
def whisper(local: LocalModels) -> WhisperTranscriber:
    assert isinstance(local.transcriber, WhisperTranscriber)
    return local.transcriber


@pytest.fixture(scope="session")
def smart_turn(local: LocalModels) -> SmartTurn:
    assert isinstance(local.turn, SmartTurn)
    return local.turn


@pytest.fixture(scope="session")
def question_16k(piper: PiperVoice) -> Samples:
    """The question spoken by Piper, at 16 kHz (the VAD's and smart-turn's rate)."""
    return to_vad_rate(pcm_to_float(piper.speak_chunk(QUESTION), what="fixture"), piper.sample_rate)
