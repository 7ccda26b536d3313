"""The browser agent's session rules (sans-IO), at exact times."""

from __future__ import annotations

import pytest

from clanker.browser.sessions import Admit, SessionTable


def test_a_channel_runs_one_task_at_a_time_and_keeps_its_session() -> None:
    table = SessionTable(max_sessions=2, idle_timeout=300.0)
    assert table.admit(7, 10.0) == Admit()
    assert table.admit(7, 11.0) == (
        "browser_browse refused: a browse task is already running in this channel; wait for "
        "it to finish."
    )
    table.finished(7, 40.0)
    assert (table.channels, table.busy) == ((7,), ())
    assert table.admit(7, 50.0) == Admit()  # the same session again


def test_a_third_channel_takes_the_least_recently_used_idle_session() -> None:
    table = SessionTable(max_sessions=2, idle_timeout=300.0)
    table.admit(1, 0.0)
    table.admit(2, 5.0)
    table.finished(2, 20.0)
    table.finished(1, 30.0)
    assert table.admit(3, 40.0) == Admit(evict=2)  # idle since 20.0, before channel 1's 30.0
    assert (table.channels, table.busy) == ((1, 3), (3,))


def test_while_every_session_is_busy_a_new_channel_is_refused() -> None:
    table = SessionTable(max_sessions=2, idle_timeout=300.0)
    table.admit(1, 0.0)
    table.admit(2, 0.0)
    assert table.admit(3, 1.0) == (
        "browser_browse refused: the browser is busy with 2 tasks in other channels (at most 2 "
        "at once); try later."
    )
    assert table.channels == (1, 2)


def test_an_idle_session_closes_after_exactly_the_timeout() -> None:
    table = SessionTable(max_sessions=2, idle_timeout=300.0)
    table.admit(1, 0.0)
    table.admit(2, 0.0)
    table.finished(1, 100.0)
    assert table.next_wake(100.0) == 400.0  # channel 2 is busy: it never expires
    assert table.idle(399.9) == []
    assert table.idle(400.0) == [1]
    assert table.channels == (2,) and table.next_wake(400.0) is None
    table.finished(2, 500.0)
    assert table.next_wake(500.0) == 800.0
    table.closed(2)  # stopped: gone at once
    assert table.channels == () and table.idle(10_000.0) == []


def test_nonsense_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="max_sessions must be >= 1"):
        SessionTable(max_sessions=0, idle_timeout=1.0)
