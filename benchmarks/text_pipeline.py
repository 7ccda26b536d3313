"""Text pipeline benchmark: the time clanker itself adds to a reply, each way, in one run.

    .venv/bin/python benchmarks/text_pipeline.py [--quick] [--messages N] [--turns N]

The whole product tree (`open_sandbox_app`: discord.py-self in the bridge, router, Store,
channel actor, Llm actor with the real Anthropic SDK) runs against the sandbox Discord and an
llmsim server that answers at once, all in one trio run, so every timestamp below is trio time
from the same clock:

* **inbound**: from the sandbox writing a member's MESSAGE_CREATE to the bot's gateway socket
  (`Sandbox.sent_dispatches`) to the model request for it arriving at llmsim
  (`RecordedRequest.at`);
* **outbound**: from llmsim finishing that response (`RecordedRequest.finished_at`) to the
  sandbox receiving the bot's ``POST /channels/{id}/messages`` with the reply
  (`RestCall.at`).

Messages are addressed to clanker ("clanker, question N") and sent one at a time: each waits
for the previous reply and a short idle pause, so nothing queues behind earlier work. Pacing is
relaxed so nothing waits on purpose: coalescing window 0, minimum gap 0, hourly cap at its
maximum (500, which bounds ``--messages``), reactions off. Targets: p50 < 15 ms and
p99 < 50 ms each way.

The breakdown splits each direction at clanker's own seams, stamped by wrapping a few of its
functions in this process only (trio time, no behaviour change):

* inbound: gateway → bridge (discord.py-self parses the dispatch, the bridge converts it) →
  channel actor (the router stores the message and routes it) → generation task started
  (brain, decision logged) → model call made (claims, history, prompt) → llmsim (Llm actor,
  SDK, HTTP);
* outbound: llmsim → model call returned (HTTP, SDK, Llm actor) → send asked of the bridge
  (parse, plan) → sandbox (bridge, discord.py-self, curl).

**Turns** (`run_turns`, a second tree and llmsim): the same inbound span for a single
addressed message with nobody typing, at the default coalescing settings (minimum gap 0), twice:
*before*, with ``activity.coalesce_grace_seconds`` set to the window (the fixed window clanker
had before typing-aware coalescing: due 6.25 s after the message), and *after*, with the
default grace (due 1.25 s after it). Then a **typed burst**: alice types (the sandbox's
TYPING_START) and posts five parts 1.4 s apart, typing again 0.2 s after each (1.4 s is longer
than the grace, so only her typing keeps the batch open): counted are the model requests and
replies it got (target: one each) and the span from its last part's MESSAGE_CREATE to the
request. One untimed warm-up turn goes first. Target: untyped p50 <= 1.5 s.

The last line is one JSON object with the figures (milliseconds).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import trio

from clanker.cli.sandbox import open_sandbox_app
from clanker.llm import LlmConfig, ProviderConfig, RetryConfig
from clanker.llmsim import JsonReply, RecordedRequest, Turn, open_llmsim
from clanker.runtime import Runtime
from clanker.sandbox import RestCall, Sandbox, SentDispatch
from clanker.settings import (
    CurrentSettings,
    GetSettings,
    Settings,
    SettingsUpdated,
    UpdateSettings,
)

KEY = "bench"
SEND_ROUTE = "POST /channels/{channel_id}/messages"
TIMEOUT = 60.0
IDLE_PAUSE = 0.05  # after each reply, so its tail (logging, the echo) is not measured as queueing
RELAXED = {
    "activity": {"coalesce_window_seconds": 0, "min_gap_seconds": 0},
    "permissions": {"max_messages_per_hour": 500, "allow_reactions": False},
}
_QUESTION = re.compile(r"question (\d+)\b")


def answer(request: RecordedRequest) -> Turn:
    """The model: answers question N with "answer N" (so each reply names its message)."""
    found = _QUESTION.findall(request.user_text.split("NEW MESSAGES")[-1])
    n = found[-1] if found else "?"
    return JsonReply({"text": f"answer {n}", "skip": False, "reaction": None})


def pct(samples: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of ``samples``."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Sample:
    """One message's stamps (trio time, seconds)."""

    n: int
    message_id: int
    dispatched: float = 0.0
    request_at: float = 0.0
    finished_at: float = 0.0
    received: float = 0.0
    seams: dict[str, float] = field(default_factory=dict)

    @property
    def inbound(self) -> float:
        return self.request_at - self.dispatched

    @property
    def outbound(self) -> float:
        return self.received - self.finished_at


