"""Mailbox bounds and overflow policies: block, drop_oldest, drop_newest."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from clanker.runtime import (
    Actor,
    ChildSpec,
    MailboxFull,
    MailboxSpec,
    Message,
    MessageDropped,
    Overflow,
    SupervisorSpec,
    handles,
    open_runtime,
)
from clanker.runtime import events as ev

from .helpers import of_type


class Item(Message, frozen=True):
    n: int


class Seen(Message, frozen=True):
    items: tuple[int, ...]


class Query(Message, frozen=True):
    pass


class Gate(Actor):
    """Parks on the first Item until the test opens the gate, then records items in order."""

    def __init__(self, gate: trio.Event) -> None:
        self.seen: list[int] = []
        self.gate = gate

    @handles(Item)
    async def item(self, msg: Item) -> None:
        await self.gate.wait()
        self.seen.append(msg.n)

    @handles(Query)
    async def query(self, msg: Query) -> Seen:
        return Seen(items=tuple(self.seen))


def gated(policy: Overflow, capacity: int, opened: trio.Event) -> SupervisorSpec:
    mailbox = MailboxSpec(capacity, policy)
    return SupervisorSpec(
        children=[ChildSpec("g", lambda: Gate(opened), mailbox=mailbox, register="g")]
    )


async def test_drop_oldest_keeps_exactly_the_newest_n(
    autojump_clock: trio.testing.MockClock,
) -> None:
    opened = trio.Event()
    async with open_runtime(gated(Overflow.DROP_OLDEST, 3, opened)) as rt:
        g = rt.lookup("g")
        await g.tell(Item(n=0))  # taken by the actor, which now waits at the gate
        await trio.testing.wait_all_tasks_blocked()
        for n in range(1, 11):
            await g.tell(Item(n=n))
        node = rt.snapshot().find("root/g")
        assert node is not None and node.mailbox is not None
        assert (node.mailbox.depth, node.mailbox.dropped) == (3, 7)
        opened.set()
        await trio.testing.wait_all_tasks_blocked()  # let it drain before asking
        assert await g.ask(Query(), Seen) == Seen(items=(0, 8, 9, 10))


class Collector(Actor):
    """Records every item, in order, as soon as it arrives."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    @handles(Item)
    async def item(self, msg: Item) -> None:
        self.seen.append(msg.n)

    @handles(Query)
    async def query(self, msg: Query) -> Seen:
        return Seen(items=tuple(self.seen))


def collector(policy: Overflow, capacity: int) -> SupervisorSpec:
    mailbox = MailboxSpec(capacity, policy)
    return SupervisorSpec(children=[ChildSpec("c", Collector, mailbox=mailbox, register="c")])


async def test_drop_oldest_order_and_counts(autojump_clock: trio.testing.MockClock) -> None:
    async with open_runtime(collector(Overflow.DROP_OLDEST, 4)) as rt:
        c = rt.lookup("c")
        for n in range(20):
            assert c.try_tell(Item(n=n))  # no checkpoint: the actor cannot drain meanwhile
        # Item 0 went straight to the waiting actor; 1..19 and then the Query compete for 4
        # slots: 1..16 are evicted, the newest three items and the Query remain.
        assert await c.ask(Query(), Seen) == Seen(items=(0, 17, 18, 19))
        node = rt.snapshot().find("root/c")
        assert node is not None and node.mailbox is not None
        assert node.mailbox.dropped == 16


async def test_drop_newest_keeps_the_first_n(autojump_clock: trio.testing.MockClock) -> None:
    async with (
        open_runtime(collector(Overflow.DROP_NEWEST, 4)) as rt,
        rt.events.subscribe() as events,
    ):
        c = rt.lookup("c")
        results = [c.try_tell(Item(n=n)) for n in range(10)]
        # Item 0 goes straight to the waiting actor, 1..4 fill the buffer, the rest are dropped.
        assert results == [True] * 5 + [False] * 5
        with pytest.raises(MailboxFull, match="root/c's mailbox is full"):
            await c.ask(Query())
        await trio.testing.wait_all_tasks_blocked()
        assert await c.ask(Query(), Seen) == Seen(items=(0, 1, 2, 3, 4))
        overflows = of_type(events.pending(), ev.MailboxOverflow)
        assert [e.dropped for e in overflows] == [1, 2, 3, 4, 5]


