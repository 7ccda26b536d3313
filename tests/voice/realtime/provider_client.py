"""A test client for any provider session on a real WebSocket to its sim (xAI, ElevenLabs).

The same job as `client.py` (the OpenAI one, checked against the SDK): connect where
`target()` says, send what the session's commands return — each frame checked first by the
provider's ``check_client`` — and feed every frame received to `receive`, after the
provider's ``check_server``. A close is handed to the session's `connection_lost`. A session
that owes the server frames of its own (ElevenLabs answers pings) has them taken with
``take_frames()`` after each frame it read, and they are sent at once. This is the socket
actor's job in miniature; the real actor is separate work.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import trio
import trio_websocket
from trio_websocket import CloseReason, ConnectionClosed, WebSocketConnection

from clanker.voice.realtime.api import ConnectTarget, Outgoing, RealtimeEvent, SessionConfig

TIMEOUT = 30.0  # virtual seconds: a hang jumps here and fails instead of blocking
E = TypeVar("E")


class Session(Protocol):
    def target(self) -> ConnectTarget: ...
    def start(self, config: SessionConfig) -> list[Outgoing]: ...
    def receive(self, frame: str | bytes) -> list[RealtimeEvent]: ...
    def connection_lost(self, code: int | None, reason: str | None) -> list[RealtimeEvent]: ...


@dataclass
class Client:
    session: Any
    ws: WebSocketConnection
    check_client: Callable[[Outgoing], object]
    check_server: Callable[[Any], object]
    binary: bool = False  # the provider sends its JSON in binary frames (Gemini)
    events: list[RealtimeEvent] = field(default_factory=list)
    frames: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    closed: CloseReason | None = None
    _changed: trio.Event = field(default_factory=trio.Event)

    async def send(self, outgoing: list[Outgoing]) -> None:
        for frame in outgoing:
            self.check_client(frame)
            self.sent.append(json.loads(frame))
            await self.ws.send_message(frame)

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def frames_of(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == kind]

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
            if self.binary:
                assert isinstance(message, bytes), "the provider sends binary frames"
            else:
                assert isinstance(message, str), "the provider sends text frames"
            self.check_server(message)
            self.frames.append(json.loads(message))
            self.events += self.session.receive(message)
            take = getattr(self.session, "take_frames", None)
            if take is not None:
                with suppress(ConnectionClosed):  # the next read reports the close
                    await self.send(take())
            self._change()


@asynccontextmanager
async def connected(
    session: Session,
    config: SessionConfig | None,
    *,
    check_client: Callable[[Outgoing], object],
    check_server: Callable[[Any], object],
    binary: bool = False,
    client_type: type[Client] = Client,
) -> AsyncIterator[Client]:
    """Connect, send `start` (unless ``config`` is None) and read in the background."""
    target = session.target()
    headers = [(k.lower().encode(), v.encode()) for k, v in target.headers]
    async with trio.open_nursery() as nursery:
        ws = await trio_websocket.connect_websocket_url(
            nursery,
            target.url,
            extra_headers=headers,
            subprotocols=list(target.subprotocols) or None,
        )
        client = client_type(session, ws, check_client, check_server, binary)
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
