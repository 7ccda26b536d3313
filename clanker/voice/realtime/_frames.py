"""Small pieces the xAI and ElevenLabs sessions share: checking PCM, labelling a text turn,
decoding base64 audio, and the `bad_frame` error.

Pure functions; this module imports nothing but the standard library and the interface.
"""

from __future__ import annotations

import base64
import binascii

from clanker.voice.realtime.api import ProviderError


def check_pcm(pcm: bytes) -> None:
    """Refuse a chunk that is not whole s16le samples (a half sample at its end)."""
    if len(pcm) % 2:
        raise ValueError(
            f"s16le PCM has an even number of bytes; this chunk has {len(pcm)} "
            "(a half sample at its end)"
        )


def labelled(speaker: str, text: str) -> str:
    """``"[Name]: text"``. Brackets and line breaks are dropped from the name, so a name
    cannot forge a label; an empty name or text is refused."""
    name = " ".join(speaker.replace("[", " ").replace("]", " ").split())
    if not name:
        raise ValueError(f"a text turn needs a speaker's name; got {speaker!r}")
    if not text.strip():
        raise ValueError(f"{name}'s text turn is empty")
    return f"[{name}]: {text.strip()}"


def pcm_of(data: str) -> bytes:
    """Decode base64 audio; a ValueError names what was wrong."""
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"the audio is not base64 ({exc})") from exc


def bad_frame(message: str) -> ProviderError:
    """A frame the session could not read: never fatal, the caller decides."""
    return ProviderError(code="bad_frame", message=message)


def excerpt(raw: bytes) -> str:
    """The start of a frame, for an error message."""
    text = raw[:80].decode("utf-8", "replace")
    return repr(text + ("…" if len(raw) > 80 else ""))
