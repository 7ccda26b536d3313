"""Automations' rules, sans-IO: what a request to schedule something means, who may make it,
and how a run is put to the model (docs/automations.md).

A member asks in plain words ("every morning at 9 post the weather summary here"); the model
turns that into an `automation_create` call whose arguments `parse_request` reads into a
`Request` (a `clanker.schedule.rules` schedule, a title, an instruction), or refuses with the
reason. `may_manage` is the permission check. A due run reaches the channel as a synthetic
message whose text `run_event` writes, with an id from `synthetic_message_id`.

Nothing here imports trio or touches the Store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

from clanker.schedule.rules import (
    MAX_INTERVAL_SECONDS,
    MIN_INTERVAL_SECONDS,
    Daily,
    Interval,
    Once,
    Schedule,
    ScheduleError,
    next_fire,
    zone,
)
from clanker.settings.model import Automations

KIND = "automation"
"""The scheduler job kind of an automation."""

CATCH_UP = "once"
"""A fire missed while clanker was down runs once at start (the latest one, if at most
`MAX_LATE_SECONDS` old), as the original ran every due automation on its first cycle."""
MAX_LATE_SECONDS = 6 * 3600.0

MAX_TITLE = 90
MAX_INSTRUCTION = 360
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$")


class AutomationError(ValueError):
    """A request that cannot be scheduled, or a change that is not allowed; the message says
    why, for the model to pass on."""


class Payload(msgspec.Struct, frozen=True, kw_only=True):
    """What a run needs, stored with the job: the task, who asked, and the schedule in words
    with the zone its times are shown in."""

    title: str
    instruction: str
    created_by: int
    created_by_name: str = ""
    schedule_text: str = ""
    tz: str = "UTC"


@dataclass(frozen=True)
class Request:
    title: str
    instruction: str
    schedule: Schedule


def _text(args: Mapping[str, object], key: str, limit: int) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value.strip():
        raise AutomationError(f"{key} is required (a short text)")
    value = " ".join(value.split())
    if len(value) > limit:
        raise AutomationError(f"{key} is {len(value)} characters; at most {limit}")
    return value


def parse_request(args: Mapping[str, object], *, now: datetime, default_tz: str) -> Request:
    """The schedule, title and instruction of an ``automation_create`` call, as of ``now``
    (aware). ``timezone`` absent: ``default_tz``. Raises `AutomationError` naming the problem."""
    title = _text(args, "title", MAX_TITLE)
    instruction = _text(args, "instruction", MAX_INSTRUCTION)
    tz_name = args.get("timezone") or default_tz
    if not isinstance(tz_name, str):
        raise AutomationError("timezone must be an IANA name such as Europe/Paris")
    try:
        local = zone(tz_name)
        schedule = _schedule(args, now=now, tz_name=tz_name, local=local)
    except ScheduleError as exc:
        raise AutomationError(str(exc)) from None
    if next_fire(schedule, now) is None:
        raise AutomationError("that time has already passed")
    return Request(title=title, instruction=instruction, schedule=schedule)


def _schedule(
    args: Mapping[str, object], *, now: datetime, tz_name: str, local: ZoneInfo
) -> Schedule:
    kind = args.get("schedule")
    if kind == "daily":
        time = args.get("time")
        match = _TIME.match(time) if isinstance(time, str) else None
        if match is None:
            raise AutomationError(f"daily needs time as HH:MM (24-hour), got {time!r}")
        return Daily(hour=int(match[1]), minute=int(match[2]), tz=tz_name)
    if kind == "interval":
        minutes = args.get("every_minutes")
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            raise AutomationError(
                f"interval needs every_minutes as a whole number, got {minutes!r}"
            )
        low, high = int(MIN_INTERVAL_SECONDS // 60), int(MAX_INTERVAL_SECONDS // 60)
        if not low <= minutes <= high:
            raise AutomationError(f"every_minutes must be {low}-{high} (a week), got {minutes}")
        anchor = now.astimezone(UTC).replace(microsecond=0)
        return Interval(every_seconds=minutes * 60.0, anchor=anchor)
    if kind == "once":
        at = args.get("at")
        if not isinstance(at, str) or not _LOCAL.match(at.strip()):
            raise AutomationError(
                f"once needs at as a local date and time YYYY-MM-DDTHH:MM, got {at!r}"
            )
        moment = datetime.fromisoformat(at.strip().replace(" ", "T"))
        assert moment.tzinfo is None
        return Once(at=moment.replace(tzinfo=local))
    raise AutomationError(f"schedule must be daily, interval or once, got {kind!r}")


def describe(schedule: Schedule) -> str:
    """The schedule in words, its time zone stated: "every day at 09:00 (Europe/Paris)"."""
    match schedule:
        case Daily(hour=hour, minute=minute, tz=tz):
            return f"every day at {hour:02d}:{minute:02d} ({tz})"
        case Interval(every_seconds=seconds):
            minutes = round(seconds / 60)
            if minutes % 1440 == 0:
                return f"every {minutes // 1440} day(s)"
            if minutes % 60 == 0:
                return f"every {minutes // 60} hour(s)"
            return f"every {minutes} minute(s)"
        case Once(at=at):
            name = getattr(at.tzinfo, "key", None) or at.strftime("%z")
            return f"once, on {at.strftime('%Y-%m-%d at %H:%M')} ({name})"


def local_time(moment: datetime, schedule: Schedule) -> str:
    """``moment`` in the schedule's own zone: "2026-12-06 09:00 CET"."""
    match schedule:
        case Daily(tz=tz):
            shown = moment.astimezone(zone(tz))
        case Once(at=at) if at.tzinfo is not None:
            shown = moment.astimezone(at.tzinfo)
        case _:
            shown = moment.astimezone(UTC)
    return shown.strftime("%Y-%m-%d %H:%M %Z")


