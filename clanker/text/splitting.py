"""Splitting a long reply into Discord-sized messages (1,900 characters by default).

Cuts go at the most natural boundary that still leaves a reasonably full chunk (at least 30 %
of the room): a paragraph break or the edge of a code block, then the end of a sentence, then
a line break, then a space, and only as a last resort mid-word (never between a character
and the accent, variation selector or zero-width joiner that belongs to it).

Code blocks are kept whole when possible. When one is longer than a message, it is cut at a
line inside it, the chunk closes the fence (```` ``` ````) and the next chunk reopens it with
the same language, so both render as code. Whitespace at a cut is dropped (inside a code block
only the line break, so indentation survives), and no chunk is ever empty or blank.
"""

from __future__ import annotations

import re
import unicodedata

import msgspec

DISCORD_SPLIT_LIMIT = 1900
"""Chunk size: below Discord's 2,000-character limit, with room for a reopened code fence."""

MIN_FILL = 0.3
"""A boundary is only taken if the chunk before it fills at least this share of the room."""

_CLOSE = "\n```"
_FENCE_LINE = re.compile(r"^ {0,3}```[^\n]*$", re.MULTILINE)
_SENTENCE_END = re.compile(r"[.!?…][\"')\]*_~]*(?=\s)")
_GLUE = {"\u200d", "\ufe0f", "\ufe0e"}


class Span(msgspec.Struct, frozen=True):
    """One chunk: ``text[start:end]``, plus a reopened fence before it and/or a close after."""

    start: int
    end: int
    reopen: str = ""
    close: bool = False

    def render(self, text: str) -> str:
        """The chunk's text as sent."""
        return self.reopen + text[self.start : self.end] + (_CLOSE if self.close else "")


class _Fence(msgspec.Struct, frozen=True):
    start: int  # where the opening line starts
    body: int  # just after the opening line
    end: int  # just after the closing line (or the end of the text)
    opener: str  # "```lang"


def _fences(text: str) -> list[_Fence]:
    fences: list[_Fence] = []
    lines = list(_FENCE_LINE.finditer(text))
    i = 0
    while i < len(lines):
        opening = lines[i]
        lang = opening.group(0).strip()[3:].split(maxsplit=1)
        opener = "```" + (lang[0][:20] if lang else "")
        if i + 1 < len(lines):
            closing = lines[i + 1]
            fences.append(_Fence(opening.start(), opening.end(), closing.end(), opener))
            i += 2
        else:
            fences.append(_Fence(opening.start(), opening.end(), len(text), opener))
            i += 1
    return fences


def _inside(fences: list[_Fence], pos: int) -> _Fence | None:
    """The fence whose body ``pos`` is inside (a cut there would split the code block)."""
    for fence in fences:
        if fence.start < pos < fence.end:
            return fence
    return None


def _is_glue(c: str) -> bool:
    return c in _GLUE or unicodedata.combining(c) != 0


def _hard_cut(text: str, start: int, end: int) -> int:
    cut = end
    while cut - 1 > start and (_is_glue(text[cut]) or text[cut - 1] == "\u200d"):
        cut -= 1
    return cut


def _candidates(text: str, start: int, end: int, fences: list[_Fence]) -> list[list[int]]:
    """Cut positions in (start, end], best kind first: outside code, then inside it."""
    window = text[start:end]
    paragraph = [start + m.start() for m in re.finditer(r"\n[ \t]*\n", window)]
    edges = [f.start for f in fences if start < f.start <= end]
    edges += [f.end for f in fences if start < f.end <= end]
    sentence = [start + m.end() for m in _SENTENCE_END.finditer(window)]
    line = [start + m.start() for m in re.finditer(r"\n", window)]
    space = [start + m.start() for m in re.finditer(r"[ \t]", window)]
    if end < len(text) and text[end].isspace():
        space.append(end)  # the room ends exactly at a space
    outside = [
        sorted(p for p in level if p > start and _inside(fences, p) is None)
        for level in (paragraph + edges, sentence, line, space)
    ]
    inside = [
        sorted(p for p in level if p > start and _inside(fences, p) is not None)
        for level in (line, space)
    ]
    return outside + inside


def _choose(text: str, start: int, room: int, fences: list[_Fence]) -> int:
    end = start + room
    levels = _candidates(text, start, end, fences)
    # Cutting inside a fence costs the closing marker: those cuts need that much more room.
    inside_end = end - len(_CLOSE)
    levels[4:] = [[p for p in level if p <= inside_end] for level in levels[4:]]
    floor = start + int(room * MIN_FILL)
    for level in levels:
        if level and level[-1] >= floor:
            return level[-1]
    best = max((level[-1] for level in levels if level), default=None)
    if best is not None:
        return best
    cut = _hard_cut(text, start, end)
    if _inside(fences, cut) is not None:
        cut = _hard_cut(text, start, max(start + 1, inside_end))
    return cut


def split_spans(text: str, limit: int = DISCORD_SPLIT_LIMIT) -> list[Span]:
    """Where `split_message` cuts ``text``: spans of the original, in order."""
    if limit < 40:
        raise ValueError(f"split limit must be at least 40 characters, got {limit}")
    fences = _fences(text)
    spans: list[Span] = []
    n = len(text)
    pos = 0
    reopen = ""
    while True:
        inside = _inside(fences, pos)
        while pos < n and (text[pos] == "\n" if inside else text[pos].isspace()):
            pos += 1
        if inside is None:
            reopen = ""
        if pos >= n or not text[pos:].strip():
            break
        room = limit - len(reopen)
        if n - pos <= room and (end := len(text.rstrip())) > pos:
            spans.append(Span(pos, end, reopen))
            break
        cut = _choose(text, pos, room, fences)
        fence = _inside(fences, cut)
        end = pos + len(text[pos:cut].rstrip())
        if end > pos:
            spans.append(Span(pos, end, reopen, close=fence is not None))
        reopen = fence.opener + "\n" if fence is not None else ""
        pos = cut
    return spans


def split_message(text: str, limit: int = DISCORD_SPLIT_LIMIT) -> list[str]:
    """``text`` as messages of at most ``limit`` characters, none empty (see module doc)."""
    return [span.render(text) for span in split_spans(text, limit)]
