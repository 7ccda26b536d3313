"""A channel actor that crashes with work in hand: its fresh incarnation takes up what was
admitted and never finished, exactly once, and leaves alone what was answered or decided."""

from __future__ import annotations

from pathlib import Path

import trio
import trio.testing

from .tree import FAST, World, configure, crash, decisions, message, post, product_tree


async def test_a_reply_in_flight_when_the_channel_crashes_is_taken_up_again(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    world = World(llm_delay=5.0)
    async with product_tree(tmp_path, world) as (rt, w):
        await configure(rt, FAST)
        await post(rt, message(10, "clanker, a slow question"))
        await trio.sleep(2)  # admitted at 0, the job started at 1 s, the model is thinking
        assert w.llm_calls == 1 and w.texts(10) == []
        await crash(rt, "channel:10")
        await trio.sleep(30)
        # The first call died with its job; the new incarnation asked again and sent once.
        assert w.texts(10) == ["answer 2"]
        assert w.llm_calls == 2
        found = await decisions(rt)
        assert found.count("sent: sent") == 1
        assert found.count("admitted: addressed") == 2  # once per incarnation


async def test_a_message_still_in_the_coalescing_window_is_not_lost_to_a_crash(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with product_tree(tmp_path) as (rt, w):
        await configure(rt, FAST)
        await post(rt, message(10, "clanker, are you there?"))
        await trio.sleep(0.5)  # admitted, waiting out the 1 s window: no job, no claim yet
        await crash(rt, "channel:10")
        await trio.sleep(10)
        assert w.texts(10) == ["answer 1"]


async def test_what_was_answered_or_decided_is_left_alone_after_a_crash(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    world = World(answer=lambda n: "[SKIP]" if n == 2 else f'{{"text": "answer {n}"}}')
    async with product_tree(tmp_path, world) as (rt, w):
        await configure(rt, FAST)
        await post(rt, message(10, "clanker, first"))
        await trio.sleep(5)
        await post(rt, message(10, "clanker, second (the model skips this one)"))
        await trio.sleep(5)
        assert w.texts(10) == ["answer 1"] and w.llm_calls == 2
        await crash(rt, "channel:10")
        await trio.sleep(30)
        assert w.texts(10) == ["answer 1"]
        assert w.llm_calls == 2  # nothing asked again


async def test_only_the_crashed_channel_takes_up_its_own_messages(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    world = World(llm_delay=5.0)
    async with product_tree(tmp_path, world) as (rt, w):
        await configure(rt, FAST)
        await post(rt, message(10, "clanker, in ten"))
        await post(rt, message(11, "clanker, in eleven"))
        await trio.sleep(2)
        await crash(rt, "channel:11")
        await trio.sleep(40)
        assert len(w.texts(10)) == 1 and len(w.texts(11)) == 1
