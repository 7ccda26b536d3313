"""Soundboard cues in a spoken reply, sans-IO.

The model plays a sound by writing `[[SOUNDBOARD:<name>]]` where it should play. `MarkerFilter`
takes the reply as it streams and gives back, in order, the text to speak (markers removed)
and `SoundCue`s; a marker split across chunks is held until it is complete (or until it cannot
be one). The actor sequences a cue strictly after the speech before it has played out.
`find_sound` matches the model's name to a sound's (any case, spaces, `_` or `-` alike).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

OPEN = "[[SOUNDBOARD:"
_MARKER = re.compile(r"\[\[SOUNDBOARD:([^\[\]\n]{1,64})\]\]", re.IGNORECASE)
_MAX_MARKER = len(OPEN) + 64 + 2


@dataclass(frozen=True, slots=True)
class SoundCue:
    name: str  # as the model wrote it


Piece = str | SoundCue


class MarkerFilter:
    def __init__(self) -> None:
        self._held = ""

    def feed(self, text: str) -> list[Piece]:
        """More of the reply: the text that is surely not (part of) a marker, and the cues."""
        buffer = self._held + text
        self._held = ""
        out: list[Piece] = []
        while buffer:
            m = _MARKER.search(buffer)
            start = _open_at(buffer)
            if m is not None and (start is None or m.start() <= start):
                _add(out, buffer[: m.start()])
                out.append(SoundCue(m.group(1).strip()))
                buffer = buffer[m.end() :]
                continue
            if start is None:
                _add(out, buffer)
                break
            # a marker may be starting at `start`: hold it (unless it is too long to be one)
            _add(out, buffer[:start])
            rest = buffer[start:]
            if len(rest) >= _MAX_MARKER or "\n" in rest or "]]" in rest:
                _add(out, rest[:1])
                buffer = rest[1:]
                continue
            self._held = rest
            break
        return out

    def finish(self) -> list[Piece]:
        """The end of the reply: what was held is plain text after all."""
        rest, self._held = self._held, ""
        return [rest] if rest else []


def _open_at(buffer: str) -> int | None:
    """Where a marker could begin: a full or partial `[[SOUNDBOARD:` (a prefix at the end)."""
    upper = buffer.upper()
    i = upper.find("[")
    while i != -1:
        tail = upper[i : i + len(OPEN)]
        if OPEN.startswith(tail) if len(tail) < len(OPEN) else tail == OPEN:
            return i
        i = upper.find("[", i + 1)
    return None


def _add(out: list[Piece], text: str) -> None:
    if not text:
        return
    if out and isinstance(out[-1], str):
        out[-1] += text
    else:
        out.append(text)


def strip_markers(text: str) -> str:
    """The reply without its markers (for what is stored and shown)."""
    return re.sub(r"\s{2,}", " ", _MARKER.sub("", text)).strip()


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name).strip().casefold()


def find_sound(name: str, names: Sequence[str]) -> int | None:
    """The index of the sound called `name` in `names` (case, spaces, `_` and `-` ignored)."""
    key = _key(name)
    return next((i for i, n in enumerate(names) if _key(n) == key), None)


def sounds_prompt(names: Sequence[str], *, limit: int = 20) -> str:
    """The system prompt's line about the soundboard (empty without sounds)."""
    if not names:
        return ""
    shown = ", ".join(names[:limit])
    return (
        "You can play a soundboard sound in the call by writing [[SOUNDBOARD:<name>]] in your "
        f"reply where it should play (rarely; it is not spoken). Sounds: {shown}."
    )
