"""The offline demo brain answers an initiative prompt (the one clanker builds) with a decision
clanker accepts: the feed's first link in the first channel, or a drop when the feed is empty."""

from __future__ import annotations

import json

from clanker.cli.demo_brain import LABEL, initiative_answer
from clanker.initiative.policy import (
    ChannelContext,
    FeedLine,
    PromptParts,
    initiative_prompt,
    read_decision,
)


def prompt(feed: tuple[FeedLine, ...]) -> str:
    parts = PromptParts(
        bot_name="clanker",
        persona="",
        guild_name="Sandbox",
        channels=(
            ChannelContext(7, "general", ("[1] alice: hi",)),
            ChannelContext(8, "random", ()),
        ),
        feed=feed,
    )
    return initiative_prompt(parts)[1]


def test_it_shares_the_first_feed_link_in_the_first_channel() -> None:
    feed = (
        FeedLine("Otters hold hands", "https://otters.example/hands", "reddit:otters", 2.0, 900),
        FeedLine("Second", "https://x.example/2", "hackernews:top", 3.0),
    )
    decided = read_decision(
        json.dumps(initiative_answer(prompt(feed))),
        channels=(7, 8),
        feed_urls=[f.url for f in feed],
    )
    assert (decided.action, decided.channel_id) == ("post_now", 7)
    assert (
        decided.text
        == f"{LABEL} Found this in my feed: Otters hold hands https://otters.example/hands"
    )
    assert decided.source_url == "https://otters.example/hands"


def test_with_nothing_in_the_feed_it_drops() -> None:
    decided = read_decision(json.dumps(initiative_answer(prompt(()))), channels=(7, 8))
    assert (decided.action, decided.reason) == ("drop", "nothing new in the feed")
