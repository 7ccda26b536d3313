"""The models a voice brain gets, as the settings choose them: `load_voice_models`.

Speech activity (silero) and end of turn (smart-turn) are always local: they run on every
20 ms frame and every pause, where a network round trip would be too slow. Speech recognition
and synthesis are local (Whisper, Piper) or a cloud provider, per ``voice.asr.provider`` and
``voice.tts.provider`` (docs/voice-cloud.md).

Everything is kept for the life of the process: the guild session calls `load_voice_models`
on every voice join, and a brain restart reuses what it got, so the same choice must give the
same objects, not a new HTTP client (and its connection pool) per join. A cloud provider is
built in the caller's worker thread and used later on the trio loop; that is safe because
httpx/httpcore pick their async backend and make their locks on first use, not when the
client is built (tests/voice/cloud/test_select.py checks it against voicesim).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Hashable, Mapping
from functools import cache

from clanker.settings import Settings
from clanker.voice.brain.config import VoiceModels
from clanker.voice.cloud.factory import (
    cloud_synth,
    cloud_transcriber,
    synth_choice,
    transcriber_choice,
)

from .base import SpeechSynth, Transcriber, VadFactory
from .piper import DEFAULT_PIPER, load_piper
from .smart_turn import load_smart_turn
from .vad import silero_vad_factory
from .whisper import DEFAULT_WHISPER, load_whisper

Choice = tuple[Hashable, ...]

# One lock for all three caches: two guilds joining at once must not build two clients for
# one choice. Loading under it is fine: a second caller waits for, then shares, the first's.
_lock = threading.Lock()
_transcribers: dict[Choice, Transcriber] = {}
_synths: dict[Choice, SpeechSynth] = {}
_bundles: dict[tuple[Choice, Choice], VoiceModels] = {}


@cache
def _vad_factory() -> VadFactory:
    return silero_vad_factory()


def _transcriber(choice: Choice, settings: Settings, env: Mapping[str, str]) -> Transcriber:
    found = _transcribers.get(choice)
    if found is None:
        found = cloud_transcriber(settings, env) or load_whisper(settings=DEFAULT_WHISPER)
        _transcribers[choice] = found
    return found


def _synth(choice: Choice, settings: Settings, env: Mapping[str, str]) -> SpeechSynth:
    found = _synths.get(choice)
    if found is None:
        found = cloud_synth(settings, env) or load_piper(settings=DEFAULT_PIPER)
        _synths[choice] = found
    return found


def load_voice_models(settings: Settings, env: Mapping[str, str] | None = None) -> VoiceModels:
    """The brain's models for ``settings.voice``, with cloud keys and base URLs from ``env``
    (default `os.environ`; see `clanker.voice.cloud.factory`).

    Blocking (seconds the first time: the local models load, the SDK imports): call it in a
    worker thread. The same choice (provider, its settings, key and base URL) returns the same
    objects; a new choice builds only what changed, and what an earlier choice built stays
    cached (nothing is closed: a brain may still hold it). Whisper, Piper and smart-turn are
    the process-wide instances `load_local_models()` also holds. A chosen cloud provider
    without its key raises `CloudConfigError` (a `ModelError`) naming the environment
    variable; a local model that cannot load raises `ModelError` naming what is missing.
    A failed load is not remembered: the next join tries again.
    """
    env = os.environ if env is None else env
    asr = transcriber_choice(settings, env)
    tts = synth_choice(settings, env)
    with _lock:
        models = _bundles.get((asr, tts))
        if models is None:
            models = VoiceModels(
                vad_factory=_vad_factory(),
                turn=load_smart_turn(),
                transcriber=_transcriber(asr, settings, env),
                synth=_synth(tts, settings, env),
            )
            _bundles[asr, tts] = models
        return models
