"""State rebuilt after a restart, on virtual time (the product tree with test Llm and bridge):
crash an actor by its registered name, then the kill switch applies to the next message, the
global hourly cap holds across two channels, and a message in a new channel is answered."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing

from .tree import FAST, GUILD, configure, crash, decisions, message, post, product_tree

# Every actor a restart must not break, by registered name (paths may change).
CRASHED = [
    "store",
    "llm",
    "settings",
    "pacing",
    "guilds",
    f"guild:{GUILD}",
    "channel:10",
    "discord",
]


@pytest.mark.parametrize("name", CRASHED)
async def test_kill_switch_applies_after_a_crash(
    name: str, tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with product_tree(tmp_path) as (rt, world):
        await configure(rt, FAST)
        await post(rt, message(10, "clanker, hello"))
        await trio.sleep(5)
        assert world.texts(10) == ["answer 1"]
        await crash(rt, name)
        await configure(rt, {"permissions": {"allow_replies": False}})
        await post(rt, message(10, "clanker, still there?"))
        await trio.sleep(5)
        assert world.texts(10) == ["answer 1"]
        assert (await decisions(rt))[-1].startswith("skipped: replies_disabled")


@pytest.mark.parametrize("name", CRASHED)
async def test_a_new_channel_is_answered_after_a_crash(
    name: str, tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with product_tree(tmp_path) as (rt, world):
        await configure(rt, FAST)
        await post(rt, message(10, "clanker, hello"))
        await trio.sleep(5)
        await crash(rt, name)
        await post(rt, message(13, "clanker, over here"))
        await trio.sleep(5)
        assert world.texts(13) == ["answer 2"]


@pytest.mark.parametrize("name", CRASHED)
async def test_the_hourly_cap_holds_across_channels_after_a_crash(
    name: str, tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with product_tree(tmp_path) as (rt, world):
        caps = {"max_messages_per_hour": 2, "allow_unsolicited_replies": False}
        await configure(rt, {**FAST, "permissions": caps})
        await post(rt, message(11, "morning all"))  # not addressed: channel 11 just listens
        await post(rt, message(10, "clanker, one"))
        await trio.sleep(5)
        assert world.texts() == ["answer 1"]
        await crash(rt, name)
        # Both channels ran before the crash: each must learn the other's sends after it.
        await post(rt, message(11, "clanker, two"))
        await trio.sleep(5)
        await post(rt, message(10, "clanker, three"))
        await post(rt, message(11, "clanker, four"))
        await trio.sleep(600)
        assert world.texts() == ["answer 1", "answer 2"]
        assert any("hourly_cap" in d for d in await decisions(rt))


async def test_a_restarted_session_asks_the_router_when_the_bridge_cannot_answer(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with product_tree(tmp_path) as (rt, world):
        await configure(rt, FAST)
        world.ready = False  # e.g. reconnecting: GetIdentity/GetGuild answer BridgeNotReady
        await crash(rt, f"guild:{GUILD}")
        await post(rt, message(13, "clanker, over here"))
        await trio.sleep(5)
        assert world.texts(13) == ["answer 1"]


async def test_a_restarted_router_rebuilds_from_its_sessions_when_the_bridge_cannot_answer(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with product_tree(tmp_path) as (rt, world):
        await configure(rt, FAST)
        world.ready = False
        await crash(rt, "guilds")
        await crash(rt, f"guild:{GUILD}")  # then it can only learn who we are from the router
        await post(rt, message(13, "clanker, over here"))
        await trio.sleep(5)
        assert world.texts(13) == ["answer 1"]
