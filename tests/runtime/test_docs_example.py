"""The worked example of docs/runtime.md, kept runnable (keep the two in step)."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from clanker.runtime import (
    Actor,
    ActorContext,
    ChildSpec,
    MailboxSpec,
    Message,
    Overflow,
    SupervisionGaveUp,
    SupervisorSpec,
    handles,
    open_runtime,
)


class Add(Message, frozen=True):
    n: int


class Total(Message, frozen=True):
    pass


class Sum(Message, frozen=True):
    value: int


class Adder(Actor):
    mailbox = MailboxSpec(capacity=64, overflow=Overflow.BLOCK)  # the default

    def __init__(self) -> None:
        self.total = 0  # private state: nobody else touches it

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx  # ctx.start_soon(...) for background tasks

    @handles(Add)
    async def add(self, msg: Add) -> None:
        self.total += msg.n

    @handles(Total)
    async def get(self, msg: Total) -> Sum:  # the return value is the ask's reply
        return Sum(value=self.total)


class Boom(Message, frozen=True):
    pass


class Fragile(Adder):
    @handles(Boom)
    async def boom(self, msg: Boom) -> None:
        raise RuntimeError("boom")


async def test_fourth_crash_in_five_seconds_gives_up(
    autojump_clock: trio.testing.MockClock,
) -> None:
    spec = SupervisorSpec(children=[ChildSpec("f", Fragile, register="f")])
    with pytest.raises(SupervisionGaveUp):
        async with open_runtime(spec) as rt:
            for t in (0.0, 1.0, 2.0, 3.0):
                await trio.sleep_until(t)
                await rt.lookup("f").tell(Boom())
                await trio.testing.wait_all_tasks_blocked()
            await trio.sleep(1000)  # cancelled when the root gives up
    assert trio.current_time() == 3.0  # exactly the fourth crash


async def test_inherited_handlers_still_answer(autojump_clock: trio.testing.MockClock) -> None:
    spec = SupervisorSpec(children=[ChildSpec("f", Fragile, register="f")])
    async with open_runtime(spec) as rt:
        await rt.lookup("f").tell(Add(n=2))
        assert await rt.lookup("f").ask(Total(), Sum) == Sum(value=2)
