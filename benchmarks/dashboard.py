"""Dashboard benchmark: live action delivery to 20 SSE clients, and the bot's reply latency with
and without those clients, in one run.

    .venv/bin/python benchmarks/dashboard.py [--quick]

The stack is the real product in sandbox wiring (`open_sandbox_app`, as `clanker sandbox` runs
it: the sandbox Discord, discord.py-self in the DiscordBridge, the whole tree of `clanker.app` —
Store, settings, the Llm actor with the real Anthropic SDK, pacing, the guild router and channel
actors running the text brain — Telemetry and the Dashboard on Hypercorn), with the model's far
end scripted by llmsim on loopback (tests/dashboard/wiring.py; it answers at once, so the
figures are clanker's own overhead, not a model's). Settings: no coalescing wait, no gap between
replies, 500 messages an hour. The 20 SSE clients live in a separate process (as browsers
would), so their parsing does not run on the server's trio loop; both processes stamp times with
the system-wide monotonic clock.

* delivery: actions are logged one every 20 ms; for each, the delay from the moment the Store is
  asked to log it to its arrival at the *last* of the 20 clients (p50 / p99 / max), and over every
  (action, client) pair. Target: p99 < 100 ms.
* reply latency: a member's message addressed to the bot, posted in the sandbox, until the bot's
  reply lands in it, measured in alternating rounds without and with the 20 clients connected
  (the clients receive the five actions each reply logs: admitted, started, llm_call,
  sent_message, sent). Ratio of medians, with / without. Target: < 1.05. Replies are 200 ms
  apart (five a second: a very busy channel); the same is then measured back to back, where the
  scripted model answers instantly and the loop never idles, as a stress figure.

The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clanker.store import LogAction  # noqa: E402
from tests.dashboard.sse_client import open_sse  # noqa: E402
from tests.dashboard.wiring import FAST, Wired, wired_sandbox  # noqa: E402

CLIENTS = 20
GAP = 0.2  # between two replies: a busy channel; back to back is measured too, as a stress figure
# The pacing cap's maximum: a full run sends ~410 replies within the hour.
SETTINGS = {**FAST, "permissions": {"max_messages_per_hour": 500}}


# -- the client process ---------------------------------------------------------------------------


async def run_clients(url: str, token: str, count: int) -> None:
    """Connect ``count`` streams, say "ready", record arrivals until stdin closes, print them."""
    arrivals: list[dict[str, float]] = [{} for _ in range(count)]
    ready = trio.Semaphore(0)

    async def client(n: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with open_sse(url, "/api/actions/stream", headers) as stream:
            await stream.subscribed()
            ready.release()
            while True:
                event = await stream.next(timeout=float("inf"))
                if event.event == "action":
                    now = time.monotonic()
                    arrivals[n][json.loads(event.data)["content"]] = now

    async with trio.open_nursery() as nursery:
        for n in range(count):
            nursery.start_soon(client, n)
        for _ in range(count):
            await ready.acquire()
        print("ready", flush=True)
        stdin = trio.lowlevel.FdStream(sys.stdin.fileno())
        while await stdin.receive_some():
            pass
        nursery.cancel_scope.cancel()
    print(json.dumps(arrivals), flush=True)


class Clients:
    """The client process, seen from the benchmark."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self._buffer = b""

    async def line(self) -> str:
        assert self.process.stdout is not None
        while b"\n" not in self._buffer:
            chunk = await self.process.stdout.receive_some(1 << 20)
            if not chunk:
                raise RuntimeError("the client process ended early")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    async def finish(self) -> list[dict[str, float]]:
        assert self.process.stdin is not None
        await self.process.stdin.aclose()
        arrivals: list[dict[str, float]] = json.loads(await self.line())
        await self.process.wait()
        return arrivals


