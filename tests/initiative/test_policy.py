"""The initiative gates, the held thought, the decision reader and the prompt, without trio."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from clanker.initiative.policy import (
    MAX_POST_CHARS,
    ChannelContext,
    ChannelState,
    FeedLine,
    History,
    PastPost,
    Pending,
    PromptParts,
    Skip,
    Think,
    clip,
    eligible_channels,
    initiative_prompt,
    plan_tick,
    read_decision,
)
from clanker.settings.model import Initiative

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
ON = Initiative(channel_ids=(10, 11), eagerness=20)


def plan(
    settings: Initiative = ON,
    *,
    history: History | None = None,
    channels: tuple[int, ...] = (10, 11),
    pending: Pending | None = None,
    roll: float = 5.0,
) -> Skip | Think:
    return plan_tick(
        settings,
        now=NOW,
        history=history or History(),
        channels=channels,
        pending=pending,
        roll=roll,
    )


def thought(channel: int = 10, age: timedelta = timedelta(minutes=30)) -> Pending:
    return Pending(100, channel, "otters", "later", NOW - age)


def test_the_gates_in_order_each_with_its_reason() -> None:
    off = Initiative(channel_ids=(10,), posts_enabled=False)
    assert plan(off) == Skip("disabled", "initiative.posts_enabled is off")
    assert plan(Initiative(), channels=()) == Skip(
        "no_channel", "initiative.channel_ids lists no channel"
    )
    assert plan(channels=()) == Skip(
        "no_channel", "none of the 2 listed channel(s) can take a post now"
    )
    three = History(posts=tuple(NOW - timedelta(hours=h) for h in (23, 12, 7)))
    assert plan(history=three) == Skip(
        "daily_budget", "3 post(s) in the last 24 h (initiative.max_posts_per_day 3)"
    )
    # a post exactly 24 h ago no longer counts
    older = History(posts=(NOW - timedelta(hours=24), NOW - timedelta(hours=12)))
    assert isinstance(plan(history=older), Think)
    recent = History(last_gap_mark=NOW - timedelta(minutes=359, seconds=59))
    assert plan(history=recent) == Skip(
        "min_gap",
        "359 min since the last post or dropped thought (initiative.min_minutes_between_posts 360)",
    )
    assert isinstance(plan(history=History(last_gap_mark=NOW - timedelta(minutes=360))), Think)
    assert plan(roll=20.0) == Skip("eagerness", "rolled 20.0, not under initiative.eagerness 20")
    assert plan(roll=19.99) == Think((10, 11), None)


def test_a_held_thought_is_revisited_without_a_roll_until_it_expires() -> None:
    held = thought()
    assert plan(pending=held, roll=99.0) == Think((10, 11), held)
    assert plan(pending=held, roll=1.0) == Think((10, 11), held)
    # its channel can no longer take it: a fresh roll decides, without the thought
    assert plan(pending=held, channels=(11,), roll=1.0) == Think((11,), None)
    assert plan(pending=held, channels=(11,), roll=99.0) == Skip(
        "eagerness", "rolled 99.0, not under initiative.eagerness 20"
    )
    old = thought(age=timedelta(hours=2))
    assert plan(pending=old, roll=1.0) == Skip(
        "thought_expired", "the held thought is older than 2:00:00"
    )
    # the budget and the gap still hold a held thought back
    assert plan(pending=held, history=History(last_gap_mark=NOW)).gate == "min_gap"  # type: ignore[union-attr]


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match=r"roll must be in \[0, 100\), got 100.0"):
        plan(roll=100.0)
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_tick(
            ON, now=NOW.replace(tzinfo=None), history=History(), channels=(), pending=None, roll=0
        )


def test_eligible_channels_are_listed_known_unblocked_and_not_the_bots_turn() -> None:
    states = [
        ChannelState(10),
        ChannelState(11, last_author_is_bot=True),
        ChannelState(12, known=False),
        ChannelState(13),
    ]
    settings = Initiative(channel_ids=(13, 10, 11, 12, 14))
    assert eligible_channels(settings, states) == (13, 10)
    assert eligible_channels(settings, states, blocked=(13,)) == (10,)


def answer(**fields: object) -> str:
    base: dict[str, object] = {
        "action": "post_now",
        "channel_id": "10",
        "reply_to_message_id": None,
        "text": "look at this https://news.example.com/otters?utm_source=x.",
        "media": "none",
        "reason": "they love otters",
    }
    base.update(fields)
    return json.dumps(base)


def test_read_decision_checks_what_matters_and_forgives_the_wrapping() -> None:
    got = read_decision(
        "Sure! ```json\n" + answer(reply_to_message_id="77") + "\n```",
        channels=(10,),
        message_ids={10: [77, 78]},
        feed_urls=["https://news.example.com/otters?utm_source=x"],
    )
    assert (got.action, got.channel_id, got.reply_to_message_id, got.reason) == (
        "post_now",
        10,
        77,
        "they love otters",
    )
    assert got.source_url == "https://news.example.com/otters?utm_source=x"
    # a reply target not among the channel's messages is dropped, not trusted
    assert (
        read_decision(answer(reply_to_message_id="5"), channels=(10,)).reply_to_message_id is None
    )
    drop = read_decision(answer(action="drop", channel_id="nope", text=""), channels=(10, 11))
    assert (drop.action, drop.channel_id) == ("drop", 10)
    for text, problem in [
        ("no json here", "the answer holds no JSON object"),
        ("{not: json}", "the answer's JSON does not parse"),
        (answer(action="shout"), "action must be post_now, hold or drop, got 'shout'"),
        (answer(channel_id="11"), r"channel_id 11 is not one of the channels offered \(10\)"),
        (answer(channel_id="#general"), "channel_id must be a channel or message id"),
        (answer(text="  "), "post_now needs text"),
        (answer(media="video"), "media must be none, image or gif, got 'video'"),
        (answer(media="gif", media_prompt=" "), "media gif needs a media_prompt"),
    ]:
        with pytest.raises(ValueError, match=problem):
            read_decision(text, channels=(10,))


def test_a_long_post_is_cut_at_a_word() -> None:
    text = "word " * 1000
    cut = clip(text)
    assert len(cut) <= MAX_POST_CHARS and cut.endswith("word…")
    assert clip("short") == "short"
    long = read_decision(answer(text=text), channels=(10,))
    assert long.text == clip(text.strip())


def test_the_prompt_has_its_sections_only_when_there_is_something_in_them() -> None:
    parts = PromptParts(
        bot_name="clanker",
        persona="Dry humour.",
        guild_name="otters",
        channels=(ChannelContext(10, "general", ("[5] alice: hi",)),),
    )
    system, bare = initiative_prompt(parts)
    assert "You are clanker, a member of the Discord server 'otters'. Dry humour." in system
    assert "AMBIENT TEXT MODE" in system and "no @mentions" in system
    assert "#general (channel_id 10):\n  [5] alice: hi" in bare
    for absent in ("YOUR FEED", "YOUR CURRENT THOUGHT", "WHAT THIS COMMUNITY", "FEED SOURCES"):
        assert absent not in bare
    assert '"action": "post_now" | "hold" | "drop"' in bare
    full = initiative_prompt(
        PromptParts(
            bot_name="clanker",
            persona="",
            guild_name="otters",
            channels=(ChannelContext(10, "general", ()),),
            feed=(FeedLine("Otters", "https://x.test/o", "reddit:otters", 3.2, 120),),
            feed_sources=("r/otters",),
            past_posts=(PastPost("general", "earlier post", 4, "https://x.test/e"),),
            interests=("they love otters",),
            pending=thought(),
            now="Saturday 2026-12-05 12:00 UTC",
            tools=("web_search",),
        )
    )[1]
    assert "(no recent messages)" in full
    assert "- Otters — https://x.test/o (reddit:otters, 3 h old, 120 points)" in full
    assert "FEED SOURCES: r/otters" in full
    assert "- #general: 'earlier post' [https://x.test/e] → 4 replies" in full
    assert "WHAT THIS COMMUNITY IS INTO (from memory):\n- they love otters" in full
    assert "YOUR CURRENT THOUGHT (held earlier, revision 1, for channel 10): otters" in full
    assert "You may call these tools first: web_search." in full
    assert '"media": "none", "media_prompt": ""' in bare and "MEDIA:" not in bare
    with_media = initiative_prompt(
        PromptParts(
            bot_name="c",
            persona="",
            guild_name="g",
            channels=(ChannelContext(10, "general", ()),),
            media=("gif", "image"),
        )
    )[1]
    assert "MEDIA: you may post a GIF found on GIPHY or a generated picture with the text" in (
        with_media
    )
    assert '"media": "none" | "gif" | "image"' in with_media
    gif = read_decision(answer(media="gif", media_prompt="otters"), channels=(10,))
    assert (gif.media, gif.media_prompt) == ("gif", "otters")