def match(
    samples: list[Sample],
    dispatches: list[SentDispatch],
    requests: list[RecordedRequest],
    calls: list[RestCall],
) -> None:
    """Fill each sample's dispatch, request and receipt stamps from what the two servers
    recorded: the MESSAGE_CREATE by message id, the model request by the question number in
    its NEW MESSAGES, the bot's send by the "answer N" it carries."""
    dispatched = {
        int(d.data["id"]): d.at
        for d in dispatches
        if d.event == "MESSAGE_CREATE" and isinstance(d.data, dict)
    }
    by_n: dict[int, RecordedRequest] = {}
    for request in requests:
        if request.api is None:
            continue
        found = _QUESTION.findall(request.user_text.split("NEW MESSAGES")[-1])
        if len(found) != 1:
            raise AssertionError(f"a model request did not carry exactly one question: {found}")
        by_n.setdefault(int(found[0]), request)
    sent: dict[int, float] = {}
    for call in calls:
        if call.route != SEND_ROUTE or not isinstance(call.json, dict):
            continue
        got = re.fullmatch(r"answer (\d+)", str(call.json.get("content", "")))
        if got:
            sent.setdefault(int(got[1]), call.at)
    for s in samples:
        request = by_n[s.n]
        if request.finished_at is None:
            raise AssertionError(f"the model request for question {s.n} never finished")
        s.dispatched = dispatched[s.message_id]
        s.request_at, s.finished_at = request.at, request.finished_at
        s.received = sent[s.n]


