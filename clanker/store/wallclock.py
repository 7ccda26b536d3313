"""Wall-clock stamps for stored records: the one place clanker reads the calendar.

Logic runs on ``trio.current_time()``; only rows written to the store carry wall time, as UTC
ISO 8601 text with milliseconds. One fixed format means text order is time order, so SQL can
compare and index these columns as plain strings.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now_iso() -> str:
    """Now, as the store writes it: ``2025-01-31T12:00:00.000+00:00``."""
    return to_iso(datetime.now(UTC))


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
