"""Address signal: was this message spoken *to* clanker?

A direct message is always addressed (there is nobody else to speak to). In a guild, hard
address is an @mention, a reply to one of clanker's messages, or clanker's name or an
alias as a whole word anywhere in the text (case-insensitive: "Clanker, what's up", "ask
clanky"). Anything else is unaddressed; the model may still choose to answer it.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache

import msgspec

from clanker.settings.model import Identity
from clanker.text.views import MessageView


class AddressKind(StrEnum):
    """How a message addresses clanker, strongest first."""

    DM = "dm"
    MENTION = "mention"
    REPLY_TO_BOT = "reply_to_bot"
    NAME = "name"
    ALIAS = "alias"
    NONE = "none"


class Address(msgspec.Struct, frozen=True, kw_only=True):
    """The address signal of one message; ``matched`` is the name or alias found."""

    kind: AddressKind
    matched: str | None = None

    @property
    def direct(self) -> bool:
        """True if the message is addressed to clanker (any kind but NONE)."""
        return self.kind is not AddressKind.NONE


NOT_ADDRESSED = Address(kind=AddressKind.NONE)


@lru_cache(maxsize=64)
def _word_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    cleaned = sorted({w.strip() for w in words if w.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    alternatives = "|".join(re.escape(w) for w in cleaned)
    return re.compile(rf"(?<!\w)({alternatives})(?!\w)", re.IGNORECASE)


def find_name(text: str, names: tuple[str, ...]) -> str | None:
    """The first of ``names`` that occurs in ``text`` as a whole word (case-insensitive)."""
    pattern = _word_pattern(names)
    if pattern is None:
        return None
    found = pattern.search(text)
    return found.group(1) if found else None


def address_signal(msg: MessageView, *, bot_user_id: int, identity: Identity) -> Address:
    """How ``msg`` addresses the bot whose user id is ``bot_user_id``."""
    if msg.is_dm and msg.author_id != bot_user_id:
        # A direct message has one listener: it is spoken to clanker, named or not.
        return Address(kind=AddressKind.DM)
    markup = (f"<@{bot_user_id}>", f"<@!{bot_user_id}>")
    if bot_user_id in msg.mention_ids or any(m in msg.content for m in markup):
        return Address(kind=AddressKind.MENTION)
    if msg.reply_to_author_id == bot_user_id:
        return Address(kind=AddressKind.REPLY_TO_BOT)
    name = find_name(msg.content, (identity.bot_name,))
    if name is not None:
        return Address(kind=AddressKind.NAME, matched=name)
    alias = find_name(msg.content, identity.aliases)
    if alias is not None:
        return Address(kind=AddressKind.ALIAS, matched=alias)
    return NOT_ADDRESSED
