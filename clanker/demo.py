"""`clanker demo`: watch a supervision tree keep a flaky worker alive.

A feeder hands jobs to a worker that crashes on some of them (chosen by the seeded random
source). Its supervisor restarts it; the ledger, in another branch, never notices. Every runtime
event is printed as it happens, and the tree is drawn at the end.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio

from clanker.runtime import (
    Actor,
    ActorContext,
    ActorNode,
    ChildSpec,
    Message,
    Runtime,
    Strategy,
    SupervisorSpec,
    handles,
    open_runtime,
)
from clanker.runtime import events as ev


class Job(Message, frozen=True):
    """A unit of work for the worker."""

    n: int


class Done(Message, frozen=True):
    """The worker finished job ``n``."""

    n: int


class Tally(Message, frozen=True):
    """Ask the ledger how many jobs were done."""


class Count(Message, frozen=True):
    """The ledger's answer."""

    done: int


class Ledger(Actor):
    """Counts finished jobs; lives in a different branch from the flaky worker."""

    def __init__(self) -> None:
        self.done = 0

    @handles(Done)
    async def record(self, msg: Done) -> None:
        self.done += 1

    @handles(Tally)
    async def tally(self, msg: Tally) -> Count:
        return Count(done=self.done)


class Worker(Actor):
    """Does jobs; about one in four makes it crash."""

    def __init__(self) -> None:
        self.ctx: ActorContext | None = None

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx

    @handles(Job)
    async def work(self, msg: Job) -> None:
        assert self.ctx is not None
        if self.ctx.random.random() < 0.25:
            raise RuntimeError(f"job {msg.n} hit a bug")
        await self.ctx.lookup("notifier").tell(Done(n=msg.n))


class Notifier(Actor):
    """Passes finished jobs on to the ledger; declared after the worker, so under rest_for_one
    it is restarted whenever the worker is."""

    def __init__(self) -> None:
        self.ctx: ActorContext | None = None

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx

    @handles(Done)
    async def forward(self, msg: Done) -> None:
        assert self.ctx is not None
        await self.ctx.lookup("ledger").tell(msg)


class Feeder(Actor):
    """Sends the worker a job every half second from 0.25 s on. It is declared first, so the
    worker's restarts never reset it and its ticks never fall on a whole or half second."""

    async def on_start(self, ctx: ActorContext) -> None:
        ctx.start_soon(self.feed, ctx)

    async def feed(self, ctx: ActorContext) -> None:
        n = 0
        await trio.sleep(0.25)
        while True:
            n += 1
            await ctx.lookup("worker").tell(Job(n=n))
            await trio.sleep(0.5)


def demo_tree() -> SupervisorSpec:
    """root ─ ledger, and a rest_for_one "jobs" branch: feeder, worker, notifier."""
    jobs = SupervisorSpec(
        Strategy.REST_FOR_ONE,
        [
            ChildSpec("feeder", Feeder, register="feeder"),
            ChildSpec("worker", Worker, register="worker"),
            ChildSpec("notifier", Notifier, register="notifier"),
        ],
        intensity=5,
        period=5.0,
    )
    return SupervisorSpec(
        Strategy.ONE_FOR_ONE,
        [ChildSpec("ledger", Ledger, register="ledger"), ChildSpec("jobs", jobs)],
    )


def describe(event: ev.AnyRuntimeEvent) -> str:
    """One line for a runtime event."""
    if isinstance(event, ev.ActorCrashed):
        return f"CRASHED    {event.path}: {event.error_type}: {event.error}"
    if isinstance(event, ev.ActorRestarted):
        return f"restarted  {event.path} (restart #{event.restarts})"
    if isinstance(event, ev.ActorStarted):
        return f"started    {event.path} (incarnation {event.incarnation})"
    if isinstance(event, ev.ActorStopped):
        return f"stopped    {event.path} ({event.reason})"
    if isinstance(event, ev.SupervisorEscalated):
        return f"ESCALATED  {event.path} gave up after child {event.child}"
    return f"{type(event).__name__:<10} {event.path}"


def draw(node: ActorNode, prefix: str = "", last: bool = True, top: bool = True) -> list[str]:
    """The snapshot as an indented tree."""
    mailbox = f", mailbox {node.mailbox.depth}/{node.mailbox.capacity}" if node.mailbox else ""
    label = f"{node.name} [{node.kind}, {node.status}, restarts {node.restarts}{mailbox}]"
    lines = [label if top else f"{prefix}{'└── ' if last else '├── '}{label}"]
    child_prefix = "" if top else prefix + ("    " if last else "│   ")
    for i, child in enumerate(node.children):
        lines += draw(child, child_prefix, i == len(node.children) - 1, top=False)
    return lines


async def demo_main(seconds: float, seed: int, out: Callable[[str], None]) -> Runtime:
    """Run the demo tree for ``seconds`` of trio time, printing events through ``out``."""
    out(f"clanker runtime demo: a flaky worker under supervision for {seconds:g} s (seed {seed})")
    start = trio.current_time()
    async with open_runtime(demo_tree(), seed=seed) as rt:
        out("\n".join(draw(rt.snapshot())))
        async with rt.events.subscribe() as events:
            with trio.move_on_after(seconds):
                async for event in events:
                    out(f"[{event.at - start:7.3f}s] {describe(event)}")
            done = await rt.lookup("ledger").ask(Tally(), Count)
            out(f"ledger: {done.done} jobs done; the tree now:")
            out("\n".join(draw(rt.snapshot())))
    return rt


def run_demo(seconds: float = 6.0, seed: int = 0) -> int:
    """Entry point for `clanker demo`."""
    # Every crash is printed from the event stream; the runtime's own error log would repeat it.
    logging.getLogger("clanker.runtime").setLevel(logging.CRITICAL)
    trio.run(demo_main, seconds, seed, print)
    return 0
