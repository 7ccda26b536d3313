"""Field checks shared by the Store's request messages, and JSON text for payloads.

Each check raises ValueError naming the message type, the field, the bad value and what is
expected, so a bad request fails where it is built.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from clanker.store.wallclock import normalize_iso

MAX_LIMIT = 1000
"""The most rows one query returns; page with ``before_id`` / ``offset`` for more."""

_KIND = re.compile(r"[a-z][a-z0-9_]{0,63}")
_INT64_MAX = 2**63 - 1
_json_encoder = msgspec.json.Encoder()


def to_json(value: Any) -> str:
    """JSON text for a metadata or setting value (anything msgspec can encode)."""
    return _json_encoder.encode(value).decode()


def _name(obj: object) -> str:
    return type(obj).__qualname__


def check_id(obj: object, field: str, value: int | None, *, optional: bool = False) -> None:
    """A Discord id is a non-negative int64; ``None`` only where ``optional``."""
    if value is None:
        if not optional:
            raise ValueError(f"{_name(obj)}.{field} is required (a Discord id)")
        return
    if not 0 <= value <= _INT64_MAX:
        raise ValueError(f"{_name(obj)}.{field} must be a non-negative int64 id, got {value}")


def check_limit(obj: object, limit: int) -> None:
    """A row limit is 1..`MAX_LIMIT`."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"{_name(obj)}.limit must be in 1..{MAX_LIMIT}, got {limit}")


def check_time(obj: object, field: str, value: str | None) -> None:
    """A timestamp is ISO 8601 with a timezone (or None)."""
    if value is not None:
        normalize_iso(value, f"{_name(obj)}.{field}")


def check_kind(obj: object, kind: str) -> None:
    """An action kind is lower_snake_case, 1-64 characters, starting with a letter."""
    if not _KIND.fullmatch(kind):
        raise ValueError(
            f"{_name(obj)}.kind {kind!r} is not an action kind: use lower_snake_case, starting "
            "with a letter, at most 64 characters (e.g. 'sent_reply')"
        )


def check_json(obj: object, field: str, text: str, *, object_only: bool) -> None:
    """``text`` is valid JSON (a JSON object, if ``object_only``)."""
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise ValueError(f"{_name(obj)}.{field} is not valid JSON ({exc}): {text!r:.80}") from None
    if object_only and not isinstance(value, dict):
        raise ValueError(
            f"{_name(obj)}.{field} must be a JSON object, got {type(value).__name__}: {text!r:.80}"
        )
