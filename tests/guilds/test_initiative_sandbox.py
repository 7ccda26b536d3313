"""An initiative post end to end on the real clock: the whole product (discord.py-self against
the sandbox Discord, the Llm actor through the real Anthropic SDK to llmsim, the real Store,
scheduler and pacing) with the feed sim behind the guarded fetcher. The operator's "check now"
runs a tick: the bot posts a fresh feed link in the listed channel, never the blocked one, with
no ping; the post comes back through the gateway into the Store, so the next check sees the
bot had the last word and leaves the channel alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import trio
import trio_asyncio

from clanker.app import AppConfig, app_spec
from clanker.discord.bridge import wait_for_login
from clanker.initiative.actor import Checked, CheckNow, InitiativeConfig
from clanker.llm import LlmConfig, ProviderConfig, RetryConfig
from clanker.llmsim import RecordedRequest, Text, open_llmsim
from clanker.runtime import open_runtime
from clanker.sandbox import World, open_sandbox
from clanker.settings import CurrentSettings, GetSettings, SettingsUpdated, UpdateSettings
from clanker.store import ActionRows, ActionsQuery, MessageRows, RecentMessages
from clanker.tools.fetch import FetchLimits, GuardedFetcher
from clanker.toolsims.feeds import SimItem, open_feed_sim

HOST = "feeds.test"


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
