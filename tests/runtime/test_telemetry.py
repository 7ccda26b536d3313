"""The runtime event stream and the tree snapshot."""

from __future__ import annotations

import msgspec
import pytest
import trio
import trio.testing

from clanker.runtime import ChildSpec, SupervisorSpec, open_runtime
from clanker.runtime import events as ev

from .helpers import Crash, Log, of_type, probe


async def test_crash_and_restart_events_in_order(autojump_clock: trio.testing.MockClock) -> None:
    log: Log = []
    spec = SupervisorSpec(children=[probe("a", log)])
    async with open_runtime(spec) as rt, rt.events.subscribe() as events:
        await trio.sleep(2.0)
        await rt.lookup("a").tell(Crash(reason="bad input"))
        await trio.testing.wait_all_tasks_blocked()
        got = events.pending()
    assert [type(e).__name__ for e in got] == ["ActorCrashed", "ActorStarted", "ActorRestarted"]
    crashed, started, restarted = got
    assert isinstance(crashed, ev.ActorCrashed)
    assert (crashed.path, crashed.at, crashed.error) == ("root/a", 2.0, "bad input")
    assert isinstance(started, ev.ActorStarted) and started.incarnation == 2
    assert isinstance(restarted, ev.ActorRestarted) and restarted.restarts == 1
    # Events decode as one tagged union: what the dashboard will receive.
    wire = msgspec.json.encode(got)
    assert msgspec.json.decode(wire, type=list[ev.AnyRuntimeEvent]) == got


async def test_slow_subscriber_loses_oldest_events_not_the_runtime(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    spec = SupervisorSpec(children=[probe("a", log)], intensity=100)
    async with open_runtime(spec) as rt:
        slow = rt.events.open(capacity=2)
        for _ in range(5):
            await rt.lookup("a").tell(Crash())
            await trio.testing.wait_all_tasks_blocked()
        kept = slow.pending()
        assert slow.dropped == 13  # 5 x (crashed, started, restarted) = 15 events into 2 slots
        assert [type(e).__name__ for e in kept] == ["ActorStarted", "ActorRestarted"]
        assert of_type(kept, ev.ActorRestarted)[0].restarts == 5
        rt.events.close(slow)
        assert rt.events.subscriber_count == 0


async def test_subscriptions_end_when_the_runtime_stops(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    seen: list[str] = []
    spec = SupervisorSpec(children=[probe("a", log)])
    # The nursery outlives the runtime: the follower's loop must end by itself once the tree
    # is down, or this test would hang.
    async with trio.open_nursery() as nursery, open_runtime(spec) as rt:
        sub = rt.events.open()

        async def follow() -> None:
            async for event in sub:
                seen.append(type(event).__name__)

        nursery.start_soon(follow)
    assert seen == ["ActorStopped", "ActorStopped"]  # a, then root


async def test_snapshot_shape(autojump_clock: trio.testing.MockClock) -> None:
    log: Log = []
    spec = SupervisorSpec(
        children=[probe("a", log), ChildSpec("team", SupervisorSpec(children=[probe("b", log)]))]
    )
    async with open_runtime(spec) as rt:
        await rt.lookup("b").tell(Crash())
        await trio.testing.wait_all_tasks_blocked()
        snap = rt.snapshot()
        as_json = msgspec.json.decode(msgspec.json.encode(snap))
    assert as_json == {
        "name": "root",
        "path": "root",
        "kind": "supervisor",
        "status": "running",
        "restarts": 0,
        "incarnation": 1,
        "mailbox": None,
        "children": [
            {
                "name": "a",
                "path": "root/a",
                "kind": "actor",
                "status": "running",
                "restarts": 0,
                "incarnation": 1,
                "mailbox": {
                    "depth": 0,
                    "capacity": 64,
                    "overflow": "block",
                    "dropped": 0,
                    "unhandled": 0,
                },
                "children": [],
            },
            {
                "name": "team",
                "path": "root/team",
                "kind": "supervisor",
                "status": "running",
                "restarts": 0,
                "incarnation": 1,
                "mailbox": None,
                "children": [
                    {
                        "name": "b",
                        "path": "root/team/b",
                        "kind": "actor",
                        "status": "running",
                        "restarts": 1,
                        "incarnation": 2,
                        "mailbox": {
                            "depth": 0,
                            "capacity": 64,
                            "overflow": "block",
                            "dropped": 0,
                            "unhandled": 0,
                        },
                        "children": [],
                    }
                ],
            },
        ],
    }
    assert snap.find("root/team/b") is not None and snap.find("root/nope") is None


def test_subscription_capacity_is_validated() -> None:
    bus = ev_bus()
    with pytest.raises(ValueError, match="subscription capacity must be an integer >= 1, got 0"):
        bus.open(capacity=0)


def ev_bus() -> object:
    from clanker.runtime import EventBus

    return EventBus()
