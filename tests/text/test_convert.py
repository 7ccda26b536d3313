"""MessageViews from the bridge's messages and the Store's rows."""

from __future__ import annotations

from clanker.discord.events import DiscordMessage
from clanker.store import MessageRow
from clanker.text.convert import view_from_discord, views_from_rows

from .helpers import ALICE, BOT, CHANNEL, GUILD


def row(
    message_id: int, author: int, *, reply_to: int | None = None, deleted: bool = False
) -> MessageRow:
    return MessageRow(
        message_id=message_id,
        guild_id=GUILD,
        channel_id=CHANNEL,
        author_id=author,
        author_name=f"user{author}",
        is_bot=author == BOT,
        content=f"message {message_id}",
        reply_to_message_id=reply_to,
        created_at="2025-01-31T12:00:00.000+00:00",
        edited_at=None,
        deleted=deleted,
    )


def test_view_from_discord_keeps_every_field() -> None:
    m = DiscordMessage(
        message_id=5,
        channel_id=CHANNEL,
        guild_id=GUILD,
        author_id=ALICE,
        author_name="alice",
        author_is_bot=False,
        content="hi <@900>",
        created_at="2025-01-31T12:00:00+00:00",
        reply_to_message_id=4,
        mention_ids=(BOT,),
    )
    view = view_from_discord(m, received_at=12.5, reply_to_author_id=BOT, parent_channel_id=3)
    assert (view.message_id, view.mention_ids, view.reply_to_author_id) == (5, (BOT,), BOT)
    assert (view.received_at, view.parent_channel_id, view.is_dm) == (12.5, 3, False)


def test_views_from_rows_fill_reply_authors_they_can_and_skip_deleted() -> None:
    views = views_from_rows(
        [
            row(1, ALICE),
            row(2, BOT, reply_to=1),
            row(3, ALICE, reply_to=99),
            row(4, ALICE, deleted=True),
        ]
    )
    assert [v.message_id for v in views] == [1, 2, 3]
    assert [v.reply_to_author_id for v in views] == [None, ALICE, None]
    assert views[1].author_is_bot
