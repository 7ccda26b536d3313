"""Initiative posts from discovery feeds: the product tree on virtual time (as in
test_initiative.py) with the feed sim on loopback, reached through the guarded fetcher. The
model is shown the fresh links, tracking parameters stripped; a link it shared is not offered
again; each source's yield (or failure) is logged as ``feed_fetch``."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from clanker.guilds import ROUTER_NAME
from clanker.guilds.media import MediaDeps
from clanker.initiative.actor import INITIATIVE_NAME, InitiativeConfig, initiative_child
from clanker.media.config import MediaConfig
from clanker.schedule.actor import SchedulerConfig, scheduler_child
from clanker.store import pin_calendar
from clanker.tools.fetch import FetchLimits, GuardedFetcher
from clanker.toolsims.feeds import FeedSim, SimFeed, SimItem, open_feed_sim
from clanker.toolsims.giphy import SimGif, open_giphy_sim

from .tree import FAST, World, actions, configure, product_tree

START = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
HOST = "feeds.test"
HOUR = 3600.0


@pytest.fixture
def mock_clock() -> trio.testing.MockClock:
    # loopback sockets answer within 50 ms of real idleness; virtual time jumps otherwise
    return trio.testing.MockClock(autojump_threshold=0.05)


@pytest.fixture
async def sim() -> AsyncIterator[FeedSim]:
    async with open_feed_sim() as running:
        yield running


def ago(hours: float) -> datetime:
    return START - timedelta(hours=hours)


def late(sim: FeedSim) -> list[Any]:
    fetcher = GuardedFetcher(FetchLimits(), testing_only_hosts={HOST: "127.0.0.1"})
    config = InitiativeConfig(seed=1, fetcher=fetcher, feed_endpoints=sim.endpoints(HOST))
    return [
        scheduler_child(
            SchedulerConfig(handlers={"automation": ROUTER_NAME, "initiative": INITIATIVE_NAME})
        ),
        initiative_child(config),
    ]


def first_feed_link(prompt: str) -> str | None:
    feed = prompt.split("YOUR FEED", 1)
    if len(feed) < 2:
        return None
    found = re.search(r" — (\S+) \(", feed[1])
    return found.group(1) if found else None


async def test_posts_share_fresh_feed_links_once_and_each_source_yield_is_logged(
    tmp_path: Path, sim: FeedSim, mock_clock: trio.testing.MockClock
) -> None:
    pin_calendar(START)
    sim.subreddits["otters"] = [
        SimItem("Otter holds hands", "https://otters.example/hands?utm_source=reddit", ago(2), 900),
        SimItem("Otter naps", "https://otters.example/naps", ago(5), 40),
        SimItem("Ancient otter", "https://otters.example/old", ago(200), 5000),
    ]
    sim.feeds["/news.xml"] = SimFeed(
        "River News", [SimItem("Rivers are back", "https://river.example/back?fbclid=x", ago(1))]
    )
    world = World()

    def answer(n: int) -> str:
        link = first_feed_link(world.prompts[-1])
        return json.dumps(
            {
                "action": "post_now" if link else "drop",
                "channel_id": "10",
                "reply_to_message_id": None,
                "text": f"this made me smile: {link}",
                "media": "none",
                "reason": "fresh and on topic",
            }
        )

    world.answer = answer
    news = sim.url("/news.xml", HOST)
    async with product_tree(tmp_path, world, late=late(sim)) as (rt, w):
        await configure(
            rt,
            {
                **FAST,
                "initiative": {
                    "channel_ids": [10],
                    "eagerness": 100,
                    "min_minutes_between_posts": 60,
                    "feed_sources": ["r/otters 2", news],
                },
            },
        )
        await trio.sleep(HOUR + 25 * 60)
        assert len(w.sent) == 2, w.texts()
        first, second = w.prompts
        # the first offer: fresh links, clean, best first (weight 2 and 900 points); the
        # 200-hour-old post is not offered
        assert "- Otter holds hands — https://otters.example/hands (reddit:otters" in first
        assert "https://river.example/back (rss:" in first
        assert "otters.example/old" not in first and "utm_source" not in first
        assert "FEED SOURCES: r/otters 2, " + news in first
        assert w.texts()[0] == "this made me smile: https://otters.example/hands"
        posts = await actions(rt, "initiative_post")
        assert json.loads(posts[0].metadata)["source_url"] == "https://otters.example/hands"
        # an hour on, the shared link is not offered again; the others still are
        offered = second.split("YOUR FEED")[1].split("FEED SOURCES")[0]
        assert "otters.example/hands" not in offered
        assert "https://otters.example/naps" in offered
        assert "YOUR RECENT POSTS AND WHAT THEY GOT:" in second
        assert "[https://otters.example/hands] → 0 replies" in second
        fetches = [json.loads(r.metadata) for r in await actions(rt, "feed_fetch")]
        assert [(f["source"], f["items"], f["new"], f["error"]) for f in fetches[:2]] == [
            ("reddit:otters", 3, 2, None),
            ("rss:" + news, 1, 1, None),
        ]
        assert fetches[0]["dropped"] == {"too_old": 1}
        assert len(fetches) == 4  # read only when the model is asked: twice


async def test_a_failing_source_is_logged_and_the_others_still_offered(
    tmp_path: Path, sim: FeedSim, mock_clock: trio.testing.MockClock
) -> None:
    pin_calendar(START)
    sim.subreddits["otters"] = [SimItem("Otter naps", "https://otters.example/naps", ago(5), 40)]
    sim.fail("/news.xml", 503)
    world = World()
    world.answer = lambda n: json.dumps(
        {
            "action": "drop",
            "channel_id": "10",
            "reply_to_message_id": None,
            "text": "",
            "media": "none",
            "reason": "seen enough",
        }
    )
    async with product_tree(tmp_path, world, late=late(sim)) as (rt, w):
        news = sim.url("/news.xml", HOST)
        await configure(
            rt,
            {
                **FAST,
                "initiative": {
                    "channel_ids": [10],
                    "eagerness": 100,
                    "feed_sources": ["r/otters", news],
                },
            },
        )
        await trio.sleep(15 * 60)
        assert len(w.prompts) == 1 and "https://otters.example/naps" in w.prompts[0]
        fetches = [json.loads(r.metadata) for r in await actions(rt, "feed_fetch")]
        assert fetches[0]["error"] is None
        assert fetches[1]["source"] == "rss:" + news
        assert "503" in fetches[1]["error"], fetches[1]


async def test_a_post_can_carry_a_gif_when_one_can_be_had(
    tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    """The media directive: the model is told a GIF can go with the post, asks for one, and
    the GIF found on GIPHY (the sim) goes out with the text, counted in the day's budget."""
    pin_calendar(START)
    async with open_giphy_sim(api_key="giphy-key") as giphy:
        giphy.results["otters holding hands"] = [SimGif("otter1", "Otters Holding Hands GIF")]
        media = MediaDeps(
            MediaConfig(
                giphy_api_key="giphy-key", giphy_base_url=f"http://giphy.test:{giphy.port}"
            ),
            GuardedFetcher(testing_only_hosts={"giphy.test": "127.0.0.1"}),
        )
        world = World(
            answer=lambda n: json.dumps(
                {
                    "action": "post_now",
                    "channel_id": "10",
                    "reply_to_message_id": None,
                    "text": "this is us on a good day",
                    "media": "gif",
                    "media_prompt": "otters holding hands",
                    "reason": "cute",
                }
            )
        )
        late = [
            scheduler_child(
                SchedulerConfig(handlers={"automation": ROUTER_NAME, "initiative": INITIATIVE_NAME})
            ),
            initiative_child(InitiativeConfig(seed=1, media=media)),
        ]
        async with product_tree(tmp_path, world, late=late) as (rt, w):
            await configure(rt, {**FAST, "initiative": {"channel_ids": [10], "eagerness": 100}})
            await trio.sleep(15 * 60)
            assert "MEDIA: you may post a GIF found on GIPHY with the text" in w.prompts[0]
            assert '"media": "none" | "gif"' in w.prompts[0]
            assert w.texts(10) == [f"this is us on a good day\n{giphy.gif_url('otter1')}"]
            assert [r.params.get("q") for r in giphy.requests] == ["otters holding hands"]
            gifs = await actions(rt, "gif_call")
            assert [(g.channel_id, g.content) for g in gifs] == [(10, giphy.gif_url("otter1"))]
            post = json.loads((await actions(rt, "initiative_post"))[0].metadata)
            assert (post["media"], post["media_prompt"], post["media_posted"]) == (
                "gif",
                "otters holding hands",
                True,
            )
