"""Push-to-talk uploads (`POST /api/sandbox/speak`): what the browser recorded, checked and
decoded, sans-IO.

The body is a WAV file (`Content-Type: audio/wav`: 16-bit PCM, mono, 8 to 48 kHz) or raw
samples (`application/octet-stream`: s16le mono, the rate in `?sample_rate=`). At most
`MAX_SECONDS` of speech and `MAX_BYTES` of body; at least `MIN_SECONDS`. Every refusal names
the problem (`SpeechRejected` with the HTTP status to answer: 400, 413 or 415).
"""

from __future__ import annotations

import io
import wave

from quart_trio.wrappers.request import TrioRequest

MIN_RATE, MAX_RATE = 8_000, 48_000
MIN_SECONDS = 0.2
MAX_SECONDS = 30.0
MAX_BYTES = 44 + int(MAX_SECONDS * MAX_RATE) * 2  # a WAV header and 30 s at 48 kHz
SPEAK_PATH = "/api/sandbox/speak"
WAV_TYPES = ("audio/wav", "audio/wave", "audio/x-wav")
RAW_TYPES = ("application/octet-stream", "audio/l16")


class SpeechRejected(ValueError):
    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def decode_speech(body: bytes, content_type: str, sample_rate: str | None) -> tuple[bytes, int]:
    """(s16le mono PCM, its sample rate) from an upload, or `SpeechRejected` saying why not."""
    kind = content_type.split(";")[0].strip().lower()
    if len(body) > MAX_BYTES:
        raise SpeechRejected(
            f"the recording is {len(body)} bytes; at most {MAX_BYTES} ({MAX_SECONDS:g} s at "
            f"{MAX_RATE} Hz)",
            status=413,
        )
    if not body:
        raise SpeechRejected("the recording is empty")
    if kind in WAV_TYPES:
        pcm, rate = _wav(body)
    elif kind in RAW_TYPES:
        rate = _rate(sample_rate)
        if len(body) % 2:
            raise SpeechRejected(
                f"raw audio must be whole 16-bit samples; {len(body)} bytes is an odd count"
            )
        pcm = body
    else:
        raise SpeechRejected(
            f"send the recording as audio/wav (16-bit PCM mono) or application/octet-stream "
            f"(s16le mono with ?sample_rate=), not {content_type or 'no Content-Type'!r}",
            status=415,
        )
    seconds = len(pcm) / 2 / rate
    if seconds < MIN_SECONDS:
        raise SpeechRejected(
            f"the recording is {seconds:.2f} s; hold the button while speaking "
            f"(at least {MIN_SECONDS:g} s)"
        )
    if seconds > MAX_SECONDS:
        raise SpeechRejected(
            f"the recording is {seconds:.1f} s; at most {MAX_SECONDS:g} s", status=413
        )
    return pcm, rate


def _rate(raw: str | None) -> int:
    if raw is None or raw == "":
        raise SpeechRejected("raw audio needs its rate: ?sample_rate=48000")
    try:
        rate = int(raw)
    except ValueError:
        raise SpeechRejected(f"sample_rate must be an integer, got {raw!r}") from None
    _check_rate(rate)
    return rate


def _check_rate(rate: int) -> None:
    if not MIN_RATE <= rate <= MAX_RATE:
        raise SpeechRejected(f"the sample rate must be {MIN_RATE} to {MAX_RATE} Hz, got {rate}")


def _wav(body: bytes) -> tuple[bytes, int]:
    try:
        with wave.open(io.BytesIO(body), "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise SpeechRejected(f"not a PCM WAV file: {exc}") from None
    if width != 2:
        raise SpeechRejected(f"the WAV must be 16-bit PCM, got {8 * width}-bit")
    if channels != 1:
        raise SpeechRejected(f"the WAV must be mono, got {channels} channels")
    _check_rate(rate)
    return frames, rate


class SpeechUploadRequest(TrioRequest):
    """The dashboard's request class: the push-to-talk route may carry a recording (up to
    `MAX_BYTES`); every other request keeps the app's small body limit."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        path = args[2] if len(args) > 2 else kwargs.get("path")
        if path == SPEAK_PATH:
            kwargs["max_content_length"] = MAX_BYTES
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
