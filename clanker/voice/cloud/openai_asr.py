"""`OpenAiTranscriber`: speech recognition through OpenAI's transcription endpoint.

One finished clip becomes one ``POST /v1/audio/transcriptions`` (multipart: the clip as a
16-bit mono WAV named ``clip.wav``, ``model``, ``language``, the ``prompt`` when there is one,
``response_format=json`` and, for the gpt-4o transcribe models, ``include[]=logprobs``). The
mean of the returned token log-probabilities becomes `Transcript.avg_logprob`, which the brain
uses to drop poor guesses; other models report none.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from clanker.voice.cloud import _openai
from clanker.voice.cloud._audio import wav_bytes
from clanker.voice.models.base import Transcript

if TYPE_CHECKING:
    from openai.types.audio import Transcription

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini-transcribe"
_LOGPROB_MODELS = ("gpt-4o-transcribe", "gpt-4o-mini-transcribe")


def supports_logprobs(model: str) -> bool:
    """Whether ``model`` returns token log-probabilities (``include[]=logprobs``)."""
    return model.startswith(_LOGPROB_MODELS) and "diarize" not in model


def mean_logprob(result: Transcription) -> float | None:
    """The mean token log-probability of a transcription, None when it carries none."""
    values = [lp.logprob for lp in result.logprobs or () if lp.logprob is not None]
    values = [v for v in values if math.isfinite(v)]
    return sum(values) / len(values) if values else None


class OpenAiTranscriber:
    """A `Transcriber` calling OpenAI (or a server speaking its API at ``base_url``).

    ``timeout`` bounds each connect, send and read of one attempt; the SDK retries once
    (``max_retries``). Failures raise `CloudSpeechError`. Call `aclose` when done.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        model: str = DEFAULT_MODEL,
        language: str = "en",
        timeout: float = 10.0,
        max_retries: int = _openai.MAX_RETRIES,
    ) -> None:
        self.model = model
        self.language = language
        self.base_url = base_url
        self.timeout = timeout
        self.name = f"openai {model}"
        self._client = _openai.make_client(
            api_key, base_url, timeout=timeout, max_retries=max_retries
        )

    async def transcribe(self, pcm: bytes, sample_rate: int, *, prompt: str = "") -> Transcript:
        """Recognise one clip (s16le mono at ``sample_rate``); ``prompt`` carries names and
        context the recogniser should know."""
        from openai import omit

        wav = wav_bytes(pcm, sample_rate)
        try:
            result = await self._client.audio.transcriptions.create(
                model=self.model,
                file=("clip.wav", wav, "audio/wav"),
                language=self.language or omit,
                prompt=prompt or omit,
                response_format="json",
                include=["logprobs"] if supports_logprobs(self.model) else omit,
            )
        except _openai.errors() as exc:
            raise _openai.to_error(self.model, self.base_url, self.timeout, exc) from exc
        return Transcript(
            text=result.text.strip(),
            avg_logprob=mean_logprob(result),
            language=self.language or None,
        )

    async def aclose(self) -> None:
        """Release the HTTP connections."""
        await self._client.close()
