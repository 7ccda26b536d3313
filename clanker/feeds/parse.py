"""Reading what each source sends back (sans-IO): bytes in, `Entry` values out.

* `parse_reddit_listing` — Reddit's JSON listing (``{"kind": "Listing", "data": {"children":
  [{"kind": "t3", "data": {...}}]}}``). Stickied (moderator-pinned) posts are skipped; a self
  post links to its own comments page; ``score`` is the points, ``over_18`` the NSFW mark.
* `parse_hn_ids` / `parse_hn_item` — Hacker News' Firebase API: a JSON array of item ids,
  then one JSON object per item (``null`` for an id that does not exist). Only live stories
  count (not deleted, not dead, ``type`` ``story``); an Ask HN without ``url`` links to its
  item page.
* `parse_feed` — RSS 0.9x/1.0/2.0 and Atom (YouTube's channel feed is Atom) through
  `feedparser`, given the bytes wrapped in a stream (a plain string would make feedparser
  open URLs or files). YouTube's ``media:statistics views`` become the points. A title
  feedparser reads as HTML has its tags stripped; a plain-text one (``Vec<T>``) is kept.

Malformed input raises `FeedFormatError` naming what is wrong.
"""

from __future__ import annotations

import calendar
import html
import io
import json
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from clanker.feeds.model import Entry

__all__ = [
    "HN_ITEM_PAGE",
    "REDDIT_SITE",
    "FeedFormatError",
    "parse_feed",
    "parse_hn_ids",
    "parse_hn_item",
    "parse_reddit_listing",
]

REDDIT_SITE = "https://www.reddit.com"
HN_ITEM_PAGE = "https://news.ycombinator.com/item?id={id}"
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


class FeedFormatError(ValueError):
    """A response that is not what its source should send; the message says how."""


def _json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedFormatError(f"{what} is not JSON: {exc}") from None


def _one_line(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _html_title(text: str) -> str:
    """A title given as HTML (an Atom ``type="html"`` title, an RSS title with markup):
    tags stripped, entities decoded."""
    return _one_line(html.unescape(_TAG.sub("", text)))


def _epoch(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _points(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def parse_reddit_listing(body: bytes) -> tuple[list[Entry], int]:
    """The posts of a Reddit listing and how many stickied posts were skipped."""
    doc = _json(body, "the Reddit listing")
    if not isinstance(doc, Mapping) or doc.get("kind") != "Listing":
        raise FeedFormatError('the Reddit response is not a Listing (no "kind": "Listing")')
    data = doc.get("data")
    children = data.get("children") if isinstance(data, Mapping) else None
    if not isinstance(children, list):
        raise FeedFormatError("the Reddit listing has no data.children list")
    entries: list[Entry] = []
    stickied = 0
    for child in children:
        if not isinstance(child, Mapping) or child.get("kind") != "t3":
            continue  # not a post (a subreddit search result, a comment …)
        post = child.get("data")
        if not isinstance(post, Mapping):
            raise FeedFormatError("a Reddit post (t3) has no data object")
        if post.get("stickied") is True:
            stickied += 1
            continue
        permalink = post.get("permalink")
        discussion = urljoin(REDDIT_SITE, permalink) if isinstance(permalink, str) else None
        link = post.get("url_overridden_by_dest") or post.get("url")
        if post.get("is_self") is True or not isinstance(link, str) or not link:
            link = discussion or ""
        else:
            link = urljoin(REDDIT_SITE, link)  # a crosspost's url can be a bare path
        title = post.get("title")
        entries.append(
            Entry(
                # Entities decoded in case Reddit escaped them (it does without raw_json=1);
                # "<" in a title is text, not markup.
                title=_one_line(html.unescape(title)) if isinstance(title, str) else "",
                url=link,
                published=_epoch(post.get("created_utc")),
                points=_points(post.get("score")),
                discussion_url=discussion,
                nsfw=post.get("over_18") is True,
            )
        )
    return entries, stickied


def parse_hn_ids(body: bytes) -> list[int]:
    """The story ids of ``topstories.json`` / ``newstories.json``, in Hacker News' order."""
    doc = _json(body, "the Hacker News story list")
    if not isinstance(doc, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in doc
    ):
        raise FeedFormatError("the Hacker News story list is not a JSON array of item ids")
    return list(doc)


def parse_hn_item(body: bytes, item_id: int) -> Entry | None:
    """One ``item/<id>.json``: its `Entry`, or None when it is no live story (missing,
    deleted, dead, a job, a poll or a comment)."""
    doc = _json(body, f"Hacker News item {item_id}")
    if doc is None:
        return None
    if not isinstance(doc, Mapping):
        raise FeedFormatError(f"Hacker News item {item_id} is not a JSON object")
    if doc.get("id") != item_id:
        raise FeedFormatError(f"Hacker News item {item_id} came back with id {doc.get('id')!r}")
    if doc.get("deleted") is True or doc.get("dead") is True or doc.get("type") != "story":
        return None
    page = HN_ITEM_PAGE.format(id=item_id)
    url = doc.get("url")
    title = doc.get("title")
    return Entry(
        title=_one_line(title) if isinstance(title, str) else "",
        url=url if isinstance(url, str) and url else page,
        published=_epoch(doc.get("time")),
        points=_points(doc.get("score")),
        discussion_url=page,
    )


def _struct_time(value: object) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_feed(body: bytes, *, url: str, content_type: str = "") -> list[Entry]:
    """The items of an RSS or Atom feed fetched from ``url`` (relative links resolve
    against it)."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    if not parsed.get("version"):
        problem = parsed.get("bozo_exception")
        detail = f": {problem}" if problem else ""
        raise FeedFormatError(f"{url} is not an RSS or Atom feed{detail}")
    entries: list[Entry] = []
    for item in parsed.entries:
        link = item.get("link") or ""
        if not link:
            for candidate in item.get("links") or ():
                if candidate.get("href") and candidate.get("rel", "alternate") == "alternate":
                    link = candidate["href"]
                    break
        title = item.get("title") or ""
        detail = item.get("title_detail")
        if isinstance(detail, Mapping) and detail.get("type") in (
            "text/html",
            "application/xhtml+xml",
        ):
            title = _html_title(title)
        else:
            title = _one_line(title)
        stats = item.get("media_statistics")
        views = _points(stats.get("views")) if isinstance(stats, Mapping) else None
        published = _struct_time(item.get("published_parsed")) or _struct_time(
            item.get("updated_parsed")
        )
        entries.append(
            Entry(
                title=title,
                url=link,
                published=published,
                points=views,
                discussion_url=item.get("comments") or None,
            )
        )
    return entries
