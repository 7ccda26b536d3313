"""An initiative post end to end on the real clock: the whole product (discord.py-self against
the sandbox Discord, the Llm actor through the real Anthropic SDK to llmsim, the real Store,
scheduler and pacing) with the feed sim behind the guarded fetcher. The operator's "check now"
runs a tick: the bot posts a fresh feed link in the listed channel, never the blocked one, with
no ping; the post comes back through the gateway into the Store, so the next check sees the
bot had the last word and leaves the channel alone."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trio
import trio.testing
import trio_asyncio

from clanker.app import AppConfig, app_spec
from clanker.discord.bridge import wait_for_login
from clanker.initiative.actor import Checked, CheckNow, InitiativeConfig
from clanker.llm import LlmConfig, ProviderConfig, RetryConfig
from clanker.llmsim import RecordedRequest, Text, open_llmsim
from clanker.runtime import Runtime, open_runtime
from clanker.sandbox import World, open_sandbox
from clanker.schedule.actor import ChangeJob, ListJobs
from clanker.settings import CurrentSettings, GetSettings, SettingsUpdated, UpdateSettings
from clanker.store import ActionRows, ActionsQuery, MessageRows, RecentMessages, pin_calendar
from clanker.store.jobs import JobRows
from clanker.tools.fetch import FetchLimits, GuardedFetcher
from clanker.toolsims.feeds import SimItem, open_feed_sim
from tests.dashboard.wiring import pause_initiative_tick

HOST = "feeds.test"


async def wait_stored(rt: Runtime, channel_id: int, message_id: int) -> None:
    """Until the message came through the gateway into the Store."""
    with trio.fail_after(20):
        while True:
            rows = await rt.lookup("store").ask(
                RecentMessages(channel_id=channel_id, limit=1), MessageRows
            )
            if rows.rows and rows.rows[-1].message_id == message_id:
                return
            await trio.sleep(0.05)


async def test_a_check_posts_a_feed_link_in_the_listed_channel_and_then_holds_back(
    tmp_path: object,
) -> None:
    world = World(bot_username="clanker", token="initiative-token")
    alice = world.add_user("alice", global_name="Alice")
    guild = world.add_guild("otter club")
    general = world.add_channel(guild.id, "general")
    random_ = world.add_channel(guild.id, "random")
    world.add_member(guild.id, alice.id)
    world.create_message(general.id, alice.id, "anyone around? otters are the best")
    asked: list[RecordedRequest] = []

    def brain(request: RecordedRequest) -> Text:
        asked.append(request)
        system = json.dumps(request.body.get("system", ""))
        if "AMBIENT TEXT MODE" not in system:
            return Text(json.dumps({"text": "", "skip": True, "reaction": None}))
        link = "https://otters.example/hands"
        feed = request.user_text.split("YOUR FEED", 1)
        offered = len(feed) == 2 and link in feed[1].split("FEED SOURCES", 1)[0]
        return Text(
            json.dumps(
                {
                    "action": "post_now" if offered else "drop",
                    "channel_id": str(general.id),
                    "reply_to_message_id": None,
                    "text": f"@everyone <@{alice.id}> look: {link}",
                    "media": "none",
                    "reason": "the club loves otters",
                }
            )
        )

    now = datetime.now(UTC)
    async with open_feed_sim() as feeds, open_llmsim(default=brain) as sim:
        feeds.subreddits["otters"] = [
            SimItem(
                "Otters hold hands",
                "https://otters.example/hands?utm_source=rss",
                now - timedelta(hours=2),
                900,
            )
        ]
        async with open_sandbox(world, voice=False) as sb:
            llm = LlmConfig(
                providers=(
                    ProviderConfig(
                        name="anthropic",
                        kind="anthropic",
                        model="claude-sonnet-4-6",
                        base_url=sim.anthropic_url,
                        api_key="sk-initiative",
                    ),
                ),
                retry=RetryConfig(base_delay=0.05),
            )
            fetcher = GuardedFetcher(FetchLimits(), testing_only_hosts={HOST: "127.0.0.1"})
            config = AppConfig(
                db_path=tmp_path / "clanker.db",  # type: ignore[operator]
                discord_token=sb.token,
                llm=llm,
                rest_url=sb.rest_url,
                gateway_url=sb.gateway_url,
                initiative=InitiativeConfig(
                    seed=3, fetcher=fetcher, feed_endpoints=feeds.endpoints(HOST)
                ),
            )
            async with trio_asyncio.open_loop(), open_runtime(app_spec(config)) as rt:
                with trio.fail_after(90):
                    await wait_for_login(rt, timeout=30)
                    await pause_initiative_tick(rt)  # no 10-minute mark can race the checks
                    settings = rt.lookup("settings")
                    current = await settings.ask(GetSettings(), CurrentSettings)
                    patch = {
                        "initiative": {
                            "channel_ids": [general.id, random_.id],
                            "eagerness": 100,
                            "min_minutes_between_posts": 0,
                            "feed_sources": ["r/otters"],
                        },
                        "permissions": {"blocked_channel_ids": [random_.id]},
                    }
                    reply = await settings.ask(
                        UpdateSettings(patch=json.dumps(patch), expected_version=current.version)
                    )
                    assert isinstance(reply, SettingsUpdated), reply
                    initiative = rt.lookup("initiative")
                    # the router learns the guild from the gateway: wait until a check sees it
                    while True:
                        checked = await initiative.ask(CheckNow(), Checked, timeout=60)
                        if checked.detail != "no server" and "not logged in" not in checked.detail:
                            break
                        await trio.sleep(0.2)
                    assert checked.detail == f"{guild.id}: post", checked.detail
                    posted = [m for m in world.history(general.id) if m.author_id == world.bot.id]
                    assert len(posted) == 1
                    post = posted[0]
                    assert (
                        post.content
                        == f"@everyone <@{alice.id}> look: https://otters.example/hands"
                    )
                    # sent without pinging anyone, even though the text names them
                    allowed = post.allowed_mentions or {}
                    parse = allowed.get("parse", [])
                    assert isinstance(parse, list) and "everyone" not in parse, allowed
                    assert "users" not in parse and not allowed.get("users"), allowed
                    assert world.history(random_.id) == []
                    system = json.dumps(asked[-1].body.get("system"))
                    assert "AMBIENT TEXT MODE" in system
                    assert f"#random (channel_id {random_.id})" not in asked[-1].user_text
                    assert "Otters hold hands — https://otters.example/hands" in asked[-1].user_text
                    # the post comes back through the gateway into the Store
                    store = rt.lookup("store")
                    with trio.fail_after(20):
                        while True:
                            rows = await store.ask(
                                RecentMessages(channel_id=general.id, limit=5), MessageRows
                            )
                            if rows.rows and rows.rows[-1].message_id == post.id:
                                break
                            await trio.sleep(0.1)
                    logged = await store.ask(ActionsQuery(kind="initiative_post"), ActionRows)
                    assert [r.message_id for r in logged.rows] == [post.id]
                    # the bot had the last word in its only open channel: it holds back
                    calls = len(asked)
                    again = await initiative.ask(CheckNow(), Checked, timeout=60)
                    assert again.detail == f"{guild.id}: skip no_channel"
                    assert len(asked) == calls
                    # alice answers the post and likes it: the next decision is told so, as
                    # Discord has it (the Store keeps no reactions)
                    sb.react(alice, post.id, "👍")
                    answer = sb.post_message(alice, general.id, "so cute", reply_to=post.id)
                    with trio.fail_after(20):
                        while True:
                            rows = await store.ask(
                                RecentMessages(channel_id=general.id, limit=1), MessageRows
                            )
                            if rows.rows and rows.rows[-1].message_id == answer.id:
                                break
                            await trio.sleep(0.1)
                    third = await initiative.ask(CheckNow(), Checked, timeout=60)
                    assert third.detail == f"{guild.id}: drop"  # the link was shared already
                    assert "YOUR FEED" not in asked[-1].user_text
                    assert (
                        "look: https://otters.example/hands' [https://otters.example/hands] "
                        "→ 1 replies, 1 reactions"
                    ) in asked[-1].user_text


@pytest.fixture
def mock_clock() -> trio.testing.MockClock:
    # Real-time pace (sockets, discord.py-self's timers), but a MockClock, so the calendar can
    # be pinned and moved: the day below passes on the calendar in a few seconds of real time.
    return trio.testing.MockClock(rate=1.0)


async def test_a_calendar_day_through_the_sandbox_posts_three_times_never_in_the_blocked_channel(
    tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    """The whole product against the sandbox and the feed sim, the calendar moved ten minutes
    per check across a day (the scheduler's own tick paused: each check is the operator's
    "check now"): eagerness 100, 3 posts a day, 6 h apart; alice chats every hour."""
    start = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    pin_calendar(start)
    world = World(bot_username="clanker", token="initiative-day")
    alice = world.add_user("alice", global_name="Alice")
    guild = world.add_guild("otter club")
    general = world.add_channel(guild.id, "general")
    random_ = world.add_channel(guild.id, "random")
    world.add_member(guild.id, alice.id)

    def brain(request: RecordedRequest) -> Text:
        if "AMBIENT TEXT MODE" not in json.dumps(request.body.get("system", "")):
            return Text(json.dumps({"text": "", "skip": True, "reaction": None}))
        feed = request.user_text.split("YOUR FEED", 1)
        links = re.findall(r" — (https://\S+) \(", feed[1]) if len(feed) == 2 else []
        channel = re.search(r"\(channel_id (\d+)\):", request.user_text)
        return Text(
            json.dumps(
                {
                    "action": "post_now" if links else "drop",
                    "channel_id": channel.group(1) if channel else "0",
                    "reply_to_message_id": None,
                    "text": f"look: {links[0]}" if links else "",
                    "media": "none",
                    "media_prompt": "",
                    "reason": "fresh",
                }
            )
        )

    async with open_feed_sim() as feeds, open_llmsim(default=brain) as sim:
        feeds.subreddits["otters"] = [
            SimItem(
                f"Otter story {n}", f"https://otters.example/{n}", start - timedelta(hours=1), n
            )
            for n in range(1, 7)
        ]
        async with open_sandbox(world, voice=False) as sb:
            config = AppConfig(
                db_path=tmp_path / "clanker.db",
                discord_token=sb.token,
                llm=LlmConfig(
                    providers=(
                        ProviderConfig(
                            name="anthropic",
                            kind="anthropic",
                            model="claude-sonnet-4-6",
                            base_url=sim.anthropic_url,
                            api_key="sk-initiative",
                        ),
                    ),
                    retry=RetryConfig(base_delay=0.05),
                ),
                rest_url=sb.rest_url,
                gateway_url=sb.gateway_url,
                initiative=InitiativeConfig(
                    seed=3,
                    fetcher=GuardedFetcher(FetchLimits(), testing_only_hosts={HOST: "127.0.0.1"}),
                    feed_endpoints=feeds.endpoints(HOST),
                ),
                store_inline=True,  # the Store's times on the pinned calendar too
            )
            async with trio_asyncio.open_loop(), open_runtime(app_spec(config)) as rt:
                with trio.fail_after(120):
                    await wait_for_login(rt, timeout=30)
                    scheduler = rt.lookup("scheduler")
                    while True:
                        if (await scheduler.ask(ListJobs(kind="initiative"), JobRows)).rows:
                            break
                        await trio.sleep(0.05)
                    await scheduler.ask(ChangeJob(job_key="initiative:tick", action="pause"))
                    settings = rt.lookup("settings")
                    current = await settings.ask(GetSettings(), CurrentSettings)
                    patch = {
                        "activity": {"min_gap_seconds": 0},
                        "initiative": {
                            "channel_ids": [random_.id, general.id],
                            "eagerness": 100,
                            "feed_sources": ["r/otters"],
                        },
                        "permissions": {"blocked_channel_ids": [random_.id]},
                    }
                    reply = await settings.ask(
                        UpdateSettings(patch=json.dumps(patch), expected_version=current.version)
                    )
                    assert isinstance(reply, SettingsUpdated), reply
                    initiative = rt.lookup("initiative")
                    posted_at: list[timedelta] = []
                    for k in range(1, 6 * 25 + 3):  # 08:10 to the next day's 08:20
                        at = start + timedelta(minutes=10 * k)
                        pin_calendar(at)
                        if k % 6 == 0:  # alice chats every hour
                            said = sb.post_message(alice, general.id, f"hour {k // 6}")
                            await wait_stored(rt, general.id, said.id)
                        checked = await initiative.ask(CheckNow(), Checked, timeout=60)
                        if checked.detail.endswith(": post"):
                            posted_at.append(at - start)
                    minutes = [int(p.total_seconds() // 60) for p in posted_at]
                    # 08:10; 14:10 is 6 h minus the moment the post took: 14:20; 20:30; the
                    # next day 08:10 still counts three in 24 h: 08:20
                    assert minutes == [10, 380, 750, 1460], minutes
                    bot_posts = [
                        m for m in world.history(general.id) if m.author_id == world.bot.id
                    ]
                    assert len(bot_posts) == 4
                    assert world.history(random_.id) == []
                    # four different links: none shared twice
                    assert len({m.content for m in bot_posts}) == 4
