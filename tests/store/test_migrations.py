"""Versioned migrations: from empty, idempotent re-open, atomic steps, future versions refused."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from clanker.store import (
    LATEST_VERSION,
    MessageRows,
    MigrationFailed,
    RecentMessages,
    SchemaTooNew,
    open_store,
)
from clanker.store.migrations import MIGRATIONS, Migration, migrate, schema_version
from clanker.store.queries import recent_messages, store_message
from clanker.store.sqlite import Connection, close_connection, open_connection

from .helpers import chat


def _tables(conn: Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {r[0] for r in rows}


def _indexes(conn: Connection) -> set[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%'"
    ).fetchall()
    return {r[0] for r in rows}


def test_empty_file_is_migrated_to_the_latest_version(db_path: Path) -> None:
    conn = open_connection(db_path)
    try:
        assert schema_version(conn) == 0
        assert migrate(conn, db_path) == (0, LATEST_VERSION)
        assert schema_version(conn) == LATEST_VERSION == len(MIGRATIONS)
        assert {"messages", "actions", "settings", "response_triggers"} <= _tables(conn)
        assert {
            "idx_messages_channel_time",
            "idx_messages_guild_time",
            "idx_actions_kind_time",
            "idx_actions_time",
            "idx_response_triggers_action_id",
        } <= _indexes(conn)
    finally:
        close_connection(conn)


def test_reopening_is_a_no_op_and_keeps_data(db_path: Path) -> None:
    conn = open_store(db_path)
    store_message(conn, chat(1, 0))
    schema = conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    close_connection(conn)

    conn = open_connection(db_path)
    try:
        assert migrate(conn, db_path) == (LATEST_VERSION, LATEST_VERSION)
        assert conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == schema
        rows = recent_messages(conn, RecentMessages(channel_id=chat(1, 0).channel_id))
        assert isinstance(rows, MessageRows)
        assert [r.message_id for r in rows.rows] == [1]
    finally:
        close_connection(conn)


def test_a_file_from_the_future_is_refused_naming_file_and_versions(db_path: Path) -> None:
    conn = open_store(db_path)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 7}")
    close_connection(conn)
    with pytest.raises(SchemaTooNew) as info:
        open_store(db_path)
    err = info.value
    assert (err.found, err.supported) == (LATEST_VERSION + 7, LATEST_VERSION)
    assert str(db_path) in str(err)
    assert f"version {LATEST_VERSION + 7}" in str(err)
    assert f"up to {LATEST_VERSION}" in str(err)


def test_migrations_run_in_order_each_in_its_own_transaction(db_path: Path) -> None:
    steps = (
        Migration(1, "a", ("CREATE TABLE a (x)",)),
        Migration(2, "b", ("CREATE TABLE b (x)", "INSERT INTO a VALUES (2)")),
        Migration(3, "broken", ("CREATE TABLE c (x)", "INSERT INTO nowhere VALUES (1)")),
    )
    conn = open_connection(db_path)
    try:
        with pytest.raises(MigrationFailed, match=r"migration 3 \(broken\).*stays at version 2"):
            migrate(conn, db_path, steps)
        # Steps 1 and 2 committed; step 3 rolled back entirely (no table c, version 2).
        assert schema_version(conn) == 2
        assert {"a", "b"} <= _tables(conn)
        assert "c" not in _tables(conn)
        assert conn.execute("SELECT x FROM a").fetchall() == [(2,)]
        # Fixing step 3 later applies only step 3.
        fixed = (*steps[:2], Migration(3, "fixed", ("CREATE TABLE c (x)",)))
        assert migrate(conn, db_path, fixed) == (2, 3)
        assert "c" in _tables(conn)
    finally:
        close_connection(conn)


def test_migration_versions_must_be_consecutive(db_path: Path) -> None:
    conn = open_connection(db_path)
    try:
        with pytest.raises(ValueError, match="versions must be 1, 2"):
            migrate(conn, db_path, (Migration(2, "skips one", ()),))
        assert schema_version(conn) == 0
    finally:
        close_connection(conn)


def test_v2_keeps_attachments_and_upgrades_a_v1_file(db_path: Path) -> None:
    from clanker.store import StoredAttachment

    conn = open_connection(db_path)
    try:
        migrate(conn, db_path, MIGRATIONS[:1])  # a file from before attachments were kept
        conn.execute(
            "INSERT INTO messages (message_id, channel_id, author_id, author_name, content,"
            " created_at) VALUES (1, 10, 5, 'alice', 'old', '2025-01-31T12:00:00.000+00:00')"
        )
        assert migrate(conn, db_path, MIGRATIONS[:2]) == (1, 2)
        migrate(conn, db_path)  # the rest, so today's store_message finds its columns
        pic = StoredAttachment(
            id=7,
            filename="cat.png",
            url="https://cdn/x",
            size=12,
            content_type="image/png",
            width=4,
            height=3,
        )
        with_image = msgspec.structs.replace(chat(2, 1), channel_id=10, attachments=(pic,))
        store_message(conn, with_image)
        rows = recent_messages(conn, RecentMessages(channel_id=10)).rows
        assert [(r.message_id, r.attachments) for r in rows] == [(1, ()), (2, (pic,))]
    finally:
        close_connection(conn)
