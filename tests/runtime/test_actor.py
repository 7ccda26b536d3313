"""tell / ask, typed errors, unhandled messages, the wire check and the registry."""

from __future__ import annotations

import msgspec
import pytest
import trio
import trio.testing

from clanker.runtime import (
    Actor,
    ActorCrashed,
    ActorStopped,
    AskTimeout,
    ChildSpec,
    InvalidMessage,
    Message,
    NameTaken,
    NotRegistered,
    SupervisorSpec,
    UnexpectedReply,
    UnhandledMessage,
    WireCheckError,
    handles,
    open_runtime,
)
from clanker.runtime import events as ev

from .helpers import Crash, Log, Ping, Pong, Slow, Unknown, of_type, probe


async def test_tell_then_ask_preserves_order(autojump_clock: trio.testing.MockClock) -> None:
    class Add(Message, frozen=True):
        n: int

    class Total(Message, frozen=True):
        pass

    class Sum(Message, frozen=True):
        value: int

    class Adder(Actor):
        def __init__(self) -> None:
            self.total = 0

        @handles(Add)
        async def add(self, msg: Add) -> None:
            self.total += msg.n

        @handles(Total)
        async def get(self, msg: Total) -> Sum:
            return Sum(value=self.total)

    async with open_runtime(
        SupervisorSpec(children=[ChildSpec("adder", Adder, register="adder")])
    ) as rt:
        adder = rt.lookup("adder")
        for n in range(1, 11):
            await adder.tell(Add(n=n))
        assert await adder.ask(Total(), Sum) == Sum(value=55)
        assert trio.current_time() == 0.0


async def test_ask_times_out_at_exactly_its_timeout(autojump_clock: trio.testing.MockClock) -> None:
    log: Log = []
    async with open_runtime(SupervisorSpec(children=[probe("a", log)])) as rt:
        a = rt.lookup("a")
        with pytest.raises(AskTimeout) as info:
            await a.ask(Slow(seconds=100.0), timeout=2.5)
        assert trio.current_time() == 2.5
        assert info.value.timeout == 2.5
        assert "root/a did not answer Slow within 2.5 s" in str(info.value)
        # The actor is still busy with the slow request: the next ask queues behind it.
        assert await a.ask(Ping(n=7), Pong, timeout=200.0) == Pong(n=7, incarnation=1)
        assert trio.current_time() == 100.0


async def test_ask_to_crashing_handler_gets_actor_crashed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    async with open_runtime(SupervisorSpec(children=[probe("a", log)])) as rt:
        a = rt.lookup("a")
        with pytest.raises(ActorCrashed) as info:
            await a.ask(Crash(reason="kaput"))
        assert info.value.error_type == "RuntimeError"
        assert info.value.error == "kaput"
        assert "root/a crashed handling Crash: RuntimeError: kaput" in str(info.value)
        # Restarted with fresh state; the same ref reaches the new incarnation.
        assert await a.ask(Ping(n=1), Pong) == Pong(n=1, incarnation=2)


