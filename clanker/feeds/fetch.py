"""Fetching the sources (trio + httpx, through the SSRF guard) and choosing the candidates.

`fetch_candidates(sources, shared_urls, now, settings)` is the one call the initiative job
needs: it fetches every source at once (at most ``settings.concurrency`` in flight), each
bounded by ``settings.timeout_seconds`` as a whole and ``settings.max_bytes`` per response,
then hands the entries to `clanker.feeds.select.select_candidates`. A source that fails — a
refused or unreachable host, an HTTP error, a timeout, a body that is not its format, or
anything unexpected — gets its error in its `SourceReport`; the other sources go on.

Every request goes through `clanker.tools.fetch.GuardedFetcher` (the SSRF guard: public
addresses only, pinned connections, vetted redirects, bounded bodies). Tests pass a fetcher
whose ``testing_only_hosts`` map a test host name to the local feed sim.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import partial

import trio

from clanker.feeds.model import Entry, FeedResult, FeedSettings
from clanker.feeds.parse import (
    FeedFormatError,
    parse_feed,
    parse_hn_ids,
    parse_hn_item,
    parse_reddit_listing,
)
from clanker.feeds.select import SourceBatch, select_candidates
from clanker.feeds.sources import FeedSource, hn_item_url, source_url, validate_source
from clanker.tools.fetch import FetchError, FetchLimits, FetchResult, GuardedFetcher

__all__ = ["feed_fetcher", "fetch_candidates", "fetch_source", "fetch_sources"]

log = logging.getLogger("clanker.feeds")


class _SourceFailed(Exception):
    """One source could not be read; the message is its report's error."""


def feed_fetcher(settings: FeedSettings) -> GuardedFetcher:
    """The guarded fetcher discovery uses by default: the settings' timeout, body limit and
    User-Agent (Reddit refuses generic ones)."""
    return GuardedFetcher(
        FetchLimits(
            timeout=settings.timeout_seconds,
            connect_timeout=min(5.0, settings.timeout_seconds),
            max_bytes=settings.max_bytes,
            user_agent=settings.user_agent,
        )
    )