async def start_clients(wired: Wired) -> Clients:
    process = await trio.lowlevel.open_process(
        [sys.executable, __file__, "_clients", wired.url, wired.token, str(CLIENTS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    clients = Clients(process)
    with trio.fail_after(60):
        assert await clients.line() == "ready"
    return clients


# -- measurements ---------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def delivery(wired: Wired, actions: int) -> dict[str, float]:
    clients = await start_clients(wired)
    store = wired.store()
    sent: dict[str, float] = {}
    for i in range(actions):
        tag = f"bench-{i}"
        sent[tag] = time.monotonic()
        await store.log_action(LogAction(kind="bench_action", content=tag))
        await trio.sleep(0.02)
    await trio.sleep(0.5)  # let the last ones arrive
    arrivals = await clients.finish()
    missing = sum(1 for client in arrivals for tag in sent if tag not in client)
    if missing:
        raise RuntimeError(f"{missing} (action, client) deliveries never arrived")
    to_all = [max(client[tag] for client in arrivals) - t0 for tag, t0 in sent.items()]
    each = [client[tag] - t0 for tag, t0 in sent.items() for client in arrivals]
    ms = 1000.0
    return {
        "all_p50_ms": pct(to_all, 0.5) * ms,
        "all_p99_ms": pct(to_all, 0.99) * ms,
        "all_max_ms": max(to_all) * ms,
        "each_p50_ms": pct(each, 0.5) * ms,
        "each_p99_ms": pct(each, 0.99) * ms,
    }


async def reply_round(wired: Wired, replies: int, label: str, gap: float) -> list[float]:
    sb = wired.sandbox
    alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
    took = []
    for i in range(replies):
        start = time.monotonic()
        sb.post_message(alice, general, f"clanker, {label} {i}")
        with trio.fail_after(30):
            await sb.next_bot_message(general)
        took.append(time.monotonic() - start)
        await trio.sleep(gap)
    return took


async def reply_latency(wired: Wired, rounds: int, replies: int, gap: float) -> dict[str, float]:
    without: list[float] = []
    with_clients: list[float] = []
    await reply_round(wired, 5, "warm-up", gap)
    for r in range(rounds):
        without += await reply_round(wired, replies, f"plain-{r}", gap)
        clients = await start_clients(wired)
        with_clients += await reply_round(wired, replies, f"watched-{r}", gap)
        await clients.finish()
    ms = 1000.0
    return {
        "p50_without_ms": statistics.median(without) * ms,
        "p50_with_ms": statistics.median(with_clients) * ms,
        "ratio": statistics.median(with_clients) / statistics.median(without),
    }


async def main(quick: bool) -> None:
    actions, rounds, replies = (100, 3, 10) if quick else (400, 5, 20)
    db = Path(tempfile.mkdtemp(prefix="clanker-bench-")) / "clanker.db"
    async with wired_sandbox(db, settings=SETTINGS) as wired:
        d = await delivery(wired, actions)
        print(
            f"delivery to all {CLIENTS} clients over {actions} actions: "
            f"p50 {d['all_p50_ms']:.1f} ms, p99 {d['all_p99_ms']:.1f} ms, "
            f"max {d['all_max_ms']:.1f} ms "
            f"(per client: p50 {d['each_p50_ms']:.1f} ms, p99 {d['each_p99_ms']:.1f} ms)"
        )
        figures = dict(d)
        for name, gap in (("", GAP), ("_back_to_back", 0.0)):
            r = await reply_latency(wired, rounds, replies, gap)
            print(
                f"bot reply latency, {rounds} alternating rounds of {replies}, "
                f"{gap * 1000:.0f} ms between replies: without clients p50 "
                f"{r['p50_without_ms']:.1f} ms, with {CLIENTS} clients p50 "
                f"{r['p50_with_ms']:.1f} ms -> ratio {r['ratio']:.3f}"
            )
            figures.update({f"reply{name}_{k}": v for k, v in r.items()})
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_clients":
        trio.run(run_clients, sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        parser = argparse.ArgumentParser(description=__doc__)
        parser.add_argument("--quick", action="store_true", help="a smaller run")
        trio.run(main, parser.parse_args().quick)
