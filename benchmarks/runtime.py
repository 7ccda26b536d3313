"""Runtime benchmark: the actor kernel against raw trio memory channels, in one run.

    .venv/bin/python benchmarks/runtime.py [--quick]

Reports, each measured alternately against its baseline over several rounds (this machine is
noisy, so only ratios from the same run mean anything):

* tell throughput through an actor vs. a raw memory channel feeding a task (``tell_vs_raw``,
  higher is better; target >= 0.5);
* ask round-trip latency vs. a raw request/reply channel ping-pong (``ask_vs_raw``, lower is
  better; target <= 3), with p50 / p99 of both;
* the wire check's cost on tell throughput (``wire_check_cost``: time with / time without);
* memory held per idle actor: 10,000 actors under one dynamic supervisor (``bytes_per_idle_actor``,
  target <= 16 KiB), measured with tracemalloc.

The last line is one JSON object with those four figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
import tracemalloc

import trio

from clanker.runtime import (
    Actor,
    ActorRef,
    ChildSpec,
    MailboxSpec,
    Message,
    SupervisorSpec,
    handles,
    open_runtime,
)

CAPACITY = 64


class Tick(Message, frozen=True):
    n: int


class Echo(Message, frozen=True):
    n: int


class Sink(Actor):
    """Counts ticks; answers echoes."""

    mailbox = MailboxSpec(CAPACITY)

    def __init__(self) -> None:
        self.count = 0

    @handles(Tick)
    async def tick(self, msg: Tick) -> None:
        self.count += 1

    @handles(Echo)
    async def echo(self, msg: Echo) -> Echo:
        return msg


class Idle(Actor):
    """Does nothing: the unit of the memory measurement."""


async def raw_tell(n: int) -> float:
    send, recv = trio.open_memory_channel[Tick](CAPACITY)
    count = 0

    async def consumer() -> None:
        nonlocal count
        async for _msg in recv:
            count += 1

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consumer)
        t0 = time.perf_counter()
        async with send:
            for i in range(n):
                await send.send(Tick(n=i))
        # the consumer drains what is buffered when the channel closes
    elapsed = time.perf_counter() - t0
    assert count == n
    return elapsed


async def actor_tell(n: int, wire_check: bool) -> float:
    spec = SupervisorSpec(children=[ChildSpec("sink", Sink, register="sink")])
    async with open_runtime(spec, wire_check=wire_check) as rt:
        ref = rt.lookup("sink")
        t0 = time.perf_counter()
        for i in range(n):
            await ref.tell(Tick(n=i))
        await ref.ask(Echo(n=0))  # everything told before it has been handled
        elapsed = time.perf_counter() - t0
    return elapsed


async def raw_ping_pong(n: int) -> list[int]:
    req_send, req_recv = trio.open_memory_channel[Echo](CAPACITY)
    rep_send, rep_recv = trio.open_memory_channel[Echo](CAPACITY)
    samples: list[int] = []

    async def server() -> None:
        async for msg in req_recv:
            await rep_send.send(msg)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(server)
        for i in range(n):
            t0 = time.perf_counter_ns()
            await req_send.send(Echo(n=i))
            await rep_recv.receive()
            samples.append(time.perf_counter_ns() - t0)
        await req_send.aclose()
    return samples


async def actor_ask(n: int, wire_check: bool) -> list[int]:
    spec = SupervisorSpec(children=[ChildSpec("sink", Sink, register="sink")])
    samples: list[int] = []
    async with open_runtime(spec, wire_check=wire_check) as rt:
        ref: ActorRef = rt.lookup("sink")
        for i in range(n):
            t0 = time.perf_counter_ns()
            await ref.ask(Echo(n=i))
            samples.append(time.perf_counter_ns() - t0)
    return samples


async def idle_actor_bytes(count: int) -> float:
    spec = SupervisorSpec(children=[ChildSpec("pool", SupervisorSpec(), register="pool")])
    async with open_runtime(spec, wire_check=False) as rt:
        pool = rt.lookup_supervisor("pool")
        await pool.start_child(ChildSpec("warmup", Idle))  # first-use allocations
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(count):
            await pool.start_child(ChildSpec(f"idle-{i}", Idle))
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert len(pool.children()) == count + 1
    return (after - before) / count


def pct(samples: list[int], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000.0  # µs


async def main(quick: bool) -> dict[str, float]:
    rounds = 3 if quick else 7
    n_tell = 20_000 if quick else 100_000
    n_ask = 5_000 if quick else 20_000
    n_idle = 2_000 if quick else 10_000

    tell_ratios, wire_ratios = [], []
    raw_tell_rates, tell_rates = [], []
    for _ in range(rounds):
        raw = await raw_tell(n_tell)
        ours = await actor_tell(n_tell, wire_check=False)
        checked = await actor_tell(n_tell, wire_check=True)
        raw_tell_rates.append(n_tell / raw)
        tell_rates.append(n_tell / ours)
        tell_ratios.append(raw / ours)
        wire_ratios.append(checked / ours)

    ask_ratios = []
    raw_all: list[int] = []
    ask_all: list[int] = []
    for _ in range(rounds):
        raw_samples = await raw_ping_pong(n_ask)
        ask_samples = await actor_ask(n_ask, wire_check=False)
        raw_all += raw_samples
        ask_all += ask_samples
        ask_ratios.append(statistics.median(ask_samples) / statistics.median(raw_samples))

    per_actor = await idle_actor_bytes(n_idle)

    print(
        f"tell: raw channel {statistics.median(raw_tell_rates):,.0f} msg/s, "
        f"actor {statistics.median(tell_rates):,.0f} msg/s "
        f"-> ratio {statistics.median(tell_ratios):.3f} (rounds: "
        f"{', '.join(f'{r:.2f}' for r in tell_ratios)})"
    )
    print(
        f"ask round trip: raw p50 {pct(raw_all, 0.5):.1f} µs p99 {pct(raw_all, 0.99):.1f} µs; "
        f"actor p50 {pct(ask_all, 0.5):.1f} µs p99 {pct(ask_all, 0.99):.1f} µs "
        f"-> ratio {statistics.median(ask_ratios):.3f}"
    )
    print(f"wire check: tell takes {statistics.median(wire_ratios):.3f}x as long with it on")
    print(f"idle actor: {per_actor:,.0f} bytes each ({n_idle:,} under one dynamic supervisor)")
    return {
        "tell_vs_raw": round(statistics.median(tell_ratios), 3),
        "ask_vs_raw": round(statistics.median(ask_ratios), 3),
        "wire_check_cost": round(statistics.median(wire_ratios), 3),
        "bytes_per_idle_actor": round(per_actor),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and messages")
    args = parser.parse_args()
    result = trio.run(main, args.quick)
    print(json.dumps(result))
