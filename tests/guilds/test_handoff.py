"""`Handoff` (sans-IO) and a guild session keeping messages its channel actor cannot take yet
(`ChildStartFailed`), on virtual time."""

from __future__ import annotations

from pathlib import Path

import trio
import trio.testing

from clanker.guilds.handoff import GivenUp, Handoff

from .tree import FAST, GUILD, World, actions, configure, decisions, message, post, product_tree


def test_a_held_channel_is_retried_on_the_schedule_then_given_up() -> None:
    h: Handoff[str] = Handoff(delays=(0.5, 1.0))
    assert h.hold(7, "a", now=10.0) is None
    assert h.due(10.0) == [7]
    assert h.failed(7, 10.0, "channel_start_failed") is None
    assert h.next_wakeup() == 10.5 and h.due(10.4) == []
    assert h.hold(7, "b", now=10.2) is None  # behind "a"
    assert h.waiting(7)
    assert h.failed(7, 10.5, "channel_start_failed") is None
    assert h.next_wakeup() == 11.5
    gone = h.failed(7, 11.5, "channel_start_failed")
    assert gone == GivenUp(7, ("a", "b"), "channel_start_failed", 3)
    assert not h.waiting(7) and h.next_wakeup() is None


def test_handed_messages_leave_in_order_and_the_retry_state_goes_with_the_last() -> None:
    h: Handoff[str] = Handoff(delays=(0.5, 1.0))
    for item in ("a", "b", "c"):
        h.hold(1, item, now=0.0)
    h.hold(2, "x", now=0.0)
    h.failed(1, 0.0, "channel_start_failed")
    assert h.items(1) == ["a", "b", "c"]
    h.handed(1)
    assert h.items(1) == ["b", "c"]
    assert h.failed(1, 0.5, "channel_start_failed") is None  # attempts kept: now the 2nd
    assert h.next_wakeup() == 0.0 and h.due(0.5) == [2]  # channel 2 was never tried
    h.handed(1)
    h.handed(1)
    assert not h.waiting(1) and h.held == 1


def test_a_full_handoff_gives_up_the_newest_message_at_once() -> None:
    h: Handoff[str] = Handoff(max_held=2)
    h.hold(1, "a", 0.0)
    h.hold(2, "b", 0.0)
    assert h.hold(1, "c", 0.0) == GivenUp(1, ("c",), "handoff_full", 0)
    assert h.held == 2


def test_retry_all_now_makes_every_channel_due() -> None:
    h: Handoff[str] = Handoff(delays=(5.0,))
    h.hold(1, "a", 0.0)
    h.failed(1, 0.0, "no_identity")
    assert h.due(1.0) == []
    h.retry_all_now(1.0)
    assert h.due(1.0) == [1]


async def test_a_channel_start_failure_keeps_the_message_and_retries(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    world = World()
    async with product_tree(tmp_path, world) as (rt, _):
        await configure(rt, FAST)
        session = rt.lookup(f"guild:{GUILD}")
        world.fail_subscribes = 2
        start = trio.current_time()
        async with rt.events.subscribe() as events:
            await post(rt, message(10, "clanker, first"))
            await post(rt, message(10, "clanker, second"))
            await trio.sleep(10)
            seen = events.pending()
        channel = [e for e in seen if e.path.endswith("/channels/channel-10")]
        # Tries at +0 and +0.5 fail (the schedule's first two delays), the one at +1.5 starts.
        assert [(type(e).__name__, e.at - start) for e in channel] == [
            ("ActorCrashed", 0.0),
            ("ActorRemoved", 0.0),
            ("ActorCrashed", 0.5),
            ("ActorRemoved", 0.5),
            ("ActorStarted", 1.5),
        ]
        assert world.texts() == ["answer 1"]  # both messages, one batch, one answer
        assert world.fail_subscribes == 0
        node = rt.snapshot().find(session.path)
        assert node is not None and node.restarts == 0  # the session did not crash
        assert "admitted: addressed" in await decisions(rt)


async def test_when_the_channel_never_starts_the_messages_are_given_up_with_a_reason(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    world = World()
    async with product_tree(tmp_path, world) as (rt, _):
        await configure(rt, FAST)
        world.fail_subscribes = 1000
        first = await post(rt, message(10, "clanker, first"))
        second = await post(rt, message(10, "clanker, second"))
        await trio.sleep(60)
        assert world.sent == []
        rows = await actions(rt, "reply_decision")
        failed = [r for r in rows if r.content == "failed: channel_start_failed"]
        assert sorted(r.message_id for r in failed) == [first, second]
        world.fail_subscribes = 0
        await post(rt, message(10, "clanker, third"))  # the session still works
        await trio.sleep(5)
        assert world.texts() == ["answer 1"]
