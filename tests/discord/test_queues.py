"""The bridge's two queues on virtual time: the inbound FIFO (bounded, ordered, overflow
counted) and the per-channel REST lanes (order within a channel, no stall across channels)."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from clanker.discord.bridge import BridgeConfig, bridge_factory
from clanker.discord.events import MemberJoined
from clanker.discord.inbound import Inbound
from clanker.discord.lanes import Lanes


def joined(n: int) -> MemberJoined:
    return MemberJoined(guild_id=1, user_id=n, user_name=f"user{n}")


async def test_the_inbound_queue_keeps_order_and_counts_what_it_drops(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue = Inbound(capacity=3)
    assert [queue.put(joined(n)) for n in range(5)] == [True, True, True, False, False]
    assert (queue.received, queue.dropped, queue.depth) == (5, 2, 3)
    got = []
    for _ in range(3):
        got.append((await queue.wait()).user_id)  # type: ignore[attr-defined]
        queue.done()
    assert got == [0, 1, 2]
    assert (queue.routed, queue.depth) == (3, 0)


async def test_a_drain_waiting_on_an_empty_queue_wakes_on_the_next_event(
    autojump_clock: trio.testing.MockClock,
) -> None:
    queue = Inbound()
    seen: list[tuple[int, float]] = []

    async def drain() -> None:
        event = await queue.wait()
        seen.append((event.user_id, trio.current_time()))  # type: ignore[attr-defined]

    async with trio.open_nursery() as nursery:
        nursery.start_soon(drain)
        await trio.sleep(2.5)
        queue.put(joined(7))
    assert seen == [(7, 2.5)]


def test_an_inbound_queue_needs_room() -> None:
    with pytest.raises(ValueError, match="at least 1 event, got 0"):
        Inbound(capacity=0)
    with pytest.raises(ValueError, match=r"BridgeConfig\.event_queue must be at least 1"):
        BridgeConfig(token="t", route_to="r", event_queue=0)


def test_every_bridge_incarnation_shares_its_slots_inbound_queue() -> None:
    factory = bridge_factory(BridgeConfig(token="t", route_to="r", event_queue=5))
    first, second = factory(), factory()
    assert first is not second and first.inbound is second.inbound
    assert first.inbound.capacity == 5


async def test_lanes_keep_order_within_a_channel_and_never_stall_another(
    autojump_clock: trio.testing.MockClock,
) -> None:
    done: list[tuple[str, float]] = []

    def job(name: str, seconds: float):  # type: ignore[no-untyped-def]
        async def run() -> None:
            await trio.sleep(seconds)
            done.append((name, trio.current_time()))

        return run

    async with trio.open_nursery() as nursery:
        lanes = Lanes(nursery, idle=10.0)
        assert lanes.submit(1, job("a1 (rate limited)", 5.0)) is None
        assert lanes.submit(1, job("a2", 1.0)) is None
        assert lanes.submit(2, job("b1", 1.0)) is None
        assert lanes.active == 2
        await trio.sleep(7)
        assert done == [("b1", 1.0), ("a1 (rate limited)", 5.0), ("a2", 6.0)]
        # Idle lanes end on their own: b's at 1 + 10 s, a's at 6 + 10 s.
        await trio.sleep(4.5)
        assert lanes.active == 1
        await trio.sleep(5)
        assert lanes.active == 0
        nursery.cancel_scope.cancel()


async def test_a_full_lane_and_too_many_lanes_refuse_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def forever() -> None:
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        lanes = Lanes(nursery, depth=1, max_lanes=2)
        assert lanes.submit(1, forever) is None
        await trio.testing.wait_all_tasks_blocked()  # the first one is running, not queued
        assert lanes.submit(1, forever) is None
        assert lanes.submit(1, forever) == "channel 1 already has 1 command(s) waiting"
        assert lanes.submit(2, forever) is None
        assert lanes.submit(3, forever) == "too many channels busy at once (2 lanes)"
        assert lanes.refused == 2
        nursery.cancel_scope.cancel()
