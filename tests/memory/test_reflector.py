"""The reflector in the product tree (real Store, settings, scheduler and memory service; the
test Llm) on trio's MockClock: when a channel is reflected on, what the model is shown, what is
kept, and what a fresh incarnation knows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio
import trio.testing

from clanker.automations.view import Names
from clanker.llm.model import LlmRequest
from clanker.memory.reflector import (
    JOB_KEY,
    KIND,
    REFLECTOR_NAME,
    Reflected,
    ReflectNow,
    ReflectorConfig,
    reflector_child,
)
from clanker.memory.service import MemoryConfig, memory_child
from clanker.memory.view import reflection_view
from clanker.runtime import Runtime
from clanker.schedule.actor import ListJobs, SchedulerConfig, scheduler_child
from clanker.store import ActionRow, StoreMessage, pin_calendar, to_iso
from clanker.store.facts import FactRows, GetFacts
from clanker.store.jobs import GetRuns, JobRows, RunRows

from ..guilds.tree import ALICE, BOB, FAST, GUILD, World, actions, configure, crash, message, post
from ..guilds.tree import product_tree as guild_tree
from .test_service import BagOfWords

START = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
MIN = 60.0
HOUR = 3600.0
QUIET = FAST


def reflecting(request: LlmRequest) -> bool:
    return request.context.purpose == "reflection"


def fact(person: int | None, text: str, evidence: list[int], **kw: Any) -> dict[str, Any]:
    return {
        "subject": kw.pop("subject", "person" if person else "lore"),
        "person_id": str(person) if person else None,
        "fact": text,
        "type": kw.pop("type", "preference"),
        "confidence": kw.pop("confidence", 0.8),
        "evidence": [str(e) for e in evidence],
        "supersedes": kw.pop("supersedes", None),
    }


class Brain:
    """What the test Llm answers: ``facts`` (a function of the reflection prompt) to a
    reflection, a skip to anything else; the reflection prompts and their times."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.facts: Any = lambda prompt: []
        self.prompts: list[tuple[float, str]] = []

    def __call__(self, n: int) -> str:
        request = self.world.requests[-1]
        if not reflecting(request):
            return json.dumps({"text": "", "skip": True, "reaction": None})
        text = request.messages[0].parts[0].text  # type: ignore[union-attr]
        self.prompts.append((self.world.llm_times[-1], text))
        return json.dumps({"facts": self.facts(text)})


def late() -> list[Any]:
    return [
        scheduler_child(SchedulerConfig(handlers={KIND: REFLECTOR_NAME})),
        reflector_child(ReflectorConfig()),
    ]


def tree(tmp_path: Path, world: World) -> Any:
    memory = memory_child(MemoryConfig(embedder=BagOfWords()))
    return guild_tree(tmp_path, world, extra=[memory], late=late())


def world_and_brain() -> tuple[World, Brain]:
    world = World()
    brain = Brain(world)
    world.answer = brain
    return world, brain


async def facts_of(rt: Runtime, *keys: str) -> list[str]:
    rows = await rt.lookup("store").ask(GetFacts(owner_keys=keys), FactRows)
    return sorted(r.fact for r in rows.rows)


async def runs(rt: Runtime) -> list[dict[str, Any]]:
    rows: list[ActionRow] = await actions(rt, "memory_reflection")
    return [{**json.loads(r.metadata), "channel": r.channel_id} for r in rows]


