"""A test client: a `GeminiLiveSession` on a real WebSocket to the realtimesim's Gemini server.

It connects where `target()` says, sends what the session's commands return (each frame
validated as an SDK Live client message), and feeds every frame it receives to `receive`
after validating it as an SDK server message, so a frame in the wrong shape fails the test. A
close is handed to the session's `connection_lost`. The socket actor's job in miniature, as
`client.py` is for OpenAI; the real actor is separate work.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import trio
import trio_websocket
from trio_websocket import CloseReason, ConnectionClosed, WebSocketConnection

from clanker.voice.realtime.api import Outgoing, RealtimeEvent, SessionConfig
from clanker.voice.realtime.gemini import GeminiLiveSession

from .gemini_check import client_message, server_message

TIMEOUT = 30.0  # virtual seconds: a hang jumps here and fails instead of blocking
E = TypeVar("E")


@dataclass
class GeminiClient:
    session: GeminiLiveSession
    ws: WebSocketConnection
    events: list[RealtimeEvent] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    closed: CloseReason | None = None
    _changed: trio.Event = field(default_factory=trio.Event)

    async def send(self, outgoing: list[Outgoing]) -> None:
        for frame in outgoing:
            client_message(frame)
            await self.ws.send_message(frame)

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def content(self, field_name: str) -> list[Any]:
        """The values of one ``serverContent`` field, in the order received."""
        return [
            m["serverContent"][field_name]
            for m in self.messages
            if field_name in m.get("serverContent", {})
        ]

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        with trio.fail_after(TIMEOUT):
            while not predicate():
                await self._changed.wait()

    async def wait_for_event(self, kind: type[E], count: int = 1) -> list[E]:
        await self.wait_for(lambda: len(self.of(kind)) >= count)
        return self.of(kind)

    def _change(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def _read(self) -> None:
        while True:
            try:
                message = await self.ws.get_message()
            except ConnectionClosed as exc:
                self.closed = exc.reason
                self.events += self.session.connection_lost(exc.reason.code, exc.reason.reason)
                self._change()
                return
            assert isinstance(message, bytes), "Gemini sends its JSON in binary frames"
            server_message(message)
            self.messages.append(json.loads(message))
            self.events += self.session.receive(message)
            self._change()


@asynccontextmanager
async def connected(
    session: GeminiLiveSession, config: SessionConfig | None = None
) -> AsyncIterator[GeminiClient]:
    """Connect, send `start` (unless ``config`` is None) and read in the background."""
    target = session.target()
    headers = [(k.lower().encode(), v.encode()) for k, v in target.headers]
    async with trio.open_nursery() as nursery:
        ws = await trio_websocket.connect_websocket_url(nursery, target.url, extra_headers=headers)
        client = GeminiClient(session, ws)
        nursery.start_soon(client._read)
        try:
            if config is not None:
                await client.send(session.start(config))
            yield client
        finally:
            with trio.CancelScope(shield=True):
                with trio.move_on_after(1.0):
                    await ws.aclose()
                # trio-websocket 0.12 leaves the client's TCP stream open when the server
                # closed the websocket first; close it ourselves.
                await ws._stream.aclose()
            nursery.cancel_scope.cancel()
