"""Discovery feeds: links from Reddit, Hacker News, YouTube channels and RSS/Atom feeds that
clanker might post about on its own (issue 17, item 3).

The sans-IO cores — `sources` (what to read, with weights), `canonical` (one spelling per
link, tracking parameters stripped), `parse` (each source's real format), `select`
(freshness, dedupe, ranking, limits) and `model` (the values) — import neither trio nor
httpx. `fetch` is the thin async part: `fetch_candidates(sources, shared_urls, now,
settings)` fetches through the SSRF guard and returns a `FeedResult`. Not yet wired to
initiative posts; see docs/feeds.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clanker._lazy import lazy_exports

if TYPE_CHECKING:  # the same names, imported on first use at run time (clanker/_lazy.py)
    from clanker.feeds.canonical import BadUrl, canonical_url, dedupe_key
    from clanker.feeds.fetch import fetch_candidates, fetch_sources
    from clanker.feeds.model import Candidate, Entry, FeedResult, FeedSettings, SourceReport
    from clanker.feeds.parse import FeedFormatError
    from clanker.feeds.select import SourceBatch, select_candidates
    from clanker.feeds.sources import (
        Endpoints,
        FeedSource,
        SourceError,
        hacker_news,
        parse_source,
        reddit,
        rss_feed,
        youtube_channel,
    )

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BadUrl": "clanker.feeds.canonical",
        "canonical_url": "clanker.feeds.canonical",
        "dedupe_key": "clanker.feeds.canonical",
        "fetch_candidates": "clanker.feeds.fetch",
        "fetch_sources": "clanker.feeds.fetch",
        "Candidate": "clanker.feeds.model",
        "Entry": "clanker.feeds.model",
        "FeedResult": "clanker.feeds.model",
        "FeedSettings": "clanker.feeds.model",
        "SourceReport": "clanker.feeds.model",
        "FeedFormatError": "clanker.feeds.parse",
        "SourceBatch": "clanker.feeds.select",
        "select_candidates": "clanker.feeds.select",
        "Endpoints": "clanker.feeds.sources",
        "FeedSource": "clanker.feeds.sources",
        "SourceError": "clanker.feeds.sources",
        "hacker_news": "clanker.feeds.sources",
        "parse_source": "clanker.feeds.sources",
        "reddit": "clanker.feeds.sources",
        "rss_feed": "clanker.feeds.sources",
        "youtube_channel": "clanker.feeds.sources",
    },
)

__all__ = [
    "BadUrl",
    "Candidate",
    "Endpoints",
    "Entry",
    "FeedFormatError",
    "FeedResult",
    "FeedSettings",
    "FeedSource",
    "SourceBatch",
    "SourceError",
    "SourceReport",
    "canonical_url",
    "dedupe_key",
    "fetch_candidates",
    "fetch_sources",
    "hacker_news",
    "parse_source",
    "reddit",
    "rss_feed",
    "select_candidates",
    "youtube_channel",
]
