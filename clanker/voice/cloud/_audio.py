"""Audio framing the cloud providers need, sans-IO: a WAV around a clip, whole samples out of
a byte stream.

The transcription APIs take a file, not raw samples: `wav_bytes` wraps s16le mono PCM in a
RIFF header (stdlib `wave`). A streamed HTTP body arrives in chunks cut wherever the network
cut it, often in the middle of a 16-bit sample; `SampleAligner` holds a trailing odd byte back
until the next chunk, so every chunk the brain gets is whole samples.
"""

from __future__ import annotations

import io
import wave

SAMPLE_BYTES = 2  # s16le


def wav_bytes(pcm: bytes, sample_rate: int) -> bytes:
    """A mono 16-bit WAV file holding ``pcm`` (s16le) at ``sample_rate``."""
    if len(pcm) % SAMPLE_BYTES:
        raise ValueError(f"PCM must be whole 16-bit samples; got {len(pcm)} bytes (odd)")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(SAMPLE_BYTES)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)
    return out.getvalue()


class SampleAligner:
    """Cuts a byte stream into whole samples: an odd trailing byte waits for the next chunk."""

    def __init__(self) -> None:
        self._carry = b""

    def feed(self, chunk: bytes) -> bytes:
        """The whole samples ``chunk`` completes (possibly empty)."""
        data = self._carry + chunk if self._carry else chunk
        cut = len(data) - len(data) % SAMPLE_BYTES
        self._carry = data[cut:]
        return data[:cut]

    @property
    def leftover(self) -> int:
        """Bytes held back (0 or 1); non-zero at the end of a stream means a torn sample."""
        return len(self._carry)
