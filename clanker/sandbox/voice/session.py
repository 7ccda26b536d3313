"""The voice gateway's session logic, without I/O: client frames in, frames and closes out.

`VoiceGateway` is fed what voice clients send (`receive_text`, `receive_binary`), the passing
of time (`poll`), and what happens in the channel (`member_joined`, `speaking`...), and
returns actions for the I/O layer. It follows Discord's voice gateway v8:

    connect -> HELLO(8) ; IDENTIFY(0) -> READY(2: ssrc, ip, port, modes)
    SELECT_PROTOCOL(1: udp address, port, mode) -> SESSION_DESCRIPTION(4: mode, secret_key)
    HEARTBEAT(3: t, seq_ack) -> HEARTBEAT_ACK(6: t)
    RESUME(7: server_id, session_id, token, seq_ack) -> RESUMED(9), then every missed message

Server messages that matter later (4, 5, 11, 13) carry `seq` and stay in a bounded per-session
log until a heartbeat acknowledges them, so a client that lost its socket resumes and gets what
it missed, once. A session outlives its connection; the UDP side keeps working across a resume.
"""

from __future__ import annotations

import collections
import json
import random
from dataclasses import dataclass
from typing import Any

from clanker.sandbox.voice.crypto import KEY_BYTES, TransportCipher, TransportMode
from clanker.sandbox.voice.ops import (
    IGNORED_CLIENT_OPS,
    SEQUENCED_OPS,
    VoiceCloseCode,
    VoiceGrant,
    VoiceOp,
)
from clanker.sandbox.voice.session_state import (
    Close,
    SendJson,
    SessionReady,
    VoiceAction,
    VoiceGatewayStats,
    VoiceSession,
)

__all__ = [
    "DEFAULT_HEARTBEAT_INTERVAL_MS",
    "Close",
    "SendJson",
    "SessionReady",
    "VoiceAction",
    "VoiceGateway",
    "VoiceGatewayStats",
    "VoiceSession",
]

DEFAULT_HEARTBEAT_INTERVAL_MS = 13_750
# Missing heartbeats for this many intervals closes the socket with 4009, as Discord does.
HEARTBEAT_TIMEOUT_INTERVALS = 2.5


@dataclass
class _Connection:
    id: int
    version: int | None
    last_heartbeat: float
    session_id: str | None = None
    closing: bool = False


