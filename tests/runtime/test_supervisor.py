"""Supervisor semantics on virtual time: strategies, restart types, intensity, shutdown order
and deadlines, escalation, dynamic children and backoff."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from clanker.runtime import (
    ActorNode,
    ActorRef,
    Backoff,
    ChildSpec,
    ChildStartFailed,
    NotRegistered,
    Restart,
    Strategy,
    SupervisionGaveUp,
    SupervisorRef,
    SupervisorSpec,
    open_runtime,
)
from clanker.runtime import events as ev

from .helpers import Crash, Log, Ping, Pong, Slow, Stop, events_of, of_type, probe, starts


def incarnations(node: ActorNode) -> dict[str, int]:
    return {c.name: c.incarnation for c in node.children}


async def test_children_start_in_order_and_stop_in_reverse(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    spec = SupervisorSpec(
        children=[probe("a", log), probe("b", log, stop_delay=2.0), probe("c", log)]
    )
    async with open_runtime(spec):
        assert starts(log) == ["a", "b", "c"]
    assert [(k, n, t) for k, n, t in log if k != "start"] == [
        ("stop", "c", 0.0),
        ("stopped", "c", 0.0),
        ("stop", "b", 0.0),
        ("stopped", "b", 2.0),  # the next sibling waits for b's graceful stop
        ("stop", "a", 2.0),
        ("stopped", "a", 2.0),
    ]


async def test_stuck_child_is_cancelled_at_its_shutdown_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    spec = SupervisorSpec(
        children=[probe("a", log), probe("stuck", log, shutdown=3.0, stop_delay=100.0)]
    )
    async with open_runtime(spec) as rt:
        events = rt.events.open()
        await trio.sleep(1.0)
    stops = [
        (e.path, e.at, e.reason) for e in events.pending() if type(e).__name__ == "ActorStopped"
    ]  # type: ignore[attr-defined]
    assert stops == [
        ("root/stuck", 4.0, "killed"),  # stop requested at 1.0, 3 s deadline
        ("root/a", 4.0, "shutdown"),
        ("root", 4.0, "shutdown"),
    ]
    assert ("stopped", "stuck", 101.0) not in log
    assert events_of(log, "stop") == [("stuck", 1.0), ("a", 4.0)]


async def test_zero_shutdown_timeout_is_brutal_kill(autojump_clock: trio.testing.MockClock) -> None:
    log: Log = []
    spec = SupervisorSpec(children=[probe("k", log, shutdown=0.0, stop_delay=5.0)])
    async with open_runtime(spec):
        pass
    assert trio.current_time() == 0.0
    assert events_of(log, "stopped") == []


async def crash(ref: ActorRef | SupervisorRef) -> None:
    assert isinstance(ref, ActorRef)
    await ref.tell(Crash())
    await trio.testing.wait_all_tasks_blocked()


async def test_one_for_one_restarts_only_the_crashed_child(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    spec = SupervisorSpec(Strategy.ONE_FOR_ONE, [probe("a", log), probe("b", log), probe("c", log)])
    async with open_runtime(spec) as rt:
        await crash(rt.lookup("b"))
        assert incarnations(rt.snapshot()) == {"a": 1, "b": 2, "c": 1}
        assert starts(log) == ["a", "b", "c", "b"]
        assert events_of(log, "stop") == []  # nobody else was stopped


async def test_one_for_all_stops_the_others_in_reverse_and_restarts_all_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    spec = SupervisorSpec(Strategy.ONE_FOR_ALL, [probe("a", log), probe("b", log), probe("c", log)])
    async with open_runtime(spec) as rt:
        log.clear()
        await crash(rt.lookup("b"))
        assert [(k, n) for k, n, _ in log if k != "stopped"] == [
            ("crash", "b"),
            ("stop", "c"),
            ("stop", "a"),
            ("start", "a"),
            ("start", "b"),
            ("start", "c"),
        ]
        node = rt.snapshot()
        assert incarnations(node) == {"a": 2, "b": 2, "c": 2}
        assert [c.restarts for c in node.children] == [1, 1, 1]


async def test_rest_for_one_restarts_exactly_the_later_siblings_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    names = ["a", "b", "c", "d"]
    spec = SupervisorSpec(Strategy.REST_FOR_ONE, [probe(n, log) for n in names])
    async with open_runtime(spec) as rt:
        log.clear()
        await crash(rt.lookup("b"))
        assert [(k, n) for k, n, _ in log if k != "stopped"] == [
            ("crash", "b"),
            ("stop", "d"),
            ("stop", "c"),
            ("start", "b"),
            ("start", "c"),
            ("start", "d"),
        ]
        assert incarnations(rt.snapshot()) == {"a": 1, "b": 2, "c": 2, "d": 2}


async def test_restart_types(autojump_clock: trio.testing.MockClock) -> None:
    log: Log = []
    spec = SupervisorSpec(
        children=[
            probe("perm", log, Restart.PERMANENT),
            probe("trans_ok", log, Restart.TRANSIENT),
            probe("trans_crash", log, Restart.TRANSIENT),
            probe("temp", log, Restart.TEMPORARY),
        ],
        intensity=10,
    )
    async with open_runtime(spec) as rt, rt.events.subscribe() as events:
        await rt.lookup("perm").tell(Stop())  # a normal exit still restarts a permanent child
        await rt.lookup("trans_ok").tell(Stop())  # a normal exit removes a transient child
        await crash(rt.lookup("trans_crash"))  # a crash restarts it
        await crash(rt.lookup("temp"))  # a temporary child is never restarted
        await trio.testing.wait_all_tasks_blocked()
        assert incarnations(rt.snapshot()) == {"perm": 2, "trans_crash": 2}
        assert rt.whereis("temp") is None and rt.whereis("trans_ok") is None
        stops = [(e.path, e.reason) for e in of_type(events.pending(), ev.ActorStopped)]
        assert stops == [("root/perm", "normal"), ("root/trans_ok", "normal")]


async def test_intensity_allows_n_restarts_and_escalates_on_the_next(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    spec = SupervisorSpec(children=[probe("w", log)], intensity=3, period=5.0)
    with pytest.raises(SupervisionGaveUp, match="more than 3 restarts within 5 s") as info:
        async with open_runtime(spec) as rt:
            w = rt.lookup("w")
            for t in (0.0, 1.0, 2.0):
                await trio.sleep_until(t)
                await crash(w)
            assert rt.snapshot().children[0].restarts == 3  # three restarts are allowed
            await trio.sleep_until(3.0)
            await crash(w)  # the fourth within 5 s is one too many
            await trio.sleep(1000)  # cancelled when the root gives up
    assert trio.current_time() == 3.0
    assert "last exit: w" in str(info.value)


@pytest.mark.parametrize(
    ("crash_times", "gives_up_at"),
    [
        ((0.0, 1.0, 2.0, 5.0), 5.0),  # the window is inclusive: 0.0 is still within [0, 5]
        ((0.0, 1.0, 2.0, 5.5), None),  # 0.0 has left the window
        ((0.0, 2.0, 4.0, 6.0, 8.0, 10.0), None),  # steady one-per-2s never exceeds 3 in 5 s
        ((0.0, 0.0, 0.0, 0.0), 0.0),  # four at the same instant
    ],
)
async def test_restart_window_boundaries(
    autojump_clock: trio.testing.MockClock,
    crash_times: tuple[float, ...],
    gives_up_at: float | None,
) -> None:
    log: Log = []
    spec = SupervisorSpec(children=[probe("w", log)], intensity=3, period=5.0)
    gave_up = False
    try:
        async with open_runtime(spec) as rt:
            for t in crash_times:
                await trio.sleep_until(t)
                await crash(rt.lookup("w"))
            await trio.sleep(100)
    except SupervisionGaveUp:
        gave_up = True
        assert trio.current_time() == gives_up_at
    assert gave_up == (gives_up_at is not None)


async def test_escalation_restarts_the_subtree_through_the_parent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    inner = SupervisorSpec(
        children=[probe("w", log), probe("sibling", log)], intensity=1, period=10
    )
    spec = SupervisorSpec(
        children=[probe("outer_peer", log), ChildSpec("inner", inner, register="inner")],
        intensity=3,
        period=5,
    )
    async with open_runtime(spec) as rt:
        events = rt.events.open()
        await crash(rt.lookup("w"))  # inner restarts w (1 of 1 allowed)
        await trio.sleep(1)
        await crash(rt.lookup("w"))  # the second within 10 s: inner gives up at t=1
        escalations = [(e.path, e.at) for e in of_type(events.pending(), ev.SupervisorEscalated)]
        assert escalations == [("root/inner", 1.0)]
        node = rt.snapshot()
        assert [(c.name, c.incarnation, c.restarts) for c in node.children] == [
            ("outer_peer", 1, 0),
            ("inner", 2, 1),
        ]
        # The new inner supervisor starts fresh children: refs are looked up again by name.
        inner_node = node.find("root/inner")
        assert inner_node is not None
        assert [(c.name, c.incarnation) for c in inner_node.children] == [("w", 1), ("sibling", 1)]
        assert await rt.lookup("w").ask(Ping(n=1), Pong) == Pong(n=1, incarnation=1)
        # The inner supervisor stopped its children in reverse order before escalating.
        assert [n for k, n, t in log if k == "stop" and t == 1.0] == ["sibling"]


async def test_dynamic_children(autojump_clock: trio.testing.MockClock) -> None:
    log: Log = []
    spec = SupervisorSpec(
        children=[ChildSpec("guilds", SupervisorSpec(intensity=5), register="guilds")]
    )
    async with open_runtime(spec) as rt:
        guilds = rt.lookup_supervisor("guilds")
        refs = {}
        for g in ("g1", "g2", "g3"):
            ref = await guilds.start_child(probe(g, log))
            assert isinstance(ref, ActorRef)
            refs[g] = ref
        assert [c.name for c in guilds.children()] == ["g1", "g2", "g3"]
        await crash(refs["g2"])  # one guild crashing leaves the others alone
        assert {c.name: (c.incarnation, c.restarts) for c in guilds.children()} == {
            "g1": (1, 0),
            "g2": (2, 1),
            "g3": (1, 0),
        }
        assert await refs["g1"].ask(Ping(n=1), Pong) == Pong(n=1, incarnation=1)
        await guilds.terminate_child("g1")
        assert [c.name for c in guilds.children()] == ["g2", "g3"]
        with pytest.raises(NotRegistered, match="root/guilds has no child named 'g1'"):
            await guilds.terminate_child("g1")
        with pytest.raises(ChildStartFailed, match="root/guilds/bad crashed while starting"):
            await guilds.start_child(probe("bad", log, crash_on_start=True))
        assert [c.name for c in guilds.children()] == ["g2", "g3"]
    assert events_of(log, "stop") == [("g1", 0.0), ("g3", 0.0), ("g2", 0.0)]


async def test_backoff_delays_restarts_exactly(autojump_clock: trio.testing.MockClock) -> None:
    log: Log = []
    spec = SupervisorSpec(
        children=[probe("w", log)],
        intensity=10,
        period=100,
        backoff=Backoff(initial=1.0, factor=2.0, maximum=3.0),
    )
    async with open_runtime(spec) as rt:
        w = rt.lookup("w")
        await crash(w)
        assert rt.snapshot().children[0].status == "restarting"
        # Told while it is down: queued in the mailbox, handled by the next incarnation.
        reply = await w.ask(Ping(n=9), Pong)
        assert reply == Pong(n=9, incarnation=2)
        assert trio.current_time() == 1.0
        await crash(w)
        await trio.sleep(10)
        await crash(w)
        await trio.sleep(10)
        assert events_of(log, "start") == [("w", 0.0), ("w", 1.0), ("w", 3.0), ("w", 14.0)]


async def test_restart_in_backoff_is_cancelled_by_shutdown(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    spec = SupervisorSpec(children=[probe("w", log)], backoff=Backoff(initial=30.0))
    async with open_runtime(spec) as rt:
        await crash(rt.lookup("w"))
    assert trio.current_time() == 0.0
    assert starts(log) == ["w"]


async def test_start_failure_of_a_static_child_counts_as_a_crash_and_holds_back_the_rest(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    spec = SupervisorSpec(children=[probe("never", log, crash_on_start=True), probe("b", log)])
    with pytest.raises(SupervisionGaveUp, match="root gave up"):
        async with open_runtime(spec):
            await trio.sleep(1)
    # The first start and three restarts (intensity 3), then the supervisor gives up; "b",
    # declared after it, never starts above a child that is not running.
    assert starts(log) == ["never", "never", "never", "never"]


async def test_graceful_stop_first_handles_what_was_queued(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    spec = SupervisorSpec(children=[probe("w", log, shutdown=10.0)])
    async with open_runtime(spec) as rt:
        w = rt.lookup("w")
        for _ in range(5):
            await w.tell(Slow(seconds=1.0))
    # All five queued messages were handled (one second each) before on_stop ran.
    assert events_of(log, "stop") == [("w", 5.0)]
    assert trio.current_time() == 5.0


async def test_draining_on_stop_is_bounded_by_the_shutdown_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    spec = SupervisorSpec(children=[probe("w", log, shutdown=2.5)])
    async with open_runtime(spec) as rt, rt.events.subscribe() as events:
        w = rt.lookup("w")
        for _ in range(5):
            await w.tell(Slow(seconds=1.0))
        await rt.shutdown()
        stops = [(e.path, e.at, e.reason) for e in of_type(events.pending(), ev.ActorStopped)]
    assert stops[0] == ("root/w", 2.5, "killed")
    assert events_of(log, "stop") == []  # never reached on_stop


@pytest.mark.parametrize("restart", [Restart.TRANSIENT, Restart.PERMANENT])
async def test_a_sibling_stopped_by_a_delayed_group_restart_is_restarted_once(
    autojump_clock: trio.testing.MockClock, restart: Restart
) -> None:
    # Its exit reaches the supervisor after the stop completed, during the backoff: that exit
    # was asked for, so it must neither remove a transient sibling nor restart one early.
    log: Log = []
    spec = SupervisorSpec(
        Strategy.ONE_FOR_ALL,
        [probe("a", log), probe("b", log, restart=restart)],
        backoff=Backoff(initial=0.5, factor=2.0, maximum=8.0),
    )
    async with open_runtime(spec) as rt:
        log.clear()
        await crash(rt.lookup("a"))
        await trio.sleep(1.0)
        assert [(k, n) for k, n, _ in log if k != "stopped"] == [
            ("crash", "a"),
            ("stop", "b"),
            ("start", "a"),
            ("start", "b"),
        ]
        assert [e[2] for e in log if e[0] == "start"] == [0.5, 0.5]
        assert incarnations(rt.snapshot()) == {"a": 2, "b": 2}


async def test_refs_are_found_by_tree_path(autojump_clock: trio.testing.MockClock) -> None:
    from clanker.runtime import ActorRef, SupervisorRef

    spec = SupervisorSpec(
        children=[ChildSpec("inner", SupervisorSpec(children=[probe("leaf", Log())]))]
    )
    async with open_runtime(spec) as rt:
        assert isinstance(rt.at("root/inner"), SupervisorRef)
        leaf = rt.at("/root/inner/leaf/")
        assert isinstance(leaf, ActorRef) and leaf.path == "root/inner/leaf"
        with pytest.raises(NotRegistered, match="tree paths start with 'root', got 'x/inner'"):
            rt.at("x/inner")
        with pytest.raises(NotRegistered, match="root/inner has no child 'nope'"):
            rt.at("root/inner/nope")
        with pytest.raises(NotRegistered, match="root/inner/leaf is an actor; it has no children"):
            rt.at("root/inner/leaf/deeper")
