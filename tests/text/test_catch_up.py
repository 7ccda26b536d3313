"""Startup catch-up's choice, without trio: which missed messages are answered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clanker.discord.events import DiscordMessage
from clanker.settings.model import Identity
from clanker.text.catch_up import plan_catch_up

BOT = 999
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
SIX = timedelta(hours=6)


def msg(
    n: int,
    content: str,
    *,
    author: int = 1,
    hours_ago: float = 1.0,
    mentions: tuple[int, ...] = (),
    reply_to: int | None = None,
) -> DiscordMessage:
    return DiscordMessage(
        message_id=n,
        channel_id=10,
        guild_id=100,
        author_id=author,
        author_name="clanker" if author == BOT else f"user{author}",
        author_is_bot=False,
        content=content,
        created_at=(NOW - timedelta(hours=hours_ago)).isoformat(),
        mention_ids=mentions,
        reply_to_message_id=reply_to,
    )


def plan(history: list[DiscordMessage], missed: set[int] | None = None, per_channel: int = 2):  # type: ignore[no-untyped-def]
    return plan_catch_up(
        history,
        missed if missed is not None else {m.message_id for m in history},
        bot_user_id=BOT,
        identity=Identity(bot_name="clanker", aliases=("clanky",)),
        now=NOW,
        lookback=SIX,
        per_channel=per_channel,
    )


def test_only_recent_addressed_messages_are_answered_and_the_rest_explained() -> None:
    history = [
        msg(1, "clanker, are you there?", hours_ago=7),  # too old
        msg(2, "lunch anyone?", hours_ago=5),  # not addressed
        msg(3, "<@999> ping", hours_ago=5, mentions=(BOT,)),
        msg(4, "an earlier answer", author=BOT, hours_ago=4.5),
        msg(5, "thanks clanky", hours_ago=4),
        msg(6, "and this?", hours_ago=3, reply_to=4),  # a reply to the bot
    ]
    got = plan(history)
    assert [m.message_id for m in got.answer] == [5, 6]
    assert [m.message_id for m in got.store_only] == [1, 2, 3, 4]
    assert got.reasons == {
        1: "older than the lookback (6:00:00)",
        2: "not addressed",
        3: "more than 2 to answer in the channel",
        4: "clanker's own",
    }
    # the addressed ones left unanswered, for the decision log
    assert [m.message_id for m in got.skipped] == [1, 3]


def test_a_message_of_clankers_after_a_missed_one_does_not_rule_it_out() -> None:
    """clanker never saw a missed message, so nothing it said after it answered it."""
    history = [msg(1, "clanker?", hours_ago=2), msg(2, "to someone else", author=BOT, hours_ago=1)]
    assert [m.message_id for m in plan(history).answer] == [1]


def test_at_most_n_per_channel_the_newest() -> None:
    history = [msg(n, f"clanker question {n}", hours_ago=5 - n / 10) for n in range(1, 6)]
    got = plan(history)
    assert [m.message_id for m in got.answer] == [4, 5]
    assert got.reasons[1] == "more than 2 to answer in the channel"
    assert plan(history, per_channel=0).answer == ()


def test_messages_already_stored_are_neither_answered_nor_stored_again() -> None:
    history = [msg(1, "clanker?", hours_ago=2), msg(2, "clanker!!", hours_ago=1)]
    got = plan(history, missed={2})
    assert [m.message_id for m in got.answer] == [2] and got.store_only == ()


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_catch_up(
            [],
            set(),
            bot_user_id=BOT,
            identity=Identity(),
            now=NOW.replace(tzinfo=None),
            lookback=SIX,
            per_channel=2,
        )
    with pytest.raises(ValueError, match="per_channel must be >= 0, got -1"):
        plan([], per_channel=-1)
