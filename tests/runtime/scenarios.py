"""A supervision scenario run in its own ``trio.run`` on a MockClock, and checks of its trace.

Shared by the hypothesis property tests and the schedule-fuzz tests, which both need many
independent runs (a fresh clock and, for the fuzz, a freshly seeded scheduler each time).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import trio
import trio.testing

from clanker.runtime import ActorNode, Strategy, SupervisionGaveUp, SupervisorSpec, open_runtime

from .helpers import Crash, Log, Ping, Pong, probe


@dataclass
class Trace:
    """What one run did."""

    log: Log = field(default_factory=list)
    gave_up_at: float | None = None
    final: ActorNode | None = None
    ask_results: list[str] = field(default_factory=list)


def run_supervision(
    strategy: Strategy,
    children: int,
    crashes: list[tuple[float, int]],
    *,
    intensity: int = 3,
    period: float = 5.0,
    asks: bool = False,
) -> Trace:
    """Crash child ``i`` at virtual time ``t`` for each ``(t, i)``; record what happens.

    With ``asks``, a client keeps asking every child for a ping throughout, to race requests
    against restarts.
    """
    trace = Trace()
    names = [f"c{i}" for i in range(children)]

    async def client(rt_lookup: object, until: float) -> None:
        while trio.current_time() < until:
            for name in names:
                try:
                    reply = await rt.lookup(name).ask(Ping(n=1), Pong, timeout=1.0)
                    trace.ask_results.append(f"ok {reply.n}")
                except Exception as exc:  # record the type: every outcome must be a typed one
                    trace.ask_results.append(type(exc).__name__)
            await trio.sleep(0.25)

    async def main() -> None:
        nonlocal rt
        spec = SupervisorSpec(
            strategy, [probe(n, trace.log) for n in names], intensity=intensity, period=period
        )
        end = max((t for t, _ in crashes), default=0.0) + period + 1
        try:
            async with open_runtime(spec) as rt, trio.open_nursery() as nursery:
                if asks:
                    nursery.start_soon(client, rt, end)
                for t, index in sorted(crashes):
                    await trio.sleep_until(t)
                    nursery.start_soon(rt.lookup(names[index]).tell, Crash())
                await trio.sleep_until(end)
                trace.final = rt.snapshot()
        except SupervisionGaveUp:
            trace.gave_up_at = trio.current_time()

    rt = None  # set inside main
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return trace


def check_no_overlapping_incarnations(trace: Trace, children: int) -> None:
    """Each child alternates start, exit (crash or stop), start, …: never two alive at once."""
    for i in range(children):
        name = f"c{i}"
        kinds = [k for k, n, _ in trace.log if n == name and k in {"start", "crash", "stop"}]
        for a, b in itertools.pairwise(kinds):
            assert (a == "start") != (b == "start"), f"{name}: {kinds}"
        assert kinds[0] == "start"


def check_ordering(trace: Trace, strategy: Strategy) -> None:
    """Every run of consecutive starts is in declared order; every run of stops is reversed.

    Under one_for_one each restart is its own decision, so independent restarts at one instant
    may come in any order: only the stop order (the final shutdown) is checked there.
    """
    kinds = [("stop", False)]
    if strategy is not Strategy.ONE_FOR_ONE:
        kinds.append(("start", True))
    for kind, ascending in kinds:
        run: list[int] = []
        for k, name, _ in [*trace.log, ("end", "", math.inf)]:
            if k == kind:
                run.append(int(name[1:]))
                continue
            if k in {"stopped"}:
                continue
            assert run == sorted(run, reverse=not ascending), f"{kind} run out of order: {run}"
            run = []


def check_final_state(trace: Trace, children: int) -> None:
    """A tree that did not give up ends with every child running; one that did, with none."""
    if trace.gave_up_at is None:
        assert trace.final is not None
        assert [c.status for c in trace.final.children] == ["running"] * children
        # The runtime's shutdown stops every child gracefully, last declared first.
        tail = [(k, n) for k, n, _ in trace.log[-2 * children :]]
        expected = [(k, f"c{i}") for i in reversed(range(children)) for k in ("stop", "stopped")]
        assert tail == expected
    else:
        last_start = max(i for i, (k, _, _) in enumerate(trace.log) if k == "start")
        alive = {n for k, n, _ in trace.log[last_start:] if k == "start"}
        assert alive  # somebody was alive before giving up …
        ends = {n for k, n, _ in trace.log[last_start:] if k in {"stop", "crash"}}
        assert alive <= ends  # … and every incarnation ended


def expected_outcome(
    strategy: Strategy,
    children: int,
    crashes: list[tuple[float, int]],
    intensity: int,
    period: float,
) -> tuple[dict[str, int], float | None]:
    """The oracle for crash schedules at distinct times: starts per child and give-up time."""
    starts = {f"c{i}": 1 for i in range(children)}
    times: list[float] = []
    for t, index in sorted(crashes):
        times.append(t)
        if sum(1 for x in times if x >= t - period) > intensity:
            return starts, t
        if strategy is Strategy.ONE_FOR_ONE:
            group = [index]
        elif strategy is Strategy.ONE_FOR_ALL:
            group = list(range(children))
        else:
            group = list(range(index, children))
        for i in group:
            starts[f"c{i}"] += 1
    return starts, None
