"""`MessagesBetween` / `MessageGuilds`: guild messages by when clanker stored them (journal days,
the reflector's look at quiet channels), and migration 7's ``stored_at``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
import trio

from clanker.runtime import SupervisorSpec, open_runtime
from clanker.store import (
    GuildIds,
    MessageGuilds,
    MessageRows,
    MessagesBetween,
    StoreRejected,
    pin_calendar,
    store_child,
)
from clanker.store.migrations import MIGRATIONS, migrate
from clanker.store.queries import message_guilds, messages_between, store_message
from clanker.store.sqlite import Connection, close_connection, open_connection

from .helpers import GUILD, at, chat

OTHER_GUILD = GUILD + 1


def stored(conn: Connection, message_id: int, stored_s: float, **kw: object) -> None:
    msg = msgspec.structs.replace(chat(message_id, 0, **kw), stored_at=at(stored_s))  # type: ignore[arg-type]
    store_message(conn, msg)


def between(conn: Connection, start: float, end: float, **kw: object) -> list[int]:
    reply = messages_between(conn, MessagesBetween(start=at(start), end=at(end), **kw))  # type: ignore[arg-type]
    assert isinstance(reply, MessageRows)
    return [r.message_id for r in reply.rows]


def test_a_window_is_by_stored_time_half_open_and_in_the_order_stored(conn: Connection) -> None:
    stored(conn, 30, 10)
    stored(conn, 10, 20)  # an older Discord id stored later (a catch-up) comes later
    stored(conn, 20, 30)
    stored(conn, 40, 40)
    assert between(conn, 10, 40) == [30, 10, 20]
    assert between(conn, 10.001, 41) == [10, 20, 40]


def test_one_guild_or_every_guild_but_never_dms_or_deleted(conn: Connection) -> None:
    stored(conn, 1, 1)
    stored(conn, 2, 2, guild_id=OTHER_GUILD)
    stored(conn, 3, 3, guild_id=None)  # a DM
    stored(conn, 4, 4)
    conn.execute("UPDATE messages SET deleted = 1 WHERE message_id = 4")
    assert between(conn, 0, 10) == [1, 2]
    assert between(conn, 0, 10, guild_id=OTHER_GUILD) == [2]
    reply = message_guilds(conn, MessageGuilds(start=at(0), end=at(10)))
    assert reply == GuildIds(guild_ids=(GUILD, OTHER_GUILD))
    assert message_guilds(conn, MessageGuilds(start=at(2.5), end=at(10))).guild_ids == ()


def test_pages_resume_after_the_last_row_and_an_unknown_anchor_is_refused(
    conn: Connection,
) -> None:
    for i in range(1, 8):
        stored(conn, i, 5)  # the same instant: the id breaks the tie
    assert between(conn, 0, 10, limit=3) == [1, 2, 3]
    assert between(conn, 0, 10, limit=3, after_id=3) == [4, 5, 6]
    assert between(conn, 0, 10, limit=3, after_id=6) == [7]
    reply = messages_between(conn, MessagesBetween(start=at(0), end=at(10), after_id=99))
    assert isinstance(reply, StoreRejected)
    assert "after_id 99 is not a stored message" in reply.problem


def test_a_refresh_keeps_the_first_stored_time(conn: Connection) -> None:
    stored(conn, 1, 5)
    stored(conn, 1, 500)  # the same message seen again (an edit's refresh, a replay)
    assert between(conn, 0, 10) == [1]
    assert between(conn, 10, 1000) == []


def test_bad_bounds_name_the_field() -> None:
    with pytest.raises(ValueError, match="start"):
        MessagesBetween(start="yesterday", end=at(0))
    with pytest.raises(ValueError, match="limit"):
        MessagesBetween(start=at(0), end=at(1), limit=0)


def test_migration_7_dates_old_rows_by_their_discord_time(db_path: Path) -> None:
    conn = open_connection(db_path)
    try:
        migrate(conn, db_path, MIGRATIONS[:6])
        conn.execute(
            "INSERT INTO messages (message_id, guild_id, channel_id, author_id, author_name, "
            "content, created_at) VALUES (5, ?, 9, 7, 'ann', 'old', ?)",
            (GUILD, at(100)),
        )
        assert migrate(conn, db_path) == (6, len(MIGRATIONS))
        assert between(conn, 100, 101) == [5]
    finally:
        close_connection(conn)


async def test_the_store_stamps_stored_at_on_trio_time(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    pin_calendar(datetime(2026, 12, 8, 9, 0, tzinfo=UTC))
    # inline: a worker thread on an autojumping MockClock lets asks time out meanwhile
    tree = SupervisorSpec(children=[store_child(tmp_path / "s.db", inline=True)])
    async with open_runtime(tree, wire_check=True) as rt:
        store = rt.lookup("store")
        await trio.sleep(90)
        await store.ask(chat(1, 0))  # Discord's time: 2025-01-31, stored 2026-12-08 09:01:30
        reply = await store.ask(
            MessagesBetween(start="2026-12-08T09:01:30Z", end="2026-12-08T09:01:31Z"),
            MessageRows,
        )
        assert [(r.message_id, r.stored_at) for r in reply.rows] == [
            (1, "2026-12-08T09:01:30.000+00:00")
        ]
