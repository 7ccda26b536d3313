"""Attention: is clanker already part of the conversation this message belongs to?

ACTIVE when the message addresses clanker, or when clanker spoke within the last few messages
(the response window), was talking with this message's author, and no other person has
spoken since. Otherwise AMBIENT: the conversation is going on without clanker.

The window's size follows ``activity.response_window_eagerness``: 0 → no window; ≤ 20 → 1
message; ≤ 40 → 2; ≤ 60 → 4; anything above → 5 (the cap).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from clanker.text.address import Address
from clanker.text.views import MessageView

MAX_RESPONSE_WINDOW = 5
"""The response window never spans more than this many messages."""


class Attention(StrEnum):
    """Whether clanker is in the conversation (ACTIVE) or overhearing it (AMBIENT)."""

    ACTIVE = "active"
    AMBIENT = "ambient"


def response_window_size(eagerness: int) -> int:
    """How many recent messages count as "clanker is in this conversation"."""
    if eagerness <= 0:
        return 0
    if eagerness <= 20:
        return 1
    if eagerness <= 40:
        return 2
    if eagerness <= 60:
        return 4
    return MAX_RESPONSE_WINDOW


def conversation_partner(recent: Sequence[MessageView], index: int, bot_user_id: int) -> int | None:
    """Whom clanker's message at ``recent[index]`` was talking to.

    The author it replied to, else the author of the nearest earlier message by someone else.
    """
    bot_msg = recent[index]
    if bot_msg.reply_to_author_id is not None and bot_msg.reply_to_author_id != bot_user_id:
        return bot_msg.reply_to_author_id
    for earlier in reversed(recent[:index]):
        if earlier.author_id != bot_user_id:
            return earlier.author_id
    return None


def attention_state(
    msg: MessageView,
    recent: Sequence[MessageView],
    *,
    bot_user_id: int,
    address: Address,
    window_eagerness: int,
) -> Attention:
    """ACTIVE or AMBIENT for ``msg``; ``recent`` is the channel before it, oldest first."""
    if address.direct:
        return Attention.ACTIVE
    size = response_window_size(window_eagerness)
    before = [m for m in recent if m.message_id != msg.message_id]
    if size == 0 or not before:
        return Attention.AMBIENT
    start = max(0, len(before) - size)
    last_bot = None
    for i in range(len(before) - 1, start - 1, -1):
        if before[i].author_id == bot_user_id:
            last_bot = i
            break
    if last_bot is None:
        return Attention.AMBIENT
    partner = conversation_partner(before, last_bot, bot_user_id)
    if partner is None or msg.author_id != partner:
        return Attention.AMBIENT
    for later in before[last_bot + 1 :]:
        if later.author_id not in (bot_user_id, partner) and not later.author_is_bot:
            return Attention.AMBIENT  # someone else has joined in since clanker spoke
    return Attention.ACTIVE
