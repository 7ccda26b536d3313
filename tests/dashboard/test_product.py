"""The dashboard inside the product's tree (`clanker.app`): settings through the settings actor
(live, compare-and-swap, the real schema and validation), guilds from the guild router, the
operator crash on real actors, and the tree as `app_spec` builds it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import trio

from clanker.app import AppConfig, app_spec, dashboard_config_from_env
from clanker.app import ConfigError as AppConfigError
from clanker.cli.sandbox import sandbox_dashboard_config
from clanker.llm import LlmConfig, ProviderConfig
from clanker.runtime import ActorCrashed, ActorNode, OperatorCrash, SupervisorSpec
from clanker.runtime import events as ev
from clanker.settings import CurrentSettings, GetSettings, settings_json_schema
from clanker.store import GetMessage, MessageRows
from tests.dashboard.wiring import FAST, Wired, wired_sandbox

TIMEOUT = 30.0


@pytest.fixture
async def wired(tmp_path: Path) -> AsyncIterator[Wired]:
    async with wired_sandbox(tmp_path / "clanker.db") as w:
        yield w


def client(w: Wired) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=w.url, headers={"Authorization": f"Bearer {w.token}"}, timeout=TIMEOUT
    )


def actor_path(node: ActorNode, suffix: str) -> str:
    """The path of the node under ``node`` whose path ends with ``suffix``."""
    if node.path.endswith(suffix):
        return node.path
    for child in node.children:
        try:
            return actor_path(child, suffix)
        except LookupError:
            pass
    raise LookupError(suffix)


async def settings_now(w: Wired) -> CurrentSettings:
    return await w.rt.lookup("settings").ask(GetSettings(), CurrentSettings)


async def test_settings_are_the_settings_actors(wired: Wired) -> None:
    async with client(wired) as c:
        view = (await c.get("/api/settings")).json()
        assert view["schema"] == json.loads(json.dumps(settings_json_schema()))
        assert view["version"] == 1  # the FAST patch the wiring wrote
        assert view["document"]["identity"]["bot_name"] == "clanker"
        assert view["document"]["activity"]["coalesce_window_seconds"] == 0.0

        saved = await c.put(
            "/api/settings",
            json={"expected_version": 1, "patch": {"identity": {"bot_name": "Botsworth"}}},
        )
        assert saved.status_code == 200 and saved.json()["version"] == 2
        row = await wired.store().get_setting("runtime_settings")
        assert saved.json()["updated_at"] == row.updated_at is not None
        assert saved.json()["document"]["identity"]["bot_name"] == "Botsworth"
        # Applied live: the actor holds it, and the FAST patch is still there.
        now = await settings_now(wired)
        assert (now.version, now.settings.identity.bot_name) == (2, "Botsworth")
        assert now.settings.activity.min_gap_seconds == FAST["activity"]["min_gap_seconds"]

        stale = await c.put(
            "/api/settings",
            json={"expected_version": 1, "patch": {"identity": {"bot_name": "Stale"}}},
        )
        assert stale.status_code == 409
        assert stale.json()["current"]["version"] == 2
        assert stale.json()["current"]["document"]["identity"]["bot_name"] == "Botsworth"

        bad = await c.put(
            "/api/settings",
            json={
                "expected_version": 2,
                "patch": {
                    "activity": {"min_gap_seconds": -3, "reactivity": 101},
                    "permissions": {"blocked_user_ids": ["abc"]},
                },
            },
        )
        assert bad.status_code == 422
        paths = {e["path"] for e in bad.json()["errors"]}
        assert paths == {
            "activity.min_gap_seconds",
            "activity.reactivity",
            "permissions.blocked_user_ids[0]",
        }
        assert "3 invalid settings" in bad.json()["error"]
        assert (await settings_now(wired)).version == 2  # nothing was written


async def test_a_renamed_bot_answers_to_its_new_name(wired: Wired) -> None:
    world = wired.sandbox.world
    general, alice = world.channel_named("general"), world.user_named("alice")
    async with client(wired) as c:
        r = await c.put(
            "/api/settings",
            json={"expected_version": 1, "patch": {"identity": {"bot_name": "Botsworth"}}},
        )
        assert r.status_code == 200
    wired.sandbox.post_message(alice, general, "Botsworth, are you there?")
    with trio.fail_after(TIMEOUT):
        reply = await wired.sandbox.next_bot_message(general)
    # Addressed by the new name, and the prompt now names it so.
    assert reply.content == "Botsworth here: got it, Alice ('Botsworth, are you there?')"


async def test_guilds_come_from_the_guild_router(wired: Wired) -> None:
    general = wired.sandbox.world.channel_named("general")
    async with client(wired) as c:
        guilds = (await c.get("/api/guilds")).json()
        channels = (await c.get(f"/api/guilds/{general.guild_id}/channels")).json()
    assert [(g["id"], g["name"]) for g in guilds] == [(str(general.guild_id), "Sandbox")]
    assert [(ch["name"], ch["kind"]) for ch in channels] == [
        ("general", "text"),
        ("random", "text"),
        ("Lounge", "voice"),
    ]


async def test_the_operator_crashes_a_channel_actor_and_it_comes_back(wired: Wired) -> None:
    sb = wired.sandbox
    general, alice = sb.world.channel_named("general"), sb.world.user_named("alice")
    sb.post_message(alice, general, "clanker, wake up")
    with trio.fail_after(TIMEOUT):
        await sb.next_bot_message(general)
    channel_path = actor_path(wired.rt.snapshot(), f"/channels/channel-{general.id}")
    async with client(wired) as c, wired.rt.events.subscribe() as events:
        r = await c.post("/api/actors/crash", json={"path": channel_path})
        assert r.status_code == 202 and "OperatorRequestedCrash" in r.json()["error"]
        with trio.fail_after(TIMEOUT):
            async for event in events:
                if isinstance(event, ev.ActorRestarted) and event.path == channel_path:
                    break
        pacing = await c.post("/api/actors/crash", json={"path": "root/pacing"})
        assert pacing.status_code == 202
    node = wired.rt.snapshot().find(channel_path)
    assert node is not None and (node.restarts, node.status) == (1, "running")
    sb.post_message(alice, general, "clanker, still there?")
    with trio.fail_after(TIMEOUT):
        reply = await sb.next_bot_message(general)
    assert reply.content == "clanker here: got it, Alice ('clanker, still there?')"


def test_app_spec_puts_telemetry_first_and_the_dashboard_last(tmp_path: Path) -> None:
    llm = LlmConfig(providers=(ProviderConfig(name="a", kind="anthropic", model="m"),))
    base = AppConfig(db_path=tmp_path / "c.db", discord_token="t", llm=llm)
    plain = [c.name for c in app_spec(base).children]
    assert plain == [
        "store",
        "settings",
        "llm",
        "pacing",
        "image_captions",
        "memory",
        "guilds",
        "scheduler",
        "memory_reflector",
        "initiative",
        "discord",
    ]
    dash = dashboard_config_from_env({"DASHBOARD_PORT": "0"})
    assert dash is not None and dash.port == 0
    with_dash = AppConfig(db_path=tmp_path / "c.db", discord_token="t", llm=llm, dashboard=dash)
    names = [c.name for c in app_spec(with_dash).children]
    assert names == ["telemetry", *plain, "dashboard"]
    # The bridge runs under a supervisor of its own, with its own restart budget and backoff.
    discord = app_spec(base).children[-1].start
    assert isinstance(discord, SupervisorSpec)
    assert [(c.name, c.register) for c in discord.children] == [("bridge", "discord")]
    assert (discord.intensity, discord.period) == (10, 600.0)
    assert discord.backoff is not None and discord.backoff.maximum == 60.0


async def test_health_shows_the_bridge_and_its_queues(wired: Wired) -> None:
    async with client(wired) as c:
        health = (await c.get("/api/health")).json()
    assert health["discord"] == {
        "state": "ready",
        "relogins": 0,
        "seconds_since_heard": health["discord"]["seconds_since_heard"],
        "inbound_depth": 0,
        "inbound_capacity": 10_000,
        "inbound_dropped": 0,
        "lanes": health["discord"]["lanes"],
        "lane_refusals": 0,
    }
    assert health["discord"]["seconds_since_heard"] >= 0


def test_the_dashboard_configuration_comes_from_the_environment() -> None:
    env = {"DISCORD_TOKEN": "x", "ANTHROPIC_API_KEY": "k", "DASHBOARD_PORT": "9001"}
    config = AppConfig.from_env(env)
    assert config.dashboard is not None and config.dashboard.port == 9001
    assert AppConfig.from_env({**env, "CLANKER_DASHBOARD": "off"}).dashboard is None
    with pytest.raises(AppConfigError, match="DASHBOARD_PORT must be a port number"):
        AppConfig.from_env({**env, "DASHBOARD_PORT": "eighty"})


async def test_stored_messages_are_served_for_the_trails(wired: Wired) -> None:
    sb = wired.sandbox
    general, bob = sb.world.channel_named("general"), sb.world.user_named("bob")
    said = sb.post_message(bob, general, "clanker, what is a trail?")
    with trio.fail_after(TIMEOUT):
        await sb.next_bot_message(general)
    async with client(wired) as c:
        r = await c.get(f"/api/messages?ids={said.id},{said.id},42")
        assert r.status_code == 200
        [row] = r.json()
        assert (row["id"], row["author_name"], row["content"]) == (
            str(said.id),
            "Bob",
            "clanker, what is a trail?",
        )
        assert (await c.get("/api/messages")).status_code == 400
        bad = await c.get("/api/messages?ids=abc")
        assert bad.status_code == 400 and "each of ids" in bad.json()["error"]
        many = ",".join(str(i) for i in range(1000, 1101))
        too_many = await c.get(f"/api/messages?ids={many}")
        assert too_many.status_code == 400 and "at most 100" in too_many.json()["error"]


def test_the_sandbox_dashboard_takes_any_free_port_unless_told() -> None:
    config = sandbox_dashboard_config({})
    assert config is not None and (config.port, config.allow_operator_crash) == (0, True)
    told = sandbox_dashboard_config({"DASHBOARD_PORT": "8999"})
    assert told is not None and told.port == 8999
    assert sandbox_dashboard_config({"CLANKER_DASHBOARD": "off"}) is None


async def test_a_message_posted_while_the_bridge_was_down_is_caught_up_after_login(
    wired: Wired,
) -> None:
    sb, rt = wired.sandbox, wired.rt
    general, alice = sb.world.channel_named("general"), sb.world.user_named("alice")
    sb.post_message(alice, general, "clanker, hello")
    with trio.fail_after(TIMEOUT):
        await sb.next_bot_message(general)
    identifies = sb.gateway_stats.identifies
    with pytest.raises(ActorCrashed):
        await rt.lookup("discord").ask(OperatorCrash(reason="test"), timeout=TIMEOUT)
    # The bridge waits out its backoff (about 1 s) before logging in again: nobody is
    # listening, and the new gateway session will not replay this.
    missed = sb.post_message(alice, general, "clanker, did you miss this?")
    with trio.fail_after(TIMEOUT):
        reply = await sb.next_bot_message(general)
    assert sb.gateway_stats.identifies == identifies + 1  # a new login, not a resume
    assert reply.content == "clanker here: got it, Alice ('clanker, did you miss this?')"
    assert reply.reference_id in (missed.id, None)
    stored = await wired.rt.lookup("store").ask(GetMessage(message_id=missed.id), MessageRows)
    assert [r.message_id for r in stored.rows] == [missed.id]
