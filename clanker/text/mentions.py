"""``@name`` → ``<@id>``: turn the model's plain-text mentions into real Discord mentions.

The model writes ``@alice`` (it never sees ids). A name is resolved only when it matches a
participant's name exactly (case-insensitive), as a whole word, and not inside code; longer
names win (``@Ann Marie`` before ``@Ann``). Anything else stays as written: an unknown name, an
e-mail address (``a@b.com``), ``@everyone`` / ``@here`` (the bridge does not let those ping),
or text inside backticks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from clanker.text.views import Participant

_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)
_RESERVED = {"everyone", "here"}


def _mention_pattern(names: Sequence[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w@<])@({alternatives})(?![\w])", re.IGNORECASE)


def resolve_mentions(text: str, participants: Sequence[Participant]) -> str:
    """``text`` with every ``@name`` of a known participant replaced by ``<@id>``."""
    by_name: dict[str, int] = {}
    for p in participants:
        key = p.name.strip().lower()
        if key and key not in _RESERVED:
            by_name.setdefault(key, p.user_id)  # the first listed (most recent) wins a tie
    if not by_name or "@" not in text:
        return text
    pattern = _mention_pattern(list(by_name))

    def swap(found: re.Match[str]) -> str:
        return f"<@{by_name[found.group(1).lower()]}>"

    out: list[str] = []
    pos = 0
    for code in _CODE.finditer(text):
        out.append(pattern.sub(swap, text[pos : code.start()]))
        out.append(code.group(0))
        pos = code.end()
    out.append(pattern.sub(swap, text[pos:]))
    return "".join(out)
