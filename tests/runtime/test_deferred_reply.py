"""Deferred replies: an actor answers asks later, from background tasks (virtual time)."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from clanker.runtime import (
    Actor,
    ActorContext,
    ActorStopped,
    AskTimeout,
    ChildSpec,
    InvalidMessage,
    Message,
    Reply,
    SupervisorSpec,
    handles,
    open_runtime,
)


class Work(Message, frozen=True):
    seconds: float
    label: str = ""


class Done(Message, frozen=True):
    label: str
    finished_at: float


class Notes(Message, frozen=True):
    pass


class NoteList(Message, frozen=True):
    abandoned_at: tuple[float, ...]


class Crash(Message, frozen=True):
    pass


class Tell(Message, frozen=True):
    pass


class Worker(Actor):
    """Answers each Work after `seconds`, many at a time; notes abandoned asks."""

    def __init__(self) -> None:
        self.abandoned_at: list[float] = []

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx

    @handles(Work)
    async def work(self, msg: Work) -> None:
        reply = self.ctx.defer_reply()
        assert reply is self.ctx.defer_reply()  # the same reply for the same ask
        self.ctx.start_soon(self._do, msg, reply)

    async def _do(self, msg: Work, reply: Reply) -> None:
        async with trio.open_nursery() as nursery:

            async def watch() -> None:
                await reply.wait_abandoned()
                self.abandoned_at.append(trio.current_time())
                nursery.cancel_scope.cancel()

            nursery.start_soon(watch)
            await trio.sleep(msg.seconds)
            if msg.label == "bad":
                with pytest.raises(InvalidMessage):
                    reply.send("not a message")
            else:
                reply.send(Done(label=msg.label, finished_at=trio.current_time()))
            assert reply.done
            nursery.cancel_scope.cancel()

    @handles(Notes)
    async def notes(self, msg: Notes) -> NoteList:
        return NoteList(abandoned_at=tuple(self.abandoned_at))

    @handles(Crash)
    async def crash(self, msg: Crash) -> None:
        raise RuntimeError("boom")

    @handles(Tell)
    async def told(self, msg: Tell) -> None:
        with pytest.raises(RuntimeError, match="outside the handling of an ask"):
            self.ctx.defer_reply()
        self.abandoned_at.append(-1.0)


def spec() -> SupervisorSpec:
    return SupervisorSpec(children=[ChildSpec("w", Worker, register="w")])


async def test_deferred_asks_run_concurrently(autojump_clock: trio.testing.MockClock) -> None:
    async with open_runtime(spec()) as rt:
        w = rt.lookup("w")
        results: dict[str, Done] = {}

        async def ask(label: str, seconds: float) -> None:
            results[label] = await w.ask(Work(seconds=seconds, label=label), Done, timeout=10)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask, "slow", 3.0)
            nursery.start_soon(ask, "fast", 1.0)
            nursery.start_soon(ask, "mid", 2.0)
        # Each finished after its own time: none waited behind another.
        assert {k: v.finished_at for k, v in results.items()} == {
            "fast": 1.0,
            "mid": 2.0,
            "slow": 3.0,
        }
        assert trio.current_time() == 3.0
        # The mailbox was free meanwhile: a plain ask is answered at once.
        assert (await w.ask(Notes(), NoteList)).abandoned_at == ()


async def test_a_timed_out_ask_is_abandoned(autojump_clock: trio.testing.MockClock) -> None:
    async with open_runtime(spec()) as rt:
        w = rt.lookup("w")
        with pytest.raises(AskTimeout):
            await w.ask(Work(seconds=10.0), Done, timeout=1.5)
        assert trio.current_time() == 1.5
        await trio.testing.wait_all_tasks_blocked()
        assert (await w.ask(Notes(), NoteList)).abandoned_at == (1.5,)


async def test_a_cancelled_asker_abandons_the_ask(autojump_clock: trio.testing.MockClock) -> None:
    async with open_runtime(spec()) as rt:
        w = rt.lookup("w")
        with trio.move_on_after(0.5):
            await w.ask(Work(seconds=10.0), Done, timeout=100)
        await trio.testing.wait_all_tasks_blocked()
        assert (await w.ask(Notes(), NoteList)).abandoned_at == (0.5,)


async def test_pending_replies_fail_when_the_actor_crashes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_runtime(spec()) as rt:
        w = rt.lookup("w")
        failures: list[BaseException] = []

        async def ask() -> None:
            try:
                await w.ask(Work(seconds=10.0), Done, timeout=100)
            except ActorStopped as exc:
                failures.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask)
            await trio.sleep(1.0)
            await w.tell(Crash())
        assert trio.current_time() == 1.0
        assert len(failures) == 1
        assert "stopped before answering" in str(failures[0])


async def test_bad_deferred_values_and_misuse_are_reported(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_runtime(spec()) as rt:
        w = rt.lookup("w")
        with pytest.raises(InvalidMessage):
            await w.ask(Work(seconds=1.0, label="bad"), Done, timeout=5)
        await w.tell(Tell())
        assert (await w.ask(Notes(), NoteList)).abandoned_at == (-1.0,)
