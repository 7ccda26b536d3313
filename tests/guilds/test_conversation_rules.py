"""Conversation correctness on virtual time: threads inherit their parent channel's permissions,
a DM is addressed to the bot."""

from __future__ import annotations

import json
from pathlib import Path

import trio
import trio.testing

from .tree import FAST, World, actions, configure, decisions, message, post, product_tree

STRICT = {"allow_unsolicited_replies": False}  # only what is addressed is answered


async def test_a_thread_under_a_blocked_channel_is_not_answered(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with product_tree(tmp_path) as (rt, world):
        await configure(rt, {**FAST, "permissions": {"blocked_channel_ids": ["10"]}})
        await post(rt, message(20, "clanker, in a thread", parent_channel_id=10))
        # No parent on the message: the guild's channel list says 23 is a thread of 10.
        await post(rt, message(23, "clanker, in another thread"))
        await post(rt, message(11, "clanker, in a channel"))
        await trio.sleep(5)
        assert world.texts(20) == [] and world.texts(23) == []
        assert world.texts(11) == ["answer 1"]
        assert (await decisions(rt)).count("skipped: channel_blocked") == 2


async def test_a_thread_under_an_allowed_channel_is_answered(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with product_tree(tmp_path) as (rt, world):
        await configure(rt, {**FAST, "permissions": {"allowed_channel_ids": ["11"]}})
        await post(rt, message(21, "clanker, allowed thread", parent_channel_id=11))
        await post(rt, message(22, "clanker, other thread", parent_channel_id=12))
        await trio.sleep(5)
        assert world.texts(21) == ["answer 1"]
        assert world.texts(22) == []
        assert "skipped: channel_not_allowed" in await decisions(rt)


async def test_a_dm_is_addressed_to_the_bot(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with product_tree(tmp_path) as (rt, world):
        await configure(rt, {**FAST, "permissions": STRICT})
        await post(rt, message(500, "hey, got a minute?", guild_id=None))
        await post(rt, message(12, "hey, got a minute?"))  # the same words in a guild: ambient
        await trio.sleep(5)
        assert world.texts(500) == ["answer 1"]
        assert world.texts(12) == []
        found = await decisions(rt)
        assert "admitted: addressed" in found and "skipped: unsolicited_disabled" in found


async def test_a_burst_yields_one_reply_to_the_latest(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    # The default coalescing (nobody typing: 1 s grace after the latest message, +0.25 s):
    # five messages 0.6 s apart make one batch, answered once, with the latest as its trigger.
    # (Moved here from the real-clock test_conversation.py, which passed only if five real
    # posts landed inside a real window.)
    async with product_tree(tmp_path) as (rt, world):
        await configure(rt, {"activity": {"min_gap_seconds": 0}})
        t0 = trio.current_time()
        ids = []
        for n in range(5):
            ids.append(await post(rt, message(10, f"clanker, message {n}")))
            await trio.sleep(0.6)
        await trio.sleep(30)
        assert world.llm_calls == 1
        assert [f"message {n}" in world.prompts[0] for n in range(5)] == [True] * 5
        [sent] = world.sent
        assert sent.at - t0 == 3.65  # due 1.25 s after the latest message (at 2.4)
        started = [
            r for r in await actions(rt, "reply_decision") if r.content.startswith("started")
        ]
        assert [r.message_id for r in started] == [ids[-1]]
        assert json.loads(started[0].metadata)["message_ids"] == [str(i) for i in ids]


async def test_typing_shows_while_generating_and_a_stop_word_cancels_the_reply(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    # The model takes 20 s: typing shows when the job starts and is refreshed every 8 s
    # until "clanker stop" at 12 s cancels the reply; nothing is sent but the acknowledgement.
    world = World(llm_delay=20.0)
    async with product_tree(tmp_path, world) as (rt, w):
        await configure(rt, FAST)
        t0 = trio.current_time()
        await post(rt, message(10, "clanker, write me an essay"))
        await trio.sleep(12)
        w.llm_delay = 0.0  # the acknowledgement's call answers at once
        await post(rt, message(10, "clanker stop"))
        await trio.sleep(30)
        assert [(at - t0, c) for at, c in w.typing] == [(1.25, 10), (9.25, 10)]
        # The acknowledgement is the model's second call's line.
        assert w.texts(10) == ["answer 2"]
        assert "cancelled: stop_requested" in await decisions(rt)
