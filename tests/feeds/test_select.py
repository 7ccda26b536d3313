"""Freshness, dedupe, ranking and limits over parsed entries (no trio)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from clanker.feeds.model import Entry, FeedResult, FeedSettings
from clanker.feeds.select import SourceBatch, freshness, popularity, select_candidates
from clanker.feeds.sources import hacker_news, reddit, rss_feed

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def entry(url: str, hours: float | None = 1.0, points: int | None = None, **kw: object) -> Entry:
    return Entry(
        title=kw.pop("title", url),  # type: ignore[arg-type]
        url=url,
        published=None if hours is None else ago(hours),
        points=points,
        **kw,  # type: ignore[arg-type]
    )


def test_freshness_halves_every_half_life() -> None:
    assert freshness(NOW, NOW, 24) == 1.0
    assert freshness(ago(24), NOW, 24) == 0.5
    assert freshness(ago(48), NOW, 24) == 0.25
    assert freshness(ago(6), NOW, 12) == pytest.approx(math.sqrt(0.5))
    assert freshness(NOW + timedelta(hours=3), NOW, 24) == 1.0  # a clock ahead of ours


def test_popularity_is_relative_to_the_sources_best() -> None:
    assert popularity(1000, 1000) == 1.0
    assert popularity(0, 1000) == 0.5
    assert popularity(31, 1023) == pytest.approx(0.5 + 0.5 * math.log(32) / math.log(1024))
    assert popularity(None, 1000) == 0.75
    assert popularity(0, 0) == 0.75  # a source whose points say nothing
    assert popularity(-5, 10) == 0.5


def test_every_drop_is_counted_by_reason() -> None:
    source = reddit("python")
    batch = SourceBatch(
        source=source,
        entries=(
            entry("https://ok.example/a", points=10),
            entry("mailto:x@example.com"),
            entry("https://nsfw.example/", nsfw=True),
            entry("https://undated.example/", hours=None),
            entry("https://old.example/", hours=96.5),
            entry("https://edge.example/", hours=96.0),  # exactly the max age is kept
            entry("https://shared.example/p?utm_source=rss&fbclid=1"),
            entry("https://www.ok.example/a/?gclid=2"),  # the first entry again
        ),
        dropped={"sticky": 2},
    )
    result = select_candidates(
        [batch], ["http://shared.example/p"], NOW, FeedSettings(items_per_source=10)
    )
    assert [c.url for c in result.candidates] == ["https://ok.example/a", "https://edge.example/"]
    (report,) = result.reports
    assert report.ok and report.source == "reddit:python" and report.label == "reddit:python"
    assert report.entries == 8 and report.kept == 2
    assert report.dropped == {
        "bad_url": 1,
        "duplicate": 1,
        "nsfw": 1,
        "shared": 1,
        "sticky": 2,
        "too_old": 1,
        "undated": 1,
    }


def test_nsfw_is_kept_when_allowed() -> None:
    batch = SourceBatch(source=reddit("pics"), entries=(entry("https://n.example/", nsfw=True),))
    allowed = select_candidates([batch], [], NOW, FeedSettings(allow_nsfw=True))
    assert [c.url for c in allowed.candidates] == ["https://n.example/"]


def test_score_is_weight_times_freshness_times_popularity() -> None:
    heavy = reddit("python", weight=2.0)
    light = rss_feed("https://blog.example/feed", weight=1.0)
    batches = [
        SourceBatch(
            source=heavy,
            entries=(
                entry("https://r.example/top", hours=24, points=1000),
                entry("https://r.example/zero", hours=0, points=0),
            ),
        ),
        SourceBatch(source=light, entries=(entry("https://b.example/new", hours=0),)),
    ]
    result = select_candidates(batches, [], NOW, FeedSettings())
    scores = {c.url: c.score for c in result.candidates}
    assert scores == {
        "https://r.example/top": pytest.approx(2.0 * 0.5 * 1.0),
        "https://r.example/zero": pytest.approx(2.0 * 1.0 * 0.5),
        "https://b.example/new": pytest.approx(1.0 * 1.0 * 0.75),
    }
    # Ties on score go to the newer entry.
    assert [c.url for c in result.candidates] == [
        "https://r.example/zero",
        "https://r.example/top",
        "https://b.example/new",
    ]
    top = result.candidates[1]
    assert top.source == "reddit:python" and top.points == 1000 and top.published == ago(24)


def test_a_link_in_two_sources_is_kept_once_under_the_better_one() -> None:
    link = "https://story.example/x"
    batches = [
        SourceBatch(source=reddit("python"), entries=(entry(link + "?utm_source=reddit", 30),)),
        SourceBatch(
            source=hacker_news("top", weight=3.0),
            entries=(
                entry(link, 30, points=50, discussion_url="https://news.ycombinator.com/item?id=1"),
            ),
        ),
        SourceBatch(source=rss_feed("https://f.example/rss"), entries=(entry(link + "/", 30),)),
    ]
    result = select_candidates(batches, [], NOW, FeedSettings())
    (only,) = result.candidates
    assert only.url == link and only.source == "hackernews:top"
    assert only.discussion_url == "https://news.ycombinator.com/item?id=1"
    assert set(only.also_in) == {"reddit:python", "rss:https://f.example/rss"}
    dropped = {r.source: r.dropped for r in result.reports}
    assert dropped["reddit:python"] == {"duplicate": 1}
    assert dropped["rss:https://f.example/rss"] == {"duplicate": 1}
    assert dropped["hackernews:top"] == {}
    assert [r.kept for r in result.reports] == [0, 1, 0]


def test_limits_per_source_and_in_total() -> None:
    many = SourceBatch(
        source=reddit("python", weight=5.0),
        entries=tuple(entry(f"https://r.example/{n}", hours=n) for n in range(6)),
    )
    few = SourceBatch(
        source=hacker_news("new"),
        entries=tuple(entry(f"https://h.example/{n}", hours=n) for n in range(3)),
    )
    settings = FeedSettings(items_per_source=3, max_candidates=4, fetch_per_source=5)
    result = select_candidates([many, few], [], NOW, settings)
    assert [c.url for c in result.candidates] == [
        "https://r.example/0",
        "https://r.example/1",
        "https://r.example/2",
        "https://h.example/0",
    ]
    reddit_report, hn_report = result.reports
    # 1 past fetch_per_source, 2 past items_per_source.
    assert reddit_report.kept == 3 and reddit_report.dropped == {"over_limit": 3}
    assert hn_report.kept == 1 and hn_report.dropped == {"over_limit": 2}


def test_a_failed_source_keeps_its_error_and_gives_nothing() -> None:
    failed = SourceBatch(source=reddit("python"), error="timeout: took longer than 9 s")
    fine = SourceBatch(source=hacker_news(), entries=(entry("https://h.example/"),))
    result = select_candidates([failed, fine], [], NOW, FeedSettings())
    assert [c.url for c in result.candidates] == ["https://h.example/"]
    assert not result.reports[0].ok and result.reports[0].error == "timeout: took longer than 9 s"
    assert result.reports[1].ok


def test_shared_urls_that_are_no_links_are_ignored() -> None:
    batch = SourceBatch(source=hacker_news(), entries=(entry("https://h.example/"),))
    result = select_candidates([batch], ["not a url", "", "ftp://x"], NOW, FeedSettings())
    assert len(result.candidates) == 1


def test_bad_calls_are_named() -> None:
    batch = SourceBatch(source=hacker_news(), entries=())
    with pytest.raises(ValueError, match="timezone-aware"):
        select_candidates([batch], [], datetime(2026, 12, 7, 12, 0), FeedSettings())
    with pytest.raises(ValueError, match="source hackernews:top is listed twice"):
        select_candidates([batch, batch], [], NOW, FeedSettings())


def test_a_result_crosses_a_mailbox() -> None:
    batch = SourceBatch(source=hacker_news(), entries=(entry("https://h.example/", points=3),))
    result = select_candidates([batch], [], NOW, FeedSettings())
    again = msgspec.msgpack.decode(msgspec.msgpack.encode(result), type=FeedResult)
    assert again == result
    assert again.candidates[0].published == ago(1)
