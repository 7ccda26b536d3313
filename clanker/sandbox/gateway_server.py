"""The gateway's websocket I/O: trio-websocket connections pumped into and out of `GatewayHub`.

Served with trio-websocket rather than Hypercorn because Hypercorn always accepts the
`permessage-deflate` extension the client offers, which Discord does not negotiate and
curl_cffi's websocket cannot decode. Each connection has a reader (client frames -> hub) and a
writer (hub frames -> one zlib stream); a stall gate lets tests freeze the whole gateway.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest

from clanker.sandbox.codec import (
    FrameDecodeError,
    FrameEncoder,
    UnsupportedTransport,
    decode_client_frame,
)
from clanker.sandbox.gateway import CloseConnection, Deferred, GatewayAction, GatewayHub, Op

_log = logging.getLogger(__name__)

# How long to wait for the client's half of a close handshake before giving up on it.
_CLOSE_HANDSHAKE_TIMEOUT = 5.0


class StallGate:
    """While stalled, the gateway neither reads, writes nor accepts: a frozen Discord edge."""

    def __init__(self) -> None:
        self._until: float | None = None

    def stall(self, seconds: float) -> None:
        """Freeze for `seconds` of trio time from now (extends a stall already in progress)."""
        until = trio.current_time() + seconds
        self._until = until if self._until is None else max(self._until, until)

    @property
    def stalled(self) -> bool:
        """Whether the gateway is frozen right now."""
        return self._until is not None and trio.current_time() < self._until

    async def wait_clear(self) -> None:
        """Return once no stall is in force."""
        # A loop, not an Event: stall() may extend the deadline while we sleep.
        while self._until is not None and trio.current_time() < self._until:  # noqa: ASYNC110
            await trio.sleep_until(self._until)


@dataclass(frozen=True)
class SentDispatch:
    """A dispatch (op 0) written to a client: `at` is the trio time its frame, encoded, was
    handed to the websocket; `data` is the dispatch's `d` (shared with the session log)."""

    connection_id: int
    event: str
    seq: int
    data: Any
    at: float


class _PeerClosed:
    """Outbox marker: the reader saw the websocket close, so the writer should stop."""


_PEER_CLOSED = _PeerClosed()
_Outgoing = dict[str, object] | CloseConnection | _PeerClosed


class _ConnectionIO:
    def __init__(self, encoder: FrameEncoder) -> None:
        self.encoder = encoder
        # Unbounded on purpose: frames are produced synchronously by world changes, and the
        # session log (not this queue) is what guarantees delivery across reconnects.
        self.outbox_send, self.outbox_recv = trio.open_memory_channel[_Outgoing](math.inf)
        self.closing = False


class GatewayServer:
    """Carries `GatewayHub` actions over real websockets."""

    def __init__(self, hub: GatewayHub, *, on_change: Callable[[], None]) -> None:
        self.hub = hub
        self.gate = StallGate()
        self.rejected: list[str] = []
        self.sent_dispatches: list[SentDispatch] = []
        self._on_change = on_change
        self._connections: dict[int, _ConnectionIO] = {}
        # Where deferred actions wait (set by the serving code before any connection).
        self.background: trio.Nursery | None = None

    def deliver(self, actions: list[GatewayAction]) -> None:
        """Queue hub actions on their connections (actions for gone connections are dropped);
        a `Deferred` runs later, in `background`."""
        for action in actions:
            if isinstance(action, Deferred):
                if self.background is None:
                    raise RuntimeError("GatewayServer.background must be set before serving")
                self.background.start_soon(self._later, action)
                continue
            io = self._connections.get(action.connection_id)
            if io is None:
                continue
            if isinstance(action, CloseConnection):
                io.closing = True  # frames still queued are dropped; the session log keeps them
                io.outbox_send.send_nowait(action)
            else:
                io.outbox_send.send_nowait(action.payload)

    async def _later(self, action: Deferred) -> None:
        await trio.sleep(action.delay)
        self.deliver(action.then())
        self._on_change()

    async def handle(self, request: WebSocketRequest) -> None:
        """trio-websocket handler for one gateway connection."""
        try:
            await self._handle(request)
        except ConnectionClosed:
            # The client went away during the handshake; raising here would stop the server.
            _log.info("sandbox gateway: client left during the handshake")

    async def _handle(self, request: WebSocketRequest) -> None:
        await self.gate.wait_clear()
        query = parse_qs(urlsplit(request.path).query)
        try:
            encoder = FrameEncoder(
                compress=query.get("compress", [None])[0],
                encoding=query.get("encoding", ["json"])[0],
            )
        except UnsupportedTransport as exc:
            self.rejected.append(str(exc))
            _log.error("sandbox gateway rejected a connection: %s", exc)
            await request.reject(400, body=str(exc).encode())
            self._on_change()
            return
        ws = await request.accept()
        connection_id, hello = self.hub.open_connection()
        io = _ConnectionIO(encoder)
        self._connections[connection_id] = io
        self.deliver(hello)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._read, ws, connection_id, io)
                await self._write(ws, connection_id, io)
                nursery.cancel_scope.cancel()
        finally:
            del self._connections[connection_id]
            self.hub.connection_closed(connection_id)
            self._on_change()

    async def _read(self, ws: WebSocketConnection, connection_id: int, io: _ConnectionIO) -> None:
        while True:
            try:
                message = await ws.get_message()
            except ConnectionClosed:
                io.outbox_send.send_nowait(_PEER_CLOSED)
                return
            await self.gate.wait_clear()
            try:
                frame = decode_client_frame(message)
            except FrameDecodeError as exc:
                self.deliver(self.hub.reject_frame(connection_id, str(exc)))
            else:
                self.deliver(self.hub.receive(connection_id, frame))
            self._on_change()

    def _record_dispatch(self, connection_id: int, frame: dict[str, object]) -> None:
        seq = frame.get("s")
        self.sent_dispatches.append(
            SentDispatch(
                connection_id,
                str(frame.get("t")),
                seq if isinstance(seq, int) else 0,
                frame.get("d"),
                trio.current_time(),
            )
        )

    async def _write(self, ws: WebSocketConnection, connection_id: int, io: _ConnectionIO) -> None:
        async for item in io.outbox_recv:
            if isinstance(item, _PeerClosed):
                return
            if isinstance(item, CloseConnection):
                with trio.move_on_after(_CLOSE_HANDSHAKE_TIMEOUT):
                    await ws.aclose(item.code, item.reason)
                return
            if io.closing:
                continue
            await self.gate.wait_clear()
            encoded = io.encoder.encode(item)
            if item.get("op") == Op.DISPATCH:
                self._record_dispatch(connection_id, item)
            try:
                await ws.send_message(encoded)
            except ConnectionClosed:
                return
