"""Journals: what was said in a guild, read back per local day, as lines a model can cite.

The Store keeps every message clanker sees (its own replies and posts included) and every
transcribed voice line (the voice brain stores them as messages of the voice channel, its own
spoken answers too). A guild's journal for a day is those rows, in history order, between the
day's local midnights (`day_bounds`): nothing is copied into a second store, so an edit, a
delete or a purge is already in the journal. Each row becomes one line (`journal_line`)::

    - 2026-12-07T14:03:11.250+00:00 | alice (1001) | [guild:1 channel:20 message:88 voice] a ferret

Sans-IO: no trio, no SQLite. Days are dates in an IANA zone handed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec

from clanker.store.messages import MessageRow
from clanker.store.wallclock import to_iso

MAX_LINE_CHARS = 640
"""A message's text is cut to this many characters in its journal line."""

SPOKEN_MARK = 0x3FF << 12
"""The bits a spoken line's id carries (worker 31, process 31 in a snowflake's layout)."""


def spoken_line_id(unix_ms: int, seq: int) -> int:
    """The snowflake-shaped id of a voice line: its time, then `SPOKEN_MARK`, then a counter
    (``seq`` modulo 4,096). No Discord message of ours carries these bits in that place."""
    discord_epoch_ms = 1_420_070_400_000
    return ((unix_ms - discord_epoch_ms) << 22) | SPOKEN_MARK | (seq % 4096)


def is_spoken_line(message_id: int) -> bool:
    """Whether a stored message id was made by `spoken_line_id` (a voice transcript line)."""
    return message_id & SPOKEN_MARK == SPOKEN_MARK


def day_bounds(day: date, tz: str) -> tuple[str, str]:
    """``[start, end)`` of a local day in the Store's ISO format (UTC): midnight to midnight in
    ``tz``, so a day is 23 or 25 hours long across a clock change."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return to_iso(start), to_iso(end)


def local_day(moment: datetime, tz: str) -> date:
    """The local date of an aware ``moment`` in ``tz``."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: give a timezone")
    return moment.astimezone(ZoneInfo(tz)).date()


def past_days(today: date, backfill: int) -> list[date]:
    """The ``backfill`` days before ``today``, oldest first (today is not over yet)."""
    return [today - timedelta(days=n) for n in range(backfill, 0, -1)]


def mark_own(rows: Iterable[MessageRow], own_id: int | None) -> list[MessageRow]:
    """``rows`` with clanker's own messages marked as a bot's: a user account's messages are
    not flagged by Discord, and its lines must never read as a person's."""
    return [
        msgspec.structs.replace(r, is_bot=True)
        if own_id is not None and r.author_id == own_id and not r.is_bot
        else r
        for r in rows
    ]


def journal_line(row: MessageRow) -> str:
    """One journal line for a stored message (see the module docstring); ``voice`` marks a
    transcript line, ``bot`` one of clanker's own (or another bot's) messages."""
    tags = [
        f"guild:{row.guild_id}" if row.guild_id is not None else "dm",
        f"channel:{row.channel_id}",
        f"message:{row.message_id}",
    ]
    if is_spoken_line(row.message_id):
        tags.append("voice")
    if row.is_bot:
        tags.append("bot")
    text = " ".join(row.content.split())
    if not text and row.attachments:
        text = "(" + ", ".join(a.filename for a in row.attachments) + ")"
    if len(text) > MAX_LINE_CHARS:
        text = text[: MAX_LINE_CHARS - 1] + "…"
    stamp = datetime.fromisoformat(row.created_at).astimezone(UTC)
    name = " ".join(row.author_name.split()) or "unknown"
    return f"- {to_iso(stamp)} | {name} ({row.author_id}) | [{' '.join(tags)}] {text}"


def chunk_lines(lines: Sequence[str], max_chars: int) -> list[list[str]]:
    """Cut ``lines`` into consecutive chunks of at most ``max_chars`` characters each (a line
    longer than that is a chunk of its own)."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, got {max_chars}")
    chunks: list[list[str]] = []
    size = 0
    for line in lines:
        if chunks and size + len(line) + 1 <= max_chars:
            chunks[-1].append(line)
            size += len(line) + 1
        else:
            chunks.append([line])
            size = len(line) + 1
    return chunks


def render(rows: Iterable[MessageRow]) -> str:
    """A journal (or a part of one) as text, a line per message."""
    return "\n".join(journal_line(r) for r in rows)
