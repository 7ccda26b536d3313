"""Source definitions and settings: what is accepted, how it is normalised, and the errors
that name what is wrong (no trio)."""

from __future__ import annotations

import msgspec
import pytest

from clanker.feeds.model import FeedSettings
from clanker.feeds.sources import (
    Endpoints,
    FeedSource,
    SourceError,
    hacker_news,
    hn_item_url,
    parse_source,
    reddit,
    rss_feed,
    source_url,
    validate_source,
    youtube_channel,
)

CHANNEL = "UC_x5XG1OV2P6uZZ5FSM9Ttw"


def test_subreddit_names_are_normalised() -> None:
    for spelling in ("Programming", "r/programming", "/r/Programming/", " programming "):
        source = reddit(spelling)
        assert source.target == "programming"
        assert source.key == "reddit:programming"
    assert reddit("de").target == "de"  # two-letter subreddits exist


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "empty"),
        ("r/", "empty"),
        ("a", "not valid"),
        ("_underscore_first", "not valid"),
        ("has-dash", "not valid"),
        ("x" * 22, "not valid"),
        ("pics/top", "not valid"),
    ],
)
def test_bad_subreddit_names_are_refused_by_name(name: str, problem: str) -> None:
    with pytest.raises(SourceError, match=problem):
        reddit(name)


def test_hacker_news_lists() -> None:
    assert hacker_news().key == "hackernews:top"
    assert hacker_news("NEW").key == "hackernews:new"
    with pytest.raises(SourceError, match="'top' or 'new', not 'best'"):
        hacker_news("best")


def test_youtube_channel_ids() -> None:
    assert youtube_channel(CHANNEL).target == CHANNEL
    with pytest.raises(SourceError, match="is a YouTube handle"):
        youtube_channel("@GoogleDevelopers")
    with pytest.raises(SourceError, match="'UC' followed by 22"):
        youtube_channel("UC123")
    with pytest.raises(SourceError, match="'UC' followed by 22"):
        youtube_channel("https://www.youtube.com/channel/" + CHANNEL)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("", "empty"),
        ("ftp://example.com/feed", "not an http or https URL"),
        ("example.com/feed.xml", "not an http or https URL"),
        ("https:///feed.xml", "has no host"),
        ("https://user:pw@example.com/feed", "user name or password"),
        ("https://example.com/a feed.xml", "whitespace"),
        ("https://example.com:99999/", "not a valid URL"),
    ],
)
def test_bad_feed_urls_are_refused_by_name(url: str, problem: str) -> None:
    with pytest.raises(SourceError, match=problem):
        rss_feed(url)


@pytest.mark.parametrize("weight", [0, -1, 10.5, float("nan"), float("inf")])
def test_weights_must_be_positive_and_bounded(weight: float) -> None:
    with pytest.raises(SourceError, match="weight must be > 0"):
        reddit("python", weight=weight)


def test_a_weight_must_be_a_number() -> None:
    with pytest.raises(SourceError, match="must be a number, not bool"):
        reddit("python", weight=True)


def test_short_text_forms() -> None:
    assert parse_source("r/rust") == reddit("rust")
    assert parse_source("hn:new", weight=2) == hacker_news("new", weight=2)
    assert parse_source(f"youtube:{CHANNEL}") == youtube_channel(CHANNEL)
    assert parse_source("https://example.com/rss", label="Ex") == rss_feed(
        "https://example.com/rss", label="Ex"
    )
    assert parse_source("https://example.com/rss", label="Ex").name == "Ex"
    assert parse_source("r/rust").name == "reddit:rust"
    with pytest.raises(SourceError, match="cannot tell what source 'programming' is"):
        parse_source("programming")


def test_a_decoded_source_is_validated() -> None:
    decoded = msgspec.json.decode(
        b'{"kind": "reddit", "target": "R/Python", "weight": 2}', type=FeedSource
    )
    assert validate_source(decoded) == reddit("python", weight=2)
    bad = msgspec.json.decode(b'{"kind": "reddit", "target": "no way"}', type=FeedSource)
    with pytest.raises(SourceError, match="reddit source 'no way': subreddit name"):
        validate_source(bad)
    with pytest.raises(msgspec.ValidationError, match="Invalid enum value 'x'"):
        msgspec.json.decode(b'{"kind": "x", "target": "y"}', type=FeedSource)


def test_source_urls_are_the_services_real_endpoints() -> None:
    endpoints = Endpoints()
    assert (
        source_url(reddit("python"), endpoints, limit=25)
        == "https://www.reddit.com/r/python/hot.json?limit=25&raw_json=1"
    )
    assert source_url(reddit("python"), endpoints, limit=500).endswith("limit=100&raw_json=1")
    assert (
        source_url(hacker_news("top"), endpoints, limit=0)
        == "https://hacker-news.firebaseio.com/v0/topstories.json"
    )
    assert (
        source_url(hacker_news("new"), endpoints, limit=0)
        == "https://hacker-news.firebaseio.com/v0/newstories.json"
    )
    assert hn_item_url(endpoints, 8863) == "https://hacker-news.firebaseio.com/v0/item/8863.json"
    assert (
        source_url(youtube_channel(CHANNEL), endpoints, limit=0)
        == f"https://www.youtube.com/feeds/videos.xml?channel_id={CHANNEL}"
    )
    assert source_url(rss_feed("https://e.org/f"), endpoints, limit=0) == "https://e.org/f"


def test_endpoints_must_be_http_urls() -> None:
    with pytest.raises(SourceError, match=r"endpoint reddit: 'reddit\.com' is not an http"):
        Endpoints(reddit="reddit.com")


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("max_age_hours", 0, "max_age_hours must be > 0"),
        ("half_life_hours", float("nan"), "half_life_hours must be > 0"),
        ("timeout_seconds", 301, "timeout_seconds must be > 0 and <= 300"),
        ("items_per_source", 0, "items_per_source must be a whole number 1..100"),
        ("max_candidates", 2.5, "max_candidates must be a whole number"),
        ("fetch_per_source", True, "fetch_per_source must be a whole number"),
        ("user_agent", "two\nlines", "user_agent must be a non-empty single line"),
    ],
)
def test_bad_settings_are_refused_by_name(field: str, value: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        FeedSettings(**{field: value})  # type: ignore[arg-type]


def test_settings_round_trip_through_msgpack() -> None:
    settings = FeedSettings(max_candidates=3, endpoints=Endpoints(reddit="http://r.test:81"))
    again = msgspec.msgpack.decode(msgspec.msgpack.encode(settings), type=FeedSettings)
    assert again == settings
