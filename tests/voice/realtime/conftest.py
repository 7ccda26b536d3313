"""Fixtures for the realtime tests that run over real sockets against the realtimesim.

`mock_clock` (this directory's own, overriding pytest-trio's, which never jumps) is a
MockClock that jumps to the next deadline once every task has been idle for 50 ms of real
time: loopback WebSocket frames arrive well within that, so the clock jumps only when
everything waits on a timer (the sim's pacing between audio chunks), and a test sees the
sim's pacing as exact virtual times. pytest-trio runs a test on a clock only when the test
takes it as an argument, so every socket test here names ``mock_clock``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio.testing

from clanker.realtimesim import RealtimeSim, open_openai_realtime_sim

KEY = "sk-realtimesim-test-key"


@pytest.fixture
def mock_clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0.05)


@pytest.fixture
async def sim() -> AsyncIterator[RealtimeSim]:
    async with open_openai_realtime_sim(api_key=KEY) as server:
        yield server
