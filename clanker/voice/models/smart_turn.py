"""End of turn: the smart-turn v3.2 model (BSD-2, shipped in `data/`) on onnxruntime.

smart-turn is a Whisper-tiny encoder with a classifier head, trained on speech that stops at the
end of a thought and speech that stops mid-sentence. It hears intonation and syntax, so it tells
"What is the weather like in Paris today?" (complete) from "What is the weather like in" (not),
where a silence timer cannot. Its input is the last 8 s of the utterance as Whisper log-mel
features, `[1, 80, 800]`; its output is P(turn complete) after a sigmoid.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import trio

from ._audio import Samples, pcm_to_float
from ._logmel import log_mel
from ._onnx import open_session
from .base import VAD_RATE, ModelError

MODEL_PATH = Path(__file__).parent / "data" / "smart-turn-v3.2-cpu.onnx"
WINDOW_SECONDS = 8
_WINDOW = WINDOW_SECONDS * VAD_RATE
# The model was trained on waveforms normalised to zero mean and unit variance (the Whisper
# feature extractor's `do_normalize`), computed over the padded 8 s window.
_NORM_EPS = 1e-7


class SmartTurn:
    """`TurnDetector` on smart-turn v3.2: one ONNX session, one worker thread at a time.

    Inference takes ~35 ms on one core, so it runs in a worker thread behind its own
    `CapacityLimiter(1)`: concurrent callers queue instead of oversubscribing the CPU.
    """

    def __init__(self, session: Any) -> None:
        self._session = session
        self._limiter = trio.CapacityLimiter(1)

    async def complete_probability(self, pcm: bytes) -> float:
        """P(the speaker finished their turn), from the last 8 s of `pcm` (s16le, 16 kHz)."""
        samples = _checked(pcm)
        return await trio.to_thread.run_sync(self.score, samples, limiter=self._limiter)

    def score(self, samples: Samples) -> float:
        """The blocking inference on float samples at 16 kHz (for worker threads and benchmarks)."""
        features = log_mel(_window(samples))[np.newaxis]
        try:
            (logits,) = self._session.run(None, {"input_features": features})
        except Exception as e:  # onnxruntime's errors are untyped
            raise ModelError(f"smart-turn: inference failed: {e}") from e
        return float(np.asarray(logits).reshape(-1)[0])


def _checked(pcm: bytes) -> Samples:
    samples = pcm_to_float(pcm, what="smart-turn")
    if samples.size == 0:
        raise ValueError("smart-turn: the utterance is empty (0 samples); pass the speech so far")
    return samples


def _window(samples: Samples) -> Samples:
    """The last 8 s, zeros in front when shorter, normalised as the model was trained."""
    if samples.size >= _WINDOW:
        window = samples[-_WINDOW:]
    else:
        window = np.concatenate([np.zeros(_WINDOW - samples.size, np.float32), samples])
    normalised: Samples = ((window - window.mean()) / np.sqrt(window.var() + _NORM_EPS)).astype(
        np.float32
    )
    return normalised


@cache
def load_smart_turn(model_path: Path = MODEL_PATH, *, threads: int = 1) -> SmartTurn:
    """The process-wide `SmartTurn` for `model_path` (loaded once, ~0.2 s)."""
    return SmartTurn(open_session(model_path, what="smart-turn", threads=threads))
