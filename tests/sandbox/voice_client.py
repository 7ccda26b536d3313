"""A minimal raw voice client for tests: the near end clankvox will be, written from Discord's
public docs with the crypto libraries called directly (no sandbox code), so it checks the
server against the documented wire format rather than against itself."""

from __future__ import annotations

import asyncio
import json
import ssl
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import discord
import nacl.bindings
import trio
import trio_websocket
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

AES = "aead_aes256_gcm_rtpsize"
XCHACHA = "aead_xchacha20_poly1305_rtpsize"
TIMEOUT = 30.0


@dataclass
class Received:
    """One decrypted RTP packet."""

    sequence: int
    timestamp: int
    ssrc: int
    marker: bool
    payload: bytes
    nonce: int
    arrival: float


@dataclass
class RawVoiceClient:
    """Connects to a voice endpoint with the given credentials: a bare `host:port` (as
    VOICE_SERVER_UPDATE carries it: `wss://host:port/?v=8`, trusting `ca_file`) or a
    `ws://`/`wss://` URL."""

    url: str
    server_id: str
    user_id: str
    session_id: str
    token: str
    modes: tuple[str, ...] = (AES, XCHACHA)  # what this client supports, preferred first
    messages: list[dict[str, Any]] = field(default_factory=list)
    packets: list[Received] = field(default_factory=list)
    closes: list[int | None] = field(default_factory=list)
    ssrc: int = 0
    mode: str = ""
    key: bytes = b""
    external: tuple[str, int] = ("", 0)
    last_seq: int = -1
    nonce: int = 0
    undecryptable: int = 0
    ca_file: str | None = None

    def __post_init__(self) -> None:
        if "://" not in self.url:
            self.url = f"wss://{self.url}/"
        self._changed = trio.Event()
        self._ws: trio_websocket.WebSocketConnection | None = None
        self._sockets: list[trio_websocket.WebSocketConnection] = []
        self._udp = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
        self._server_udp: tuple[str, int] = ("", 0)
        self._nursery: trio.Nursery | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[RawVoiceClient]:
        """Own the client's sockets and background readers for the block."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                try:
                    yield self
                finally:
                    # Close the websockets while their reader tasks still run, then stop them.
                    with trio.CancelScope(shield=True):
                        for ws in self._sockets:
                            with trio.move_on_after(TIMEOUT):
                                await ws.aclose()
                                # trio-websocket 0.12 leaves a client's TCP stream open when the
                                # server closed the websocket first; close it ourselves.
                                await ws._stream.aclose()
                    nursery.cancel_scope.cancel()
        finally:
            self._udp.close()

    # -- waiting ----------------------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_for(self, predicate) -> None:
        with trio.fail_after(TIMEOUT):
            while not predicate():
                await self._changed.wait()

    def ops(self, op: int) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("op") == op]

    # -- connecting -------------------------------------------------------------------------

    async def _open_ws(self) -> trio_websocket.WebSocketConnection:
        assert self._nursery is not None, "use `async with client.running():`"
        context = None
        if self.url.startswith("wss://"):
            context = ssl.create_default_context(cafile=self.ca_file)
        self._ws = await trio_websocket.connect_websocket_url(
            self._nursery, self.url + "?v=8", ssl_context=context
        )
        self._sockets.append(self._ws)
        return self._ws

    async def connect(self) -> None:
        """Handshake, IP discovery and protocol selection; then read in the background."""
        await self._udp.bind(("127.0.0.1", 0))
        await self._open_ws()
        assert self._ws is not None and self._nursery is not None
        nursery = self._nursery
        hello = json.loads(await self._ws.get_message())
        assert hello["op"] == 8, hello
        await self._send(
            0,
            {
                "server_id": self.server_id,
                "user_id": self.user_id,
                "session_id": self.session_id,
                "token": self.token,
                "max_dave_protocol_version": 0,
            },
        )
        ready = json.loads(await self._ws.get_message())
        assert ready["op"] == 2, ready
        self.ssrc = ready["d"]["ssrc"]
        self._server_udp = (ready["d"]["ip"], ready["d"]["port"])
        # IP discovery: type 1, length 70, ssrc, 64 zero bytes of address, port 0.
        await self._udp.sendto(struct.pack(">HHI", 1, 70, self.ssrc) + bytes(66), self._server_udp)
        with trio.fail_after(TIMEOUT):
            answer, _ = await self._udp.recvfrom(100)
        kind, length, ssrc = struct.unpack_from(">HHI", answer)
        assert (kind, length, ssrc, len(answer)) == (2, 70, self.ssrc, 74)
        address = answer[8:72].split(b"\0", 1)[0].decode()
        self.external = (address, struct.unpack_from(">H", answer, 72)[0])
        self.mode = next(m for m in self.modes if m in ready["d"]["modes"])
        await self._send(
            1,
            {
                "protocol": "udp",
                "data": {"address": self.external[0], "port": self.external[1], "mode": self.mode},
            },
        )
        while True:
            message = json.loads(await self._ws.get_message())
            self._record(message)
            if message["op"] == 4:
                break
        self.key = bytes(message["d"]["secret_key"])
        assert message["d"]["mode"] == self.mode
        await self._send(5, {"speaking": 1, "delay": 0, "ssrc": self.ssrc})
        nursery.start_soon(self._read_ws, self._ws)
        nursery.start_soon(self._read_udp)

    async def resume(self) -> None:
        """Open a new websocket and resume the session with the last seq seen."""
        await self._open_ws()
        assert self._ws is not None and self._nursery is not None
        nursery = self._nursery
        hello = json.loads(await self._ws.get_message())
        assert hello["op"] == 8
        await self._send(
            7,
            {
                "server_id": self.server_id,
                "session_id": self.session_id,
                "token": self.token,
                "seq_ack": self.last_seq,
            },
        )
        nursery.start_soon(self._read_ws, self._ws)

    async def heartbeat(self, t: int) -> None:
        await self._send(3, {"t": t, "seq_ack": self.last_seq})

    async def _send(self, op: int, d: Any) -> None:
        assert self._ws is not None
        await self._ws.send_message(json.dumps({"op": op, "d": d}))

    def _record(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        if isinstance(message.get("seq"), int):
            self.last_seq = message["seq"]
        self._notify()

    async def _read_ws(self, ws: trio_websocket.WebSocketConnection) -> None:
        while True:
            try:
                message = await ws.get_message()
            except trio_websocket.ConnectionClosed as exc:
                self.closes.append(exc.reason.code if exc.reason else None)
                self._notify()
                return
            self._record(json.loads(message))

    # -- media ------------------------------------------------------------------------------

    def _nonce(self, counter: int) -> bytes:
        return struct.pack(">I", counter) + bytes(8 if self.mode == AES else 20)

    def _open(self, aad: bytes, sealed: bytes, nonce: bytes) -> bytes:
        if self.mode == AES:
            return AESGCM(self.key).decrypt(nonce, sealed, aad)
        return nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            sealed, aad, nonce, self.key
        )

    def seal(self, aad: bytes, plaintext: bytes) -> bytes:
        nonce = self._nonce(self.nonce)
        if self.mode == AES:
            sealed = AESGCM(self.key).encrypt(nonce, plaintext, aad)
        else:
            sealed = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
                plaintext, aad, nonce, self.key
            )
        packet = aad + sealed + struct.pack(">I", self.nonce)
        self.nonce += 1
        return packet

    async def send_rtp(self, sequence: int, timestamp: int, payload: bytes) -> None:
        header = struct.pack(">BBHII", 0x80, 0x78, sequence, timestamp, self.ssrc)
        await self._udp.sendto(self.seal(header, payload), self._server_udp)

    async def send_raw(self, datagram: bytes) -> None:
        await self._udp.sendto(datagram, self._server_udp)

    async def _read_udp(self) -> None:
        while True:
            data, _ = await self._udp.recvfrom(65_536)
            first, second, seq, ts, ssrc = struct.unpack_from(">BBHII", data)
            aad_size = 12 + 4 * (first & 0x0F) + (4 if first & 0x10 else 0)
            (counter,) = struct.unpack_from(">I", data, len(data) - 4)
            try:
                payload = self._open(data[:aad_size], data[aad_size:-4], self._nonce(counter))
            except Exception:
                self.undecryptable += 1
                continue
            self.packets.append(
                Received(seq, ts, ssrc, bool(second & 0x80), payload, counter, trio.current_time())
            )
            self._notify()


class RawVoice(discord.VoiceProtocol):
    """Hands the raw VOICE_STATE/VOICE_SERVER_UPDATE values to the test (as the bridge will
    hand them to clankvox)."""

    def __init__(self, client, channel):
        super().__init__(client, channel)
        self.state_data = None
        self.server_data = None
        self._both = asyncio.Event()

    async def on_voice_state_update(self, data, /):
        self.state_data = data
        if self.server_data is not None:
            self._both.set()

    async def on_voice_server_update(self, data, /):
        self.server_data = data
        if self.state_data is not None:
            self._both.set()

    async def connect(
        self, *, timeout, reconnect, self_deaf=False, self_mute=False, self_video=False
    ):
        await self.channel.guild.change_voice_state(channel=self.channel, self_mute=self_mute)
        await asyncio.wait_for(self._both.wait(), timeout)

    async def disconnect(self, *, force):
        await self.channel.guild.change_voice_state(channel=None)
        self.cleanup()