def _http_detail(result: FetchResult) -> str:
    """Reddit and Firebase say why in a small JSON body; show it when there is one."""
    if result.content_type != "application/json" or len(result.body) > 4096:
        return ""
    try:
        doc = json.loads(result.body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ""
    if not isinstance(doc, dict):
        return ""
    parts = [str(doc[k]) for k in ("reason", "message", "error") if isinstance(doc.get(k), str)]
    return f" ({', '.join(parts)})" if parts else ""


async def _get(fetcher: GuardedFetcher, url: str, settings: FeedSettings) -> FetchResult:
    try:
        # The source's own deadline (`fetch_source`) is the one that binds; the guard's is a
        # backstop a second later, so a timeout always reads the same.
        result = await fetcher.fetch(
            url, max_bytes=settings.max_bytes, timeout=settings.timeout_seconds + 1.0
        )
    except FetchError as exc:
        message = str(exc)
        said = message if message.startswith(f"{exc.kind}:") else f"{exc.kind}: {message}"
        raise _SourceFailed(said) from None
    if result.status != 200:
        raise _SourceFailed(f"{url} answered HTTP {result.status}{_http_detail(result)}")
    if result.truncated:
        raise _SourceFailed(f"{url} sent more than {settings.max_bytes} bytes")
    return result


async def _reddit(
    source: FeedSource, settings: FeedSettings, fetcher: GuardedFetcher
) -> SourceBatch:
    # Up to two posts a subreddit pins count against Reddit's limit; ask for room for them.
    url = source_url(source, settings.endpoints, limit=settings.fetch_per_source + 2)
    result = await _get(fetcher, url, settings)
    if "/subreddits/search" in result.final_url:
        raise _SourceFailed(
            f"r/{source.target} does not exist or is banned (Reddit redirected to its search)"
        )
    entries, stickied = parse_reddit_listing(result.body)
    dropped = {"sticky": stickied} if stickied else {}
    return SourceBatch(source=source, entries=tuple(entries), dropped=dropped)


async def _hackernews(
    source: FeedSource, settings: FeedSettings, fetcher: GuardedFetcher
) -> SourceBatch:
    listing = await _get(fetcher, source_url(source, settings.endpoints, limit=0), settings)
    ids = parse_hn_ids(listing.body)[: settings.fetch_per_source]
    found: dict[int, Entry] = {}
    counts: Counter[str] = Counter()
    errors: list[str] = []
    limiter = trio.CapacityLimiter(settings.hn_concurrency)

    async def one(item_id: int) -> None:
        async with limiter:
            try:
                result = await _get(fetcher, hn_item_url(settings.endpoints, item_id), settings)
                entry = parse_hn_item(result.body, item_id)
            except (_SourceFailed, FeedFormatError) as exc:
                counts["item_errors"] += 1
                errors.append(str(exc))
                return
        if entry is None:
            counts["not_story"] += 1
        else:
            found[item_id] = entry

    async with trio.open_nursery() as nursery:
        for item_id in ids:
            nursery.start_soon(one, item_id)
    if ids and counts["item_errors"] == len(ids):
        raise _SourceFailed(f"none of the {len(ids)} stories could be fetched: {errors[0]}")
    entries = tuple(found[i] for i in ids if i in found)  # Hacker News' order
    return SourceBatch(source=source, entries=entries, dropped=dict(counts))


async def _feed(source: FeedSource, settings: FeedSettings, fetcher: GuardedFetcher) -> SourceBatch:
    result = await _get(fetcher, source_url(source, settings.endpoints, limit=0), settings)
    content_type = result.content_type
    if result.charset:
        content_type = f"{content_type}; charset={result.charset}"
    # feedparser is pure Python: a 2 MB feed takes about a second, which must not stall the
    # event loop (and every actor on it), so it parses in a worker thread.
    entries = await trio.to_thread.run_sync(
        partial(parse_feed, result.body, url=result.final_url, content_type=content_type)
    )
    return SourceBatch(source=source, entries=tuple(entries))


_READERS = {"reddit": _reddit, "hackernews": _hackernews, "youtube": _feed, "rss": _feed}


async def fetch_source(
    source: FeedSource, settings: FeedSettings, fetcher: GuardedFetcher
) -> SourceBatch:
    """One source's entries, or its error; never raises for the source's own failures."""
    started = trio.current_time()
    with trio.move_on_after(settings.timeout_seconds):
        try:
            batch = await _READERS[source.kind](source, settings, fetcher)
        except (_SourceFailed, FeedFormatError) as exc:
            batch = SourceBatch(source=source, error=str(exc))
        except Exception as exc:  # one source's surprise must not fail the others
            log.exception("feeds: %s failed unexpectedly", source.key)
            batch = SourceBatch(source=source, error=f"unexpected {type(exc).__name__}: {exc}")
        took = trio.current_time() - started
        if batch.error is None:
            log.info("feeds: %s gave %d entries in %.2f s", source.key, len(batch.entries), took)
        else:
            log.info("feeds: %s failed in %.2f s: %s", source.key, took, batch.error)
        return batch
    log.info("feeds: %s timed out", source.key)
    return SourceBatch(
        source=source, error=f"timeout: took longer than {settings.timeout_seconds:g} s"
    )


def _checked(sources: Sequence[FeedSource]) -> list[FeedSource]:
    checked = [validate_source(s) for s in sources]
    seen: set[str] = set()
    for source in checked:
        if source.key in seen:
            raise ValueError(f"source {source.key} is listed twice")
        seen.add(source.key)
    return checked


async def fetch_sources(
    sources: Sequence[FeedSource],
    settings: FeedSettings,
    *,
    fetcher: GuardedFetcher | None = None,
) -> list[SourceBatch]:
    """Every source's batch, in the sources' order. Raises `SourceError` / `ValueError` before
    fetching anything when a source definition is bad or listed twice."""
    checked = _checked(sources)
    guarded = fetcher or feed_fetcher(settings)
    batches: list[SourceBatch | None] = [None] * len(checked)
    limiter = trio.CapacityLimiter(settings.concurrency)

    async def run(index: int, source: FeedSource) -> None:
        async with limiter:
            batches[index] = await fetch_source(source, settings, guarded)

    async with trio.open_nursery() as nursery:
        for index, source in enumerate(checked):
            nursery.start_soon(partial(run, index, source))
    return [b for b in batches if b is not None]


async def fetch_candidates(
    sources: Sequence[FeedSource],
    shared_urls: Iterable[str],
    now: datetime,
    settings: FeedSettings | None = None,
    *,
    fetcher: GuardedFetcher | None = None,
) -> FeedResult:
    """Fetch ``sources`` and rank what they offer against ``shared_urls`` (links already
    posted) at calendar time ``now`` (timezone-aware). See the module docstring."""
    settings = settings or FeedSettings()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime (UTC), not a naive one")
    batches = await fetch_sources(sources, settings, fetcher=fetcher)
    return select_candidates(batches, shared_urls, now, settings)
