"""The feed sim on 127.0.0.1, reached by the guarded fetcher through its test-only host map,
on a MockClock that jumps only when every task waits on a timer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio
import trio.testing

from clanker.tools.fetch import FetchLimits, GuardedFetcher
from clanker.toolsims.feeds import FeedSim, open_feed_sim

HOST = "feeds.test"


@pytest.fixture
def mock_clock() -> trio.testing.MockClock:
    # 50 ms of real idleness: loopback sockets answer well within it, so virtual time only
    # jumps when every task waits on a timer (a stalled source).
    return trio.testing.MockClock(autojump_threshold=0.05)


@pytest.fixture
async def sim() -> AsyncIterator[FeedSim]:
    async with open_feed_sim() as running:
        yield running


def sim_fetcher(**limits: object) -> GuardedFetcher:
    return GuardedFetcher(
        FetchLimits(user_agent="clanker-test/1 (feeds)", **limits),  # type: ignore[arg-type]
        testing_only_hosts={HOST: "127.0.0.1"},
    )
