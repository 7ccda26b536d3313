"""When a scheduled job fires, and what a scheduler does about fires it missed (sans-IO).

Three kinds of schedule, each on the calendar (timezone-aware datetimes, never trio time):

* `Daily` — every day at ``hour:minute`` in the IANA time zone ``tz`` (stated explicitly, never
  the machine's). On a day the clocks skip that time (spring forward), it fires at the first
  moment after the gap; on a day the time happens twice (fall back), at the first of the two.
* `Interval` — every ``every_seconds`` from ``anchor`` (``anchor + k * every_seconds``).
* `Once` — at ``at``, then never again.

`next_fire(schedule, after)` is the first fire strictly after ``after``. `plan_due` decides what
to do with a job whose next fire has come: run it (on time, or late within the job's catch-up
rule) or skip what was missed, and which fire comes next. Catch-up rules (`CatchUp`):

* ``skip`` — a fire more than ``grace`` seconds late (the process was down, or busy) is not
  run; the job moves on to its first fire after now. The count of skipped fires is reported.
* ``once`` — the latest missed fire is run once, now, if it is at most ``max_late`` seconds old
  (older ones are skipped like ``skip``); the earlier missed fires are skipped.

A fire that is at most ``grace`` seconds late is on time under either rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

MIN_INTERVAL_SECONDS = 60.0
MAX_INTERVAL_SECONDS = 7 * 86_400.0  # a week
DEFAULT_GRACE = 60.0  # seconds late that still count as on time
DEFAULT_MAX_LATE = 6 * 3600.0  # catch-up "once": the oldest missed fire still worth running


class ScheduleError(ValueError):
    """A schedule that cannot be (bad time, unknown time zone, interval out of range)."""


class CatchUp(StrEnum):
    SKIP = "skip"
    ONCE = "once"


class Daily(msgspec.Struct, frozen=True, tag="daily", kw_only=True):
    hour: int
    minute: int = 0
    tz: str = "UTC"

    def __post_init__(self) -> None:
        if not 0 <= self.hour <= 23:
            raise ScheduleError(f"daily: hour must be 0-23, got {self.hour}")
        if not 0 <= self.minute <= 59:
            raise ScheduleError(f"daily: minute must be 0-59, got {self.minute}")
        zone(self.tz)


class Interval(msgspec.Struct, frozen=True, tag="interval", kw_only=True):
    every_seconds: float
    anchor: datetime

    def __post_init__(self) -> None:
        if not MIN_INTERVAL_SECONDS <= self.every_seconds <= MAX_INTERVAL_SECONDS:
            raise ScheduleError(
                f"interval: every_seconds must be {MIN_INTERVAL_SECONDS:g}-"
                f"{MAX_INTERVAL_SECONDS:g} (1 minute to 1 week), got {self.every_seconds:g}"
            )
        _aware(self.anchor, "interval: anchor")


class Once(msgspec.Struct, frozen=True, tag="once", kw_only=True):
    at: datetime

    def __post_init__(self) -> None:
        _aware(self.at, "once: at")


Schedule = Daily | Interval | Once


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ScheduleError naming it when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"unknown time zone {name!r} (use an IANA name such as 'Europe/Paris')"
        ) from None


def _aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None:
        raise ScheduleError(f"{what} must carry a time zone, got {moment.isoformat()}")


_DECODER: msgspec.json.Decoder[Schedule] = msgspec.json.Decoder(Schedule)


def encode_schedule(schedule: Schedule) -> str:
    return msgspec.json.encode(schedule).decode()


def decode_schedule(text: str) -> Schedule:
    """A schedule from its JSON; ScheduleError saying what is wrong."""
    try:
        return _DECODER.decode(text)
    except msgspec.ValidationError as exc:
        raise ScheduleError(f"not a schedule: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ScheduleError(f"schedule is not JSON: {exc}") from None


def next_fire(schedule: Schedule, after: datetime) -> datetime | None:
    """The first fire strictly after ``after`` (UTC), or None when there is none."""
    _aware(after, "after")
    after = after.astimezone(UTC)
    match schedule:
        case Once(at=at):
            at = at.astimezone(UTC)
            return at if at > after else None
        case Interval(every_seconds=every, anchor=anchor):
            anchor = anchor.astimezone(UTC)
            if after < anchor:
                return anchor
            steps = int((after - anchor).total_seconds() // every) + 1
            fire = anchor + timedelta(seconds=steps * every)
            while fire <= after:  # float rounding
                fire += timedelta(seconds=every)
            return fire
        case Daily(hour=hour, minute=minute, tz=tz):
            local = zone(tz)
            day = after.astimezone(local).date()
            for offset in (-1, 0, 1, 2):
                fire = _wall_time(day + timedelta(days=offset), hour, minute, local)
                if fire > after:
                    return fire
    return None  # pragma: no cover - a daily time exists within two days


def _wall_time(day: date, hour: int, minute: int, local: ZoneInfo) -> datetime:
    """``hour:minute`` on ``day`` in ``local``, as UTC: the first of the two on a fall-back
    day; on a spring-forward day whose gap swallows it, the instant the clocks jump (the end
    of the gap: 03:00 for a 02:30 skipped from 02:00 to 03:00)."""
    naive = datetime(day.year, day.month, day.day, hour, minute)
    utc = naive.replace(tzinfo=local, fold=0).astimezone(UTC)
    if utc.astimezone(local).replace(tzinfo=None) == naive:
        return utc
    # In a gap. fold=1 reads it with the offset after the jump: an instant before the gap.
    probe = naive.replace(tzinfo=local, fold=1).astimezone(UTC).replace(second=0, microsecond=0)
    while probe.astimezone(local).replace(tzinfo=None) < naive:
        probe += timedelta(minutes=1)
    return probe


@dataclass(frozen=True)
class Due:
    """What to do with a job whose fire came: ``run_for`` is the fire to run now (None: run
    nothing), ``missed`` the fires skipped, ``next_fire`` the fire after (None: the job is done)."""

    run_for: datetime | None
    missed: int
    next_fire: datetime | None
    late_seconds: float = 0.0


def plan_due(
    schedule: Schedule,
    fire: datetime,
    now: datetime,
    *,
    catch_up: CatchUp = CatchUp.SKIP,
    grace: float = DEFAULT_GRACE,
    max_late: float = DEFAULT_MAX_LATE,
) -> Due | None:
    """For a job whose stored next fire is ``fire``: None while it is not due; else what to run
    and what comes next (module docstring)."""
    _aware(fire, "fire")
    _aware(now, "now")
    if fire > now:
        return None
    late = (now - fire).total_seconds()
    if late <= grace:
        nxt = _next_after(schedule, fire, now)
        return Due(run_for=fire, missed=0, next_fire=nxt, late_seconds=late)
    # Late: find the latest missed fire (the candidate for "once") and count the misses.
    latest, missed = _latest_missed(schedule, fire, now)
    following = _next_after(schedule, latest, now)
    late_latest = (now - latest).total_seconds()
    if late_latest <= grace or (catch_up is CatchUp.ONCE and late_latest <= max_late):
        return Due(run_for=latest, missed=missed, next_fire=following, late_seconds=late_latest)
    return Due(run_for=None, missed=missed + 1, next_fire=following)


def _latest_missed(schedule: Schedule, fire: datetime, now: datetime) -> tuple[datetime, int]:
    """The last fire at or before ``now``, from ``fire`` on, and how many fires lie between."""
    if isinstance(schedule, Interval):
        every = schedule.every_seconds
        steps = int((now - fire).total_seconds() // every)
        return fire + timedelta(seconds=steps * every), steps
    latest, missed = fire, 0
    while True:  # Once: no later fire; Daily: one step a day
        following = next_fire(schedule, latest)
        if following is None or following > now:
            return latest, missed
        latest, missed = following, missed + 1


def _next_after(schedule: Schedule, fire: datetime, now: datetime) -> datetime | None:
    """The first fire after ``fire`` that is still to come (after ``now``)."""
    nxt = next_fire(schedule, fire)
    while nxt is not None and nxt <= now:
        nxt = next_fire(schedule, nxt)
    return nxt
