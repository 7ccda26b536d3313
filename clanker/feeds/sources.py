"""Discovery sources: what to read, how much it weighs, and where each one lives (sans-IO).

A `FeedSource` is one of four kinds:

* ``reddit`` — a subreddit's hot listing, ``<reddit>/r/<name>/hot.json``;
* ``hackernews`` — Hacker News' ``top`` or ``new`` stories through the official Firebase API
  (``<hn>/topstories.json`` / ``newstories.json``, then ``<hn>/item/<id>.json`` per story);
* ``youtube`` — a channel's uploads feed, ``<youtube>/feeds/videos.xml?channel_id=<UC…>``;
* ``rss`` — any RSS or Atom feed by its http(s) URL.

Build them with `reddit`, `hacker_news`, `youtube_channel`, `rss_feed`, or from the short text
forms with `parse_source` (``r/programming``, ``hn:top``, ``youtube:UC…``, ``https://…``).
Every constructor checks its input and raises `SourceError` naming the problem.
`source_urls` says which URL a source's first request goes to, given the `Endpoints`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Literal
from urllib.parse import quote, urlsplit

import msgspec

__all__ = [
    "MAX_WEIGHT",
    "Endpoints",
    "FeedSource",
    "SourceError",
    "SourceKind",
    "hacker_news",
    "hn_item_url",
    "parse_source",
    "reddit",
    "rss_feed",
    "source_url",
    "validate_source",
    "youtube_channel",
]

SourceKind = Literal["reddit", "hackernews", "youtube", "rss"]
HnList = Literal["top", "new"]

MAX_WEIGHT = 10.0
_SUBREDDIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]{1,20}")
_CHANNEL_ID = re.compile(r"UC[A-Za-z0-9_-]{22}")
_HN_LISTS = {"top": "topstories", "new": "newstories"}


class SourceError(ValueError):
    """A source definition that cannot be used; the message names the problem."""


class FeedSource(msgspec.Struct, frozen=True, kw_only=True):
    """One discovery source. ``target`` is the subreddit name (lower-cased, no ``r/``), the
    Hacker News list (``top``/``new``), the YouTube channel id, or the feed URL. ``weight``
    (0 < weight <= `MAX_WEIGHT`) multiplies every candidate's score; ``label`` is a name for
    people (the dashboard, the prompt), defaulting to the key."""

    kind: SourceKind
    target: str
    weight: float = 1.0
    label: str = ""

    @property
    def key(self) -> str:
        """The source's identity: ``reddit:programming``, ``hackernews:top``,
        ``youtube:UC…``, ``rss:https://…``."""
        return f"{self.kind}:{self.target}"

    @property
    def name(self) -> str:
        return self.label or self.key


class Endpoints(msgspec.Struct, frozen=True, kw_only=True):
    """Where the three services live (tests point them at the local feed sim)."""

    reddit: str = "https://www.reddit.com"
    hackernews: str = "https://hacker-news.firebaseio.com/v0"
    youtube: str = "https://www.youtube.com"

    def __post_init__(self) -> None:
        for name in ("reddit", "hackernews", "youtube"):
            value = getattr(self, name)
            problem = _url_problem(value)
            if problem is not None:
                raise SourceError(f"endpoint {name}: {problem}")


def _weight(weight: float) -> float:
    if isinstance(weight, bool) or not isinstance(weight, int | float):
        raise SourceError(f"weight must be a number, not {type(weight).__name__}")
    value = float(weight)
    if not math.isfinite(value) or not 0 < value <= MAX_WEIGHT:
        raise SourceError(f"weight must be > 0 and <= {MAX_WEIGHT:g}, not {weight!r}")
    return value


def _label(label: str) -> str:
    label = label.strip()
    if len(label) > 100:
        raise SourceError(f"label is longer than 100 characters: {label[:40]!r}…")
    return label


def _url_problem(url: str) -> str | None:
    """Why ``url`` is no http(s) URL a feed can be fetched from, or None. (The fetcher's SSRF
    guard judges the address later; this is the shape only.)"""
    if not isinstance(url, str) or not url.strip():
        return "the URL is empty"
    if any(ord(c) < 0x21 or c in "\\\x7f" for c in url):
        return f"{url!r} contains whitespace, a backslash or control characters"
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        return f"{url!r} is not a valid URL ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return f"{url!r} is not an http or https URL"
    if not parts.hostname:
        return f"{url!r} has no host"
    if parts.username is not None or parts.password is not None:
        return f"{url!r} carries a user name or password"
    return None


def reddit(subreddit: str, *, weight: float = 1.0, label: str = "") -> FeedSource:
    """A subreddit's hot listing. The name may be given as ``programming``, ``r/programming``
    or ``/r/programming``; Reddit's rule is 2-21 letters, digits or underscores, not starting
    with an underscore."""
    if not isinstance(subreddit, str):
        raise SourceError(f"subreddit name must be text, not {type(subreddit).__name__}")
    name = subreddit.strip()
    for prefix in ("/r/", "r/"):
        if name.lower().startswith(prefix):
            name = name[len(prefix) :]
            break
    name = name.rstrip("/")
    if not name:
        raise SourceError("subreddit name is empty")
    if not _SUBREDDIT.fullmatch(name):
        raise SourceError(
            f"subreddit name {name!r} is not valid: 2-21 letters, digits or underscores, "
            "not starting with an underscore"
        )
    return FeedSource(
        kind="reddit", target=name.lower(), weight=_weight(weight), label=_label(label)
    )


