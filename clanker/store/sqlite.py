"""Opening and closing the one SQLite connection, with sqlite-vec loaded.

The pyenv CPython on our machines was built without loadable-extension support, so the stdlib
``sqlite3`` cannot load sqlite-vec. ``pysqlite3`` (the ``pysqlite3-binary`` wheel) is a DB-API
drop-in with its own, newer SQLite that can. Extensions are per connection: every connection this
module opens loads sqlite-vec and checks ``vec_version()`` before anyone uses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pysqlite3.dbapi2 as sqlite3
import sqlite_vec

Connection = Any  # pysqlite3 ships no type stubs; this names what we pass around.

BUSY_TIMEOUT_MS = 5000


class StoreOpenError(RuntimeError):
    """The database file could not be opened as clanker's store (named in the message)."""


def open_connection(path: str | Path) -> Connection:
    """Open ``path`` (created if missing) in WAL mode with sqlite-vec loaded.

    The connection is in autocommit mode (``isolation_level=None``): callers open transactions
    explicitly with ``BEGIN IMMEDIATE``, so a write never silently spans two calls. It may be
    used from any thread (``check_same_thread=False``) because the Store hands its work to trio's
    worker threads one call at a time; it must never be used by two threads at once.
    """
    path = Path(path)
    try:
        conn = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
    except sqlite3.Error as exc:
        raise StoreOpenError(f"cannot open the store database {path}: {exc}") from exc
    try:
        _configure(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def _configure(conn: Connection, path: Path) -> None:
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StoreOpenError(
            f"{path}: SQLite refused WAL journal mode (got {mode!r}); the store needs a file on a "
            "local filesystem that supports shared memory (not :memory: or a network share)"
        )
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    load_sqlite_vec(conn, path)


def load_sqlite_vec(conn: Connection, path: str | Path = "<connection>") -> str:
    """Load sqlite-vec into ``conn`` and return its ``vec_version()``; raise if it is missing."""
    try:
        conn.enable_load_extension(True)
        try:
            sqlite_vec.load(conn)
        finally:
            conn.enable_load_extension(False)
        version = conn.execute("SELECT vec_version()").fetchone()[0]
    except (sqlite3.Error, AttributeError) as exc:
        raise StoreOpenError(
            f"{path}: cannot load the sqlite-vec extension ({exc}); install the sqlite-vec and "
            "pysqlite3-binary packages (uv sync)"
        ) from exc
    if not isinstance(version, str) or not version:
        raise StoreOpenError(f"{path}: sqlite-vec loaded but vec_version() returned {version!r}")
    return version


def close_connection(conn: Connection) -> None:
    """Checkpoint the WAL into the main file and close ``conn``.

    The checkpoint is a courtesy (the WAL is replayed on the next open anyway): it leaves a
    single self-contained file behind after a clean shutdown. Closing twice is harmless.
    """
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.ProgrammingError:
        return  # already closed
    except sqlite3.Error:
        pass  # another connection holds a read lock: the next open replays the WAL
    conn.close()


@contextmanager
def transaction(conn: Connection) -> Iterator[None]:
    """A write transaction: taken eagerly (IMMEDIATE), committed on success, else rolled back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
