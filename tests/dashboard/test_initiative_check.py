"""``POST /api/initiative/check`` against the real product in sandbox wiring (`wired_sandbox`:
the sandbox Discord, discord.py-self in the bridge, the whole tree with the real initiative
actor, Store, scheduler and pacing, the model's far end scripted by llmsim through the real
Anthropic SDK). The operator checks with nothing listed (skip ``no_channel``), lists #general
with eagerness 100 through the settings API, checks again: the bot posts in the sandbox's
#general, the decision is logged with its reason, and each check is an operator action. A
check slower than the dashboard's timeout is a 504, and goes on in the actor to its post.
The actor's own 10-minute tick is paused first, so it cannot post between the checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import trio

from clanker.dashboard import DashboardConfig
from clanker.llmsim import RecordedRequest, Text, Turn
from clanker.store import ActionRows, ActionsQuery
from tests.dashboard.wiring import (
    Wired,
    initiative_answer,
    pause_initiative_tick,
    scripted_brain,
    wired_sandbox,
)

TIMEOUT = 30.0
LISTED = {"eagerness": 100, "min_minutes_between_posts": 0}


def client(w: Wired) -> httpx.AsyncClient:
    # a check may wait for the model: longer than the dashboard's own 90 s bound
    return httpx.AsyncClient(
        base_url=w.url, headers={"Authorization": f"Bearer {w.token}"}, timeout=120.0
    )


async def wait_for_guild(c: httpx.AsyncClient, guild_id: int) -> None:
    """The router knows the guild (from the gateway) before a check is asked."""
    with trio.fail_after(TIMEOUT):
        while True:
            if str(guild_id) in [g["id"] for g in (await c.get("/api/guilds")).json()]:
                return
            await trio.sleep(0.1)


async def list_channel(c: httpx.AsyncClient, channel_id: int) -> None:
    """The operator lists ``channel_id`` for initiative posts, eagerness 100, through the API."""
    version = (await c.get("/api/settings")).json()["version"]
    patch = {"initiative": {"channel_ids": [str(channel_id)], **LISTED}}
    r = await c.put("/api/settings", json={"expected_version": version, "patch": patch})
    assert r.status_code == 200, r.text


async def posts(c: httpx.AsyncClient) -> list[dict[str, Any]]:
    r = await c.get("/api/initiative/decisions", params={"decision": "post"})
    assert r.status_code == 200, r.text
    decisions: list[dict[str, Any]] = r.json()["decisions"]
    return decisions


async def checks(w: Wired) -> list[tuple[str, dict[str, Any]]]:
    """The logged operator checks, oldest first (content, metadata)."""
    rows = await w.rt.lookup("store").ask(
        ActionsQuery(kind="operator_initiative_check"), ActionRows
    )
    return [(r.content, json.loads(r.metadata)) for r in reversed(rows.rows)]


async def test_check_now_skips_with_nothing_listed_then_posts_in_the_listed_channel(
    tmp_path: Path,
) -> None:
    async with wired_sandbox(tmp_path / "clanker.db") as w, client(w) as c:
        world = w.sandbox.world
        general = world.channel_named("general")
        guild = general.guild_id
        assert guild is not None
        await pause_initiative_tick(w.rt)
        await wait_for_guild(c, guild)

        r = await c.post("/api/initiative/check", json={})
        assert r.status_code == 200, r.text
        assert r.json() == {
            "detail": f"{guild}: skip no_channel",
            "outcomes": [
                {"guild_id": str(guild), "guild_name": "Sandbox", "outcome": "skip no_channel"}
            ],
        }
        assert not [q for q in w.sim.requests if "AMBIENT" in json.dumps(q.body.get("system"))]

        await list_channel(c, general.id)
        r = await c.post("/api/initiative/check", json={})
        assert r.status_code == 200, r.text
        assert r.json() == {
            "detail": f"{guild}: post",
            "outcomes": [{"guild_id": str(guild), "guild_name": "Sandbox", "outcome": "post"}],
        }
        # the message is in the sandbox's #general, sent by the bot
        [posted] = [m for m in world.history(general.id) if m.author_id == world.bot.id]
        assert posted.content == "clanker here, on my own: hello #general!"
        # the model was offered #general only, in the initiative's prompt
        [asked] = [q for q in w.sim.requests if "AMBIENT" in json.dumps(q.body.get("system"))]
        assert f"#general (channel_id {general.id}):" in asked.user_text
        assert "#random" not in asked.user_text
        # the decision, with its reason and a link to the message
        [post] = await posts(c)
        assert (post["channel_name"], post["message_id"], post["content"], post["reason"]) == (
            "general",
            str(posted.id),
            "clanker here, on my own: hello #general!",
            "the sandbox test asked for a post in #general",
        )
        assert post["jump_url"] == f"https://discord.com/channels/{guild}/{general.id}/{posted.id}"

        assert await checks(w) == [
            (
                f"checked initiative now: {guild}: skip no_channel",
                {
                    "detail": f"{guild}: skip no_channel",
                    "outcomes": [{"guild_id": str(guild), "outcome": "skip no_channel"}],
                    "timed_out": False,
                },
            ),
            (
                f"checked initiative now: {guild}: post",
                {
                    "detail": f"{guild}: post",
                    "outcomes": [{"guild_id": str(guild), "outcome": "post"}],
                    "timed_out": False,
                },
            ),
        ]


def slow_brain(request: RecordedRequest) -> Turn:
    """The initiative's decision takes 4 s to start; everything else as `scripted_brain`."""
    if "AMBIENT TEXT MODE" in json.dumps(request.body.get("system", "")):
        answer = initiative_answer(request)
        assert isinstance(answer, Text)
        return Text(answer.text, delay=4.0, model=answer.model)
    return scripted_brain(request)


async def test_a_check_past_the_timeout_is_a_504_and_goes_on_to_post(tmp_path: Path) -> None:
    config = DashboardConfig(port=0, initiative_check_timeout=1.0)
    async with (
        wired_sandbox(tmp_path / "clanker.db", config=config, brain=slow_brain) as w,
        client(w) as c,
    ):
        world = w.sandbox.world
        general = world.channel_named("general")
        assert general.guild_id is not None
        await pause_initiative_tick(w.rt)
        await wait_for_guild(c, general.guild_id)
        await list_channel(c, general.id)
        r = await c.post("/api/initiative/check", json={})
        assert (r.status_code, r.json()["error"]) == (
            504,
            "the initiative check did not finish within 1 s; it goes on in the initiative "
            "actor, and its outcome will show in the decisions",
        )
        assert await checks(w) == [
            (
                "checked initiative now: no answer within 1 s",
                {"detail": None, "outcomes": [], "timed_out": True},
            )
        ]
        # the actor finishes the check: the post shows in the decisions, and in #general
        with trio.fail_after(TIMEOUT):
            while True:
                if found := await posts(c):
                    break
                await trio.sleep(0.2)
        [post] = found
        [posted] = [m for m in world.history(general.id) if m.author_id == world.bot.id]
        assert post["message_id"] == str(posted.id)
        assert posted.content == "clanker here, on my own: hello #general!"
