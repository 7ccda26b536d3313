"""The feed sim speaks the real formats: its RSS, Atom and YouTube feeds are read by
feedparser itself (an implementation we did not write), its JSON by the shapes the services
document. Plain httpx over loopback, no code of ours in between."""

from __future__ import annotations

import calendar
import json
from datetime import UTC, datetime

import feedparser
import httpx
import trio.testing

from clanker.toolsims.feeds import FeedSim, SimChannel, SimFeed, SimItem

WHEN = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
CHANNEL = "UC_x5XG1OV2P6uZZ5FSM9Ttw"


async def get(sim: FeedSim, path: str) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False) as client:
        return await client.get(sim.url(path))


def epoch(parsed: object) -> datetime:
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC)  # type: ignore[arg-type]


async def test_rss_and_atom_are_well_formed_for_feedparser(
    sim: FeedSim, mock_clock: trio.testing.MockClock
) -> None:
    items = [
        SimItem("Tom & Jerry <3", "https://news.example/a?utm_source=rss&id=1", WHEN),
        SimItem("Second", "https://news.example/b", WHEN, author="ann", summary="x < y"),
    ]
    sim.feeds["/rss.xml"] = SimFeed("Sim News", items, format="rss")
    sim.feeds["/atom.xml"] = SimFeed("Sim Atom", items, format="atom")
    for path, version, media in (
        ("/rss.xml", "rss20", "application/rss+xml"),
        ("/atom.xml", "atom10", "application/atom+xml"),
    ):
        response = await get(sim, path)
        assert response.headers["content-type"].startswith(media)
        parsed = feedparser.parse(response.content)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert parsed.version == version
        assert [e.title for e in parsed.entries] == ["Tom & Jerry <3", "Second"]
        assert parsed.entries[0].link == "https://news.example/a?utm_source=rss&id=1"
        assert epoch(parsed.entries[1].published_parsed) == WHEN
        assert parsed.entries[1].author == "ann"


async def test_the_youtube_feed_is_what_feedparser_expects(
    sim: FeedSim, mock_clock: trio.testing.MockClock
) -> None:
    video = SimItem("A video", "https://www.youtube.com/watch?v=dQw4w9WgXcQ", WHEN, points=987)
    sim.channels[CHANNEL] = SimChannel("Sim Channel", [video])
    response = await get(sim, f"/feeds/videos.xml?channel_id={CHANNEL}")
    assert response.status_code == 200
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0 and parsed.version == "atom10"
    assert parsed.feed.title == "Sim Channel"
    assert parsed.feed.yt_channelid == CHANNEL
    (entry,) = parsed.entries
    assert entry.yt_videoid == "dQw4w9WgXcQ"
    assert entry.link == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    assert entry.media_statistics == {"views": "987"}
    assert entry.media_thumbnail[0]["url"] == "https://i1.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg"
    assert epoch(entry.published_parsed) == WHEN
    missing = await get(sim, "/feeds/videos.xml?channel_id=UCnobody")
    assert missing.status_code == 404


async def test_reddit_listing_shape_limit_and_escaping(
    sim: FeedSim, mock_clock: trio.testing.MockClock
) -> None:
    sim.subreddits["python"] = [
        SimItem(f"Post {n} & more", f"https://x.example/{n}?a=1&b=2", WHEN, points=n)
        for n in range(4)
    ]
    raw = (await get(sim, "/r/Python/hot.json?limit=2&raw_json=1")).json()
    assert raw["kind"] == "Listing"
    data = raw["data"]
    assert data["dist"] == 2 and data["after"] is not None and data["before"] is None
    post = data["children"][0]
    assert post["kind"] == "t3"
    fields = post["data"]
    assert fields["title"] == "Post 0 & more"
    assert fields["url"] == "https://x.example/0?a=1&b=2"
    assert fields["created_utc"] == WHEN.timestamp()
    assert fields["permalink"].startswith("/r/python/comments/")
    assert fields["name"] == "t3_" + fields["id"]
    escaped = await get(sim, "/r/python/hot.json")
    first = escaped.json()["data"]["children"][0]["data"]
    assert first["title"] == "Post 0 &amp; more"  # Reddit's default without raw_json=1
    assert first["url"] == "https://x.example/0?a=1&amp;b=2"
    assert escaped.json()["data"]["after"] is None  # 4 posts fit the default 25


async def test_reddit_errors_are_reddits(sim: FeedSim, mock_clock: trio.testing.MockClock) -> None:
    sim.banned.add("gone")
    sim.private.add("secret")
    banned = await get(sim, "/r/gone/hot.json")
    assert banned.status_code == 404
    assert banned.json() == {"reason": "banned", "message": "Not Found", "error": 404}
    private = await get(sim, "/r/secret/hot.json")
    assert private.status_code == 403 and private.json()["reason"] == "private"
    unknown = await get(sim, "/r/nowhere/hot.json")
    assert unknown.status_code == 302
    assert unknown.headers["location"] == "/subreddits/search.json?q=nowhere"


async def test_hacker_news_api_shape(sim: FeedSim, mock_clock: trio.testing.MockClock) -> None:
    story = sim.add_hn_story(SimItem("Show HN: x", "https://x.example/", WHEN, points=77))
    ask = sim.add_hn_story(SimItem("Ask HN: y?", "", WHEN), listing="new")
    job = sim.add_hn_story(SimItem("Hiring", "https://j.example/", WHEN), kind="job")
    assert (await get(sim, "/v0/topstories.json")).json() == [story, job]
    assert (await get(sim, "/v0/newstories.json")).json() == [ask]
    item = (await get(sim, f"/v0/item/{story}.json")).json()
    assert item["id"] == story and item["type"] == "story" and item["score"] == 77
    assert item["time"] == int(WHEN.timestamp()) and item["url"] == "https://x.example/"
    assert set(item) == {"by", "descendants", "id", "kids", "score", "time", "title", "type", "url"}
    assert "url" not in (await get(sim, f"/v0/item/{ask}.json")).json()
    nothing = await get(sim, "/v0/item/1.json")
    assert nothing.status_code == 200 and json.loads(nothing.content) is None


async def test_scripted_trouble_hits_the_next_request_only(
    sim: FeedSim, mock_clock: trio.testing.MockClock
) -> None:
    sim.feeds["/f.xml"] = SimFeed("F", [])
    sim.fail("/f.xml", 503)
    sim.garble("/f.xml", b"garbage")
    assert (await get(sim, "/f.xml")).status_code == 503
    garbled = await get(sim, "/f.xml")
    assert garbled.status_code == 200 and garbled.content == b"garbage"
    assert (await get(sim, "/f.xml")).status_code == 200
    assert len(sim.requests) == 3
