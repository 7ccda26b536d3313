"""A test client: a `GeminiLiveSession` on a real WebSocket to the realtimesim's Gemini server.

The provider-neutral client (`provider_client`) with Gemini's checks: each frame sent is
validated as an SDK Live client message, each frame received (Gemini sends its JSON in binary
frames) as an SDK server message, so a frame in the wrong shape fails the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from clanker.voice.realtime.api import SessionConfig
from clanker.voice.realtime.gemini import GeminiLiveSession

from .gemini_check import client_message, server_message
from .provider_client import Client
from .provider_client import connected as provider_connected


class GeminiClient(Client):
    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every server message received, decoded, in order."""
        return self.frames

    def content(self, field_name: str) -> list[Any]:
        """The values of one ``serverContent`` field, in the order received."""
        return [
            m["serverContent"][field_name]
            for m in self.frames
            if field_name in m.get("serverContent", {})
        ]


@asynccontextmanager
async def connected(
    session: GeminiLiveSession, config: SessionConfig | None = None
) -> AsyncIterator[GeminiClient]:
    """Connect, send `start` (unless ``config`` is None) and read in the background."""
    async with provider_connected(
        session,
        config,
        check_client=client_message,
        check_server=server_message,
        binary=True,
        client_type=GeminiClient,
    ) as client:
        yield cast(GeminiClient, client)
