"""Each source's real format read into entries, and malformed input named (no trio).

The samples are written by hand in the services' documented shapes: Reddit's listing, the
Hacker News API's own example item (8863), the RSS 2.0 and Atom (RFC 4287) examples' shape,
and a YouTube channel feed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from clanker.feeds.parse import (
    FeedFormatError,
    parse_feed,
    parse_hn_ids,
    parse_hn_item,
    parse_reddit_listing,
)


def _post(**fields: object) -> dict[str, object]:
    data: dict[str, object] = {
        "subreddit": "programming",
        "title": "Trio &amp; friends",
        "name": "t3_abc",
        "id": "abc",
        "score": 420,
        "num_comments": 12,
        "created_utc": 1_765_000_000.0,
        "is_self": False,
        "over_18": False,
        "stickied": False,
        "permalink": "/r/programming/comments/abc/trio_friends/",
        "url": "https://trio.example/?utm_source=reddit",
        "url_overridden_by_dest": "https://trio.example/?utm_source=reddit",
    }
    data.update(fields)
    return {"kind": "t3", "data": data}


def _listing(*children: object) -> bytes:
    return json.dumps(
        {"kind": "Listing", "data": {"after": None, "dist": len(children), "children": children}}
    ).encode()


def test_a_reddit_listing() -> None:
    body = _listing(
        _post(),
        _post(stickied=True, title="Weekly thread"),
        _post(
            is_self=True,
            title="Ask: why <trio>?",
            url="https://www.reddit.com/r/programming/comments/def/ask/",
            permalink="/r/programming/comments/def/ask/",
            over_18=True,
        ),
        _post(url="/r/python/comments/xyz/crosspost/", url_overridden_by_dest=None),
        {"kind": "t5", "data": {"display_name": "not a post"}},
    )
    entries, stickied = parse_reddit_listing(body)
    assert stickied == 1
    assert len(entries) == 3
    first, self_post, crosspost = entries
    assert first.title == "Trio & friends"  # HTML entities decoded
    assert first.url == "https://trio.example/?utm_source=reddit"
    assert first.points == 420
    assert first.published == datetime(2025, 12, 6, 5, 46, 40, tzinfo=UTC)
    assert first.discussion_url == (
        "https://www.reddit.com/r/programming/comments/abc/trio_friends/"
    )
    assert not first.nsfw
    assert self_post.url == "https://www.reddit.com/r/programming/comments/def/ask/"
    assert self_post.nsfw
    assert self_post.title == "Ask: why <trio>?"  # JSON titles are text, never markup
    assert crosspost.url == "https://www.reddit.com/r/python/comments/xyz/crosspost/"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html>blocked</html>", "the Reddit listing is not JSON"),
        (b'{"message": "Not Found", "error": 404}', "not a Listing"),
        (b'{"kind": "Listing", "data": {}}', "no data.children list"),
        (b'{"kind": "Listing", "data": {"children": [{"kind": "t3"}]}}', "has no data object"),
    ],
)
def test_a_bad_reddit_response_is_named(body: bytes, problem: str) -> None:
    with pytest.raises(FeedFormatError, match=problem):
        parse_reddit_listing(body)


def test_hacker_news_ids_and_items() -> None:
    assert parse_hn_ids(b"[8863, 8864, 121003]") == [8863, 8864, 121003]
    item = {
        "by": "dhouston",
        "descendants": 71,
        "id": 8863,
        "kids": [8952, 9224],
        "score": 111,
        "time": 1175714200,
        "title": "My YC app: Dropbox - Throw away your USB drive",
        "type": "story",
        "url": "http://www.getdropbox.com/u/2/screencast.html",
    }
    entry = parse_hn_item(json.dumps(item).encode(), 8863)
    assert entry is not None
    assert entry.title == "My YC app: Dropbox - Throw away your USB drive"
    assert entry.url == "http://www.getdropbox.com/u/2/screencast.html"
    assert entry.points == 111
    assert entry.published == datetime(2007, 4, 4, 19, 16, 40, tzinfo=UTC)
    assert entry.discussion_url == "https://news.ycombinator.com/item?id=8863"
    ask = {"id": 121003, "type": "story", "title": "Ask HN: x?", "text": "…", "time": 1, "score": 3}
    ask_entry = parse_hn_item(json.dumps(ask).encode(), 121003)
    assert ask_entry is not None
    assert ask_entry.url == "https://news.ycombinator.com/item?id=121003"


@pytest.mark.parametrize(
    "item",
    [
        None,
        {"id": 1, "type": "job", "title": "Hiring", "time": 1},
        {"id": 1, "type": "story", "title": "x", "time": 1, "dead": True},
        {"id": 1, "type": "story", "deleted": True, "time": 1},
        {"id": 1, "type": "comment", "text": "hi", "time": 1},
    ],
)
def test_what_is_no_live_story_is_skipped(item: object) -> None:
    assert parse_hn_item(json.dumps(item).encode(), 1) is None


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{}", "not a JSON array of item ids"),
        (b"[1, 2, true]", "not a JSON array of item ids"),
        (b'["1"]', "not a JSON array of item ids"),
        (b"oops", "story list is not JSON"),
    ],
)
def test_a_bad_story_list_is_named(body: bytes, problem: str) -> None:
    with pytest.raises(FeedFormatError, match=problem):
        parse_hn_ids(body)


def test_an_item_with_another_id_is_named() -> None:
    with pytest.raises(FeedFormatError, match="item 5 came back with id 6"):
        parse_hn_item(b'{"id": 6, "type": "story"}', 5)
    with pytest.raises(FeedFormatError, match="item 5 is not a JSON object"):
        parse_hn_item(b"[5]", 5)


RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
<channel>
<title>Liftoff News</title>
<link>http://liftoff.msfc.nasa.gov/</link>
<description>Liftoff to Space Exploration.</description>
<item>
<title>Star City</title>
<link>http://liftoff.msfc.nasa.gov/news/2003/news-starcity.asp</link>
<pubDate>Tue, 03 Jun 2003 09:39:21 GMT</pubDate>
<comments>http://liftoff.msfc.nasa.gov/news/2003/news-starcity.asp#comments</comments>
</item>
<item>
<title>Undated &amp; relative</title>
<link>/news/relative.html</link>
</item>
</channel>
</rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<title>Example Feed</title>
<link href="http://example.org/"/>
<updated>2003-12-13T18:30:02Z</updated>
<id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
<entry>
<title type="html">Atom-Powered &lt;b&gt;Robots&lt;/b&gt; Run Amok</title>
<link href="http://example.org/2003/12/13/atom03"/>
<id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
<updated>2003-12-13T18:30:02Z</updated>
</entry>
</feed>"""

