"""The placeholder brain, sans-IO: is a message addressed to the bot, and what to answer.

Until the text brain lands, a guild session answers only messages addressed to the bot (a
mention, a reply to one of its messages, its name in the text, or any DM) with a visible
acknowledgement, so a person trying `clanker sandbox` sees the whole path work.
"""

from __future__ import annotations

import re

from clanker.discord.events import DiscordMessage
from clanker.guilds.messages import Identity

SNIPPET_CHARS = 80


def names_bot(text: str, names: tuple[str, ...]) -> bool:
    """True when one of ``names`` appears in ``text`` as a whole word (any case)."""
    return any(
        re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text, re.IGNORECASE)
        for name in names
        if name.strip()
    )


def is_addressed(
    msg: DiscordMessage, identity: Identity, *, replied_to_bot: bool, aliases: tuple[str, ...] = ()
) -> bool:
    """Whether ``msg`` speaks to the bot (never true for the bot's own messages)."""
    if msg.author_id == identity.user_id:
        return False
    return (
        msg.guild_id is None
        or identity.user_id in msg.mention_ids
        or replied_to_bot
        or names_bot(msg.content, (identity.user_name, *aliases))
    )


def acknowledgement(msg: DiscordMessage) -> str:
    """The visible acknowledgement for an addressed message."""
    text = " ".join(msg.content.split())
    if len(text) > SNIPPET_CHARS:
        text = text[: SNIPPET_CHARS - 1] + "…"
    quoted = f' "{text}"' if text else " your message"
    return (
        f"👋 heard you, {msg.author_name}:{quoted}. "
        "(clanker's text brain is not connected yet; this is an acknowledgement.)"
    )
