"""Wall-clock stamps for stored records: the one place clanker reads the calendar.

Logic runs on ``trio.current_time()``; only rows written to the store carry wall time, as UTC
ISO 8601 text with milliseconds. One fixed format means text order is time order, so SQL can
compare and index these columns as plain strings.

`calendar_now` is the one "now" on the calendar. On trio's real clock it is the system's wall
clock. Inside a run on `trio.testing.MockClock` it is virtual too: the wall time read once per
run (or pinned by a test with `pin_calendar`) plus the virtual seconds since, so stored
timestamps, "an hour ago" and the pacing seeded from the action log follow the jumps of the
virtual clock exactly. This module does not import trio (it stays importable without it).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from typing import Any

_anchor_var: Any = None  # trio.lowlevel.RunVar[tuple[float, datetime]], made on first use


def _virtual_run() -> Any:
    """The trio module if a run on a MockClock is active here, else None."""
    trio = sys.modules.get("trio")
    if trio is None:
        return None
    try:
        clock = trio.lowlevel.current_clock()
    except RuntimeError:
        return None  # not inside a trio run
    testing = sys.modules.get("trio.testing")
    if testing is None or not isinstance(clock, testing.MockClock):
        return None
    return trio


def _anchor(trio: Any) -> Any:
    global _anchor_var
    if _anchor_var is None:
        _anchor_var = trio.lowlevel.RunVar("clanker_calendar_anchor")
    return _anchor_var


def calendar_now() -> datetime:
    """Now on the calendar (UTC); see the module docstring."""
    trio = _virtual_run()
    if trio is None:
        return datetime.now(UTC)
    var = _anchor(trio)
    try:
        at, moment = var.get()
    except LookupError:
        at, moment = trio.current_time(), datetime.now(UTC)
        var.set((at, moment))
    now: datetime = moment + timedelta(seconds=trio.current_time() - at)
    return now


def pin_calendar(moment: datetime) -> None:
    """On a MockClock: make the calendar read ``moment`` now (tests assert exact stamps)."""
    trio = _virtual_run()
    if trio is None:
        raise RuntimeError("pin_calendar works inside a trio run on a MockClock only")
    if moment.tzinfo is None:
        raise ValueError("pin_calendar needs a timezone-aware datetime")
    _anchor(trio).set((trio.current_time(), moment.astimezone(UTC)))


def utc_now_iso() -> str:
    """Now, as the store writes it: ``2025-01-31T12:00:00.000+00:00``."""
    return to_iso(calendar_now())


def to_iso(moment: datetime) -> str:
    """``moment`` (timezone-aware) in the store's format, converted to UTC."""
    if moment.tzinfo is None:
        raise ValueError(
            f"naive datetime {moment.isoformat()}: give a timezone (e.g. datetime.now(UTC))"
        )
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def normalize_iso(text: str, field: str = "timestamp") -> str:
    """Parse an ISO 8601 timestamp with a timezone and return it in the store's format.

    Raises ValueError naming ``field`` and the text if it is not ISO 8601 or has no timezone.
    """
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(
            f"{field} must be an ISO 8601 timestamp with a timezone, got {text!r}"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"{field} {text!r} has no timezone; append +00:00 for UTC")
    return to_iso(moment)
