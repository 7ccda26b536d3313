"""Sandbox mode: the chat panel's API against the real product (`open_sandbox_app`: the sandbox
Discord, discord.py-self in the DiscordBridge, the whole tree with the text brain, the Dashboard),
with only the model's far end scripted (llmsim)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import trio

from tests.dashboard.sse_client import SseEvent, open_sse
from tests.dashboard.wiring import Wired, wired_sandbox

TIMEOUT = 30.0


@pytest.fixture
async def wired(tmp_path: Path) -> AsyncIterator[Wired]:
    async with wired_sandbox(tmp_path / "clanker.db") as w:
        yield w
        assert w.sandbox.unknown_routes == []


def client(w: Wired) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=w.url, headers={"Authorization": f"Bearer {w.token}"}, timeout=TIMEOUT
    )


async def test_a_message_posted_as_a_member_gets_a_reply_and_a_logged_trail(wired: Wired) -> None:
    world = wired.sandbox.world
    general = world.channel_named("general")
    bob = world.user_named("bob")
    headers = {"Authorization": f"Bearer {wired.token}"}
    async with (
        client(wired) as c,
        open_sse(wired.url, f"/api/sandbox/stream?channel_id={general.id}", headers) as chat,
        open_sse(wired.url, f"/api/actions/stream?channel_id={general.id}", headers) as log,
    ):
        info = (await c.get("/api/sandbox")).json()
        assert info["default_channel_id"] == str(general.id)
        assert {m["name"]: m["is_bot"] for m in info["members"]} == {
            "clanker": True,
            "Alice": False,
            "Bob": False,
        }
        assert [c["name"] for c in info["guilds"][0]["channels"]] == ["general", "random", "Lounge"]
        await chat.subscribed()
        await log.subscribed()

        posted = await c.post(
            "/api/sandbox/messages",
            json={
                "channel_id": str(general.id),
                "author_id": str(bob.id),
                "content": "hi there clanker",
            },
        )
        assert posted.status_code == 201
        message = posted.json()
        assert (message["author_name"], message["is_bot"], message["content"]) == (
            "Bob",
            False,
            "hi there clanker",
        )

        def bot_replied(events: list[SseEvent]) -> bool:
            return any(json.loads(e.data)["is_bot"] for e in events if e.event == "message")

        seen = [json.loads(e.data) for e in await chat.until(bot_replied) if e.event == "message"]
        assert [(m["author_name"], m["content"]) for m in seen] == [
            ("Bob", "hi there clanker"),
            ("clanker", "clanker here: got it, Bob ('hi there clanker')"),
        ]

        def decided(events: list[SseEvent]) -> bool:
            actions = [json.loads(e.data) for e in events if e.event == "action"]
            return any(a["content"] == "sent: sent" for a in actions)

        trail = [json.loads(e.data) for e in await log.until(decided) if e.event == "action"]
        assert [(a["kind"], a["content"]) for a in trail if a["kind"] != "llm_call"] == [
            ("reply_decision", "admitted: addressed"),
            ("reply_decision", "started: addressed"),
            ("send_started", "sending 1 message(s)"),
            ("sent_message", "clanker here: got it, Bob ('hi there clanker')"),
            ("reply_decision", "sent: sent"),
        ]
        [call] = [a for a in trail if a["kind"] == "llm_call"]
        assert (call["metadata"]["provider"], call["metadata"]["model"]) == (
            "anthropic",
            "claude-sonnet-4-6",
        )
        assert call["metadata"]["outcome"] == "ok" and call["usd_cost"] > 0
        sent = trail[-2]
        assert sent["metadata"]["trigger_message_id"] == message["id"]
        assert {a["message_id"] for a in trail if a is not sent} == {message["id"]}

        history = (await c.get(f"/api/sandbox/channels/{general.id}/messages")).json()
        assert [m["content"] for m in history][-2:] == [
            "hi there clanker",
            "clanker here: got it, Bob ('hi there clanker')",
        ]
        guilds = (await c.get("/api/guilds")).json()
        assert guilds[0]["name"] == "Sandbox" and guilds[0]["id"] == str(general.guild_id)
        channels = (await c.get(f"/api/guilds/{general.guild_id}/channels")).json()
        assert [ch["kind"] for ch in channels] == ["text", "text", "voice"]


async def test_bad_posts_say_what_was_wrong_and_post_nothing(wired: Wired) -> None:
    world = wired.sandbox.world
    general, lounge = world.channel_named("general"), world.channel_named("Lounge")
    before = len(world.messages)
    cases = [
        ({"channel_id": str(general.id), "content": "   "}, 400, "content must not be empty"),
        ({"channel_id": str(general.id), "content": "x" * 2001}, 400, "Discord allows 2000"),
        ({"channel_id": str(lounge.id), "content": "hi"}, 400, "#Lounge is a voice channel"),
        ({"channel_id": "42", "content": "hi"}, 404, "no sandbox channel with id 42"),
        ({"channel_id": "general", "content": "hi"}, 400, "channel_id must be a Discord id"),
        (
            {"channel_id": str(general.id), "content": "hi", "author_id": str(world.bot.id)},
            400,
            "not as the bot's own account",
        ),
        (
            {"channel_id": str(general.id), "content": "hi", "author_id": "99"},
            400,
            "user 99 is not a member",
        ),
        ({"content": "hi"}, 400, "missing required field `channel_id`"),
    ]
    async with client(wired) as c:
        for body, status, message in cases:
            r = await c.post("/api/sandbox/messages", json=body)
            assert r.status_code == status, body
            assert message in r.json()["error"], (body, r.json())
        r = await c.get("/api/sandbox/channels/42/messages")
        assert r.status_code == 404 and "no channel with id 42" in r.json()["error"]
    assert len(world.messages) == before


async def test_a_setting_takes_effect_on_the_next_message(wired: Wired) -> None:
    general = wired.sandbox.world.channel_named("general")
    headers = {"Authorization": f"Bearer {wired.token}"}
    async with client(wired) as c, open_sse(wired.url, "/api/actions/stream", headers) as log:
        await log.subscribed()
        version = (await c.get("/api/settings")).json()["version"]
        saved = await c.put(
            "/api/settings",
            json={"expected_version": version, "patch": {"permissions": {"allow_replies": False}}},
        )
        assert saved.status_code == 200
        body = {"channel_id": str(general.id), "content": "x, clanker?"}
        await c.post("/api/sandbox/messages", json=body)
        # (the login's catch_up record may come first: wait for the decision)
        decided = await log.until(
            lambda ev: (
                ev[-1].event == "action" and json.loads(ev[-1].data)["kind"] == "reply_decision"
            )
        )
        first = json.loads(decided[-1].data)
        assert (first["kind"], first["content"]) == ("reply_decision", "skipped: replies_disabled")
        assert first["metadata"] == {"decision": "skipped", "reason": "replies_disabled"}
        # Turn replies back on: the next message is answered (so the skip above was the setting).
        await c.put(
            "/api/settings",
            json={
                "expected_version": version + 1,
                "patch": {"permissions": {"allow_replies": True}},
            },
        )
        body = {"channel_id": str(general.id), "content": "y, clanker?"}
        await c.post("/api/sandbox/messages", json=body)
        with trio.fail_after(TIMEOUT):
            reply = await wired.sandbox.next_bot_message(general)
    assert reply.content == "clanker here: got it, Alice ('y, clanker?')"
    assert len(wired.sandbox.bot_messages()) == 1