async def test_unhandled_ask_is_a_typed_error_and_tell_a_counted_drop(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    async with open_runtime(SupervisorSpec(children=[probe("a", log)])) as rt:
        a = rt.lookup("a")
        with pytest.raises(UnhandledMessage) as info:
            await a.ask(Unknown())
        assert "does not handle Unknown" in str(info.value)
        assert "Ping" in str(info.value)
        async with rt.events.subscribe() as events:
            await a.tell(Unknown())
            await a.tell(Unknown())
            assert await a.ask(Ping(n=3), Pong) == Pong(n=3, incarnation=1)
            drops = of_type(events.pending(), ev.UnhandledDropped)
        assert [d.unhandled for d in drops] == [1, 2]
        node = rt.snapshot().find("root/a")
        assert node is not None and node.mailbox is not None
        assert node.mailbox.unhandled == 2
        assert node.restarts == 0  # never a crash


async def test_unexpected_reply_type(autojump_clock: trio.testing.MockClock) -> None:
    log: Log = []
    async with open_runtime(SupervisorSpec(children=[probe("a", log)])) as rt:
        with pytest.raises(UnexpectedReply, match="answered with Pong, expected Ping"):
            await rt.lookup("a").ask(Ping(), Ping)


async def test_messages_must_be_frozen_structs(autojump_clock: trio.testing.MockClock) -> None:
    class Mutable(msgspec.Struct):
        n: int

    log: Log = []
    async with open_runtime(SupervisorSpec(children=[probe("a", log)])) as rt:
        a = rt.lookup("a")
        with pytest.raises(InvalidMessage, match="frozen msgspec Structs, got dict"):
            await a.tell({"n": 1})  # type: ignore[arg-type]
        with pytest.raises(InvalidMessage, match="declare it with frozen=True"):
            await a.tell(Mutable(n=1))


class HoldsAnEvent(Message, frozen=True):
    event: object


class Ratio(Message, frozen=True):
    value: tuple[int, int]


class LooseList(Message, frozen=True):
    items: object


async def test_wire_check_rejects_what_cannot_cross_a_process(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    async with open_runtime(SupervisorSpec(children=[probe("a", log)]), wire_check=True) as rt:
        a = rt.lookup("a")
        with pytest.raises(WireCheckError, match="HoldsAnEvent cannot cross a process boundary"):
            await a.tell(HoldsAnEvent(event=lambda: None))
        # trio.Event is an attrs class: it encodes as {} and so comes back different.
        with pytest.raises(WireCheckError, match="HoldsAnEvent changed in a msgpack round trip"):
            await a.tell(HoldsAnEvent(event=trio.Event()))
        # A tuple typed as `object` comes back as a list: the copy differs, so it is caught.
        with pytest.raises(WireCheckError, match="changed in a msgpack round trip"):
            await a.tell(LooseList(items=(1, 2)))
        await a.tell(Ratio(value=(1, 2)))  # typed fields survive


async def test_wire_check_off_lets_local_only_messages_through(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    async with open_runtime(SupervisorSpec(children=[probe("a", log)]), wire_check=False) as rt:
        await rt.lookup("a").tell(LooseList(items=(1, 2)))  # would fail the wire check


async def test_wire_check_is_on_in_the_suite(autojump_clock: trio.testing.MockClock) -> None:
    async with open_runtime(SupervisorSpec()) as rt:
        assert rt.wire_check is True


async def test_wire_check_covers_replies(autojump_clock: trio.testing.MockClock) -> None:
    class BadReply(Actor):
        @handles(Ping)
        async def ping(self, msg: Ping) -> LooseList:
            return LooseList(items=(1,))

    spec = SupervisorSpec(children=[ChildSpec("b", BadReply, register="b")])
    async with open_runtime(spec, wire_check=True) as rt:
        with pytest.raises(WireCheckError):
            await rt.lookup("b").ask(Ping())
        assert rt.snapshot().find("root/b").restarts == 0  # type: ignore[union-attr]


async def test_registry(autojump_clock: trio.testing.MockClock) -> None:
    log: Log = []
    spec = SupervisorSpec(
        children=[
            probe("a", log),
            ChildSpec("workers", SupervisorSpec(), register="workers"),
        ]
    )
    async with open_runtime(spec) as rt:
        assert rt.registered == ["a", "workers"]
        assert rt.lookup("a").path == "root/a"
        assert rt.lookup_supervisor("workers").path == "root/workers"
        with pytest.raises(NotRegistered, match="no actor is registered as 'nobody'"):
            rt.lookup("nobody")
        with pytest.raises(NotRegistered, match="registered, but not as a actor"):
            rt.lookup("workers")
        workers = rt.lookup_supervisor("workers")
        await workers.start_child(probe("w1", log))
        with pytest.raises(NameTaken, match="'a' is already registered by root/a"):
            await workers.start_child(probe("w2", log, register="a"))
        assert rt.whereis("w1") is not None
        await workers.terminate_child("w1")
        assert rt.whereis("w1") is None


async def test_stopped_actor_refuses_messages(autojump_clock: trio.testing.MockClock) -> None:
    log: Log = []
    spec = SupervisorSpec(children=[ChildSpec("dyn", SupervisorSpec(), register="dyn")])
    async with open_runtime(spec) as rt:
        dyn = rt.lookup_supervisor("dyn")
        ref = await dyn.start_child(probe("w", log))
        assert not isinstance(ref, type(dyn))
        await dyn.terminate_child("w")
        with pytest.raises(ActorStopped, match="root/dyn/w cannot take messages"):
            await ref.tell(Ping())  # type: ignore[union-attr]
        with pytest.raises(ActorStopped):
            await ref.ask(Ping())  # type: ignore[union-attr]


async def test_queued_asks_fail_when_the_actor_is_removed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: Log = []
    spec = SupervisorSpec(children=[ChildSpec("dyn", SupervisorSpec(), register="dyn")])
    async with open_runtime(spec) as rt:
        dyn = rt.lookup_supervisor("dyn")
        await dyn.start_child(probe("w", log, shutdown=1.0))
        w = rt.lookup("w")
        errors: list[str] = []

        async def ask_slow() -> None:
            try:
                await w.ask(Slow(seconds=10.0), timeout=60.0)
            except ActorStopped as exc:
                errors.append(f"slow: {exc}")

        async def ask_queued() -> None:
            try:
                await w.ask(Ping(), timeout=60.0)
            except ActorStopped as exc:
                errors.append(f"queued: {exc}")

        async with trio.open_nursery() as n:
            n.start_soon(ask_slow)
            await trio.testing.wait_all_tasks_blocked()
            n.start_soon(ask_queued)
            await trio.testing.wait_all_tasks_blocked()
            await dyn.terminate_child("w")
        assert trio.current_time() == 1.0  # killed at its 1 s shutdown deadline
        assert sorted(errors) == [
            "queued: root/dyn/w cannot take messages: it was removed before handling this",
            "slow: root/dyn/w cannot take messages: it was stopped while handling Slow",
        ]


async def test_actor_background_task_crash_is_an_actor_crash(
    autojump_clock: trio.testing.MockClock,
) -> None:
    from clanker.runtime import ActorContext

    class Ticker(Actor):
        async def on_start(self, ctx: ActorContext) -> None:
            if ctx.incarnation == 1:
                ctx.start_soon(self.fail_later)

        async def fail_later(self) -> None:
            await trio.sleep(3)
            raise ValueError("tick failed")

        @handles(Ping)
        async def ping(self, msg: Ping) -> Pong:
            return Pong(n=msg.n)

    spec = SupervisorSpec(children=[ChildSpec("t", Ticker, register="t")])
    async with open_runtime(spec) as rt, rt.events.subscribe() as events:
        await trio.sleep(5)
        crashes = of_type(events.pending(), ev.ActorCrashed)
        assert [(c.path, c.at, c.error_type, c.error) for c in crashes] == [
            ("root/t", 3.0, "ValueError", "tick failed")
        ]
        assert "fail_later" in crashes[0].traceback
        assert await rt.lookup("t").ask(Ping(n=1), Pong) == Pong(n=1)
        assert rt.snapshot().find("root/t").restarts == 1  # type: ignore[union-attr]
