"""The voice server's UDP side: IP discovery, clients' RTP in (decrypted, decoded, recorded),
media out. Bad datagrams and refused sends are counted, never fatal."""

from __future__ import annotations

import socket
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import trio

from clanker.sandbox.voice import discovery
from clanker.sandbox.voice.crypto import DecryptError
from clanker.sandbox.voice.recording import StreamRecording
from clanker.sandbox.voice.rtp import RtpError, RtpHeader, is_rtcp, parse_header, strip_decrypted
from clanker.sandbox.voice.session import VoiceGateway, VoiceSession

_MAX_PROBLEMS = 100
_MIN_RTP = 12  # the fixed RTP header


@dataclass
class MediaStats:
    """UDP counters."""

    datagrams_received: int = 0
    ip_discoveries: int = 0
    rtp_received: int = 0
    rtcp_received: int = 0
    decrypt_failures: int = 0
    unknown_ssrc: int = 0
    malformed: int = 0
    keepalives: int = 0  # short non-RTP datagrams (clankvox's 8-byte keepalive), ignored
    dropped_late_or_duplicate: int = 0
    rtp_sent: int = 0
    send_errors: int = 0  # sends refused (e.g. a client's socket is gone)
    problems: list[str] = field(default_factory=list)  # the first 100, for error messages


class MediaSocket:
    """One UDP socket serving every client session of a `VoiceGateway`."""

    def __init__(
        self, sock: trio.socket.SocketType, gateway: VoiceGateway, on_change: Callable[[], None]
    ) -> None:
        self.sock = sock
        self.gateway = gateway
        # Kernel receive timestamps make arrival times (benchmarks/clankvox.py) independent of
        # how quickly this process gets scheduled. Linux has them; elsewhere arrivals are None.
        self._timestamps = _enable_timestamps(sock)
        self.stats = MediaStats()
        self.recordings: dict[int, StreamRecording] = {}  # by client ssrc
        self._on_change = on_change
        self._kernel_arrival: float | None = None

    async def send(self, session: VoiceSession, header: RtpHeader, payload: bytes) -> None:
        """Encrypt one RTP packet for `session` (its own nonce counter) and send it."""
        assert session.cipher is not None and session.client_address is not None
        datagram = session.cipher.seal_rtp(header, payload, session.server_nonce)
        session.server_nonce += 1
        try:
            await self.sock.sendto(datagram, session.client_address)
        except OSError as exc:
            self.stats.send_errors += 1
            self._problem(f"send to {session.client_address}: {exc}", malformed=False)
            return
        self.stats.rtp_sent += 1

    async def serve(self) -> None:
        """Receive forever."""
        while True:
            try:
                if self._timestamps:
                    data, ancillary, _, source = await self.sock.recvmsg(65_536, _ANCILLARY)
                    address = cast("tuple[str, int]", source)
                    self._kernel_arrival = _timestamp(ancillary)
                else:
                    data, address = await self.sock.recvfrom(65_536)
            except OSError as exc:
                # A refused earlier send can surface on the next receive: note it, go on.
                self.stats.send_errors += 1
                self._problem(f"UDP: {exc}", malformed=False)
                continue
            self.stats.datagrams_received += 1
            await self._on_datagram(data, address)
            self._on_change()

    async def _on_datagram(self, data: bytes, address: tuple[str, int]) -> None:
        if discovery.looks_like_discovery(data):
            await self._discovery(data, address)
            return
        if len(data) < _MIN_RTP:
            # A UDP keepalive (clankvox sends 8 bytes every 5 s; protocol section 9.3): a
            # server ignores anything shorter than an RTP header. Counted, not malformed.
            self.stats.keepalives += 1
            return
        if is_rtcp(data):
            self.stats.rtcp_received += 1
            return
        try:
            ssrc = parse_header(data).ssrc
        except RtpError as exc:
            self._problem(f"datagram from {address}: {exc}")
            return
        session = self.gateway.session_by_ssrc(ssrc)
        if session is None or session.cipher is None:
            self.stats.unknown_ssrc += 1
            return
        try:
            header, body, nonce = session.cipher.open_rtp(data)
            payload = strip_decrypted(header, body)
        except DecryptError as exc:
            self.stats.decrypt_failures += 1
            self._problem(str(exc), malformed=False)
            return
        except RtpError as exc:
            self._problem(f"RTP from ssrc {ssrc}: {exc}")
            return
        self.stats.rtp_received += 1
        recording = self.recordings.get(ssrc)
        if recording is None:
            recording = self.recordings[ssrc] = StreamRecording(session.grant.user_id, ssrc)
        arrival = trio.current_time()
        opus, dave = self.gateway.dave_open(session, payload)
        added = recording.add(
            header, payload, nonce, arrival, self._kernel_arrival, dave=dave, opus=opus
        )
        if not added:
            self.stats.dropped_late_or_duplicate += 1

    async def _discovery(self, data: bytes, address: tuple[str, int]) -> None:
        try:
            request = discovery.parse(data)
        except discovery.DiscoveryError as exc:
            self._problem(f"IP discovery from {address}: {exc}")
            return
        if request.kind != discovery.REQUEST:
            return
        self.stats.ip_discoveries += 1
        try:
            await self.sock.sendto(discovery.response(request.ssrc, *address[:2]), address)
        except OSError as exc:
            self.stats.send_errors += 1
            self._problem(f"IP discovery answer to {address}: {exc}", malformed=False)

    def _problem(self, text: str, *, malformed: bool = True) -> None:
        if malformed:
            self.stats.malformed += 1
        if len(self.stats.problems) < _MAX_PROBLEMS:
            self.stats.problems.append(text)


# Python 3.11 does not name it; 35 is Linux's SO_TIMESTAMPNS (asm-generic, x86, arm).
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform == "linux" else None)
_ANCILLARY = socket.CMSG_SPACE(16) if hasattr(socket, "CMSG_SPACE") else 0


def _enable_timestamps(sock: trio.socket.SocketType) -> bool:
    if _SO_TIMESTAMPNS is None or not _ANCILLARY:
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


def _timestamp(ancillary: list[tuple[int, int, bytes]]) -> float | None:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanoseconds = struct.unpack("qq", data[:16])
            return int(seconds) + int(nanoseconds) / 1e9
    return None
