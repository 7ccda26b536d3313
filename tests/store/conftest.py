"""Fixtures for the store tests: a migrated database file in ``tmp_path``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clanker.store import open_store
from clanker.store.sqlite import Connection, close_connection


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "clanker.db"


@pytest.fixture
def conn(db_path: Path) -> Iterator[Connection]:
    connection = open_store(db_path)
    try:
        yield connection
    finally:
        close_connection(connection)