def may_manage(
    settings: Automations,
    *,
    user_id: int,
    channel_id: int,
    parent_channel_id: int | None = None,
    guild_id: int | None,
) -> str | None:
    """None when ``user_id`` may create or change automations from this channel; else why
    not (for the model to say)."""
    if not settings.enabled:
        return "automations are turned off on this server"
    if guild_id is None:
        return "automations can only be made in a server channel, not in DMs"
    if settings.creator_user_ids and user_id not in settings.creator_user_ids:
        return "you are not one of the members allowed to manage automations here"
    if settings.channel_ids and not (
        channel_id in settings.channel_ids or parent_channel_id in settings.channel_ids
    ):
        return "automations cannot be made in this channel"
    return None


def payload_for(request: Request, *, created_by: int, created_by_name: str) -> Payload:
    schedule = request.schedule
    tz = "UTC"
    match schedule:
        case Daily(tz=name):
            tz = name
        case Once(at=at):
            tz = getattr(at.tzinfo, "key", "UTC")
        case _:
            pass
    return Payload(
        title=request.title,
        instruction=request.instruction,
        created_by=created_by,
        created_by_name=created_by_name,
        schedule_text=describe(schedule),
        tz=tz,
    )


def run_event(payload: Payload, *, scheduled_for: datetime, late: float) -> str:
    """The text of the synthetic message a run is: the model sees it as an event, not as
    anyone's words."""
    asked = f", asked for by {payload.created_by_name}" if payload.created_by_name else ""
    try:
        when = scheduled_for.astimezone(zone(payload.tz)).strftime("%Y-%m-%d %H:%M %Z")
    except ScheduleError:
        when = scheduled_for.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lateness = ""
    if late >= 60:
        lateness = f" It runs {timedelta(seconds=round(late))} late (clanker was not running)."
    return (
        f"[SCHEDULED TASK {payload.title!r} ({payload.schedule_text}{asked}); this run is "
        f"for {when}.{lateness} Do now what it says, in a message to this channel: "
        f"{payload.instruction}]"
    )


def decode_payload(text: str) -> Payload:
    """A job's payload; AutomationError saying what is wrong."""
    try:
        return msgspec.json.decode(text, type=Payload)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise AutomationError(f"not an automation payload: {exc}") from None


DISCORD_EPOCH_MS = 1_420_070_400_000
_SYNTHETIC_BITS = 0b11111_11111 << 12  # worker and process ids all ones


def synthetic_message_id(at: datetime, sequence: int) -> int:
    """A snowflake for a message clanker makes itself, at ``at``: it sorts with the channel's
    real messages by time (the prompt shows what came before it), and its worker/process bits
    (all ones, which the sandbox never makes) keep it apart from them; on Discord a clash
    would also need the same millisecond and sequence."""
    ms = int(at.timestamp() * 1000) - DISCORD_EPOCH_MS
    return (max(ms, 0) << 22) | _SYNTHETIC_BITS | (sequence & 0xFFF)
