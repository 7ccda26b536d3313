"""Stop words: a short message that asks clanker to stop what it is doing.

"stop", "cancel", "never mind", "nvm", "forget it", "abort", "quit", "shut up", optionally
with a softener in front ("ok", "oh", "actually", "just", "please", "yeah", "hey", "no") and
an object or "please"/"now" after ("stop it", "cancel that please"), and optionally addressed
("clanker stop", "<@id> never mind"). Only the whole message counts: "don't stop the music"
is not a stop request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_STOP = re.compile(
    r"""
    ^(?:(?:ok|okay|oh|actually|just|please|pls|yeah|hey|no)[\s,]+)?
    (?:stop|cancel|never\s*mind|nevermind|nvm|forget\s+(?:it|that|about\s+it)|abort|quit
       |shut\s+up|hush)
    (?:[\s,]+(?:it|that|this|please|pls|now|talking|typing))*
    [\s.!]*$
    """,
    re.IGNORECASE | re.VERBOSE,
)
_MENTION = re.compile(r"^\s*<@!?\d+>[\s,:]*")


def is_stop_request(content: str, names: Iterable[str] = ()) -> bool:
    """True if ``content`` as a whole asks to stop; ``names`` may address it ("clanker stop")."""
    text = _MENTION.sub("", content).strip()
    for name in sorted((n for n in names if n.strip()), key=len, reverse=True):
        prefix = re.match(rf"^{re.escape(name.strip())}[\s,:]+", text, re.IGNORECASE)
        if prefix:
            text = text[prefix.end() :]
            break
    return bool(_STOP.match(text.strip()))
