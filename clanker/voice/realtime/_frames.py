"""Small pieces the sessions share: checking PCM, labelling a text turn, decoding base64
audio, the `bad_frame` error, and (OpenAI's dialect, which xAI speaks) the event writer and
function tools.

Pure functions; this module imports nothing but the standard library and the interface.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import msgspec

from clanker.voice.realtime.api import ProviderError, ToolSpec


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


class EventWriter:
    """Client events as OpenAI's dialect writes them (xAI speaks it too): JSON with ``type``
    and an ``event_id`` ``clk_<n>``. The types of the last 256 events sent (audio appends
    aside) are kept, so an ``error`` naming one tells which of ours it answers."""

    KEEP = 256

    def __init__(self) -> None:
        self.serial = 0
        self._types: dict[str, str] = {}

    @property
    def last_id(self) -> str:
        """The id of the event written last."""
        return f"clk_{self.serial}"

    def type_of(self, event_id: str) -> str | None:
        return self._types.get(event_id)

    def event(self, kind: str, **fields: Any) -> str:
        self.serial += 1
        event_id = self.last_id
        if kind != "input_audio_buffer.append":
            self._types[event_id] = kind
            if len(self._types) > self.KEEP:
                del self._types[next(iter(self._types))]
        return msgspec.json.encode({"type": kind, "event_id": event_id, **fields}).decode()


_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def function_tools(tools: tuple[ToolSpec, ...], provider: str) -> list[dict[str, Any]]:
    """``tools`` as the OpenAI dialect's function tools; a bad or repeated name is refused
    (``provider`` names who refuses it)."""
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for tool in tools:
        if not _TOOL_NAME.match(tool.name):
            raise ValueError(
                f"an {provider} tool name is 1-64 letters, digits, '_' or '-'; {tool.name!r} is not"
            )
        if tool.name in seen:
            raise ValueError(f"the tool {tool.name!r} is offered twice")
        seen.add(tool.name)
        out.append(
            {
                "type": "function",
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.parameters,
            }
        )
    return out
