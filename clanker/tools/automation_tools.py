"""The automation tools: a member asks in plain words, the model schedules (docs/automations.md).

``automation_create`` reads the model's arguments with `clanker.automations.policy`
(a daily time, an interval in minutes or a local date and time, in an IANA time zone that the
answer always states), checks who may make one and where (``automations.*`` settings) and the
server's cap, and asks the scheduler (`clanker.schedule.actor`) to keep it: a job of kind
``automation`` that posts in the channel it was asked in. ``automation_list``,
``automation_pause``, ``automation_resume`` and ``automation_delete`` work on this server's
automations by their number. The scheduler is found through the reply's tree
(`ToolContext.services`) when the call runs; a tree without it answers with an error.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec

from clanker.automations import names
from clanker.automations.policy import (
    CATCH_UP,
    KIND,
    MAX_LATE_SECONDS,
    AutomationError,
    describe,
    local_time,
    may_manage,
    parse_request,
    payload_for,
)
from clanker.llm.model import ToolSpec
from clanker.runtime import ActorError
from clanker.schedule.actor import (
    SCHEDULER_NAME,
    ChangeJob,
    JobScheduled,
    ListJobs,
    ScheduleJob,
    ScheduleRefused,
)
from clanker.schedule.rules import ScheduleError, decode_schedule, encode_schedule
from clanker.settings.model import Automations
from clanker.store import calendar_now
from clanker.store.jobs import JobRow, JobRows
from clanker.text.tool_registry import Tool, ToolContext, ToolOutput, ToolRun

ASK_TIMEOUT = 5.0
CREATES_PER_HOUR = 20

CREATE_SPEC = ToolSpec(
    name=names.CREATE,
    description=(
        "Schedule a task someone asks for in plain words (e.g. 'every morning at 9 post a "
        "weather summary here'): at each run you will be told the instruction and post in "
        "this channel. Say the schedule and its time zone back to them."
    ),
    parameters={
        "type": "object",
        "properties": {
            "title": {"type": "string", "description": "A short name, at most 90 characters"},
            "instruction": {
                "type": "string",
                "description": "What to do at each run, in words, at most 360 characters",
            },
            "schedule": {"type": "string", "enum": ["daily", "interval", "once"]},
            "time": {"type": "string", "description": "daily: the local time, HH:MM (24-hour)"},
            "every_minutes": {
                "type": "integer",
                "minimum": 1,
                "maximum": 10080,
                "description": "interval: minutes between runs",
            },
            "at": {
                "type": "string",
                "description": "once: the local date and time, YYYY-MM-DDTHH:MM",
            },
            "timezone": {
                "type": "string",
                "description": "IANA time zone of time/at, e.g. Europe/Paris (default: the "
                "server's)",
            },
        },
        "required": ["title", "instruction", "schedule"],
        "additionalProperties": False,
    },
)

LIST_SPEC = ToolSpec(
    name=names.LIST,
    description="List this server's scheduled tasks with their numbers, schedules and status.",
    parameters={"type": "object", "properties": {}, "additionalProperties": False},
)


def _change_spec(name: str, verb: str) -> ToolSpec:
    return ToolSpec(
        name=name,
        description=f"{verb} one of this server's scheduled tasks, by its number "
        f"(from {names.LIST}).",
        parameters={
            "type": "object",
            "properties": {"id": {"type": "integer", "minimum": 1}},
            "required": ["id"],
            "additionalProperties": False,
        },
    )


PAUSE_SPEC = _change_spec(names.PAUSE, "Pause")
RESUME_SPEC = _change_spec(names.RESUME, "Resume")
DELETE_SPEC = _change_spec(names.DELETE, "Delete")


def _settings(context: ToolContext) -> Automations:
    return context.settings.automations if context.settings is not None else Automations()


def _refused(why: str) -> ToolOutput:
    return ToolOutput(f"Not done: {why}.", is_error=True)


def _summary(job: JobRow) -> str:
    try:
        schedule = decode_schedule(job.schedule)
    except ScheduleError:
        return f"#{job.id} {job.title!r}: a schedule that cannot be read ({job.status})"
    nxt = ""
    if job.status == "active" and job.next_run_at is not None:
        nxt = f", next {local_time(datetime.fromisoformat(job.next_run_at), schedule)}"
    where = f" in <#{job.channel_id}>" if job.channel_id is not None else ""
    return f"#{job.id} {job.title!r}: {describe(schedule)}{nxt}{where} ({job.status})"


async def _jobs(context: ToolContext, scheduler: Any) -> tuple[JobRow, ...]:
    rows = await scheduler.ask(
        ListJobs(kind=KIND, guild_id=context.guild_id), JobRows, timeout=ASK_TIMEOUT
    )
    return tuple(rows.rows)


def _permission(context: ToolContext) -> str | None:
    return may_manage(
        _settings(context),
        user_id=context.user_id,
        channel_id=context.channel_id,
        parent_channel_id=context.parent_channel_id,
        guild_id=context.guild_id,
    )


async def automation_create(
    arguments: Mapping[str, Any], context: ToolContext, *, name: str = SCHEDULER_NAME
) -> ToolOutput:
    settings = _settings(context)
    problem = _permission(context)
    if problem is not None:
        return _refused(problem)
    try:
        request = parse_request(arguments, now=calendar_now(), default_tz=settings.timezone)
    except AutomationError as exc:
        return ToolOutput(f"Not scheduled: {exc}.", is_error=True)
    scheduler = context.services(name)
    if scheduler is None:
        return _refused("the scheduler is not running")
    try:
        existing = await _jobs(context, scheduler)
        if len(existing) >= settings.max_per_guild:
            return _refused(
                f"this server already has {len(existing)} automations (at most "
                f"{settings.max_per_guild}); delete one first"
            )
        payload = payload_for(
            request, created_by=context.user_id, created_by_name=context.user_name
        )
        reply = await scheduler.ask(
            ScheduleJob(
                job_key=f"{KIND}:{context.guild_id}:{secrets.token_hex(6)}",
                kind=KIND,
                schedule=encode_schedule(request.schedule),
                payload=msgspec.json.encode(payload).decode(),
                catch_up=CATCH_UP,
                max_late_seconds=MAX_LATE_SECONDS,
                guild_id=context.guild_id,
                channel_id=context.channel_id,
                created_by=context.user_id,
                title=request.title,
            ),
            timeout=ASK_TIMEOUT,
        )
    except ActorError as exc:
        return _refused(f"the scheduler failed ({exc})")
    if isinstance(reply, ScheduleRefused):
        return ToolOutput(f"Not scheduled: {reply.reason}.", is_error=True)
    assert isinstance(reply, JobScheduled)
    return ToolOutput(f"Scheduled: {_summary(reply.job)}.")


async def automation_list(
    arguments: Mapping[str, Any], context: ToolContext, *, name: str = SCHEDULER_NAME
) -> ToolOutput:
    if context.guild_id is None:
        return _refused("automations belong to servers; there are none in DMs")
    scheduler = context.services(name)
    if scheduler is None:
        return _refused("the scheduler is not running")
    try:
        jobs = await _jobs(context, scheduler)
    except ActorError as exc:
        return _refused(f"the scheduler failed ({exc})")
    if not jobs:
        return ToolOutput("This server has no scheduled tasks.")
    return ToolOutput("\n".join(_summary(job) for job in jobs))


async def _change(
    action: str, arguments: Mapping[str, Any], context: ToolContext, name: str
) -> ToolOutput:
    problem = _permission(context)
    if problem is not None:
        return _refused(problem)
    number = arguments.get("id")
    if isinstance(number, bool) or not isinstance(number, int):
        return ToolOutput(f"'id' must be a task number from {names.LIST}.", is_error=True)
    scheduler = context.services(name)
    if scheduler is None:
        return _refused("the scheduler is not running")
    try:
        job = next((j for j in await _jobs(context, scheduler) if j.id == number), None)
        if job is None:
            return _refused(f"this server has no scheduled task #{number}")
        reply = await scheduler.ask(
            ChangeJob(job_key=job.job_key, action=action), timeout=ASK_TIMEOUT
        )
    except ActorError as exc:
        return _refused(f"the scheduler failed ({exc})")
    if isinstance(reply, ScheduleRefused):
        return _refused(reply.reason)
    assert isinstance(reply, JobScheduled)
    done = {"pause": "Paused", "resume": "Resumed", "delete": "Deleted"}[action]
    return ToolOutput(f"{done}: {_summary(reply.job)}.")


def automation_tools(name: str = SCHEDULER_NAME) -> list[Tool]:
    """The five automation tools for the reply registry; ``name`` is the scheduler's
    registered name."""

    async def create(arguments: Mapping[str, Any], context: ToolContext) -> ToolOutput:
        return await automation_create(arguments, context, name=name)

    async def listed(arguments: Mapping[str, Any], context: ToolContext) -> ToolOutput:
        return await automation_list(arguments, context, name=name)

    def changer(action: str) -> ToolRun:
        async def run(arguments: Mapping[str, Any], context: ToolContext) -> ToolOutput:
            return await _change(action, arguments, context, name)

        return run

    return [
        Tool(spec=CREATE_SPEC, run=create, per_hour=CREATES_PER_HOUR),
        Tool(spec=LIST_SPEC, run=listed),
        Tool(spec=PAUSE_SPEC, run=changer("pause")),
        Tool(spec=RESUME_SPEC, run=changer("resume")),
        Tool(spec=DELETE_SPEC, run=changer("delete")),
    ]
