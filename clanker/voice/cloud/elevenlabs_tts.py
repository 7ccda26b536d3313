"""`ElevenLabsSpeech`: speech synthesis through ElevenLabs' streaming endpoint, over httpx.

One sentence becomes one ``POST {base}/v1/text-to-speech/{voice_id}/stream?output_format=
pcm_24000`` with the key in ``xi-api-key`` and a JSON body ``{"text", "model_id",
"voice_settings"}`` (the settings only when some are given). ``pcm_<rate>`` is raw s16le mono
at that rate, read as it arrives and cut back to whole samples. An error answer's JSON
(``{"detail": {"status", "message"}}``, or a 422's list of field problems) becomes the
`CloudSpeechError` message. No retries: a sentence that fails is reported, not repeated.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from clanker.voice.cloud._audio import SampleAligner
from clanker.voice.cloud.errors import CloudSpeechError

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

PROVIDER = "elevenlabs"
DEFAULT_BASE_URL = "https://api.elevenlabs.io"
DEFAULT_MODEL = "eleven_flash_v2_5"
DEFAULT_VOICE_ID = "JBFqnCBsd6RMkjVDRZzb"
PCM_RATES = (8_000, 16_000, 22_050, 24_000, 44_100, 48_000)


@dataclass(frozen=True, slots=True)
class VoiceSettings:
    """ElevenLabs' per-request voice settings; None leaves one at the voice's own value.

    ``stability``, ``similarity_boost`` and ``style`` are 0 to 1; ``speed`` 0.7 to 1.2.
    """

    stability: float | None = None
    similarity_boost: float | None = None
    style: float | None = None
    use_speaker_boost: bool | None = None
    speed: float | None = None

    def as_json(self) -> dict[str, Any]:
        """The set fields, as the API takes them."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def error_message(body: bytes) -> tuple[str, str | None]:
    """(message, code) from an ElevenLabs error body; the raw text when it is not JSON."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip() or "(empty error body)", None
    detail = data.get("detail", data) if isinstance(data, dict) else data
    if isinstance(detail, dict):
        code = detail.get("status") or detail.get("code")
        message = detail.get("message") or json.dumps(detail)
        return str(message), str(code) if code else None
    if isinstance(detail, list):  # a 422: FastAPI's list of field problems
        problems = []
        for item in detail:
            if isinstance(item, dict):
                loc = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
                problems.append(f"{loc}: {item.get('msg')}" if loc else str(item.get("msg")))
        return "; ".join(problems) or json.dumps(detail), "validation_error"
    return str(detail), None


class ElevenLabsSpeech:
    """A `SpeechSynth` calling ElevenLabs (or a server speaking its API at ``base_url``).

    ``sample_rate`` picks the ``pcm_<rate>`` output format (24 kHz by default). ``timeout``
    bounds the connect, the wait for the first byte and every gap between chunks. Failures
    raise `CloudSpeechError`. Call `aclose` when done.
    """

    def __init__(
        self,
        api_key: str,
        voice_id: str = DEFAULT_VOICE_ID,
        *,
        base_url: str = DEFAULT_BASE_URL,
        model: str = DEFAULT_MODEL,
        voice_settings: VoiceSettings | None = None,
        sample_rate: int = 24_000,
        timeout: float = 10.0,
    ) -> None:
        import httpx

        if not api_key:
            raise ValueError("an ElevenLabs API key is required (got an empty one)")
        if not voice_id:
            raise ValueError("voice_id must not be empty")
        if sample_rate not in PCM_RATES:
            rates = ", ".join(str(r) for r in PCM_RATES)
            raise ValueError(f"sample_rate {sample_rate} has no pcm format; use one of {rates}")
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        self.voice_id = voice_id
        self.model = model
        self.voice_settings = voice_settings
        self.sample_rate = sample_rate
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.name = f"elevenlabs {model} ({voice_id})"
        self._client: httpx.AsyncClient = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"xi-api-key": api_key},
            timeout=httpx.Timeout(timeout),
        )

    def _body(self, text: str) -> dict[str, Any]:
        body: dict[str, Any] = {"text": text, "model_id": self.model}
        settings = self.voice_settings.as_json() if self.voice_settings else {}
        if settings:
            body["voice_settings"] = settings
        return body

    def _error(self, **fields: Any) -> CloudSpeechError:
        return CloudSpeechError(PROVIDER, self.model, **fields)

    async def synthesize(self, text: str) -> AsyncGenerator[bytes, None]:
        """Speak ``text``: s16le chunks at `sample_rate` as they arrive (none for blank
        text). Leaving the iteration early closes the response."""
        import httpx

        if not text.strip():
            return
        aligner = SampleAligner()
        path = f"/v1/text-to-speech/{quote(self.voice_id, safe='')}/stream"
        params = {"output_format": f"pcm_{self.sample_rate}"}
        try:
            async with self._client.stream(
                "POST", path, params=params, json=self._body(text)
            ) as response:
                if response.status_code >= 400:
                    message, code = error_message(await response.aread())
                    raise self._error(
                        kind="http", status=response.status_code, code=code, message=message
                    )
                async for chunk in response.aiter_bytes():
                    pcm = aligner.feed(chunk)
                    if pcm:
                        yield pcm
        except httpx.TimeoutException as exc:
            message = f"no answer within {self.timeout:g} s (timed out)"
            raise self._error(kind="timeout", message=message) from exc
        except httpx.ConnectError as exc:
            message = f"could not reach {self.base_url} ({type(exc).__name__}: {exc})"
            raise self._error(kind="connection", message=message) from exc
        except httpx.HTTPError as exc:
            message = f"the connection to {self.base_url} failed ({type(exc).__name__}: {exc})"
            raise self._error(kind="connection", message=message) from exc
        if aligner.leftover:
            log.warning("%s: the audio ended in the middle of a sample; dropped 1 byte", self.name)

    async def aclose(self) -> None:
        """Release the HTTP connections."""
        await self._client.aclose()