class Seams:
    """Trio-time stamps at clanker's internal seams, keyed by question number.

    Wraps a few functions of this process's clanker modules (see the module docstring); each
    wrapper stamps, then calls the original unchanged.
    """

    def __init__(self) -> None:
        self.stamps: dict[int, dict[str, float]] = {}
        self._by_message: dict[int, int] = {}

    def note_message(self, message_id: int, n: int) -> None:
        self._by_message[message_id] = n
        self.stamps[n] = {}

    def stamp(self, message_id: int | None, name: str) -> None:
        n = self._by_message.get(message_id) if message_id is not None else None
        if n is not None:
            self.stamps[n].setdefault(name, trio.current_time())

    @contextmanager
    def installed(self) -> Iterator[None]:
        from clanker.discord import convert as convert_module
        from clanker.discord.events import MessageCreated
        from clanker.guilds import channel as channel_module

        undo: list[Callable[[], None]] = []

        def wrap(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
            original = getattr(owner, name)
            setattr(owner, name, make(original))
            undo.append(lambda: setattr(owner, name, original))

        def wrap_entry(table: dict[Any, Any], key: Any, make: Callable[[Any], Any]) -> None:
            original = table[key]
            table[key] = make(original)
            undo.append(lambda: table.__setitem__(key, original))

        seams = self

        # gateway -> bridge: the bridge turns discord.py's message into a MessageCreated.
        def make_convert(original: Any) -> Any:
            def converted(*args: Any, **kwargs: Any) -> Any:
                result = original(*args, **kwargs)
                seams.stamp(getattr(result, "message_id", None), "bridge")
                return result

            return converted

        wrap(convert_module, "message", make_convert)

        # -> channel actor: the router stored the message and routed it.
        def make_channel_message(original: Any) -> Any:
            async def message(self: Any, msg: Any) -> None:
                seams.stamp(msg.message.message_id, "channel")
                await original(self, msg)

            return message

        # Handlers are looked up in tables built with the class: swap the table entries.
        actor_class = channel_module.ChannelActor
        for table in (actor_class._dispatch, actor_class._resolved):
            wrap_entry(table, MessageCreated, make_channel_message)

        # -> generation task started; -> model call made; model returned; send asked.
        def make_generate(original: Any) -> Any:
            async def generate_reply(job: Any, deps: Any, **kwargs: Any) -> Any:
                trigger = job.trigger.message_id
                seams.stamp(trigger, "generate")
                llm = deps.llm

                class Stamped:
                    def __getattr__(self, name: str) -> Any:
                        return getattr(llm, name)

                    async def ask(self, msg: Any, *args: Any, **kw: Any) -> Any:
                        seams.stamp(trigger, "llm_asked")
                        reply = await llm.ask(msg, *args, **kw)
                        seams.stamp(trigger, "llm_returned")
                        return reply

                bridge = deps.bridge

                class StampedBridge:
                    def __getattr__(self, name: str) -> Any:
                        return getattr(bridge, name)

                    async def ask(self, msg: Any, *args: Any, **kw: Any) -> Any:
                        if type(msg).__name__ == "SendMessage":
                            seams.stamp(trigger, "send_asked")
                        return await bridge.ask(msg, *args, **kw)

                stamped = replace(deps, llm=Stamped(), bridge=StampedBridge())
                return await original(job, stamped, **kwargs)

            return generate_reply

        wrap(channel_module, "generate_reply", make_generate)
        try:
            yield
        finally:
            for restore in reversed(undo):
                restore()


async def configure(rt: Runtime, patch: dict[str, Any]) -> None:
    ref = rt.lookup("settings")
    current = await ref.ask(GetSettings(), CurrentSettings)
    reply = await ref.ask(UpdateSettings(patch=json.dumps(patch), expected_version=current.version))
    if not isinstance(reply, SettingsUpdated):
        raise RuntimeError(f"settings refused: {reply}")


async def converse(sb: Sandbox, seams: Seams, count: int, *, first: int = 0) -> list[Sample]:
    """Post ``count`` addressed questions one at a time, each after the previous reply."""
    alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
    samples = []
    for n in range(first, first + count):
        posted = sb.post_message(alice, general, f"clanker, question {n}?")
        seams.note_message(posted.id, n)
        samples.append(Sample(n, posted.id))
        with trio.fail_after(TIMEOUT):
            reply = await sb.next_bot_message(general)
        if reply.content != f"answer {n}":
            raise AssertionError(f"question {n} got {reply.content!r}")
        await trio.sleep(IDLE_PAUSE)
    return samples


SEAMS_IN = (
    ("dispatched", "bridge", "gateway → bridge (discord.py-self, conversion)"),
    ("bridge", "channel", "bridge → channel actor (store write, routing)"),
    ("channel", "generate", "channel actor → generation (brain, decision log)"),
    ("generate", "llm_asked", "generation → model call (claims, history, prompt)"),
    ("llm_asked", "request_at", "model call → llmsim (Llm actor, SDK, HTTP)"),
)
SEAMS_OUT = (
    ("finished_at", "llm_returned", "llmsim → model call returns (HTTP, SDK, Llm actor)"),
    ("llm_returned", "send_asked", "→ send asked (parse, plan)"),
    ("send_asked", "received", "send → sandbox (bridge, discord.py-self, curl)"),
)


def breakdown(samples: list[Sample], seams: Seams) -> list[tuple[str, list[float]]]:
    rows = []
    for start, end, label in (*SEAMS_IN, *SEAMS_OUT):
        spans = []
        for s in samples:
            points = {
                "dispatched": s.dispatched,
                "request_at": s.request_at,
                "finished_at": s.finished_at,
                "received": s.received,
                **seams.stamps.get(s.n, {}),
            }
            if start in points and end in points:
                spans.append(points[end] - points[start])
        rows.append((label, spans))
    return rows


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:7.2f}"


