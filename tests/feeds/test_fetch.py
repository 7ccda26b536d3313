"""`fetch_candidates` end to end: the guarded fetcher against the feed sim over real loopback
sockets, every source kind, dedupe, limits, and one failing source never failing the rest."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import trio
import trio.testing

from clanker.feeds.fetch import fetch_candidates
from clanker.feeds.model import FeedResult, FeedSettings, SourceReport
from clanker.feeds.sources import (
    Endpoints,
    FeedSource,
    SourceError,
    hacker_news,
    reddit,
    rss_feed,
    youtube_channel,
)
from clanker.llmsim._http import Request
from clanker.tools.fetch import GuardedFetcher
from clanker.toolsims.feeds import FeedSim, SimChannel, SimFeed, SimItem
from tests.feeds.conftest import HOST, sim_fetcher

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
CHANNEL = "UC_x5XG1OV2P6uZZ5FSM9Ttw"


def ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def settings_for(sim: FeedSim, **fields: object) -> FeedSettings:
    return FeedSettings(endpoints=sim.endpoints(HOST), **fields)  # type: ignore[arg-type]


def reports(result: FeedResult) -> dict[str, SourceReport]:
    return {r.source: r for r in result.reports}


def script_every_kind(sim: FeedSim) -> list[FeedSource]:
    sim.subreddits["python"] = [
        SimItem("Pinned rules", "https://www.reddit.com/r/python/wiki", ago(1), stickied=True),
        SimItem("Trio 1.0", "https://trio.example/?utm_source=reddit&utm_medium=x", ago(2), 900),
        SimItem("Old news", "https://old.example/", ago(200), points=5000),
        SimItem("Spicy", "https://nsfw.example/", ago(1), points=50, nsfw=True),
    ]
    sim.add_hn_story(SimItem("Show HN: Feeds", "https://feeds.example/", ago(3), points=250))
    sim.add_hn_story(SimItem("Ask HN: why?", "", ago(1), points=40))
    sim.add_hn_story(SimItem("Dead", "https://dead.example/", ago(1)), dead=True)
    sim.channels[CHANNEL] = SimChannel(
        "Sim Channel",
        [SimItem("A video", "https://www.youtube.com/watch?v=dQw4w9WgXcQ", ago(5), points=12)],
    )
    sim.feeds["/news.xml"] = SimFeed(
        "Sim News",
        [
            SimItem("Tom &amp; co", "https://news.example/a?fbclid=zzz", ago(4)),
            SimItem("Again, shared", "https://shared.example/p?ref=hn", ago(4)),
        ],
    )
    sim.feeds["/blog.atom"] = SimFeed(
        "Sim Blog",
        [SimItem("Trio again", "http://www.trio.example/?gclid=1", ago(6))],
        format="atom",
    )
    return [
        reddit("python", weight=1.5),
        hacker_news("top"),
        youtube_channel(CHANNEL, label="Sim Channel"),
        rss_feed(sim.url("/news.xml", HOST)),
        rss_feed(sim.url("/blog.atom", HOST)),
    ]


async def test_every_kind_of_source_yields_ranked_clean_candidates(
    sim: FeedSim, mock_clock: trio.testing.MockClock
) -> None:
    sources = script_every_kind(sim)
    result = await fetch_candidates(
        sources,
        ["https://shared.example/p"],
        NOW,
        settings_for(sim, max_candidates=10),
        fetcher=sim_fetcher(),
    )
    by_url = {c.url: c for c in result.candidates}
    assert set(by_url) == {
        "https://trio.example/",
        "https://feeds.example/",
        "https://news.ycombinator.com/item?id=41000002",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://news.example/a",
    }
    trio_post = by_url["https://trio.example/"]
    assert trio_post.source == "reddit:python" and trio_post.points == 900
    assert trio_post.title == "Trio 1.0" and trio_post.published == ago(2)
    assert trio_post.also_in == (f"rss:{sim.url('/blog.atom', HOST)}",)
    assert trio_post.discussion_url is not None
    assert trio_post.discussion_url.startswith("https://www.reddit.com/r/python/comments/")
    assert by_url["https://feeds.example/"].discussion_url == (
        "https://news.ycombinator.com/item?id=41000001"
    )
    assert by_url["https://www.youtube.com/watch?v=dQw4w9WgXcQ"].points == 12
    assert by_url["https://news.example/a"].title == "Tom & co"
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True)

    got = reports(result)
    assert all(r.ok for r in got.values())
    assert got["reddit:python"].dropped == {"nsfw": 1, "sticky": 1, "too_old": 1}
    assert got["hackernews:top"].dropped == {"not_story": 1}
    assert got["hackernews:top"].entries == 2 and got["hackernews:top"].kept == 2
    assert got[f"youtube:{CHANNEL}"].label == "Sim Channel"
    assert got[f"rss:{sim.url('/news.xml', HOST)}"].dropped == {"shared": 1}
    assert got[f"rss:{sim.url('/blog.atom', HOST)}"].dropped == {"duplicate": 1}

    listing = next(r for r in sim.requests if r.target.startswith("/r/python/hot.json"))
    assert listing.target == "/r/python/hot.json?limit=12&raw_json=1"
    assert {r.headers["user-agent"] for r in sim.requests} == {"clanker-test/1 (feeds)"}
    assert {r.headers["host"] for r in sim.requests} == {f"{HOST}:{sim.port}"}


async def test_limits_cap_the_result(sim: FeedSim, mock_clock: trio.testing.MockClock) -> None:
    sim.subreddits["python"] = [
        SimItem(f"P{n}", f"https://r.example/{n}", ago(n + 1), points=10) for n in range(8)
    ]
    for n in range(8):
        sim.add_hn_story(SimItem(f"H{n}", f"https://h.example/{n}", ago(n + 1), points=10))
    settings = settings_for(sim, fetch_per_source=5, items_per_source=2, max_candidates=3)
    result = await fetch_candidates(
        [reddit("python", weight=2), hacker_news()], [], NOW, settings, fetcher=sim_fetcher()
    )
    assert [c.url for c in result.candidates] == [
        "https://r.example/0",
        "https://r.example/1",
        "https://h.example/0",
    ]
    item_requests = [r for r in sim.requests if r.target.startswith("/v0/item/")]
    assert len(item_requests) == 5  # only fetch_per_source stories are fetched
    assert any(r.target == "/r/python/hot.json?limit=7&raw_json=1" for r in sim.requests)
    got = reports(result)
    # Reddit sent 7 (5 + room for 2 pinned): 2 past fetch_per_source, 3 past items_per_source.
    assert got["reddit:python"].entries == 7
    assert got["reddit:python"].dropped == {"over_limit": 5}
    assert got["hackernews:top"].dropped == {"over_limit": 4}


async def test_one_failing_source_never_fails_the_others(
    sim: FeedSim, mock_clock: trio.testing.MockClock
) -> None:
    sim.subreddits["python"] = [SimItem("Fine", "https://fine.example/", ago(1), points=1)]
    sim.subreddits["flaky"] = []
    sim.fail("/r/flaky/hot.json", 503)
    sim.banned.add("gone")
    sim.private.add("secret")
    sim.stall("/v0/topstories.json")
    sim.feeds["/broken.xml"] = SimFeed("B", [])
    sim.garble("/broken.xml", b"<html><body>not a feed</body></html>")
    sources = [
        reddit("python"),
        reddit("flaky"),
        reddit("gone"),
        reddit("secret"),
        reddit("nowhere"),
        hacker_news("top"),
        youtube_channel(CHANNEL),
        rss_feed(sim.url("/broken.xml", HOST)),
        rss_feed(sim.url("/missing.xml", HOST)),
    ]
    start = trio.current_time()
    result = await fetch_candidates(
        sources, [], NOW, settings_for(sim, timeout_seconds=4.0), fetcher=sim_fetcher()
    )
    assert trio.current_time() - start == pytest.approx(4.0)  # the stalled source's bound
    assert [c.url for c in result.candidates] == ["https://fine.example/"]
    base = f"http://{HOST}:{sim.port}"
    errors = {r.source: r.error for r in result.reports}
    assert errors == {
        "reddit:python": None,
        "reddit:flaky": f"{base}/r/flaky/hot.json?limit=12&raw_json=1 answered HTTP 503",
        "reddit:gone": f"{base}/r/gone/hot.json?limit=12&raw_json=1 answered HTTP 404 "
        "(banned, Not Found)",
        "reddit:secret": f"{base}/r/secret/hot.json?limit=12&raw_json=1 answered HTTP 403 "
        "(private, Forbidden)",
        "reddit:nowhere": "r/nowhere does not exist or is banned (Reddit redirected to its search)",
        "hackernews:top": "timeout: took longer than 4 s",
        f"youtube:{CHANNEL}": f"{base}/feeds/videos.xml?channel_id={CHANNEL} answered HTTP 404",
        f"rss:{base}/broken.xml": f"{base}/broken.xml is not an RSS or Atom feed: "
        "text/plain is not an XML media type",
        f"rss:{base}/missing.xml": f"{base}/missing.xml answered HTTP 404",
    }


async def test_hacker_news_survives_some_items_failing_but_not_all(
    sim: FeedSim, mock_clock: trio.testing.MockClock
) -> None:
    good = sim.add_hn_story(SimItem("Good", "https://good.example/", ago(1), points=5))
    bad = sim.add_hn_story(SimItem("Bad", "https://bad.example/", ago(1), points=5))
    sim.fail(f"/v0/item/{bad}.json", 500)
    result = await fetch_candidates(
        [hacker_news()], [], NOW, settings_for(sim), fetcher=sim_fetcher()
    )
    assert [c.url for c in result.candidates] == ["https://good.example/"]
    assert result.reports[0].ok and result.reports[0].dropped == {"item_errors": 1}

    sim.fail(f"/v0/item/{good}.json", 500)
    sim.fail(f"/v0/item/{bad}.json", 500)
    again = await fetch_candidates(
        [hacker_news()], [], NOW, settings_for(sim), fetcher=sim_fetcher()
    )
    assert again.candidates == ()
    error = again.reports[0].error
    assert error is not None
    assert error.startswith("none of the 2 stories could be fetched: ")
    assert error.endswith(".json answered HTTP 500")


async def test_a_body_past_the_size_limit_is_an_error(
    sim: FeedSim, mock_clock: trio.testing.MockClock
) -> None:
    sim.feeds["/big.xml"] = SimFeed(
        "Big", [SimItem(f"Item {n}", f"https://b.example/{n}", ago(1)) for n in range(200)]
    )
    url = sim.url("/big.xml", HOST)
    result = await fetch_candidates(
        [rss_feed(url)], [], NOW, settings_for(sim, max_bytes=10_000), fetcher=sim_fetcher()
    )
    assert result.reports[0].error == f"{url} sent more than 10000 bytes"


async def test_the_ssrf_guard_refuses_a_private_address_without_the_test_map(
    sim: FeedSim, mock_clock: trio.testing.MockClock
) -> None:
    # No fetcher given: the production one, whose guard refuses loopback.
    settings = FeedSettings(endpoints=sim.endpoints())  # http://127.0.0.1:<port>
    result = await fetch_candidates([reddit("python"), hacker_news()], [], NOW, settings)
    for report in result.reports:
        assert report.error is not None
        assert report.error == "refused: 127.0.0.1 is loopback (127.0.0.0/8)"
    assert sim.requests == []


async def test_bad_source_lists_are_refused_before_fetching(
    sim: FeedSim, mock_clock: trio.testing.MockClock
) -> None:
    settings = settings_for(sim)
    with pytest.raises(SourceError, match="reddit source 'not ok': subreddit name"):
        await fetch_candidates(
            [hacker_news(), FeedSource(kind="reddit", target="not ok")],
            [],
            NOW,
            settings,
            fetcher=sim_fetcher(),
        )
    with pytest.raises(ValueError, match="source reddit:python is listed twice"):
        await fetch_candidates(
            [reddit("python"), reddit("r/Python")], [], NOW, settings, fetcher=sim_fetcher()
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        await fetch_candidates([], [], datetime(2026, 1, 1), settings, fetcher=sim_fetcher())
    assert sim.requests == []


async def test_a_feed_served_with_a_wrong_media_type_is_still_read(
    sim: FeedSim, mock_clock: trio.testing.MockClock
) -> None:
    sim.feeds["/plain.xml"] = SimFeed("P", [SimItem("Read me", "https://p.example/", ago(1))])
    real = await sim.handle(Request("GET", "/plain.xml", {}, b""))
    sim.garble("/plain.xml", real.body)  # the same RSS, sent as text/plain
    url = sim.url("/plain.xml", HOST)
    result = await fetch_candidates(
        [rss_feed(url)], [], NOW, settings_for(sim), fetcher=sim_fetcher()
    )
    assert result.reports[0].ok
    assert [c.title for c in result.candidates] == ["Read me"]


async def test_a_surprise_in_one_source_is_reported_not_raised(
    caplog: pytest.LogCaptureFixture, mock_clock: trio.testing.MockClock
) -> None:
    def explode(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/r/"):
            raise RuntimeError("boom")
        # A streamed body, as a real transport's is (``json=`` would come pre-read).
        return httpx.Response(
            200, headers={"content-type": "application/json"}, stream=httpx.ByteStream(b"[]")
        )

    fetcher = GuardedFetcher(transport=httpx.MockTransport(explode))
    public = "http://93.184.216.34"  # an IP literal: no resolving, no socket (MockTransport)
    settings = FeedSettings(
        endpoints=Endpoints(reddit=public, hackernews=f"{public}/v0", youtube=public)
    )
    result = await fetch_candidates(
        [reddit("python"), hacker_news()], [], NOW, settings, fetcher=fetcher
    )
    got = reports(result)
    assert got["reddit:python"].error == "unexpected RuntimeError: boom"
    assert got["hackernews:top"].error is None, got["hackernews:top"].error
    assert got["hackernews:top"].entries == 0
    assert "feeds: reddit:python failed unexpectedly" in caplog.text


async def test_a_source_nobody_answers_is_a_network_error(
    sim: FeedSim, mock_clock: trio.testing.MockClock
) -> None:
    with socket.socket() as probe:  # a port on 127.0.0.1 where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sim.feeds["/up.xml"] = SimFeed("Up", [SimItem("Up", "https://up.example/", ago(1))])
    down = rss_feed(f"http://{HOST}:{port}/down.xml")
    up = rss_feed(sim.url("/up.xml", HOST))
    result = await fetch_candidates([down, up], [], NOW, settings_for(sim), fetcher=sim_fetcher())
    error = reports(result)[down.key].error
    assert error is not None
    assert error.startswith(f"network: cannot connect to http://{HOST}:{port}/down.xml")
    assert [c.url for c in result.candidates] == ["https://up.example/"]


@pytest.mark.parametrize(("concurrency", "seconds"), [(1, 6.0), (2, 4.0), (3, 2.0)])
async def test_sources_run_side_by_side_up_to_the_concurrency(
    sim: FeedSim, mock_clock: trio.testing.MockClock, concurrency: int, seconds: float
) -> None:
    sources = []
    for name in ("a", "b", "c"):
        sim.feeds[f"/{name}.xml"] = SimFeed(name, [])
        sim.stall(f"/{name}.xml")
        sources.append(rss_feed(sim.url(f"/{name}.xml", HOST)))
    settings = settings_for(sim, timeout_seconds=2.0, concurrency=concurrency)
    start = trio.current_time()
    result = await fetch_candidates(sources, [], NOW, settings, fetcher=sim_fetcher())
    assert trio.current_time() - start == pytest.approx(seconds)
    assert {r.error for r in result.reports} == {"timeout: took longer than 2 s"}