class VoiceGateway:
    """Every voice session of the sandbox voice server.

    `udp_address` is what READY advertises (set by the server once its UDP socket is bound);
    `modes` are the encryption modes offered, preferred first (restrict them to force a path);
    `rng` makes ssrcs-independent secret keys reproducible.
    """

    def __init__(
        self,
        *,
        modes: tuple[TransportMode, ...] = tuple(TransportMode),
        heartbeat_interval_ms: int = DEFAULT_HEARTBEAT_INTERVAL_MS,
        replay_limit: int = 256,
        rng: random.Random | None = None,
        first_ssrc: int = 1,
    ) -> None:
        if not modes:
            raise ValueError("the voice gateway must offer at least one encryption mode")
        self.modes = tuple(TransportMode(m) for m in modes)
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.replay_limit = replay_limit
        self.udp_address: tuple[str, int] = ("127.0.0.1", 0)
        self.stats = VoiceGatewayStats()
        self.sessions: dict[str, VoiceSession] = {}
        self.members: dict[str, set[str]] = collections.defaultdict(set)  # channel -> users
        self._grants: dict[str, VoiceGrant] = {}
        self._connections: dict[int, _Connection] = {}
        self._next_connection = 0
        self._next_ssrc = first_ssrc
        self._rng = rng or random.Random(0)

    # -- grants (from the sandbox gateway) --------------------------------------------------

    def grant(self, grant: VoiceGrant) -> None:
        """Accept these credentials in IDENTIFY (the latest grant per user replaces older)."""
        for token, old in list(self._grants.items()):
            if (old.server_id, old.user_id) == (grant.server_id, grant.user_id):
                del self._grants[token]
        self._grants[grant.token] = grant

    def revoke(self, server_id: str, user_id: str) -> list[VoiceAction]:
        """The user left voice: forget its grant, end its sessions (close 4014)."""
        for token, old in list(self._grants.items()):
            if (old.server_id, old.user_id) == (server_id, user_id):
                del self._grants[token]
        actions: list[VoiceAction] = []
        for sid, session in list(self.sessions.items()):
            if (session.grant.server_id, session.grant.user_id) == (server_id, user_id):
                actions += self._end_session(sid, VoiceCloseCode.DISCONNECTED, "left the channel")
        return actions

    # -- connections --------------------------------------------------------------------------

    def open_connection(self, now: float, *, version: int | None) -> tuple[int, list[VoiceAction]]:
        """A websocket connected with `?v=version`: register it and say HELLO."""
        self._next_connection += 1
        conn = _Connection(self._next_connection, version, last_heartbeat=now)
        self._connections[conn.id] = conn
        self.stats.connections += 1
        self.stats.versions.append(version)
        if version is None or version < 4:
            return conn.id, self._close(
                conn, VoiceCloseCode.BAD_REQUEST, "voice gateway version must be 4 or later (?v=8)"
            )
        hello = {"heartbeat_interval": self.heartbeat_interval_ms}
        return conn.id, [self._send(conn.id, VoiceOp.HELLO, hello)]

    def connection_closed(self, connection_id: int) -> None:
        """The websocket ended (either side); its session stays resumable."""
        conn = self._connections.pop(connection_id, None)
        if conn is not None and conn.session_id is not None:
            session = self.sessions.get(conn.session_id)
            if session is not None and session.connection_id == connection_id:
                session.connection_id = None

    def drop_all(self, code: int = VoiceCloseCode.SERVER_CRASHED) -> list[VoiceAction]:
        """Close every connection (default 4015, "try resuming"); sessions stay resumable."""
        actions: list[VoiceAction] = []
        for conn in list(self._connections.values()):
            actions += self._close(conn, code, "sandbox dropped the voice connection")
        return actions

    def poll(self, now: float) -> list[VoiceAction]:
        """Close connections whose heartbeats stopped (4009)."""
        limit = self.heartbeat_interval_ms / 1000 * HEARTBEAT_TIMEOUT_INTERVALS
        actions: list[VoiceAction] = []
        for conn in list(self._connections.values()):
            if not conn.closing and now - conn.last_heartbeat > limit:
                actions += self._close(conn, VoiceCloseCode.SESSION_TIMEOUT, "no heartbeat")
        return actions

    def next_deadline(self) -> float | None:
        """When `poll` may next have something to do."""
        limit = self.heartbeat_interval_ms / 1000 * HEARTBEAT_TIMEOUT_INTERVALS
        times = [c.last_heartbeat + limit for c in self._connections.values() if not c.closing]
        return min(times, default=None)

    # -- client frames ------------------------------------------------------------------------

    def receive_text(self, connection_id: int, text: str, now: float) -> list[VoiceAction]:
        """One text frame from a client."""
        conn = self._connections.get(connection_id)
        if conn is None or conn.closing:
            return []
        try:
            frame = json.loads(text)
        except ValueError as exc:
            return self._close(conn, VoiceCloseCode.DECODE_ERROR, f"invalid JSON: {exc}")
        if not isinstance(frame, dict) or not isinstance(frame.get("op"), int):
            return self._close(conn, VoiceCloseCode.DECODE_ERROR, "a frame is {op, d}")
        op, data = frame["op"], frame.get("d")
        if op == VoiceOp.HEARTBEAT:
            return self._heartbeat(conn, data, now)
        if op == VoiceOp.IDENTIFY:
            return self._identify(conn, data)
        if op == VoiceOp.RESUME:
            return self._resume(conn, data)
        if op in IGNORED_CLIENT_OPS:
            self.stats.ignored_ops.append(op)
            return []
        if op not in (VoiceOp.SELECT_PROTOCOL, VoiceOp.SPEAKING):
            return self._close(conn, VoiceCloseCode.UNKNOWN_OPCODE, f"unknown opcode {op}")
        session = self.sessions.get(conn.session_id or "")
        if session is None:
            return self._close(conn, VoiceCloseCode.NOT_AUTHENTICATED, f"op {op} before IDENTIFY")
        if op == VoiceOp.SELECT_PROTOCOL:
            return self._select_protocol(conn, session, data)
        self.stats.client_speaking.append(data if isinstance(data, dict) else {"d": data})
        if isinstance(data, dict) and isinstance(data.get("speaking"), int):
            session.speaking = data["speaking"]
        return []

    def receive_binary(self, connection_id: int, data: bytes) -> list[VoiceAction]:
        """One binary frame (DAVE opcodes 26/28/31 from a client: recorded, not emulated)."""
        conn = self._connections.get(connection_id)
        if conn is None or conn.closing:
            return []
        if data and data[0] in IGNORED_CLIENT_OPS:
            self.stats.ignored_ops.append(data[0])
            return []
        return self._close(conn, VoiceCloseCode.DECODE_ERROR, "unexpected binary frame")

    def _heartbeat(self, conn: _Connection, data: Any, now: float) -> list[VoiceAction]:
        self.stats.heartbeats += 1
        conn.last_heartbeat = now
        if isinstance(data, dict):
            session = self.sessions.get(conn.session_id or "")
            seq_ack = data.get("seq_ack")
            if session is not None and isinstance(seq_ack, int):
                self._acknowledge(session, seq_ack)
            answer: Any = {"t": data.get("t")}
        else:
            answer = data  # before v8 the nonce was the whole payload
        return [self._send(conn.id, VoiceOp.HEARTBEAT_ACK, answer)]

    def _identify(self, conn: _Connection, data: Any) -> list[VoiceAction]:
        if conn.session_id is not None:
            return self._close(conn, VoiceCloseCode.ALREADY_AUTHENTICATED, "already identified")
        grant = self._check_credentials(data, ("server_id", "user_id", "session_id", "token"))
        if grant is None:
            return self._close(conn, VoiceCloseCode.AUTHENTICATION_FAILED, "bad credentials")
        self.stats.identifies += 1
        actions: list[VoiceAction] = []
        old = self.sessions.get(grant.session_id)
        if old is not None and old.connection_id is not None:
            other = self._connections.get(old.connection_id)
            if other is not None and other is not conn:
                actions += self._close(other, VoiceCloseCode.SESSION_INVALID, "identified again")
        session = VoiceSession(grant, ssrc=self._next_ssrc)
        self._next_ssrc += 1
        session.connection_id = conn.id
        conn.session_id = grant.session_id
        self.sessions[grant.session_id] = session
        ip, port = self.udp_address
        ready = {
            "ssrc": session.ssrc,
            "ip": ip,
            "port": port,
            "modes": [str(m) for m in self.modes],
            "experiments": [],
            "streams": [],
        }
        actions.append(self._send(conn.id, VoiceOp.READY, ready))
        return actions

    def _select_protocol(
        self, conn: _Connection, session: VoiceSession, data: Any
    ) -> list[VoiceAction]:
        if not isinstance(data, dict) or data.get("protocol") != "udp":
            protocol = data.get("protocol") if isinstance(data, dict) else None
            return self._close(
                conn, VoiceCloseCode.UNKNOWN_PROTOCOL, f"protocol {protocol!r} (only 'udp')"
            )
        info = data.get("data")
        if not isinstance(info, dict):
            return self._close(conn, VoiceCloseCode.BAD_REQUEST, "select protocol needs data")
        mode, address, port = info.get("mode"), info.get("address"), info.get("port")
        if mode not in [str(m) for m in self.modes]:
            return self._close(
                conn,
                VoiceCloseCode.UNKNOWN_ENCRYPTION_MODE,
                f"mode {mode!r} not offered (offered: {', '.join(self.modes)})",
            )
        if not isinstance(address, str) or not isinstance(port, int) or not 0 < port < 65536:
            return self._close(
                conn, VoiceCloseCode.BAD_REQUEST, f"bad UDP address {address!r}:{port!r}"
            )
        key = self._rng.randbytes(KEY_BYTES)
        session.mode = TransportMode(mode)
        session.cipher = TransportCipher(session.mode, key)
        session.client_address = (address, port)
        self.stats.selected_modes.append(str(mode))
        description = {
            "mode": mode,
            "secret_key": list(key),
            "dave_protocol_version": 0,
            "audio_codec": "opus",
            "video_codec": "H264",
            "media_session_id": f"sandbox-media-{session.ssrc}",
        }
        session.description = description
        actions: list[VoiceAction] = self._sequenced(
            session, VoiceOp.SESSION_DESCRIPTION, description
        )
        actions.append(SessionReady(session.grant.session_id))
        present = sorted(self.members[session.grant.channel_id] - {session.grant.user_id})
        if present:
            actions += self._sequenced(session, VoiceOp.CLIENTS_CONNECT, {"user_ids": present})
        return actions

    def _resume(self, conn: _Connection, data: Any) -> list[VoiceAction]:
        grant = self._check_credentials(data, ("server_id", "session_id", "token"))
        session = None if grant is None else self.sessions.get(grant.session_id)
        seq_ack = data.get("seq_ack", -1) if isinstance(data, dict) else -1
        if not isinstance(seq_ack, int):
            seq_ack = -1
        if session is None or not session.resumable or seq_ack < session.lost_through:
            self.stats.failed_resumes += 1
            return self._close(conn, VoiceCloseCode.SESSION_INVALID, "session cannot be resumed")
        self.stats.resumes += 1
        actions: list[VoiceAction] = []
        if session.connection_id is not None and session.connection_id in self._connections:
            old = self._connections[session.connection_id]
            actions += self._close(old, VoiceCloseCode.SESSION_INVALID, "resumed elsewhere")
        session.connection_id = conn.id
        conn.session_id = session.grant.session_id
        self._acknowledge(session, seq_ack)
        actions.append(self._send(conn.id, VoiceOp.RESUMED, None))
        missed = [SendJson(conn.id, frame) for frame in session.log if frame["seq"] > seq_ack]
        self.stats.replayed += len(missed)
        actions += missed
        if grant is not None and grant.token != session.grant.token:
            # The client re-joined on the main gateway and resumes with the token of that new
            # allocation: describe the session again (same mode and key), for clients that
            # only take a key from a session description on the new socket.
            session.grant = grant
            if session.description is not None:
                self.stats.redescribed += 1
                actions += self._sequenced(
                    session, VoiceOp.SESSION_DESCRIPTION, session.description
                )
        return actions

    def _check_credentials(self, data: Any, keys: tuple[str, ...]) -> VoiceGrant | None:
        if not isinstance(data, dict):
            return None
        grant = self._grants.get(str(data.get("token")))
        if grant is None:
            return None
        for key in keys:
            if str(data.get(key)) != getattr(grant, key):
                return None
        return grant

    # -- channel events -----------------------------------------------------------------------

    def member_joined(self, channel_id: str, user_id: str) -> list[VoiceAction]:
        """A (simulated) member joined the channel: op 11 to the sessions there."""
        if user_id in self.members[channel_id]:
            return []
        self.members[channel_id].add(user_id)
        return self.broadcast(VoiceOp.CLIENTS_CONNECT, {"user_ids": [user_id]}, channel_id)

    def member_left(self, channel_id: str, user_id: str) -> list[VoiceAction]:
        """A member left the channel: op 13 to the sessions there."""
        if user_id not in self.members[channel_id]:
            return []
        self.members[channel_id].discard(user_id)
        return self.broadcast(VoiceOp.CLIENT_DISCONNECT, {"user_id": user_id}, channel_id)

    def speaking(
        self, user_id: str, ssrc: int, flags: int, channel_id: str | None = None
    ) -> list[VoiceAction]:
        """A member's speaking state (op 5), which maps its `ssrc` to its `user_id`."""
        data = {"user_id": user_id, "ssrc": ssrc, "speaking": flags}
        return self.broadcast(VoiceOp.SPEAKING, data, channel_id)

    def broadcast(
        self, op: VoiceOp, data: dict[str, Any], channel_id: str | None = None
    ) -> list[VoiceAction]:
        """A sequenced message to every ready session (in `channel_id`, if given)."""
        actions: list[VoiceAction] = []
        for session in self.sessions.values():
            if session.ready and channel_id in (None, session.grant.channel_id):
                actions += self._sequenced(session, op, data)
        return actions

    def ready_sessions(self, channel_id: str | None = None) -> list[VoiceSession]:
        """Sessions that can receive media (in `channel_id`, if given)."""
        return [
            s
            for s in self.sessions.values()
            if s.ready and channel_id in (None, s.grant.channel_id)
        ]

    def session_by_ssrc(self, ssrc: int) -> VoiceSession | None:
        """The session whose client sends with `ssrc`."""
        for session in self.sessions.values():
            if session.ssrc == ssrc:
                return session
        return None

    # -- helpers ------------------------------------------------------------------------------

    def _sequenced(self, session: VoiceSession, op: VoiceOp, data: Any) -> list[VoiceAction]:
        assert op in SEQUENCED_OPS
        session.seq += 1
        frame = {"op": int(op), "d": data, "seq": session.seq}
        session.log.append(frame)
        while len(session.log) > self.replay_limit:
            evicted = session.log.popleft()
            session.lost_through = max(session.lost_through, evicted["seq"])
        if session.connection_id is None or session.connection_id not in self._connections:
            return []
        return [SendJson(session.connection_id, frame)]

    def _acknowledge(self, session: VoiceSession, seq_ack: int) -> None:
        session.acked = max(session.acked, seq_ack)
        while session.log and session.log[0]["seq"] <= session.acked:
            session.log.popleft()

    def _end_session(self, session_id: str, code: int, reason: str) -> list[VoiceAction]:
        session = self.sessions.pop(session_id)
        conn = self._connections.get(session.connection_id or -1)
        return [] if conn is None else self._close(conn, code, reason)

    def _close(self, conn: _Connection, code: int, reason: str) -> list[VoiceAction]:
        conn.closing = True
        self.stats.closes.append((int(code), reason))
        self.connection_closed(conn.id)
        return [Close(conn.id, int(code), reason)]

    @staticmethod
    def _send(connection_id: int, op: VoiceOp, data: Any) -> SendJson:
        return SendJson(connection_id, {"op": int(op), "d": data})
