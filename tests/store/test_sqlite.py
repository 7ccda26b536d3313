"""The connection: WAL, pragmas, sqlite-vec on every connection."""

from __future__ import annotations

import struct
from pathlib import Path

import pysqlite3.dbapi2 as sqlite3
import pytest

from clanker.store.sqlite import (
    BUSY_TIMEOUT_MS,
    Connection,
    StoreOpenError,
    close_connection,
    open_connection,
)


def test_pragmas_are_set(conn: Connection) -> None:
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS


def test_wal_mode_is_persistent_in_the_file(conn: Connection, db_path: Path) -> None:
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    assert Path(f"{db_path}-wal").exists()
    # A plain connection without our setup sees the file's journal mode: WAL is in the header.
    other = sqlite3.connect(str(db_path))
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert other.execute("SELECT x FROM t").fetchall() == [(1,)]
    finally:
        other.close()


def test_sqlite_vec_is_loaded_and_knn_works(conn: Connection) -> None:
    version = conn.execute("SELECT vec_version()").fetchone()[0]
    assert version.startswith("v")
    conn.execute("CREATE VIRTUAL TABLE v USING vec0(embedding float[3])")
    vectors = {1: (1.0, 0.0, 0.0), 2: (0.0, 1.0, 0.0), 3: (0.9, 0.1, 0.0)}
    for rowid, vec in vectors.items():
        conn.execute(
            "INSERT INTO v (rowid, embedding) VALUES (?, ?)", (rowid, struct.pack("3f", *vec))
        )
    hits = conn.execute(
        "SELECT rowid FROM v WHERE embedding MATCH ? AND k = 2 ORDER BY distance",
        (struct.pack("3f", 1.0, 0.0, 0.0),),
    ).fetchall()
    assert [h[0] for h in hits] == [1, 3]


def test_every_new_connection_loads_sqlite_vec(db_path: Path) -> None:
    for _ in range(2):
        c = open_connection(db_path)
        try:
            assert c.execute("SELECT vec_version()").fetchone()[0]
        finally:
            close_connection(c)


def test_close_checkpoints_the_wal_and_is_idempotent(db_path: Path) -> None:
    c = open_connection(db_path)
    # An idle second connection keeps the file open, so only our checkpoint empties the WAL
    # (closing the last connection would checkpoint it anyway).
    other = open_connection(db_path)
    try:
        c.execute("CREATE TABLE t (x)")
        c.execute("INSERT INTO t VALUES (1)")
        wal = Path(f"{db_path}-wal")
        assert wal.stat().st_size > 0
        close_connection(c)
        close_connection(c)  # harmless
        assert wal.stat().st_size == 0
        assert other.execute("SELECT x FROM t").fetchall() == [(1,)]
    finally:
        close_connection(other)


def test_unopenable_path_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "missing-dir" / "x.db"
    with pytest.raises(StoreOpenError, match="missing-dir"):
        open_connection(bad)
