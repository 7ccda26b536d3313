"""Automations end to end in the product tree on virtual time: the automation tools in the
reply registry, the real scheduler over the real Store (SQLite in ``tmp_path``), the guild
router, sessions and channel actors, a scripted model and the test bridge. A member asks in
plain words, the model calls ``automation_create``, and the task posts at its time, through
the reply path, across restarts of the whole tree, exactly once per fire."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio
import trio.testing

from clanker.guilds import ROUTER_NAME, GuildsConfig, SessionConfig
from clanker.guilds.channel import ChannelConfig
from clanker.llm.model import ToolCall
from clanker.runtime import Runtime
from clanker.schedule.actor import SCHEDULER_NAME, ListJobs, SchedulerConfig, scheduler_child
from clanker.store import pin_calendar
from clanker.store.jobs import GetRuns, JobRows, RunRows
from clanker.text.tool_registry import ToolRegistry
from clanker.tools.automation_tools import automation_tools

from .tree import BOB, FAST, World, actions, configure, message, post, product_tree

START = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)  # 09:00 in Paris
HOUR = 3600.0
DAY = 86_400.0
WEATHER = {
    "title": "weather",
    "instruction": "post a two-line weather summary for Paris",
    "schedule": "daily",
    "time": "10:00",
    "timezone": "Europe/Paris",
}


def call(name: str, arguments: dict[str, Any], n: int = 1) -> tuple[ToolCall, ...]:
    return (
        ToolCall(
            id=f"call-{n}", name=name, arguments=arguments, raw_arguments=json.dumps(arguments)
        ),
    )


def config() -> GuildsConfig:
    return GuildsConfig(
        session=SessionConfig(channel=ChannelConfig(tools=ToolRegistry(automation_tools())))
    )


LATE = [scheduler_child(SchedulerConfig(handlers={"automation": ROUTER_NAME}))]


def tree(tmp_path: Path, world: World) -> Any:
    return product_tree(tmp_path, world, config(), late=LATE)


async def runs(rt: Runtime) -> list[tuple[str, str | None, str]]:
    rows = await rt.lookup("store").ask(GetRuns(), RunRows)
    return [(r.scheduled_for, r.outcome, r.detail) for r in reversed(rows.rows)]


async def tool_results(rt: Runtime, name: str) -> list[str]:
    return [row.content for row in await actions(rt, f"tool_{name}")]


async def test_a_daily_task_asked_for_in_chat_posts_at_its_time_across_restarts(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pin_calendar(START)
    t0 = trio.current_time()
    asked = World(tool_calls=lambda n: call("automation_create", WEATHER) if n == 1 else ())
    async with tree(tmp_path, asked) as (rt, w):
        await configure(rt, FAST)
        await post(rt, message(10, "clanker, every day at 10 post the weather for Paris here"))
        await trio.sleep(10)
        assert w.texts(10) == ["answer 2"]  # the model's confirmation, after the tool
        assert await tool_results(rt, "automation_create") == [
            "Scheduled: #1 'weather': every day at 10:00 (Europe/Paris), next "
            "2026-12-05 10:00 CET in <#10> (active)."
        ]
        assert "automation_create" in [t.name for t in w.requests[0].tools]
    # The process stops before the fire; a new one starts on the same database.
    later = World(answer=lambda n: json.dumps({"text": f"weather post {n}"}))
    async with tree(tmp_path, later) as (rt, w):
        await configure(rt, FAST)
        await trio.sleep(t0 + HOUR + 30 - trio.current_time())
        assert w.texts(10) == ["weather post 1"]
        # The run's model call came at 09:00 UTC exactly plus the channel's coalescing
        # window (1 s) and its edge grace (0.25 s).
        assert w.llm_times == [t0 + HOUR + 1.25]
        prompt = w.prompts[0]
        assert (
            "[SCHEDULED TASK 'weather' (every day at 10:00 (Europe/Paris), asked for by alice); "
            "this run is for 2026-12-05 10:00 CET. Do now what it says, in a message to this "
            "channel: post a two-line weather summary for Paris]"
        ) in prompt
        assert w.requests[0].tools == ()  # a run is never offered the automation tools
        assert w.sent[0].reply_to is None  # nothing to reply to: the run is not a message
        assert w.requests[0].context.purpose == "automation"  # its llm_call row says so
        assert await runs(rt) == [("2026-12-05T09:00:00.000+00:00", "ok", "sent")]
    # Restarted again right after that fire: the fire is not run a second time, and the
    # next day's is.
    again = World(answer=lambda n: json.dumps({"text": f"next day {n}"}))
    async with tree(tmp_path, again) as (rt, w):
        await configure(rt, FAST)
        await trio.sleep(t0 + HOUR + DAY + 30 - trio.current_time())
        assert w.texts(10) == ["next day 1"]
        assert w.llm_times == [t0 + HOUR + DAY + 1.25]
        assert [r[:2] for r in await runs(rt)] == [
            ("2026-12-05T09:00:00.000+00:00", "ok"),
            ("2026-12-06T09:00:00.000+00:00", "ok"),
        ]


async def test_list_pause_resume_and_delete_by_number(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pin_calendar(START)
    t0 = trio.current_time()
    script = {
        1: call("automation_create", WEATHER),
        3: call("automation_pause", {"id": 1}),
        5: call("automation_list", {}),
        7: call("automation_resume", {"id": 1}),
        10: call("automation_delete", {"id": 1}),
        12: call("automation_pause", {"id": 7}),
    }
    async with tree(tmp_path, World(tool_calls=lambda n: script.get(n, ()))) as (rt, w):
        await configure(rt, FAST)
        for text in ("every day at 10 the weather", "pause it", "what is scheduled?"):
            await post(rt, message(10, f"clanker, {text}"))
            await trio.sleep(10)
        assert (await tool_results(rt, "automation_pause"))[0] == (
            "Paused: #1 'weather': every day at 10:00 (Europe/Paris) in <#10> (paused)."
        )
        assert await tool_results(rt, "automation_list") == [
            "#1 'weather': every day at 10:00 (Europe/Paris) in <#10> (paused)"
        ]
        await trio.sleep(t0 + HOUR + 60 - trio.current_time())
        assert w.llm_calls == 6  # the paused task did not run at 10:00
        await post(rt, message(10, "clanker, resume the weather"))
        await trio.sleep(10)
        assert (await tool_results(rt, "automation_resume"))[0] == (
            "Resumed: #1 'weather': every day at 10:00 (Europe/Paris), next 2026-12-06 10:00 "
            "CET in <#10> (active)."
        )
        await trio.sleep(t0 + HOUR + DAY + 60 - trio.current_time())
        assert w.llm_calls == 9 and w.llm_times[-1] == t0 + HOUR + DAY + 1.25  # it ran again
        for text in ("delete the weather", "pause task 7"):
            await post(rt, message(10, f"clanker, {text}"))
            await trio.sleep(10)
        assert (await tool_results(rt, "automation_delete"))[0].startswith("Deleted: #1")
        assert (await tool_results(rt, "automation_pause"))[1] == (
            "Not done: this server has no scheduled task #7."
        )
        jobs = await rt.lookup(SCHEDULER_NAME).ask(ListJobs(kind="automation"), JobRows)
        assert jobs.rows == ()
        await trio.sleep(2 * DAY)
        assert w.llm_calls == 13  # deleted: no more runs


async def test_who_may_make_them_the_cap_and_bad_requests_are_refused_with_the_reason(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pin_calendar(START)
    hourly = {"title": "ping", "instruction": "say hi", "schedule": "interval"}
    script = {
        1: call("automation_create", WEATHER),  # alice: not allowed
        3: call("automation_create", {**hourly, "every_minutes": 60}),  # bob: allowed
        5: call("automation_create", {**hourly, "every_minutes": 30}),  # over the cap
        7: call("automation_create", {**WEATHER, "time": "25:00"}),
        9: call("automation_create", {**WEATHER, "timezone": "Mars/Olympus"}),
        11: call("automation_create", {**WEATHER, "schedule": "once", "at": "2026-12-04T10:00"}),
    }
    async with tree(tmp_path, World(tool_calls=lambda n: script.get(n, ()))) as (rt, _w):
        await configure(rt, {**FAST, "automations": {"creator_user_ids": [str(BOB)]}})
        await configure(rt, {"automations": {"max_per_guild": 1}})
        await post(rt, message(10, "clanker, weather every day at 10"))
        await trio.sleep(10)
        for _ in range(5):
            await post(rt, message(10, "clanker, schedule something", author=BOB))
            await trio.sleep(10)
        assert await tool_results(rt, "automation_create") == [
            "Not done: you are not one of the members allowed to manage automations here.",
            "Scheduled: #1 'ping': every 1 hour(s), next 2026-12-05 09:00 UTC in <#10> (active).",
            "Not done: this server already has 1 automations (at most 1); delete one first.",
            "Not scheduled: daily needs time as HH:MM (24-hour), got '25:00'.",
            "Not scheduled: unknown time zone 'Mars/Olympus' (use an IANA name such as "
            "'Europe/Paris').",
            "Not scheduled: that time has already passed.",
        ]


async def test_turned_off_the_tools_are_not_offered_and_a_due_run_is_not_run(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pin_calendar(START)
    t0 = trio.current_time()
    asked = World(tool_calls=lambda n: call("automation_create", WEATHER) if n == 1 else ())
    async with tree(tmp_path, asked) as (rt, w):
        await configure(rt, FAST)
        await post(rt, message(10, "clanker, every day at 10 post the weather"))
        await trio.sleep(10)
        await configure(rt, {"automations": {"enabled": False}})
        await post(rt, message(10, "clanker, anything new?"))
        await trio.sleep(10)
        assert not any(t.name.startswith("automation_") for t in w.requests[-1].tools)
        await trio.sleep(t0 + HOUR + 60 - trio.current_time())
        assert w.llm_calls == 3  # no run
        assert await runs(rt) == [
            ("2026-12-05T09:00:00.000+00:00", "failed", "not run: automations are turned off")
        ]


async def test_a_fire_missed_while_down_runs_once_at_start_saying_how_late(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pin_calendar(START)
    t0 = trio.current_time()
    asked = World(tool_calls=lambda n: call("automation_create", WEATHER) if n == 1 else ())
    async with tree(tmp_path, asked) as (rt, w):
        await configure(rt, FAST)
        await post(rt, message(10, "clanker, every day at 10 post the weather"))
        await trio.sleep(10)
    await trio.sleep(t0 + 3.5 * HOUR - trio.current_time())  # down over the 09:00 UTC fire
    later = World(answer=lambda n: json.dumps({"text": f"late weather {n}"}))
    async with tree(tmp_path, later) as (rt, w):
        await configure(rt, FAST)
        await trio.sleep(60)
        assert w.texts(10) == ["late weather 1"]
        assert "It runs 2:30:00 late (clanker was not running)." in w.prompts[0]
        assert await runs(rt) == [("2026-12-05T09:00:00.000+00:00", "ok", "sent")]
        await trio.sleep(DAY)
        assert w.texts(10) == ["late weather 1", "late weather 2"]  # then on time again
