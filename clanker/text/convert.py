"""Building `MessageView`s from the bridge's messages and the Store's rows.

Kept out of ``clanker.text``'s package namespace: the bridge and Store message types live on
the actor side (they import the runtime, and so trio), and the cores must not.
"""

from __future__ import annotations

from collections.abc import Iterable

from clanker.discord.events import DiscordMessage
from clanker.store.messages import MessageRow
from clanker.text.views import MessageView


def view_from_discord(
    msg: DiscordMessage,
    *,
    received_at: float,
    reply_to_author_id: int | None = None,
    parent_channel_id: int | None = None,
    force_reply: bool = False,
) -> MessageView:
    """The view of a message the bridge delivered, seen at trio time ``received_at``.

    ``reply_to_author_id`` is the author of the message it replies to (the bridge's message
    carries only that message's id: look it up in the Store, or pass None if unknown).
    ``parent_channel_id`` (a thread's parent) defaults to the one the bridge filled in.
    """
    return MessageView(
        message_id=msg.message_id,
        channel_id=msg.channel_id,
        guild_id=msg.guild_id,
        parent_channel_id=(
            msg.parent_channel_id if parent_channel_id is None else parent_channel_id
        ),
        author_id=msg.author_id,
        author_name=msg.author_name,
        author_is_bot=msg.author_is_bot,
        content=msg.content,
        mention_ids=msg.mention_ids,
        reply_to_message_id=msg.reply_to_message_id,
        reply_to_author_id=reply_to_author_id,
        received_at=received_at,
        force_reply=force_reply,
    )


def views_from_rows(rows: Iterable[MessageRow], *, received_at: float = 0.0) -> list[MessageView]:
    """Views of stored messages (e.g. `RecentMessages` for a prompt), in order, deleted ones
    left out.

    A reply's author is filled in when the replied-to message is among ``rows``; mentions are
    not stored as ids, but their ``<@id>`` markup stays in the content, which the cores read.
    """
    listed = list(rows)
    authors = {row.message_id: row.author_id for row in listed}
    return [
        MessageView(
            message_id=row.message_id,
            channel_id=row.channel_id,
            guild_id=row.guild_id,
            author_id=row.author_id,
            author_name=row.author_name,
            author_is_bot=row.is_bot,
            content=row.content,
            reply_to_message_id=row.reply_to_message_id,
            reply_to_author_id=(
                authors.get(row.reply_to_message_id)
                if row.reply_to_message_id is not None
                else None
            ),
            received_at=received_at,
        )
        for row in listed
        if not row.deleted
    ]
