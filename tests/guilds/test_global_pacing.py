"""The global pacing rules hold across channels whose replies finish at the same instant: the
send is reserved with the pacing keeper first, so only one passes the gap at a time."""

from __future__ import annotations

from pathlib import Path

import trio
import trio.testing

from .tree import World, configure, decisions, message, post, product_tree


async def test_two_channels_finishing_together_keep_the_global_min_gap(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    world = World(llm_delay=0.0)
    async with product_tree(tmp_path, world) as (rt, w):
        t0 = trio.current_time()
        await configure(rt, {"activity": {"coalesce_window_seconds": 1.0, "min_gap_seconds": 5}})
        await post(rt, message(10, "clanker, in ten"))
        await post(rt, message(11, "clanker, in eleven"))
        await trio.sleep(30)
        times = sorted(s.at - t0 for s in w.sent)
        assert len(times) == 2
        # Both jobs started together (after the 1 s window); the second waited out the gap.
        assert times[1] - times[0] == 5.0


async def test_the_hourly_cap_holds_for_replies_finishing_together(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with product_tree(tmp_path) as (rt, w):
        await configure(
            rt,
            {
                "activity": {"coalesce_window_seconds": 1.0, "min_gap_seconds": 0},
                "permissions": {"max_messages_per_hour": 1},
            },
        )
        await post(rt, message(10, "clanker, in ten"))
        await post(rt, message(11, "clanker, in eleven"))
        await trio.sleep(30)
        assert len(w.sent) == 1
        assert "skipped: hourly_cap" in await decisions(rt)
