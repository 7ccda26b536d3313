"""`clanker.schedule.rules`: when schedules fire and what missed fires become (no trio)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clanker.schedule.rules import (
    CatchUp,
    Daily,
    Due,
    Interval,
    Once,
    ScheduleError,
    decode_schedule,
    encode_schedule,
    next_fire,
    plan_due,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_daily_fires_at_the_local_time_of_its_zone() -> None:
    nine_ny = Daily(hour=9, tz="America/New_York")
    assert next_fire(nine_ny, utc(2026, 12, 5, 13, 59)) == utc(2026, 12, 5, 14, 0)  # EST
    assert next_fire(nine_ny, utc(2026, 12, 5, 14, 0)) == utc(2026, 12, 6, 14, 0)  # strictly after
    assert next_fire(nine_ny, utc(2026, 7, 1)) == utc(2026, 7, 1, 13, 0)  # EDT


def test_daily_across_the_clock_changes() -> None:
    half_two_paris = Daily(hour=2, minute=30, tz="Europe/Paris")
    # 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist: it fires at the jump.
    assert next_fire(half_two_paris, utc(2026, 3, 28, 12)) == utc(2026, 3, 29, 1, 0)
    assert next_fire(half_two_paris, utc(2026, 3, 29, 1, 0)) == utc(2026, 3, 30, 0, 30)
    # 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice: the first one.
    assert next_fire(half_two_paris, utc(2026, 10, 24, 12)) == utc(2026, 10, 25, 0, 30)
    assert next_fire(half_two_paris, utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 26, 1, 30)


def test_interval_and_once() -> None:
    every10 = Interval(every_seconds=600, anchor=utc(2026, 1, 1))
    assert next_fire(every10, utc(2025, 12, 31)) == utc(2026, 1, 1)
    assert next_fire(every10, utc(2026, 1, 1, 0, 10)) == utc(2026, 1, 1, 0, 20)
    assert next_fire(every10, utc(2026, 1, 1, 0, 10, 1)) == utc(2026, 1, 1, 0, 20)
    once = Once(at=utc(2026, 5, 1, 12))
    assert next_fire(once, utc(2026, 5, 1, 11)) == utc(2026, 5, 1, 12)
    assert next_fire(once, utc(2026, 5, 1, 12)) is None


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda: Daily(hour=24), "hour must be 0-23"),
        (lambda: Daily(hour=9, minute=60), "minute must be 0-59"),
        (lambda: Daily(hour=9, tz="Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
        (lambda: Interval(every_seconds=30, anchor=utc(2026, 1, 1)), "every_seconds must be"),
        (lambda: Once(at=datetime(2026, 1, 1)), "must carry a time zone"),
    ],
)
def test_bad_schedules_say_what_is_wrong(make: object, problem: str) -> None:
    with pytest.raises(ScheduleError, match=problem):
        make()  # type: ignore[operator]


def test_schedules_round_trip_as_json_and_bad_json_is_named() -> None:
    for s in (
        Daily(hour=9, minute=15, tz="Europe/Paris"),
        Interval(every_seconds=3600, anchor=utc(2026, 1, 1)),
        Once(at=utc(2026, 5, 1, 12)),
    ):
        assert decode_schedule(encode_schedule(s)) == s
    with pytest.raises(ScheduleError, match="not a schedule"):
        decode_schedule('{"type": "weekly"}')
    with pytest.raises(ScheduleError, match="not a schedule"):
        decode_schedule('{"type": "daily", "hour": 25}')
    with pytest.raises(ScheduleError, match="not JSON"):
        decode_schedule("daily at 9")


DAILY = Daily(hour=9)


def test_a_fire_within_the_grace_is_on_time() -> None:
    fire = utc(2026, 12, 5, 9)
    assert plan_due(DAILY, fire, fire - timedelta(seconds=1)) is None  # not due yet
    assert plan_due(DAILY, fire, fire + timedelta(seconds=30)) == Due(
        run_for=fire, missed=0, next_fire=utc(2026, 12, 6, 9), late_seconds=30.0
    )


def test_missed_fires_follow_the_catch_up_rule() -> None:
    first_missed = utc(2026, 12, 1, 9)
    now = utc(2026, 12, 5, 10)  # down four days; the latest fire was an hour ago
    skip = plan_due(DAILY, first_missed, now, catch_up=CatchUp.SKIP)
    assert skip == Due(run_for=None, missed=5, next_fire=utc(2026, 12, 6, 9))
    once = plan_due(DAILY, first_missed, now, catch_up=CatchUp.ONCE)
    assert once == Due(
        run_for=utc(2026, 12, 5, 9), missed=4, next_fire=utc(2026, 12, 6, 9), late_seconds=3600.0
    )
    # "once" only within max_late: the latest missed fire is 20 h old here.
    late = plan_due(DAILY, first_missed, utc(2026, 12, 6, 5), catch_up=CatchUp.ONCE)
    assert late == Due(run_for=None, missed=5, next_fire=utc(2026, 12, 6, 9))


def test_an_interval_down_for_a_long_time_is_counted_without_walking_it() -> None:
    every_minute = Interval(every_seconds=60, anchor=utc(2026, 1, 1))
    now = utc(2026, 3, 1, 0, 0, 30)  # 59 days later
    due = plan_due(every_minute, utc(2026, 1, 1, 0, 1), now, catch_up=CatchUp.ONCE)
    assert due == Due(
        run_for=utc(2026, 3, 1),
        missed=59 * 1440 - 1,
        next_fire=utc(2026, 3, 1, 0, 1),
        late_seconds=30.0,
    )


def test_a_missed_once_runs_once_or_is_done() -> None:
    at = utc(2026, 5, 1, 12)
    later = utc(2026, 5, 1, 13)
    assert plan_due(Once(at=at), at, later, catch_up=CatchUp.ONCE) == Due(
        run_for=at, missed=0, next_fire=None, late_seconds=3600.0
    )
    assert plan_due(Once(at=at), at, later, catch_up=CatchUp.SKIP) == Due(
        run_for=None, missed=1, next_fire=None
    )
