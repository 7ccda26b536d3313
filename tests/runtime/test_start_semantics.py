"""OTP start semantics: starts happen in order and a failed start holds back what depends on it;
an abandoned dynamic start leaves no orphan; crashes reach askers as crashes; nothing queued on a
removed child disappears uncounted."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from clanker.runtime import (
    Actor,
    ActorContext,
    ActorCrashed,
    AskTimeout,
    Backoff,
    ChildSpec,
    Message,
    NotRegistered,
    Restart,
    Strategy,
    SupervisionGaveUp,
    SupervisorSpec,
    handles,
    open_runtime,
)
from clanker.runtime import events as ev
from tests.runtime.helpers import Crash, Log, Ping, Slow, events_of, of_type, probe, starts


async def test_a_failed_start_is_retried_with_backoff_before_the_next_sibling_starts(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    spec = SupervisorSpec(
        backoff=Backoff(initial=1.0, factor=2.0),
        children=[
            probe("store", log, fail_starts=2, log_up=True),
            probe("above", log, log_up=True),
        ],
    )
    async with open_runtime(spec) as rt:
        assert trio.current_time() == 3.0  # open_runtime returns once every child is up
        assert (await rt.lookup("above").ask(Ping(n=1))).n == 1
    # Two failed starts, retried after 1 s and 2 s; "above" starts only once "store" is up.
    assert events_of(log, "start") == [
        ("store", 0.0),
        ("store", 1.0),
        ("store", 3.0),
        ("above", 3.0),
    ]
    assert events_of(log, "up") == [("store", 3.0), ("above", 3.0)]


async def test_a_subtree_that_cannot_start_keeps_everything_declared_after_it_down(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    storage = SupervisorSpec(children=[probe("db", log, crash_on_start=True)])
    spec = SupervisorSpec(
        children=[ChildSpec("storage", storage), probe("router", log)], intensity=1
    )
    with pytest.raises(SupervisionGaveUp):
        async with open_runtime(spec):
            pass
    # "storage" gives up after 1 + 3 starts of "db"; root retries it once (intensity 1), then
    # gives up itself. "router" never ran.
    assert starts(log) == ["db"] * 8
    assert "router" not in starts(log)


async def test_a_group_restart_stops_at_a_member_whose_start_fails(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    spec = SupervisorSpec(
        strategy=Strategy.REST_FOR_ONE,
        children=[probe("a", log), probe("b", log, fail_starts=2), probe("c", log)],
    )
    # "b" fails its first two starts: the first at the supervisor's own start.
    async with open_runtime(spec) as rt:
        assert starts(log) == ["a", "b", "b", "b", "c"]
        log.clear()
        await rt.lookup("a").tell(Crash())
        await trio.testing.wait_all_tasks_blocked()
        # a crashed: b and c restart after it; b starts fine now (3rd incarnation onwards).
        assert starts(log) == ["a", "b", "c"]


async def test_a_group_member_that_cannot_restart_holds_back_the_members_after_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []

    class Flaky(Actor):
        """Starts fine the first time, then fails its next start (its second incarnation)."""

        async def on_start(self, ctx: ActorContext) -> None:
            log.append(("start", "b", trio.current_time()))
            if ctx.incarnation == 2:
                raise RuntimeError("b cannot start this time")

    spec = SupervisorSpec(
        strategy=Strategy.REST_FOR_ONE,
        children=[probe("a", log), ChildSpec("b", Flaky), probe("c", log)],
    )
    async with open_runtime(spec) as rt, rt.events.subscribe() as events:
        log.clear()
        await rt.lookup("a").tell(Crash())
        await trio.testing.wait_all_tasks_blocked()
        # b's failed restart stops the group there; its crash restarts b and c (never c before
        # b is up), so c runs once, after b's third incarnation.
        assert starts(log) == ["a", "b", "b", "c"]
        crashed = [e.path for e in of_type(events.pending(), ev.ActorCrashed)]
        assert crashed == ["root/a", "root/b"]


async def test_an_abandoned_start_child_is_stopped_and_removed_not_orphaned(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    spec = SupervisorSpec(children=[])
    async with open_runtime(spec) as rt, rt.events.subscribe() as events:
        sup = rt.root
        with pytest.raises(AskTimeout):
            await sup.start_child(probe("slow", log, start_delay=5.0, log_up=True), timeout=1.0)
        assert trio.current_time() == 1.0
        await trio.sleep(10)
        # It finished starting at 5 s, found its caller gone, and was stopped and removed.
        assert events_of(log, "up") == [("slow", 5.0)]
        assert events_of(log, "stop") == [("slow", 5.0)]
        assert sup.children() == []
        with pytest.raises(NotRegistered):
            rt.lookup("slow")
        removed = [(e.path, e.at) for e in of_type(events.pending(), ev.ActorRemoved)]
        assert removed == [("root/slow", 5.0)]


async def test_a_start_child_cancelled_before_it_began_starts_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    spec = SupervisorSpec(children=[probe("slow", log, start_delay=5.0, restart=Restart.TEMPORARY)])
    async with open_runtime(spec) as rt:
        sup = rt.root
        # The supervisor is busy (terminating "slow" is instant; start a second slow one and
        # give up on a third queued behind it).
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sup.start_child, probe("second", log, start_delay=5.0))
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(AskTimeout):
                await sup.start_child(probe("third", log), timeout=1.0)
        assert trio.current_time() == 10.0  # 5 s for the static child, 5 s for "second"
        await trio.testing.wait_all_tasks_blocked()
        assert "third" not in starts(log)
        assert [c.name for c in sup.children()] == ["slow", "second"]


class Work(Message, frozen=True):
    seconds: float


class Done(Message, frozen=True):
    pass


class Watcher(Actor):
    """Handles a long ask while a background task crashes one second in."""

    async def on_start(self, ctx: ActorContext) -> None:
        ctx.start_soon(self._watch)

    async def _watch(self) -> None:
        await trio.sleep(1.0)
        raise ValueError("the feed went away")

    @handles(Work)
    async def work(self, msg: Work) -> Done:
        await trio.sleep(msg.seconds)
        return Done()


async def test_a_background_crash_during_an_ask_reaches_the_asker_as_a_crash(
    autojump_clock: trio.testing.MockClock,
) -> None:
    spec = SupervisorSpec(children=[ChildSpec("w", Watcher, register="w")])
    async with open_runtime(spec) as rt:
        with pytest.raises(ActorCrashed) as caught:
            await rt.lookup("w").ask(Work(seconds=10.0), Done, timeout=100)
        assert trio.current_time() == 1.0
        assert caught.value.error_type == "ValueError"
        assert caught.value.error == "the feed went away"
        assert caught.value.message_type == "Work"


async def test_tells_queued_on_a_removed_child_are_counted_and_published(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    spec = SupervisorSpec(children=[probe("w", log, shutdown=1.0)])
    async with open_runtime(spec) as rt, rt.events.subscribe() as events:
        w = rt.lookup("w")
        await w.tell(Slow(seconds=100.0))
        for _ in range(3):
            await w.tell(Ping())
        await trio.testing.wait_all_tasks_blocked()
        # Busy with Slow for 100 s: the stop's 1 s deadline kills it with three Pings queued.
        await rt.root.terminate_child("w")
        assert trio.current_time() == 1.0
        dropped = of_type(events.pending(), ev.RemovedWithMessages)
        assert [(e.path, e.at, e.dropped, e.message_types) for e in dropped] == [
            ("root/w", 1.0, 3, ("Ping",))
        ]
