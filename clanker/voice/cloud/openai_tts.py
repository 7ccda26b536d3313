"""`OpenAiSpeech`: speech synthesis through OpenAI's speech endpoint, streamed.

One sentence becomes one ``POST /v1/audio/speech`` (JSON ``model``, ``voice``, ``input``,
``response_format=pcm``, ``instructions`` and ``speed`` when set), read as it arrives: OpenAI's
``pcm`` is raw 24 kHz s16le mono, so each body chunk is audio the brain can play at once,
once it is cut back to whole samples (`SampleAligner`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator

from clanker.voice.cloud import _openai
from clanker.voice.cloud._audio import SampleAligner

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini-tts"
DEFAULT_VOICE = "coral"
SAMPLE_RATE = 24_000


class OpenAiSpeech:
    """A `SpeechSynth` calling OpenAI (or a server speaking its API at ``base_url``).

    ``instructions`` steer the delivery (gpt-4o-mini-tts; "" sends none); ``speed`` 0.25 to
    4.0 (None: the default 1.0). ``timeout`` bounds the connect, the wait for the first byte
    and every gap between chunks. Failures raise `CloudSpeechError`; the SDK retries once,
    before any audio arrived. Call `aclose` when done.
    """

    sample_rate = SAMPLE_RATE

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        model: str = DEFAULT_MODEL,
        voice: str = DEFAULT_VOICE,
        instructions: str = "",
        speed: float | None = None,
        timeout: float = 10.0,
        max_retries: int = _openai.MAX_RETRIES,
    ) -> None:
        if speed is not None and not 0.25 <= speed <= 4.0:
            raise ValueError(f"speed must be between 0.25 and 4.0, got {speed}")
        self.model = model
        self.voice = voice
        self.instructions = instructions
        self.speed = speed
        self.base_url = base_url
        self.timeout = timeout
        self.name = f"openai {model} ({voice})"
        self._client = _openai.make_client(
            api_key, base_url, timeout=timeout, max_retries=max_retries
        )

    async def synthesize(self, text: str) -> AsyncGenerator[bytes, None]:
        """Speak ``text``: 24 kHz s16le chunks as they arrive (none for blank text).
        Leaving the iteration early closes the response."""
        from openai import omit

        if not text.strip():
            return
        aligner = SampleAligner()
        speech = self._client.audio.speech.with_streaming_response
        try:
            async with speech.create(
                model=self.model,
                voice=self.voice,
                input=text,
                response_format="pcm",
                instructions=self.instructions or omit,
                speed=self.speed if self.speed is not None else omit,
            ) as response:
                async for chunk in response.iter_bytes():
                    pcm = aligner.feed(chunk)
                    if pcm:
                        yield pcm
        except _openai.errors() as exc:
            raise _openai.to_error(self.model, self.base_url, self.timeout, exc) from exc
        if aligner.leftover:
            log.warning("%s: the audio ended in the middle of a sample; dropped 1 byte", self.name)

    async def aclose(self) -> None:
        """Release the HTTP connections."""
        await self._client.close()
