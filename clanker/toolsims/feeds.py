"""`FeedSim`: one local server speaking the real formats of discovery's four kinds of source.

    async with open_feed_sim() as sim:
        sim.subreddits["programming"] = [SimItem("Trio 1.0", "https://x.example/?utm_source=r", t)]
        sim.add_hn_story(SimItem("Show HN: …", "https://y.example/", t, points=120))
        sim.channels["UC" + "x" * 22] = SimChannel("A channel", [SimItem(…)])
        sim.feeds["/verge.xml"] = SimFeed("The Verge", [SimItem(…)], format="rss")
        sim.fail("/r/programming/hot.json", 503)     # the next request there fails
        settings = FeedSettings(endpoints=sim.endpoints("feeds.test"))

Routes, each in its service's own wire format:

* ``GET /r/<sub>/hot.json?limit=&raw_json=`` — Reddit's JSON ``Listing`` of ``t3`` posts
  (``title``, ``url``, ``url_overridden_by_dest`` for links, ``permalink``, ``created_utc``,
  ``score``/``ups``, ``num_comments``, ``over_18``, ``stickied``, ``is_self``, …), honouring
  ``limit`` (default 25, at most 100); without ``raw_json=1`` ``&``, ``<`` and ``>`` in titles
  and URLs are HTML-escaped as Reddit does. A subreddit in ``banned`` answers 404 and one in
  ``private`` 403, with Reddit's ``{"reason", "message", "error"}`` body; an unknown one is
  redirected (302) to ``/subreddits/search.json?q=<name>``, which lists no posts.
* ``GET /v0/topstories.json``, ``/v0/newstories.json`` — Hacker News' Firebase API: a JSON array
  of ids; ``GET /v0/item/<id>.json`` the item (``by``, ``descendants``, ``id``, ``score``,
  ``time``, ``title``, ``type``, ``url``; ``dead``/``deleted`` when set), ``null`` for an
  unknown id.
* ``GET /feeds/videos.xml?channel_id=<id>`` — YouTube's channel Atom feed (``yt:videoId``,
  ``media:group`` with ``media:statistics views``); 404 HTML for an unknown channel.
* any path in ``feeds`` — that feed as RSS 2.0 (``application/rss+xml``) or Atom 1.0
  (``application/atom+xml``).

``fail(path, status)``, ``stall(path)`` and ``garble(path, body)`` script the next request
to a path (query ignored). Every request is recorded in ``requests``.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import partial
from typing import Literal
from urllib.parse import parse_qs, quote, urlsplit
from xml.sax.saxutils import escape, quoteattr

import trio

from clanker.feeds.sources import Endpoints
from clanker.llmsim._http import Reply, Request, serve

__all__ = [
    "FeedSim",
    "SimChannel",
    "SimFeed",
    "SimItem",
    "SimTrouble",
    "open_feed_sim",
]

_JSON = "application/json; charset=UTF-8"
_REDDIT_POST = re.compile(r"/r/([A-Za-z0-9_]+)/hot\.json")
_HN_ITEM = re.compile(r"/v0/item/(\d+)\.json")


@dataclass(frozen=True)
class SimItem:
    """One post, story, video or feed item. ``points``: Reddit score, HN points, YouTube
    views (unused by plain feeds); ``nsfw``/``stickied``/``is_self`` matter to Reddit only."""

    title: str
    url: str
    published: datetime
    points: int = 0
    comments: int = 0
    nsfw: bool = False
    stickied: bool = False
    is_self: bool = False
    author: str = "sim_author"
    summary: str = ""


@dataclass
class SimChannel:
    """A YouTube channel: its name and uploads (newest first, as YouTube lists them)."""

    title: str
    items: list[SimItem] = field(default_factory=list)


@dataclass
class SimFeed:
    """A plain feed at some path, served as RSS 2.0 or Atom 1.0."""

    title: str
    items: list[SimItem] = field(default_factory=list)
    format: Literal["rss", "atom"] = "rss"
    site: str = "https://news.example.com/"


@dataclass(frozen=True)
class SimTrouble:
    """What the next request to a path gets instead of its answer: an HTTP ``status``, a
    ``stall`` (no answer at all), or a 200 with a ``body`` of the given bytes."""

    status: int = 500
    stall: bool = False
    body: bytes | None = None


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:50] or "post"


def _reddit_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


class FeedSim:
    """Reddit, Hacker News, YouTube and plain feeds on one local server (module docstring).
    Build it with `open_feed_sim`."""

    def __init__(self) -> None:
        self.subreddits: dict[str, list[SimItem]] = {}
        self.banned: set[str] = set()
        self.private: set[str] = set()
        self.hn_items: dict[int, dict[str, object]] = {}
        self.hn_top: list[int] = []
        self.hn_new: list[int] = []
        self.channels: dict[str, SimChannel] = {}
        self.feeds: dict[str, SimFeed] = {}
        self.trouble: dict[str, deque[SimTrouble]] = {}
        self.requests: list[Request] = []
        self.host = ""
        self.port = 0
        self._next_hn_id = 41_000_000

    # --- scripting ------------------------------------------------------------------------

    def add_hn_story(
        self,
        item: SimItem,
        *,
        listing: Literal["top", "new", "both"] = "top",
        kind: str = "story",
        dead: bool = False,
        deleted: bool = False,
    ) -> int:
        """Add an item to the Hacker News API (at the end of the list) and return its id.
        An ``item.url`` that is empty makes an Ask HN-style text post."""
        self._next_hn_id += 1
        item_id = self._next_hn_id
        body: dict[str, object] = {
            "by": item.author,
            "descendants": item.comments,
            "id": item_id,
            "kids": [item_id + 1000 + n for n in range(min(item.comments, 3))],
            "score": item.points,
            "time": int(item.published.timestamp()),
            "title": item.title,
            "type": kind,
        }
        if item.url:
            body["url"] = item.url
        else:
            body["text"] = item.summary or "(text)"
        if dead:
            body["dead"] = True
        if deleted:  # the real API keeps little more than the id, type and time
            body = {"deleted": True, "id": item_id, "time": body["time"], "type": kind}
        self.hn_items[item_id] = body
        if listing in ("top", "both"):
            self.hn_top.append(item_id)
        if listing in ("new", "both"):
            self.hn_new.append(item_id)
        return item_id

    def fail(self, path: str, status: int = 500, *, times: int = 1) -> None:
        """The next ``times`` requests to ``path`` answer ``status``."""
        self.trouble.setdefault(path, deque()).extend(SimTrouble(status) for _ in range(times))

    def stall(self, path: str) -> None:
        """The next request to ``path`` is never answered."""
        self.trouble.setdefault(path, deque()).append(SimTrouble(stall=True))

    def garble(self, path: str, body: bytes) -> None:
        """The next request to ``path`` gets HTTP 200 with ``body``."""
        self.trouble.setdefault(path, deque()).append(SimTrouble(200, body=body))

    def endpoints(self, host: str | None = None) -> Endpoints:
        """Discovery's endpoints pointed at this sim (``host``: a test name the fetcher maps
        to 127.0.0.1; default the address itself)."""
        base = f"http://{host or self.host}:{self.port}"
        return Endpoints(reddit=base, hackernews=f"{base}/v0", youtube=base)

    def url(self, path: str, host: str | None = None) -> str:
        """The full URL of ``path`` on this sim."""
        return f"http://{host or self.host}:{self.port}{path}"

    # --- serving --------------------------------------------------------------------------

    async def handle(self, request: Request) -> Reply:
        self.requests.append(request)
        parts = urlsplit(request.target)
        path = parts.path
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if request.method != "GET":
            return Reply(405, [("content-type", "text/plain")], b"method not allowed")
        queued = self.trouble.get(path)
        if queued:
            trouble = queued.popleft()
            if trouble.stall:
                await trio.sleep_forever()
            if trouble.body is not None:
                return Reply(200, [("content-type", "text/plain")], trouble.body)
            return Reply(trouble.status, [("content-type", "text/plain")], b"simulated failure")
        reddit = _REDDIT_POST.fullmatch(path)
        if reddit:
            return self._reddit(reddit.group(1), params)
        if path == "/subreddits/search.json":
            return self._json(200, _listing([], after=None))
        if path in ("/v0/topstories.json", "/v0/newstories.json"):
            ids = self.hn_top if path == "/v0/topstories.json" else self.hn_new
            return self._json(200, ids)
        hn_item = _HN_ITEM.fullmatch(path)
        if hn_item:
            return self._json(200, self.hn_items.get(int(hn_item.group(1))))
        if path == "/feeds/videos.xml":
            return self._youtube(params.get("channel_id", ""))
        feed = self.feeds.get(path)
        if feed is not None:
            return self._feed(feed, path)
        return Reply(404, [("content-type", "text/html; charset=utf-8")], b"<h1>Not Found</h1>")

    @staticmethod
    def _json(status: int, body: object) -> Reply:
        return Reply(status, [("content-type", _JSON)], json.dumps(body).encode())

    def _reddit(self, name: str, params: dict[str, str]) -> Reply:
        key = name.lower()
        if key in self.banned:
            return self._json(404, {"reason": "banned", "message": "Not Found", "error": 404})
        if key in self.private:
            return self._json(403, {"reason": "private", "message": "Forbidden", "error": 403})
        posts = self.subreddits.get(key)
        if posts is None:
            target = f"/subreddits/search.json?q={quote(name)}"
            return Reply(302, [("location", target), ("content-type", "text/html")], b"")
        try:
            limit = max(1, min(int(params.get("limit", "25")), 100))
        except ValueError:
            limit = 25
        raw = params.get("raw_json") == "1"
        shown = posts[:limit]
        children = [self._t3(key, n, post, raw) for n, post in enumerate(shown)]
        after = f"t3_{_post_id(len(shown) - 1, shown[-1])}" if len(posts) > limit else None
        return self._json(200, _listing(children, after=after))

    @staticmethod
    def _t3(sub: str, index: int, post: SimItem, raw: bool) -> dict[str, object]:
        post_id = _post_id(index, post)
        permalink = f"/r/{sub}/comments/{post_id}/{_slug(post.title)}/"
        text = (lambda s: s) if raw else _reddit_escape
        url = f"https://www.reddit.com{permalink}" if post.is_self else post.url
        created = float(int(post.published.timestamp()))
        data: dict[str, object] = {
            "approved_at_utc": None,
            "subreddit": sub,
            "selftext": text(post.summary) if post.is_self else "",
            "author_fullname": f"t2_{_base36(index + 99)}",
            "title": text(post.title),
            "subreddit_name_prefixed": f"r/{sub}",
            "name": f"t3_{post_id}",
            "score": post.points,
            "ups": post.points,
            "downs": 0,
            "upvote_ratio": 0.97,
            "num_comments": post.comments,
            "created": created,
            "created_utc": created,
            "domain": f"self.{sub}" if post.is_self else (urlsplit(post.url).hostname or ""),
            "id": post_id,
            "is_self": post.is_self,
            "is_video": False,
            "over_18": post.nsfw,
            "spoiler": False,
            "locked": False,
            "stickied": post.stickied,
            "permalink": permalink,
            "url": text(url),
            "thumbnail": "self" if post.is_self else "default",
            "link_flair_text": None,
            "author": post.author,
            "subreddit_id": "t5_2fwo",
        }
        if not post.is_self:
            data["url_overridden_by_dest"] = text(post.url)
        return {"kind": "t3", "data": data}

    def _youtube(self, channel_id: str) -> Reply:
        channel = self.channels.get(channel_id)
        if channel is None:
            return Reply(
                404,
                [("content-type", "text/html; charset=UTF-8")],
                b"<html><title>Error 404 (Not Found)!!1</title></html>",
            )
        feed_url = f"http://www.youtube.com/feeds/videos.xml?channel_id={channel_id}"
        channel_url = f"https://www.youtube.com/channel/{channel_id}"
        out = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" '
            'xmlns:media="http://search.yahoo.com/mrss/" xmlns="http://www.w3.org/2005/Atom">',
            f' <link rel="self" href={quoteattr(feed_url)}/>',
            f" <id>yt:channel:{escape(channel_id)}</id>",
            f" <yt:channelId>{escape(channel_id)}</yt:channelId>",
            f" <title>{escape(channel.title)}</title>",
            f' <link rel="alternate" href={quoteattr(channel_url)}/>',
            f" <author><name>{escape(channel.title)}</name>"
            f"<uri>{escape(channel_url)}</uri></author>",
            " <published>2015-03-01T12:00:00+00:00</published>",
        ]
        for item in channel.items:
            video = _video_id(item.url)
            watch = f"https://www.youtube.com/watch?v={video}"
            out += [
                " <entry>",
                f"  <id>yt:video:{escape(video)}</id>",
                f"  <yt:videoId>{escape(video)}</yt:videoId>",
                f"  <yt:channelId>{escape(channel_id)}</yt:channelId>",
                f"  <title>{escape(item.title)}</title>",
                f'  <link rel="alternate" href={quoteattr(item.url or watch)}/>',
                f"  <author><name>{escape(channel.title)}</name>"
                f"<uri>{escape(channel_url)}</uri></author>",
                f"  <published>{_rfc3339(item.published)}</published>",
                f"  <updated>{_rfc3339(item.published)}</updated>",
                "  <media:group>",
                f"   <media:title>{escape(item.title)}</media:title>",
                f"   <media:content url={quoteattr(f'https://www.youtube.com/v/{video}?version=3')}"
                ' type="application/x-shockwave-flash" width="640" height="390"/>',
                f"   <media:thumbnail url={quoteattr(f'https://i1.ytimg.com/vi/{video}/hqdefault.jpg')}"
                ' width="480" height="360"/>',
                f"   <media:description>{escape(item.summary)}</media:description>",
                "   <media:community>",
                '    <media:starRating count="12" average="5.00" min="1" max="5"/>',
                f'    <media:statistics views="{item.points}"/>',
                "   </media:community>",
                "  </media:group>",
                " </entry>",
            ]
        out.append("</feed>")
        body = "\n".join(out).encode()
        return Reply(200, [("content-type", "text/xml; charset=UTF-8")], body)

    def _feed(self, feed: SimFeed, path: str) -> Reply:
        if feed.format == "atom":
            return Reply(
                200,
                [("content-type", "application/atom+xml; charset=utf-8")],
                _atom(feed, self.url(path)).encode(),
            )
        return Reply(
            200,
            [("content-type", "application/rss+xml; charset=utf-8")],
            _rss(feed, self.url(path)).encode(),
        )


def _post_id(index: int, post: SimItem) -> str:
    return _base36(1_700_000_000 + index * 7919 + len(post.title))


def _listing(children: list[dict[str, object]], *, after: str | None) -> object:
    return {
        "kind": "Listing",
        "data": {
            "after": after,
            "dist": len(children),
            "modhash": "",
            "geo_filter": None,
            "children": children,
            "before": None,
        },
    }


def _video_id(url: str) -> str:
    found = re.search(r"[?&]v=([A-Za-z0-9_-]{6,20})", url)
    return found.group(1) if found else "dQw4w9WgXcQ"


def _rss(feed: SimFeed, self_url: str) -> str:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">',
        "<channel>",
        f"<title>{escape(feed.title)}</title>",
        f"<link>{escape(feed.site)}</link>",
        f'<atom:link href={quoteattr(self_url)} rel="self" type="application/rss+xml"/>',
        f"<description>{escape(feed.title)} (simulated)</description>",
        "<language>en-us</language>",
    ]
    if feed.items:
        newest = max(i.published for i in feed.items)
        out.append(
            f"<lastBuildDate>{format_datetime(newest.astimezone(UTC), usegmt=True)}</lastBuildDate>"
        )
    for item in feed.items:
        out += [
            "<item>",
            f"<title>{escape(item.title)}</title>",
            f"<link>{escape(item.url)}</link>",
            f'<guid isPermaLink="true">{escape(item.url)}</guid>',
            f"<pubDate>{format_datetime(item.published.astimezone(UTC), usegmt=True)}</pubDate>",
            f"<dc:creator>{escape(item.author)}</dc:creator>",
            f"<description>{escape(item.summary)}</description>",
            "</item>",
        ]
    out += ["</channel>", "</rss>"]
    return "\n".join(out)


def _atom(feed: SimFeed, self_url: str) -> str:
    updated = max((i.published for i in feed.items), default=datetime(2026, 1, 1, tzinfo=UTC))
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>{escape(feed.title)}</title>",
        f'<link href={quoteattr(feed.site)} rel="alternate"/>',
        f'<link href={quoteattr(self_url)} rel="self"/>',
        f"<id>{escape(self_url)}</id>",
        f"<updated>{_rfc3339(updated)}</updated>",
    ]
    for index, item in enumerate(feed.items):
        out += [
            "<entry>",
            f'<title type="text">{escape(item.title)}</title>',
            f'<link href={quoteattr(item.url)} rel="alternate"/>',
            f"<id>tag:news.example.com,2026:{index}</id>",
            f"<published>{_rfc3339(item.published)}</published>",
            f"<updated>{_rfc3339(item.published)}</updated>",
            f"<author><name>{escape(item.author)}</name></author>",
            f'<summary type="text">{escape(item.summary)}</summary>',
            "</entry>",
        ]
    out.append("</feed>")
    return "\n".join(out)


@asynccontextmanager
async def open_feed_sim(*, host: str = "127.0.0.1") -> AsyncIterator[FeedSim]:
    """Run a `FeedSim` on ``host`` at an ephemeral port for the duration of the block."""
    sim = FeedSim()
    async with trio.open_nursery() as nursery:
        sim.port = await nursery.start(partial(serve, sim.handle, host))
        sim.host = host
        try:
            yield sim
        finally:
            nursery.cancel_scope.cancel()