async def run(count: int, warmup: int) -> dict[str, float]:
    seams = Seams()
    async with open_llmsim(api_key=KEY, default=answer) as sim:
        llm = LlmConfig(
            providers=(
                ProviderConfig(
                    name="anthropic",
                    kind="anthropic",
                    model="claude-sonnet-4-6",
                    base_url=sim.anthropic_url,
                    api_key=KEY,
                ),
            ),
            retry=RetryConfig(max_attempts=1),
        )
        with tempfile.TemporaryDirectory() as tmp, seams.installed():
            async with open_sandbox_app(Path(tmp) / "bench.db", llm=llm) as app:
                sb = app.sandbox
                await configure(app.runtime, RELAXED)
                await converse(sb, seams, warmup, first=0)  # first calls do one-time work
                load = os.getloadavg()[0]
                cpu0, wall0 = time.process_time(), time.perf_counter()
                samples = await converse(sb, seams, count, first=warmup)
                cpu = (time.process_time() - cpu0) / count
                wall = (time.perf_counter() - wall0) / count
                match(samples, sb.sent_dispatches, sim.requests, sb.rest_calls)

    inbound = [s.inbound for s in samples]
    outbound = [s.outbound for s in samples]
    print(
        f"{count} messages (after {warmup} warm-up), one at a time; times in ms; "
        f"load average {load:.2f} at the start"
    )
    print(f"{'':52} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}")
    for label, values in (("inbound: MESSAGE_CREATE → LLM request", inbound),):
        print(f"{label:52} " + " ".join(ms(pct(values, q)) for q in (0.5, 0.95, 0.99, 1.0)))
    for label, spans in breakdown(samples, seams)[: len(SEAMS_IN)]:
        if spans:
            print(f"  {label:50} " + " ".join(ms(pct(spans, q)) for q in (0.5, 0.95, 0.99, 1.0)))
    label = "outbound: LLM last byte → POST /messages"
    print(f"{label:52} " + " ".join(ms(pct(outbound, q)) for q in (0.5, 0.95, 0.99, 1.0)))
    for label, spans in breakdown(samples, seams)[len(SEAMS_IN) :]:
        if spans:
            print(f"  {label:50} " + " ".join(ms(pct(spans, q)) for q in (0.5, 0.95, 0.99, 1.0)))
    print(
        f"process CPU per message: {cpu * 1e3:.1f} ms (everything in the run: clanker, "
        f"discord.py-self, the sandbox, llmsim); wall time per message {wall * 1e3:.1f} ms, "
        f"{IDLE_PAUSE * 1e3:.0f} ms pause included"
    )
    return {
        "inbound_p50_ms": round(pct(inbound, 0.5) * 1e3, 2),
        "inbound_p95_ms": round(pct(inbound, 0.95) * 1e3, 2),
        "inbound_p99_ms": round(pct(inbound, 0.99) * 1e3, 2),
        "outbound_p50_ms": round(pct(outbound, 0.5) * 1e3, 2),
        "outbound_p95_ms": round(pct(outbound, 0.95) * 1e3, 2),
        "outbound_p99_ms": round(pct(outbound, 0.99) * 1e3, 2),
        "mean_inbound_ms": round(statistics.fmean(inbound) * 1e3, 2),
        "mean_outbound_ms": round(statistics.fmean(outbound) * 1e3, 2),
        "cpu_per_message_ms": round(cpu * 1e3, 2),
        "load_average": round(load, 2),
    }


_TURN = re.compile(r"turn (\d+)\b")
BURST_PARTS = 5
BURST_GAP = 1.4  # between two parts of the typed burst: longer than the grace
TYPING_LEAD = 0.3  # alice types this long before her first part
TYPING_AFTER = 0.2  # and goes on typing this long after each part


def turn_answer(request: RecordedRequest) -> Turn:
    """The model for the turns: "turned N" for turn N, "burst read" for the burst."""
    new = request.user_text.split("NEW MESSAGES")[-1]
    found = _TURN.findall(new)
    text = f"turned {found[-1]}" if found else "burst read"
    return JsonReply({"text": text, "skip": False, "reaction": None})


def dispatched_at(sb: Sandbox, message_id: int) -> float:
    """When the sandbox wrote ``message_id``'s MESSAGE_CREATE to the bot's socket."""
    for d in sb.sent_dispatches:
        if (
            d.event == "MESSAGE_CREATE"
            and isinstance(d.data, dict)
            and int(d.data["id"]) == message_id
        ):
            return d.at
    raise AssertionError(f"no MESSAGE_CREATE for message {message_id}")


async def untyped_turns(
    sb: Sandbox, requests: list[RecordedRequest], count: int, first: int
) -> list[float]:
    """Post ``count`` single addressed messages with nobody typing, each after the previous
    reply; the spans MESSAGE_CREATE → model request (seconds)."""
    alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
    spans = []
    for n in range(first, first + count):
        before = len(requests)
        posted = sb.post_message(alice, general, f"clanker, turn {n}?")
        with trio.fail_after(TIMEOUT):
            reply = await sb.next_bot_message(general)
        if reply.content != f"turned {n}":
            raise AssertionError(f"turn {n} got {reply.content!r}")
        [request] = requests[before:]
        spans.append(request.at - dispatched_at(sb, posted.id))
        await trio.sleep(IDLE_PAUSE)
    return spans


