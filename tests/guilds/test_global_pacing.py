"""The global pacing rules hold across channels whose replies finish at the same instant: the
send is reserved with the pacing keeper first, so only one passes the gap at a time."""

from __future__ import annotations

from pathlib import Path

import trio
import trio.testing

from clanker.guilds.pacing import PACING_NAME

from .tree import World, configure, crash, decisions, message, post, product_tree


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


async def test_the_gap_counts_from_when_a_slow_send_really_went_out(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    # The first reply's send sits in the bridge for 8 s (a lane stalled, a bridge restarting):
    # the other channel's reply waits for it to go out, then for the gap — it does not land
    # right beside it (the chaos test's seed 4 found two sends 3 ms apart this way).
    world = World(send_delays=[8.0])
    async with product_tree(tmp_path, world) as (rt, w):
        await configure(rt, {"activity": {"coalesce_window_seconds": 1.0, "min_gap_seconds": 5}})
        t0 = trio.current_time()
        await post(rt, message(10, "clanker, in ten"))
        await post(rt, message(11, "clanker, in eleven"))
        await trio.sleep(40)
        times = [s.at - t0 for s in w.sent]
        # Due after the 1 s window (+0.25 s grace), out 8 s later; the next one 5 s after that.
        assert times == [9.25, 14.25]


async def test_a_send_slot_that_expired_in_the_bridge_is_reserved_again(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    # Held in the bridge past its slot's lease (10 s), the send is refused unsent; the reply
    # reserves a new slot and goes out then, once.
    world = World(send_delays=[12.0])
    async with product_tree(tmp_path, world) as (rt, w):
        await configure(rt, {"activity": {"coalesce_window_seconds": 1.0, "min_gap_seconds": 5}})
        t0 = trio.current_time()
        await post(rt, message(10, "clanker, in ten"))
        await trio.sleep(40)
        assert [e.at - t0 for e in w.expired] == [13.25]  # reserved at 1.25 s, lease 10 s
        assert [(s.at - t0, s.channel_id) for s in w.sent] == [(13.25, 10)]
        assert (await decisions(rt))[-1].startswith("sent")


async def test_a_restarted_keeper_holds_the_gap_for_a_send_still_on_its_way(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    # The keeper crashes while the first reply's send sits in the bridge: its successor sees
    # the `send_started` in the log and holds the gate until that send reports.
    world = World(send_delays=[8.0])
    async with product_tree(tmp_path, world) as (rt, w):
        await configure(rt, {"activity": {"coalesce_window_seconds": 1.0, "min_gap_seconds": 5}})
        t0 = trio.current_time()
        await post(rt, message(10, "clanker, in ten"))
        await post(rt, message(11, "clanker, in eleven"))
        await trio.sleep(3)
        await crash(rt, PACING_NAME)
        await trio.sleep(40)
        assert [s.at - t0 for s in w.sent] == [9.25, 14.25]