async def test_a_quiet_channel_is_reflected_on_once_and_the_fact_keeps_its_evidence(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pin_calendar(START)
    t0 = trio.current_time()
    world, brain = world_and_brain()
    async with tree(tmp_path, world) as (rt, _w):
        await configure(rt, QUIET)
        await trio.sleep(30)
        first = await post(rt, message(10, "I just adopted a ferret named Bob", author=ALICE))
        await trio.sleep(5)
        second = await post(rt, message(10, "nice! mine is a cat", author=BOB))
        brain.facts = lambda prompt: [
            fact(ALICE, "has a ferret named Bob", [first]),
            fact(BOB, "has a cat", [second, 424242]),  # an id not in the window is dropped
            fact(777, "is a ghost", [first]),  # not someone who spoke here: left out
        ]
        await trio.sleep(40 * MIN)
        # the last message from a person at +35 s; quiet 10 min later; the poll is per minute
        assert [round(t - t0, 3) for t, _ in brain.prompts] == [11 * MIN]
        prompt = brain.prompts[0][1]
        assert prompt.startswith("MEMORY REFLECTION: a channel's recent conversation")
        assert f"| alice ({ALICE}) | [guild:{GUILD} channel:10 message:{first}]" in prompt
        assert "I just adopted a ferret named Bob" in prompt
        assert await facts_of(rt, f"user:{ALICE}") == ["has a ferret named Bob"]
        rows = await rt.lookup("store").ask(GetFacts(owner_keys=(f"user:{BOB}",)), FactRows)
        assert [(r.fact, r.evidence_ids, r.channel_id) for r in rows.rows] == [
            ("has a cat", (second,), 10)
        ]
        [run] = await runs(rt)
        assert run["run"] == "micro" and run["trigger"] == "quiet" and run["channel"] == 10
        assert (run["outcome"], run["written"], run["messages"]) == ("done", 2, 2)
        assert run["last_message_id"] == second
        assert any("777" in p for p in run["problems"])
        # the dashboard's reflection panel reads the action the reflector really logged
        [row] = await actions(rt, "memory_reflection")
        stored = {r.id: r for r in rows.rows}
        shown = reflection_view(row, stored, Names())
        assert (shown.run, shown.trigger, shown.outcome, shown.channel_id) == (
            "micro",
            "quiet",
            "done",
            "10",
        )
        assert (shown.messages, shown.written, shown.metadata_problem) == (2, 2, None)
        assert shown.window_from is not None and shown.window_to is not None
        assert any("777" in p for p in shown.problems) and shown.model is not None
        assert [f.id for f in shown.facts] == run["fact_ids"]
        assert [f.fact for f in shown.facts if f.fact is not None] == ["has a cat"]  # BOB's row


async def test_a_fresh_incarnation_does_not_reflect_twice_and_reads_only_what_is_new(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pin_calendar(START)
    t0 = trio.current_time()
    world, brain = world_and_brain()
    async with tree(tmp_path, world) as (rt, _w):
        await configure(rt, QUIET)
        await post(rt, message(10, "my favourite band is Low", author=ALICE))
        await trio.sleep(12 * MIN)
        assert [round(t - t0, 3) for t, _ in brain.prompts] == [10 * MIN]
        await crash(rt, REFLECTOR_NAME)
        await trio.sleep(15 * MIN)
        assert len(brain.prompts) == 1  # the mark came back from the action log
        later = await post(rt, message(10, "I moved to Lisbon", author=ALICE))
        await trio.sleep(12 * MIN)
        assert len(brain.prompts) == 2
        t, prompt = brain.prompts[1]
        assert "I moved to Lisbon" in prompt and "favourite band" not in prompt
        assert f"message:{later}" in prompt
        # posted at +1620.01 s (the crash helper waits 0.01 s), quiet at +2220.01: the poll
        # after it, at +2280 s (the restarted poll keeps the minute: it restarted at +720 s)
        assert round(t - t0, 3) == 38 * MIN

    # a new process on the same Store: nothing is reflected again
    world2, brain2 = world_and_brain()
    async with tree(tmp_path, world2) as (rt, _w):
        await trio.sleep(45 * MIN)
        assert brain2.prompts == []


async def test_context_pressure_reflects_early_with_a_cooldown(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pin_calendar(START)
    t0 = trio.current_time()
    world, brain = world_and_brain()
    async with tree(tmp_path, world) as (rt, _w):
        # 6 recent messages in a prompt: reflect early at 2 from people since the last run
        await configure(rt, {**QUIET, "reply_generation": {"context_messages": 6}})
        for n in range(5):
            await trio.sleep(5 if n == 0 else 20)
            await post(rt, message(11, f"line {n}", author=ALICE if n % 2 else BOB))
        # lines at +5, +25, +45, +65, +85 s; the poll at +60 s sees 3: pressure (no earlier
        # run, so no cooldown); at +120 s 2 more, but the run was 60 s ago (a 2-minute
        # cooldown): not yet; at +180 s they are reflected on
        await trio.sleep(20 * MIN)
        got = [(round(t - t0), p.count("| [guild")) for t, p in brain.prompts]
        assert got == [(60, 3), (180, 2)]
        assert [r["trigger"] for r in await runs(rt)] == ["pressure", "pressure"]


async def test_the_daily_reflection_runs_at_four_for_each_past_day_once(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pin_calendar(datetime(2026, 12, 5, 22, 0, tzinfo=UTC))
    t0 = trio.current_time()
    world, brain = world_and_brain()
    async with tree(tmp_path, world) as (rt, _w):
        await configure(rt, {**QUIET, "memory": {"reflection": {"quiet_minutes": 240}}})
        said = await post(rt, message(12, "we call the lounge 'the burrow' here", author=BOB))
        await rt.lookup("store").ask(  # a voice line, as the voice brain stores it
            StoreMessage(
                message_id=(1 << 40) | (0x3FF << 12) | 1,
                guild_id=GUILD,
                channel_id=50,
                author_id=ALICE,
                author_name="alice",
                content="the burrow is the best channel",
                created_at=to_iso(START),
            )
        )
        brain.facts = lambda prompt: (
            [fact(None, "calls the lounge 'the burrow'", [said], type="other")]
            if "a day of the server" in prompt
            else []
        )
        await trio.sleep(8 * HOUR)
        jobs = await rt.lookup("scheduler").ask(ListJobs(kind=KIND), JobRows)
        assert [j.job_key for j in jobs.rows] == [JOB_KEY]
        daily = [(round(t - t0), p) for t, p in brain.prompts if "a day of the server" in p]
        assert [t for t, _ in daily] == [6 * 3600]  # 2026-12-06 04:00 UTC
        assert "2026-12-05 (UTC)" in daily[0][1]
        assert " voice] the burrow is the best channel" in daily[0][1]
        assert await facts_of(rt, f"guild:{GUILD}") == ["calls the lounge 'the burrow'"]
        day_runs = [r for r in await runs(rt) if r["run"] == "daily"]
        assert [(r["day"], r["outcome"], r["trigger"]) for r in day_runs] == [
            ("2026-12-05", "done", "schedule")
        ]

    # the next day's run, in a new process: 12-05 is done, 12-06 had nothing
    world2, brain2 = world_and_brain()
    async with tree(tmp_path, world2) as (rt, _w):
        await trio.sleep(t0 + 31 * HOUR - trio.current_time())
        assert [p for _, p in brain2.prompts if "a day of the server" in p] == []


async def test_reflect_now_and_a_bad_answer_is_kept_out(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pin_calendar(START)
    world, brain = world_and_brain()
    async with tree(tmp_path, world) as (rt, _w):
        await configure(rt, QUIET)
        ref = rt.lookup(REFLECTOR_NAME)
        nothing = await ref.ask(ReflectNow(guild_id=GUILD, channel_id=13), Reflected)
        assert nothing.outcome == "nothing"
        said = await post(rt, message(13, "I am allergic to cats", author=ALICE))
        await trio.sleep(1)
        brain.facts = lambda prompt: "oops"  # not a list: the whole answer is refused
        bad = await ref.ask(ReflectNow(guild_id=GUILD, channel_id=13), Reflected)
        assert (bad.outcome, bad.fact_ids) == ("empty", ())
        more = await post(rt, message(13, "seriously, very allergic", author=ALICE))
        await trio.sleep(1)
        brain.facts = lambda prompt: [
            fact(ALICE, "is allergic to cats", [said], type="profile"),  # an earlier window's
            fact(ALICE, "is very allergic to cats", [more], type="profile"),
        ]
        good = await ref.ask(ReflectNow(guild_id=GUILD, channel_id=13), Reflected)
        assert good.outcome == "done" and len(good.fact_ids) == 1
        assert await facts_of(rt, f"user:{ALICE}") == ["is very allergic to cats"]
        first, second = await runs(rt)
        assert first["trigger"] == "manual" and "no facts list" in first["problems"][0]
        assert "no evidence" in second["problems"][0]


async def test_nothing_is_reflected_on_while_reflection_is_off(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pin_calendar(datetime(2026, 12, 5, 22, 0, tzinfo=UTC))
    world, brain = world_and_brain()
    async with tree(tmp_path, world) as (rt, _w):
        await configure(rt, {**QUIET, "memory": {"reflection": {"enabled": False}}})
        await post(rt, message(10, "I collect vintage radios", author=ALICE))
        await trio.sleep(8 * HOUR)  # past the quiet wait and the 04:00 daily run
        assert brain.prompts == []
        runs = await rt.lookup("store").ask(GetRuns(), RunRows)
        assert [(r.job_key, r.outcome, r.detail) for r in runs.rows] == [
            (JOB_KEY, "ok", "not run: memory.reflection.enabled is off")
        ]
