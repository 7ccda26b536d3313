"""The values discovery passes around: settings, parsed entries, chosen candidates, results.

All are frozen msgspec structs, so a `FeedResult` can cross an actor mailbox as it is.
Times are timezone-aware UTC datetimes (the calendar, never trio time).
"""

from __future__ import annotations

import math
from datetime import datetime

import msgspec

from clanker.feeds.sources import Endpoints

__all__ = ["Candidate", "Entry", "FeedResult", "FeedSettings", "SourceReport"]


class FeedSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How discovery reads and ranks (docs/feeds.md, "Settings").

    * ``max_age_hours``: entries published longer ago are dropped (and undated ones too).
    * ``half_life_hours``: freshness halves every this many hours of age.
    * ``fetch_per_source``: entries read from one source (Reddit is asked for two more, room
      for its pinned posts; Hacker News stories are fetched one by one; a feed's first entries).
    * ``items_per_source``: candidates one source may contribute to the result.
    * ``max_candidates``: candidates in the result, all sources together.
    * ``allow_nsfw``: keep posts Reddit marks ``over_18``.
    * ``timeout_seconds``: the whole of one source's fetching (Hacker News' item requests
      included); ``max_bytes``: one response's body.
    * ``concurrency``: sources fetched at once; ``hn_concurrency``: Hacker News item requests
      at once within one source.
    """

    max_age_hours: float = 96.0
    half_life_hours: float = 24.0
    fetch_per_source: int = 10
    items_per_source: int = 5
    max_candidates: int = 6
    allow_nsfw: bool = False
    timeout_seconds: float = 9.0
    max_bytes: int = 2_000_000
    concurrency: int = 4
    hn_concurrency: int = 8
    user_agent: str = "clanker/0.1 (discovery feeds)"
    endpoints: Endpoints = msgspec.field(default_factory=Endpoints)

    def __post_init__(self) -> None:
        def positive(name: str, value: float, most: float) -> None:
            if isinstance(value, bool) or not math.isfinite(value) or not 0 < value <= most:
                raise ValueError(f"FeedSettings.{name} must be > 0 and <= {most:g}, not {value!r}")

        def count(name: str, value: int, most: int) -> None:
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
                raise ValueError(
                    f"FeedSettings.{name} must be a whole number 1..{most}, not {value!r}"
                )

        positive("max_age_hours", self.max_age_hours, 24 * 365)
        positive("half_life_hours", self.half_life_hours, 24 * 365)
        positive("timeout_seconds", self.timeout_seconds, 300)
        count("fetch_per_source", self.fetch_per_source, 100)
        count("items_per_source", self.items_per_source, 100)
        count("max_candidates", self.max_candidates, 500)
        count("max_bytes", self.max_bytes, 50_000_000)
        count("concurrency", self.concurrency, 64)
        count("hn_concurrency", self.hn_concurrency, 64)
        if not self.user_agent.strip() or any(ord(c) < 0x20 for c in self.user_agent):
            raise ValueError("FeedSettings.user_agent must be a non-empty single line")


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    """One post, story, video or feed item as its source gave it. ``points`` is the source's
    own popularity number (Reddit score, Hacker News points, YouTube views; None for plain
    feeds); ``discussion_url`` the comments page where there is one."""

    title: str
    url: str
    published: datetime | None
    points: int | None = None
    discussion_url: str | None = None
    nsfw: bool = False


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """A link worth posting about. ``url`` is canonical (`clanker.feeds.canonical`);
    ``source`` the `FeedSource.key` it was ranked under, ``also_in`` the keys of other sources
    that had the same link; ``score`` = source weight * freshness * popularity."""

    title: str
    url: str
    source: str
    published: datetime
    score: float
    points: int | None = None
    discussion_url: str | None = None
    also_in: tuple[str, ...] = ()


class SourceReport(msgspec.Struct, frozen=True, kw_only=True):
    """What one source yielded. ``error`` is None when it was read; ``entries`` how many it
    gave; ``kept`` how many made the result; ``dropped`` counts by reason (``too_old``,
    ``undated``, ``nsfw``, ``shared``, ``duplicate``, ``bad_url``, ``over_limit``,
    ``item_errors`` for Hacker News stories that could not be fetched)."""

    source: str
    label: str
    error: str | None = None
    entries: int = 0
    kept: int = 0
    dropped: dict[str, int] = msgspec.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


class FeedResult(msgspec.Struct, frozen=True, kw_only=True):
    """The ranked candidates (best first) and one report per source, in the sources' order."""

    candidates: tuple[Candidate, ...]
    reports: tuple[SourceReport, ...]
