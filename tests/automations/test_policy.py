"""Automations' rules without trio: reading a request, permissions, the run's event text and
synthetic ids."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from clanker.automations.policy import (
    AutomationError,
    Payload,
    decode_payload,
    describe,
    may_manage,
    parse_request,
    payload_for,
    run_event,
    synthetic_message_id,
)
from clanker.schedule.rules import Daily, Interval, Once, next_fire
from clanker.settings.model import Automations

NOW = datetime(2026, 12, 5, 8, 0, 30, 123456, tzinfo=UTC)
BASE = {"title": "weather", "instruction": "post the weather"}


def parse(**args: object) -> object:
    return parse_request({**BASE, **args}, now=NOW, default_tz="Europe/Paris").schedule


def test_daily_interval_and_once_read_into_schedules_in_the_stated_zone() -> None:
    assert parse(schedule="daily", time="9:05") == Daily(hour=9, minute=5, tz="Europe/Paris")
    assert parse(schedule="daily", time="23:59", timezone="Asia/Tokyo") == Daily(
        hour=23, minute=59, tz="Asia/Tokyo"
    )
    interval = parse(schedule="interval", every_minutes=90)
    assert interval == Interval(every_seconds=5400.0, anchor=NOW.replace(microsecond=0))
    once = parse(schedule="once", at="2026-12-24T18:00")
    assert once == Once(at=datetime(2026, 12, 24, 18, 0, tzinfo=ZoneInfo("Europe/Paris")))
    assert isinstance(once, Once)
    assert next_fire(once, NOW) == datetime(2026, 12, 24, 17, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({"schedule": "weekly"}, "schedule must be daily, interval or once, got 'weekly'"),
        ({"schedule": "daily", "time": "9am"}, "daily needs time as HH:MM (24-hour), got '9am'"),
        ({"schedule": "daily"}, "daily needs time as HH:MM (24-hour), got None"),
        ({"schedule": "interval", "every_minutes": 0}, "every_minutes must be 1-10080"),
        ({"schedule": "interval", "every_minutes": True}, "as a whole number, got True"),
        ({"schedule": "interval", "every_minutes": 10081}, "got 10081"),
        ({"schedule": "once", "at": "tomorrow"}, "YYYY-MM-DDTHH:MM, got 'tomorrow'"),
        ({"schedule": "once", "at": "2026-12-05T07:59"}, "that time has already passed"),
        ({"schedule": "daily", "time": "09:00", "timezone": "Nowhere/City"}, "'Nowhere/City'"),
        ({"schedule": "daily", "time": "09:00", "title": ""}, "title is required"),
        ({"schedule": "daily", "time": "09:00", "instruction": "x" * 361}, "361 characters"),
    ],
)
def test_bad_requests_are_refused_naming_the_problem(args: dict[str, object], problem: str) -> None:
    with pytest.raises(AutomationError, match=re.escape(problem)):
        parse_request({**BASE, **args}, now=NOW, default_tz="UTC")


def test_descriptions_state_the_time_zone() -> None:
    assert describe(Daily(hour=7, minute=0, tz="America/New_York")) == (
        "every day at 07:00 (America/New_York)"
    )
    anchor = NOW
    assert describe(Interval(every_seconds=1800, anchor=anchor)) == "every 30 minute(s)"
    assert describe(Interval(every_seconds=7200, anchor=anchor)) == "every 2 hour(s)"
    assert describe(Interval(every_seconds=86_400, anchor=anchor)) == "every 1 day(s)"
    at = datetime(2026, 12, 24, 18, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert describe(Once(at=at)) == "once, on 2026-12-24 at 18:00 (Europe/Paris)"


def test_who_may_manage_and_where() -> None:
    open_to_all = Automations()
    assert may_manage(open_to_all, user_id=1, channel_id=10, guild_id=100) is None
    assert may_manage(open_to_all, user_id=1, channel_id=10, guild_id=None) == (
        "automations can only be made in a server channel, not in DMs"
    )
    listed = Automations(creator_user_ids=(2,), channel_ids=(11,))
    assert "not one of the members" in str(
        may_manage(listed, user_id=1, channel_id=11, guild_id=100)
    )
    assert may_manage(listed, user_id=2, channel_id=10, guild_id=100) == (
        "automations cannot be made in this channel"
    )
    assert may_manage(listed, user_id=2, channel_id=23, parent_channel_id=11, guild_id=100) is None
    assert may_manage(Automations(enabled=False), user_id=1, channel_id=10, guild_id=100) == (
        "automations are turned off on this server"
    )


def test_a_run_event_names_the_task_the_asker_the_local_time_and_lateness() -> None:
    request = parse_request(
        {**BASE, "schedule": "daily", "time": "10:00"}, now=NOW, default_tz="Europe/Paris"
    )
    payload = payload_for(request, created_by=1, created_by_name="alice")
    assert (
        decode_payload(
            '{"title":"weather","instruction":"post the weather","created_by":1,'
            '"created_by_name":"alice","schedule_text":"every day at 10:00 (Europe/Paris)",'
            '"tz":"Europe/Paris"}'
        )
        == payload
    )
    fire = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    assert run_event(payload, scheduled_for=fire, late=0.4) == (
        "[SCHEDULED TASK 'weather' (every day at 10:00 (Europe/Paris), asked for by alice); "
        "this run is for 2026-12-05 10:00 CET. Do now what it says, in a message to this "
        "channel: post the weather]"
    )
    assert "It runs 1:01:01 late" in run_event(payload, scheduled_for=fire, late=3661)
    with pytest.raises(AutomationError, match="not an automation payload"):
        decode_payload('{"title": "x"}')
    assert isinstance(payload, Payload)


def test_synthetic_ids_sort_by_time_and_carry_their_mark() -> None:
    a = synthetic_message_id(NOW, 1)
    b = synthetic_message_id(NOW.replace(second=31), 1)
    assert a < b
    assert (a >> 22) + 1_420_070_400_000 == int(NOW.timestamp() * 1000)
    assert (a >> 12) & 0b11111_11111 == 0b11111_11111
    assert synthetic_message_id(NOW, 2) == a + 1
