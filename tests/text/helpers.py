"""Builders shared by the text-core tests."""

from __future__ import annotations

import itertools
from typing import Any

from clanker.settings import Settings, apply_patch
from clanker.text import MessageView

BOT = 900
ALICE = 101
BOB = 102
CAROL = 103
OTHER_BOT = 555
GUILD = 1
CHANNEL = 10
THREAD = 11
NAMES = {BOT: "clanker", ALICE: "alice", BOB: "bob", CAROL: "carol", OTHER_BOT: "robot"}

_ids = itertools.count(1000)


def msg(
    content: str = "hello",
    *,
    author: int = ALICE,
    message_id: int | None = None,
    channel_id: int = CHANNEL,
    guild_id: int | None = GUILD,
    parent: int | None = None,
    mentions: tuple[int, ...] = (),
    reply_to: int | None = None,
    reply_to_author: int | None = None,
    at: float = 0.0,
    is_bot: bool | None = None,
    force: bool = False,
) -> MessageView:
    """A message view with sensible defaults; ids increase with every call."""
    return MessageView(
        message_id=next(_ids) if message_id is None else message_id,
        channel_id=channel_id,
        guild_id=guild_id,
        parent_channel_id=parent,
        author_id=author,
        author_name=NAMES.get(author, f"user{author}"),
        author_is_bot=(author in (BOT, OTHER_BOT)) if is_bot is None else is_bot,
        content=content,
        mention_ids=mentions,
        reply_to_message_id=reply_to,
        reply_to_author_id=reply_to_author,
        received_at=at,
        force_reply=force,
    )


def settings_with(**sections: dict[str, Any]) -> Settings:
    """Default settings with a patch applied (validated like any operator change)."""
    return apply_patch(Settings(), sections)