YOUTUBE = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015"
      xmlns:media="http://search.yahoo.com/mrss/" xmlns="http://www.w3.org/2005/Atom">
 <title>A Channel</title>
 <entry>
  <id>yt:video:dQw4w9WgXcQ</id>
  <yt:videoId>dQw4w9WgXcQ</yt:videoId>
  <title>A video</title>
  <link rel="alternate" href="https://www.youtube.com/watch?v=dQw4w9WgXcQ"/>
  <published>2026-12-06T10:00:00+00:00</published>
  <updated>2026-12-07T01:00:00+00:00</updated>
  <media:group>
   <media:community><media:statistics views="516195"/></media:community>
  </media:group>
 </entry>
</feed>"""


def test_an_rss_feed() -> None:
    star, relative = parse_feed(RSS, url="http://liftoff.msfc.nasa.gov/rss.xml")
    assert star.title == "Star City"
    assert star.url == "http://liftoff.msfc.nasa.gov/news/2003/news-starcity.asp"
    assert star.published == datetime(2003, 6, 3, 9, 39, 21, tzinfo=UTC)
    assert star.discussion_url == (
        "http://liftoff.msfc.nasa.gov/news/2003/news-starcity.asp#comments"
    )
    assert star.points is None
    assert relative.title == "Undated & relative"
    assert relative.url == "http://liftoff.msfc.nasa.gov/news/relative.html"
    assert relative.published is None


def test_an_atom_feed_uses_updated_when_there_is_no_published() -> None:
    (entry,) = parse_feed(ATOM, url="http://example.org/feed.atom")
    assert entry.title == "Atom-Powered Robots Run Amok"
    assert entry.url == "http://example.org/2003/12/13/atom03"
    assert entry.published == datetime(2003, 12, 13, 18, 30, 2, tzinfo=UTC)


def test_a_youtube_feed_gives_views_as_points() -> None:
    (video,) = parse_feed(YOUTUBE, url="https://www.youtube.com/feeds/videos.xml?channel_id=x")
    assert video.url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    assert video.points == 516195
    assert video.published == datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [b"<html><body>Not a feed</body></html>", b"", b"\x89PNG\r\n", b"/etc/passwd"],
)
def test_what_is_no_feed_is_named(body: bytes) -> None:
    with pytest.raises(FeedFormatError, match=r"https://e\.test/f is not an RSS or Atom feed"):
        parse_feed(body, url="https://e.test/f")


def test_a_plain_text_title_keeps_its_angle_brackets() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>c</title>'
        b"<item><title>Vec&lt;T&gt; in Rust</title><link>https://e.test/v</link></item>"
        b"<item><title><![CDATA[A <b>bold</b> move]]></title><link>https://e.test/b</link></item>"
        b"</channel></rss>"
    )
    plain, marked_up = parse_feed(body, url="https://e.test/rss")
    assert plain.title == "Vec<T> in Rust"
    assert marked_up.title == "A bold move"
