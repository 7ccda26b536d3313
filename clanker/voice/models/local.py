"""The local models as one bundle: what the voice brain uses when no cloud key is set.

Everything runs on this machine's CPU with weights that ship in installed packages (or, for
smart-turn, in `data/`): nothing is downloaded at run time. Loading all four takes ~1.5 s and
~250 MB; `load_local_models` does it once per process, so the brain can call it from any actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from .base import SpeechSynth, Transcriber, TurnDetector, VadFactory
from .piper import DEFAULT_PIPER, PiperSettings, load_piper
from .smart_turn import load_smart_turn
from .vad import silero_vad_factory
from .whisper import DEFAULT_WHISPER, WhisperSettings, load_whisper


@dataclass(frozen=True, slots=True)
class LocalModels:
    """The four local models behind the protocols in `base`."""

    vad_factory: VadFactory  # silero v6, one detector per speaker
    turn: TurnDetector  # smart-turn v3.2
    transcriber: Transcriber  # Whisper tiny.en on CTranslate2
    synth: SpeechSynth  # Piper en_US-joe-medium


@cache
def load_local_models(
    whisper: WhisperSettings = DEFAULT_WHISPER,
    piper: PiperSettings = DEFAULT_PIPER,
) -> LocalModels:
    """Load (once per process and settings) the local models.

    Blocking, ~1.5 s: call it at start-up or in a worker thread. A `ModelError` names the
    missing package, file or program and how to get it.
    """
    return LocalModels(
        vad_factory=silero_vad_factory(),
        turn=load_smart_turn(),
        transcriber=load_whisper(settings=whisper),
        synth=load_piper(settings=piper),
    )