async def test_block_policy_applies_backpressure(autojump_clock: trio.testing.MockClock) -> None:
    class SlowWorker(Actor):
        mailbox = MailboxSpec(2, Overflow.BLOCK)

        @handles(Item)
        async def item(self, msg: Item) -> None:
            await trio.sleep(1.0)

    spec = SupervisorSpec(children=[ChildSpec("w", SlowWorker, register="w")])
    async with open_runtime(spec) as rt:
        w = rt.lookup("w")
        sent_at = []
        for n in range(6):
            await w.tell(Item(n=n))
            sent_at.append(trio.current_time())
        # 1 in the handler + 2 buffered go at once; each later one waits for a slot.
        assert sent_at == [0.0, 0.0, 0.0, 1.0, 2.0, 3.0]
        assert not w.try_tell(Item(n=99))  # full: refused without waiting
        node = rt.snapshot().find("root/w")
        assert node is not None and node.mailbox is not None
        assert (node.mailbox.capacity, node.mailbox.overflow, node.mailbox.dropped) == (
            2,
            "block",
            0,
        )


async def test_evicted_ask_gets_message_dropped(autojump_clock: trio.testing.MockClock) -> None:
    async with open_runtime(gated(Overflow.DROP_OLDEST, 1, trio.Event())) as rt:
        g = rt.lookup("g")
        await g.tell(Item(n=0))  # parks on the gate
        await trio.testing.wait_all_tasks_blocked()
        outcome: list[str] = []

        async def asker() -> None:
            try:
                await g.ask(Query(), timeout=10)
            except MessageDropped as exc:
                outcome.append(str(exc))

        async with trio.open_nursery() as n:
            n.start_soon(asker)
            await trio.testing.wait_all_tasks_blocked()
            await g.tell(Item(n=1))  # evicts the queued Query
        assert outcome == [
            "root/g's mailbox overflowed (policy drop_oldest) and evicted this Query"
        ]
        assert trio.current_time() == 0.0


def test_mailbox_spec_validation() -> None:
    with pytest.raises(ValueError, match="capacity must be an integer >= 1, got 0"):
        MailboxSpec(0)
    with pytest.raises(ValueError, match="'sideways' is not a valid Overflow"):
        MailboxSpec(4, "sideways")  # type: ignore[arg-type]


async def test_a_factory_hiding_the_class_mailbox_is_reported(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    from clanker.runtime import (
        Actor,
        ChildSpec,
        MailboxSpec,
        Overflow,
        SupervisorSpec,
        open_runtime,
    )

    class Roomy(Actor):
        mailbox = MailboxSpec(capacity=500, overflow=Overflow.DROP_OLDEST)

    spec = SupervisorSpec(
        children=[
            ChildSpec("hidden", lambda: Roomy()),
            ChildSpec("given", lambda: Roomy(), mailbox=Roomy.mailbox),
            ChildSpec("by_class", Roomy),
        ]
    )
    with caplog.at_level("WARNING", logger="clanker.runtime"):
        async with open_runtime(spec) as rt:
            nodes = {n.name: n.mailbox for n in rt.snapshot().children}
    assert nodes["given"] is not None and nodes["given"].capacity == 500
    assert nodes["by_class"] is not None and nodes["by_class"].capacity == 500
    warned = [r.getMessage() for r in caplog.records if "declares" in r.getMessage()]
    assert len(warned) == 1
    assert warned[0].startswith("root/hidden: ")
    assert "pass mailbox=" in warned[0]
