"""Cut a streamed reply into sentences as it arrives, sans-IO, so each can be spoken while the
next is still being generated.

A sentence ends at `.`, `!`, `?` or `…` (with any closing quotes or brackets) followed by
whitespace, or at a newline. Not an end: a decimal point (`3.5`), a single capital letter's dot
(`J. R.`), common abbreviations (`Mr.`, `e.g.`, `etc.`, …). A sentence shorter than
`min_chars` is joined to the next (speech engines sound odd on "Ok."), except the first, which is
sent as soon as it is complete so the first audio is early. A sentence longer than `max_chars`
is cut at the last clause mark (`,;:—`) or space before it. `finish()` flushes the rest.
"""

from __future__ import annotations

import re

_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "approx",
        "dept",
        "est",
        "fig",
        "inc",
        "ltd",
        "no",
        "vol",
    ]
)
_END = re.compile("([.!?\u2026]+[\"'\u201d\u2019)\\]]*)(\\s+)|(\n+)")


class SentenceSplitter:
    def __init__(self, *, min_chars: int = 12, max_chars: int = 240) -> None:
        if min_chars < 0 or max_chars < 20:
            raise ValueError(f"SentenceSplitter: bad limits min={min_chars} max={max_chars}")
        self.min_chars = min_chars
        self.max_chars = max_chars
        self._buffer = ""
        self._carry = ""  # a short sentence waiting for the next one
        self._sent = 0

    def feed(self, text: str) -> list[str]:
        """More text; returns the sentences it completed."""
        self._buffer += text
        out: list[str] = []
        while True:
            cut = self._find_end(self._buffer)
            if cut is None:
                break
            sentence, self._buffer = self._buffer[:cut], self._buffer[cut:]
            out.extend(self._emit(sentence))
        while len(self._buffer) > self.max_chars:
            head, self._buffer = _cut_long(self._buffer, self.max_chars)
            out.extend(self._emit(head, force=True))
        return out

    def finish(self) -> list[str]:
        """The end of the reply: whatever is left."""
        rest, self._buffer = self._buffer, ""
        out = self._emit(rest, force=True)
        if self._carry.strip():
            out.append(self._carry.strip())
        self._carry = ""
        return out

    def _emit(self, sentence: str, *, force: bool = False) -> list[str]:
        text = (self._carry + " " + sentence.strip()).strip() if self._carry else sentence.strip()
        self._carry = ""
        if not text:
            return []
        if len(text) < self.min_chars and self._sent > 0 and not force:
            self._carry = text
            return []
        self._sent += 1
        return [text]

    @staticmethod
    def _find_end(buffer: str) -> int | None:
        for m in _END.finditer(buffer):
            if m.group(3):  # newline
                return m.end()
            start = m.start(1)
            word = re.search(r"(\S+)$", buffer[:start])
            token = (word.group(1) if word else "").lower()
            if m.group(1).startswith(".") and len(m.group(1)) == 1:
                if token.rstrip(".") in _ABBREVIATIONS or token in _ABBREVIATIONS:
                    continue
                if len(token) == 1 and token.isalpha():
                    continue  # an initial: "J. R."
                if (
                    token.replace(".", "").isdigit()
                    and m.end() < len(buffer)
                    and (buffer[m.end()].isdigit())
                ):
                    continue
            return m.end()
        return None


def _cut_long(text: str, limit: int) -> tuple[str, str]:
    window = text[:limit]
    for marks in (",;:\u2014\u2013", " "):
        at = max(window.rfind(c) for c in marks)
        if at > limit // 3:
            return text[: at + 1], text[at + 1 :]
    return text[:limit], text[limit:]
