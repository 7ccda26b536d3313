"""A test client: an `OpenAIRealtimeSession` on a real WebSocket to the realtimesim.

The provider-neutral client (`provider_client`) with OpenAI's checks: every frame sent is
validated against the SDK's client-event models and every frame received against its
server-event models (`sdk_check`), so a frame in the wrong shape fails the test. This is the
socket actor's job in miniature; the real actor is `clanker.voice.realtime.actor`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from clanker.voice.realtime.api import SessionConfig
from clanker.voice.realtime.openai import OpenAIRealtimeSession

from .provider_client import Client
from .provider_client import connected as provider_connected
from .sdk_check import client_event, server_event

__all__ = ["Client", "connected"]


@asynccontextmanager
async def connected(
    session: OpenAIRealtimeSession, config: SessionConfig | None = None
) -> AsyncIterator[Client]:
    """Connect, send `start` (unless ``config`` is None) and read in the background."""
    async with provider_connected(
        session, config, check_client=client_event, check_server=server_event
    ) as client:
        yield client
