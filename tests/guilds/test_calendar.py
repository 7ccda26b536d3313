"""The calendar on virtual time: stored stamps and the hourly cap seeded from the action log
follow MockClock's jumps exactly (no wall clock in product logic)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trio
import trio.testing

from clanker.store import calendar_now, pin_calendar, to_iso, utc_now_iso

from .tree import FAST, actions, configure, crash, decisions, message, post, product_tree

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_the_calendar_moves_with_the_virtual_clock(
    autojump_clock: trio.testing.MockClock,
) -> None:
    pin_calendar(NOON)
    assert utc_now_iso() == "2026-03-01T12:00:00.000+00:00"
    await trio.sleep(3600.25)
    assert utc_now_iso() == "2026-03-01T13:00:00.250+00:00"


async def test_pinning_needs_a_mock_clock_and_a_timezone() -> None:
    with pytest.raises(RuntimeError, match="MockClock only"):
        pin_calendar(NOON)
    before = datetime.now(UTC)
    assert before <= calendar_now() <= datetime.now(UTC)  # the real clock: the wall clock


async def test_pinning_refuses_a_naive_datetime(autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        pin_calendar(datetime(2026, 3, 1, 12, 0))


async def test_sends_are_stamped_in_virtual_time_and_the_cap_seeded_after_a_restart_expires_on_time(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pin_calendar(NOON)
    t0 = trio.current_time()
    async with product_tree(tmp_path) as (rt, world):
        caps = {"max_messages_per_hour": 1}
        await configure(rt, {**FAST, "permissions": caps})
        await post(rt, message(10, "clanker, one"))
        await trio.sleep(5)
        sent = await actions(rt, "sent_message")
        # Posted at 0 s, sent after the coalescing window: stamped on the pinned calendar.
        assert [a.created_at for a in sent] == ["2026-03-01T12:00:01.250+00:00"]
        await crash(rt, "pacing")  # the fresh keeper counts the hour from the action log
        await post(rt, message(10, "clanker, two"))
        await trio.sleep(60)
        assert world.texts(10) == ["answer 1"]  # the fresh keeper counted the send: over the cap
        # The send at 1.25 s leaves the hour at exactly 3601.25 s (calendar and trio agree).
        await trio.sleep_until(t0 + 3601.25 - 1.5)  # posted now, decided after the 1 s window
        await post(rt, message(10, "clanker, three"))
        await trio.sleep(10)
        assert world.texts(10) == ["answer 1"]
        await post(rt, message(10, "clanker, four"))
        await trio.sleep(10)
        assert world.texts(10) == ["answer 1", "answer 2"]
        assert (await decisions(rt)).count("skipped: hourly_cap") == 2
        second = (await actions(rt, "sent_message"))[-1]
        # Its stamp is its virtual send time on the pinned calendar, to the millisecond.
        assert second.created_at == to_iso(NOON + timedelta(seconds=world.sent[-1].at - t0))
        assert second.created_at.startswith("2026-03-01T13:00:1")
