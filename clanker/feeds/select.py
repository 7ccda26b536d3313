"""From every source's entries to the few candidates worth a post (sans-IO).

`select_candidates(batches, shared_urls, now, settings)`:

1. Each source's first ``fetch_per_source`` entries are read (any more count as
   ``over_limit``). An entry is dropped when its
   link is no http(s) URL (``bad_url``), it is marked NSFW and ``allow_nsfw`` is off
   (``nsfw``), it has no date (``undated``), it is older than ``max_age_hours`` (``too_old``),
   its link was already shared (``shared``: compared by `dedupe_key`, so tracking parameters,
   ``www.`` and the scheme do not hide a repeat), or the same source already had it
   (``duplicate``).
2. Each survivor is scored: source weight * freshness * popularity, where freshness is
   ``0.5 ** (age / half_life_hours)`` (a date in the future counts as age 0) and popularity is
   ``0.5 + 0.5 * log1p(points) / log1p(the source's best points)`` — 0.5 … 1.0 within each
   source, so Reddit's thousands and Hacker News' hundreds weigh alike; an entry without
   points (plain feeds), or a source whose points are all 0, gets 0.75.
3. All sources' survivors are ordered by score (ties: newer first, then URL). A link that
   two sources share is kept once, under the better-scoring source; the other source counts
   it as ``duplicate`` and is named in the candidate's ``also_in``.
4. Walking that order, each source contributes at most ``items_per_source`` and the result
   holds at most ``max_candidates``; the rest count as ``over_limit``.

A source that failed (``error`` set) contributes nothing and keeps its error in its report.
Shared URLs that are no http(s) URL are ignored: no candidate could ever match them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec

from clanker.feeds.canonical import BadUrl, canonical_url, dedupe_key
from clanker.feeds.model import Candidate, Entry, FeedResult, FeedSettings, SourceReport
from clanker.feeds.sources import FeedSource

__all__ = ["SourceBatch", "freshness", "popularity", "select_candidates", "shared_keys"]

UNSCORED_POPULARITY = 0.75


class SourceBatch(msgspec.Struct, frozen=True, kw_only=True):
    """What fetching one source produced: its entries, or the error that stopped it, and
    drops counted while fetching (``sticky``, ``not_story``, ``item_errors``)."""

    source: FeedSource
    entries: tuple[Entry, ...] = ()
    error: str | None = None
    dropped: dict[str, int] = msgspec.field(default_factory=dict)


def freshness(published: datetime, now: datetime, half_life_hours: float) -> float:
    """1.0 at publication, halving every ``half_life_hours``."""
    age_hours = max(0.0, (now - published).total_seconds() / 3600.0)
    return float(0.5 ** (age_hours / half_life_hours))


def popularity(points: int | None, best: int) -> float:
    """0.5 … 1.0 by ``points`` against the source's ``best`` (module docstring)."""
    if points is None or best <= 0:
        return UNSCORED_POPULARITY
    return 0.5 + 0.5 * math.log1p(max(points, 0)) / math.log1p(best)


def shared_keys(shared_urls: Iterable[str]) -> set[str]:
    """The dedupe keys of links already shared (non-http(s) ones ignored)."""
    keys: set[str] = set()
    for url in shared_urls:
        try:
            keys.add(dedupe_key(url))
        except BadUrl:
            continue
    return keys


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime (UTC), not a naive one")


class _Scored(msgspec.Struct, kw_only=True):
    source: FeedSource
    entry: Entry
    url: str
    key: str
    published: datetime
    score: float
    also_in: list[str] = msgspec.field(default_factory=list)


def select_candidates(
    batches: Sequence[SourceBatch],
    shared_urls: Iterable[str],
    now: datetime,
    settings: FeedSettings,
) -> FeedResult:
    """The ranked candidates and a report per batch (module docstring)."""
    _require_aware(now)
    already = shared_keys(shared_urls)
    max_age = settings.max_age_hours * 3600.0
    drops: dict[str, Counter[str]] = {}
    scored: list[_Scored] = []
    seen_sources: set[str] = set()
    for batch in batches:
        key = batch.source.key
        if key in seen_sources:
            raise ValueError(f"source {key} is listed twice")
        seen_sources.add(key)
        counter: Counter[str] = Counter(batch.dropped)
        drops[key] = counter
        if batch.error is not None:
            continue
        survivors: list[tuple[Entry, str, str, datetime]] = []
        own: set[str] = set()
        if len(batch.entries) > settings.fetch_per_source:
            counter["over_limit"] += len(batch.entries) - settings.fetch_per_source
        for entry in batch.entries[: settings.fetch_per_source]:
            try:
                url = canonical_url(entry.url)
                link_key = dedupe_key(url)
            except BadUrl:
                counter["bad_url"] += 1
                continue
            if entry.nsfw and not settings.allow_nsfw:
                counter["nsfw"] += 1
            elif entry.published is None:
                counter["undated"] += 1
            elif (now - entry.published).total_seconds() > max_age:
                counter["too_old"] += 1
            elif link_key in already:
                counter["shared"] += 1
            elif link_key in own:
                counter["duplicate"] += 1
            else:
                own.add(link_key)
                survivors.append((entry, url, link_key, entry.published))
        best = max((e.points for e, *_ in survivors if e.points is not None), default=0)
        for entry, url, link_key, published in survivors:
            score = (
                batch.source.weight
                * freshness(published, now, settings.half_life_hours)
                * popularity(entry.points, best)
            )
            scored.append(
                _Scored(
                    source=batch.source,
                    entry=entry,
                    url=url,
                    key=link_key,
                    published=published,
                    score=score,
                )
            )
    scored.sort(key=lambda s: (-s.score, -s.published.timestamp(), s.url))
    unique: dict[str, _Scored] = {}
    for item in scored:
        first = unique.get(item.key)
        if first is None:
            unique[item.key] = item
            continue
        drops[item.source.key]["duplicate"] += 1
        if item.source.key not in first.also_in:
            first.also_in.append(item.source.key)
    per_source: Counter[str] = Counter()
    chosen: list[Candidate] = []
    for item in unique.values():  # still in score order
        source_key = item.source.key
        if per_source[source_key] >= settings.items_per_source or len(chosen) >= (
            settings.max_candidates
        ):
            drops[source_key]["over_limit"] += 1
            continue
        per_source[source_key] += 1
        chosen.append(
            Candidate(
                title=item.entry.title or item.url,
                url=item.url,
                source=source_key,
                published=item.published,
                score=item.score,
                points=item.entry.points,
                discussion_url=item.entry.discussion_url,
                also_in=tuple(item.also_in),
            )
        )
    reports = tuple(
        SourceReport(
            source=batch.source.key,
            label=batch.source.name,
            error=batch.error,
            entries=len(batch.entries),
            kept=per_source[batch.source.key],
            dropped=dict(sorted((k, v) for k, v in drops[batch.source.key].items() if v)),
        )
        for batch in batches
    )
    return FeedResult(candidates=tuple(chosen), reports=reports)