async def typed_burst(sb: Sandbox, requests: list[RecordedRequest]) -> tuple[int, int, float]:
    """Alice types and posts five parts; (model requests, replies, last part → request)."""
    alice, random = sb.world.user_named("alice"), sb.world.channel_named("random")
    before, replies_before = len(requests), len(sb.bot_messages(random.id))
    start = trio.current_time()
    last = None
    sb.start_typing(alice, random)
    for k in range(BURST_PARTS):
        await trio.sleep_until(start + TYPING_LEAD + k * BURST_GAP)
        last = sb.post_message(alice, random, f"clanker, burst part {k}")
        if k < BURST_PARTS - 1:
            await trio.sleep(TYPING_AFTER)
            sb.start_typing(alice, random)  # her client, on the first key of the next part
    with trio.fail_after(TIMEOUT):
        await sb.next_bot_message(random)
    await trio.sleep(2.0)  # time for a second reply, were there one
    got = requests[before:]
    assert last is not None and got
    replies = len(sb.bot_messages(random.id)) - replies_before
    return len(got), replies, got[-1].at - dispatched_at(sb, last.id)


async def run_turns(turns: int) -> dict[str, float]:
    """The turn latency before and after typing-aware coalescing, and a typed burst."""
    async with open_llmsim(api_key=KEY, default=turn_answer) as sim:
        llm = LlmConfig(
            providers=(
                ProviderConfig(
                    name="anthropic",
                    kind="anthropic",
                    model="claude-sonnet-4-6",
                    base_url=sim.anthropic_url,
                    api_key=KEY,
                ),
            ),
            retry=RetryConfig(max_attempts=1),
        )
        defaults = Settings().activity
        fixed = defaults.coalesce_window_seconds  # grace = window: the fixed window of before
        with tempfile.TemporaryDirectory() as tmp:
            async with open_sandbox_app(Path(tmp) / "turns.db", llm=llm) as app:
                sb = app.sandbox
                await configure(
                    app.runtime,
                    {"activity": {"min_gap_seconds": 0}, "permissions": RELAXED["permissions"]},
                )
                await untyped_turns(sb, sim.requests, 1, first=0)  # one-time work, untimed
                load = os.getloadavg()[0]
                await configure(app.runtime, {"activity": {"coalesce_grace_seconds": fixed}})
                old = await untyped_turns(sb, sim.requests, turns, first=1)
                default = {"coalesce_grace_seconds": defaults.coalesce_grace_seconds}
                await configure(app.runtime, {"activity": default})
                new = await untyped_turns(sb, sim.requests, turns, first=1 + turns)
                requests, replies, burst_span = await typed_burst(sb, sim.requests)
    print(
        f"turns: {turns} single addressed messages, nobody typing, MESSAGE_CREATE → LLM "
        f"request (ms; load average {load:.2f}); window {defaults.coalesce_window_seconds:g} s"
    )
    print(f"{'':52} {'p50':>9} {'max':>9}")
    for label, spans in (
        (f"before: fixed window (grace = {fixed:g} s)", old),
        (f"after: grace {defaults.coalesce_grace_seconds:g} s", new),
    ):
        print(f"{label:52} {pct(spans, 0.5) * 1e3:9.1f} {max(spans) * 1e3:9.1f}")
    print(
        f"typed burst of {BURST_PARTS} parts {BURST_GAP:g} s apart: {requests} model "
        f"request(s), {replies} reply(ies); last part → request {burst_span * 1e3:.1f} ms"
    )
    return {
        "untyped_turn_p50_ms": round(pct(new, 0.5) * 1e3, 1),
        "untyped_turn_p50_ms_before": round(pct(old, 0.5) * 1e3, 1),
        "typed_burst_requests": requests,
        "typed_burst_replies": replies,
        "typed_burst_last_to_request_ms": round(burst_span * 1e3, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 messages instead of 300")
    parser.add_argument("--messages", type=int, default=None, help="how many messages to time")
    parser.add_argument(
        "--turns", type=int, default=None, help="untyped turns each way (default 9, --quick 3)"
    )
    args = parser.parse_args()
    count = args.messages or (60 if args.quick else 300)
    turns = args.turns or (3 if args.quick else 9)
    warmup = 10
    if count + warmup > 500:
        parser.error("at most 490 messages: the hourly cap is at most 500")
    result = trio.run(run, count, warmup)
    result.update(trio.run(run_turns, turns))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
