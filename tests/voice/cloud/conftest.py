"""Fixtures for the cloud speech tests: a voicesim server and helpers to read a synth.

The providers run the real `openai` SDK and httpx over real sockets, so most tests use the
real clock (as tests/llm does) and compare trio times the sim and the test recorded, never
wall time. Tests of timeouts and of the SDK's back-off use `mock_clock` (this directory's own,
overriding pytest-trio's, which never jumps): a MockClock that jumps to the next deadline once
every task has been idle for 50 ms of real time, so a 10 s timeout takes no time and its
virtual time is exact.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field

import pytest
import trio
import trio.testing

from clanker.voice.models.base import SpeechSynth
from clanker.voicesim import VoiceSim, open_voicesim

KEY = "sk-voicesim-test-key"
VOICE = "JBFqnCBsd6RMkjVDRZzb"


@pytest.fixture
async def sim() -> AsyncIterator[VoiceSim]:
    async with open_voicesim(api_key=KEY) as server:
        yield server


@pytest.fixture
def mock_clock() -> trio.testing.MockClock:
    # 50 ms of real idleness: loopback sockets answer well within it, so the clock only jumps
    # when every task waits on a timer (a stalled server, the SDK's back-off).
    return trio.testing.MockClock(autojump_threshold=0.05)


@pytest.fixture
def refused_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class Heard:
    """What a consumer got from `SpeechSynth.synthesize`, and when (trio time)."""

    chunks: list[bytes] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def pcm(self) -> bytes:
        return b"".join(self.chunks)


async def listen(synth: SpeechSynth, text: str, *, keep: int | None = None) -> Heard:
    """Read ``synth.synthesize(text)`` to its end (or ``keep`` chunks, then stop), keeping a
    `CloudSpeechError` instead of raising it."""
    from clanker.voice.cloud import CloudSpeechError

    heard = Heard()
    try:
        async with aclosing(synth.synthesize(text)) as chunks:  # type: ignore[type-var]
            async for chunk in chunks:
                heard.chunks.append(chunk)
                heard.times.append(trio.current_time())
                if keep is not None and len(heard.chunks) >= keep:
                    break
    except CloudSpeechError as exc:
        heard.error = exc
    return heard
