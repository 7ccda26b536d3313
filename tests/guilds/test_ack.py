"""The placeholder brain's addressing rule and acknowledgement text (sans-IO)."""

from __future__ import annotations

import pytest

from clanker.discord.events import DiscordMessage
from clanker.guilds import Identity
from clanker.guilds.ack import acknowledgement, is_addressed, names_bot

BOT = Identity(user_id=1, user_name="clanker")


def msg(content: str = "hi", **kw: object) -> DiscordMessage:
    fields: dict[str, object] = {
        "message_id": 100,
        "channel_id": 10,
        "guild_id": 5,
        "author_id": 2,
        "author_name": "alice",
        "author_is_bot": False,
        "content": content,
        "created_at": "2026-11-21T10:00:00+00:00",
    }
    fields.update(kw)
    return DiscordMessage(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("message", "replied_to_bot", "addressed"),
    [
        (msg("hello everyone"), False, False),
        (msg("hey clanker, you there?"), False, True),
        (msg("CLANKER!"), False, True),
        (msg("clankers are robots"), False, False),  # not the name as a word
        (msg("<@1> look", mention_ids=(1,)), False, True),
        (msg("<@3> look", mention_ids=(3,)), False, False),
        (msg("sure", reply_to_message_id=99), True, True),
        (msg("sure", reply_to_message_id=99), False, False),
        (msg("anything at all", guild_id=None), False, True),  # a DM
        (msg("clanker talking to itself", author_id=1), False, False),  # our own message
        (msg("hi clanker", author_id=1, guild_id=None), True, False),  # our own, even in DMs
    ],
)
def test_addressed(message: DiscordMessage, replied_to_bot: bool, addressed: bool) -> None:
    assert is_addressed(message, BOT, replied_to_bot=replied_to_bot) is addressed


def test_aliases_count_as_names() -> None:
    assert is_addressed(msg("ok bot-friend"), BOT, replied_to_bot=False, aliases=("bot-friend",))
    assert not names_bot("spaces only", ("  ",))


def test_acknowledgement_quotes_a_short_snippet() -> None:
    text = acknowledgement(msg("  hey   clanker\nwhat's up  "))
    assert text.startswith('👋 heard you, alice: "hey clanker what\'s up".')
    assert "acknowledgement" in text
    long = acknowledgement(msg("x" * 500))
    assert '"' + "x" * 79 + '…"' in long
    assert "your message" in acknowledgement(msg(""))