def hacker_news(listing: str = "top", *, weight: float = 1.0, label: str = "") -> FeedSource:
    """Hacker News' ``top`` (the front page's order) or ``new`` stories."""
    name = listing.strip().lower() if isinstance(listing, str) else listing
    if name not in _HN_LISTS:
        raise SourceError(f"Hacker News list must be 'top' or 'new', not {listing!r}")
    return FeedSource(kind="hackernews", target=name, weight=_weight(weight), label=_label(label))


def youtube_channel(channel_id: str, *, weight: float = 1.0, label: str = "") -> FeedSource:
    """A YouTube channel's uploads, by its channel id (``UC`` and 22 more characters; a
    ``@handle`` or a channel URL is not an id)."""
    if not isinstance(channel_id, str):
        raise SourceError(f"YouTube channel id must be text, not {type(channel_id).__name__}")
    value = channel_id.strip()
    if value.startswith("@"):
        raise SourceError(
            f"{value!r} is a YouTube handle; the feed needs the channel id (UC…, 24 characters)"
        )
    if not _CHANNEL_ID.fullmatch(value):
        raise SourceError(
            f"YouTube channel id {value!r} is not valid: 'UC' followed by 22 letters, digits, "
            "'-' or '_'"
        )
    return FeedSource(kind="youtube", target=value, weight=_weight(weight), label=_label(label))


def rss_feed(url: str, *, weight: float = 1.0, label: str = "") -> FeedSource:
    """Any RSS (0.9x, 1.0, 2.0) or Atom feed, by its http(s) URL."""
    problem = _url_problem(url)
    if problem is not None:
        raise SourceError(f"feed URL: {problem}")
    return FeedSource(kind="rss", target=url.strip(), weight=_weight(weight), label=_label(label))


_Builder = Callable[..., FeedSource]
_BUILDERS: dict[str, _Builder] = {
    "reddit": reddit,
    "hackernews": hacker_news,
    "youtube": youtube_channel,
    "rss": rss_feed,
}


def validate_source(source: FeedSource) -> FeedSource:
    """``source`` checked (and normalised) by its kind's constructor; `SourceError` when a
    struct was built or decoded with a bad target or weight."""
    builder = _BUILDERS.get(source.kind)
    if builder is None:
        raise SourceError(f"unknown source kind {source.kind!r}")
    try:
        return builder(source.target, weight=source.weight, label=source.label)
    except SourceError as exc:
        raise SourceError(f"{source.kind} source {source.target!r}: {exc}") from None


def parse_source(text: str, *, weight: float = 1.0, label: str = "") -> FeedSource:
    """A source from its short text form: ``r/<subreddit>``, ``hn:top`` / ``hn:new``,
    ``youtube:<channel id>``, or an ``http(s)://`` feed URL."""
    value = text.strip() if isinstance(text, str) else ""
    lowered = value.lower()
    if lowered.startswith(("r/", "/r/")):
        return reddit(value, weight=weight, label=label)
    if lowered.startswith(("hn:", "hackernews:")):
        return hacker_news(value.split(":", 1)[1], weight=weight, label=label)
    if lowered.startswith("youtube:"):
        return youtube_channel(value.split(":", 1)[1], weight=weight, label=label)
    if lowered.startswith(("http://", "https://")):
        return rss_feed(value, weight=weight, label=label)
    raise SourceError(
        f"cannot tell what source {text!r} is: write r/<subreddit>, hn:top, hn:new, "
        "youtube:<channel id> or an http(s):// feed URL"
    )


def parse_weighted_source(text: str) -> FeedSource:
    """A source as the settings write it: `parse_source`'s text form, optionally followed by
    whitespace and a weight (``r/python 2``, ``hn:top 0.5``)."""
    value = text.strip() if isinstance(text, str) else ""
    head, _, tail = value.rpartition(" ")
    if head.strip() and tail:
        try:
            weight = float(tail)
        except ValueError:
            pass
        else:
            return parse_source(head.strip(), weight=weight)
    return parse_source(value)


def source_url(source: FeedSource, endpoints: Endpoints, *, limit: int) -> str:
    """The URL of ``source``'s first request: the listing, the story id list, or the feed.
    ``limit`` is how many posts Reddit is asked for (1-100)."""
    if source.kind == "reddit":
        count = max(1, min(limit, 100))
        base = endpoints.reddit.rstrip("/")
        # raw_json=1: titles and URLs come unescaped (no &amp;) — Reddit's documented switch.
        return f"{base}/r/{quote(source.target)}/hot.json?limit={count}&raw_json=1"
    if source.kind == "hackernews":
        return f"{endpoints.hackernews.rstrip('/')}/{_HN_LISTS[source.target]}.json"
    if source.kind == "youtube":
        base = endpoints.youtube.rstrip("/")
        return f"{base}/feeds/videos.xml?channel_id={quote(source.target)}"
    return source.target


def hn_item_url(endpoints: Endpoints, item_id: int) -> str:
    """The Firebase API URL of one Hacker News item."""
    return f"{endpoints.hackernews.rstrip('/')}/item/{item_id}.json"
