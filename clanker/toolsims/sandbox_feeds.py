"""The sandbox's own discovery feeds, for `clanker sandbox` (no internet needed).

`open_sandbox_feeds()` runs the feed sim (`clanker.toolsims.feeds`) on 127.0.0.1 under the
test-only host name ``feeds.sandbox.test`` with a few fresh posts in each of its sources:
Reddit ``r/programming`` and ``r/otters``, Hacker News' top stories, and one RSS feed
(`SandboxFeeds.rss_url`). Every title says "(sandbox feed)". It gives the endpoints and a guarded
fetcher that reaches that host name through the test-only escape hatch; every other URL is
vetted by the SSRF guard as in production (so an RSS source on the real web fails to fetch, and
says why, in the sandbox). List the sources in `initiative.feed_sources` to use them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from clanker.feeds.sources import Endpoints
from clanker.store import calendar_now
from clanker.tools.fetch import GuardedFetcher
from clanker.toolsims.feeds import FeedSim, SimFeed, SimItem, open_feed_sim

__all__ = ["FEEDS_HOST", "SandboxFeeds", "open_sandbox_feeds"]

FEEDS_HOST = "feeds.sandbox.test"
TAG = " (sandbox feed)"


@dataclass(frozen=True)
class SandboxFeeds:
    sim: FeedSim
    endpoints: Endpoints
    fetcher: GuardedFetcher
    rss_url: str

    def describe(self) -> str:
        return (
            "feeds: initiative.feed_sources may list r/programming, r/otters, hn:top or "
            f"{self.rss_url} — the SANDBOX FEED SIM, local and offline, labelled as simulated."
        )


def _fill(sim: FeedSim) -> None:
    now = calendar_now()

    def item(title: str, url: str, hours: float, points: int) -> SimItem:
        return SimItem(
            title + TAG, url, now - timedelta(hours=hours), points, comments=points // 10
        )

    sim.subreddits["programming"] = [
        item(
            "A tiny actor runtime in 300 lines",
            "https://example.org/actors?utm_source=reddit",
            2,
            420,
        ),
        item("Structured concurrency, explained", "https://example.org/structured", 5, 310),
        item("Why your tests are flaky", "https://example.org/flaky", 9, 150),
    ]
    sim.subreddits["otters"] = [
        item("Two otters holding hands", "https://example.org/otters/hands", 1, 990),
        item("Otter learns to juggle", "https://example.org/otters/juggle", 6, 540),
    ]
    for title, url, hours, points in [
        ("Show HN: a Discord member that is a program", "https://example.org/show-hn", 3, 250),
        ("SQLite as a vector store", "https://example.org/sqlite-vec", 7, 180),
    ]:
        sim.add_hn_story(item(title, url, hours, points))
    sim.feeds["/rss/news.xml"] = SimFeed(
        "Sandbox News",
        [
            item("Local models are getting small", "https://example.org/small-models", 4, 0),
            item("A week of DAVE calls", "https://example.org/dave-week", 12, 0),
        ],
    )


@asynccontextmanager
async def open_sandbox_feeds() -> AsyncIterator[SandboxFeeds]:
    """Run the sandbox's feeds for the duration of the block."""
    async with open_feed_sim() as sim:
        _fill(sim)
        yield SandboxFeeds(
            sim=sim,
            endpoints=sim.endpoints(FEEDS_HOST),
            fetcher=GuardedFetcher(testing_only_hosts={FEEDS_HOST: "127.0.0.1"}),
            rss_url=sim.url("/rss/news.xml", FEEDS_HOST),
        )
