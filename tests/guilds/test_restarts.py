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
