"""The voice gateway's session logic, without I/O: client frames in, frames and closes out.

`VoiceGateway` is fed what voice clients send (`receive_text`, `receive_binary`), the passing
of time (`poll`), and what happens in the channel (`member_joined`, `speaking`...), and
returns actions for the I/O layer. It follows Discord's voice gateway v8:

    connect -> HELLO(8) ; IDENTIFY(0) -> READY(2: ssrc, ip, port, modes)
    SELECT_PROTOCOL(1: udp address, port, mode) -> SESSION_DESCRIPTION(4: mode, secret_key)
    HEARTBEAT(3: t, seq_ack) -> HEARTBEAT_ACK(6: t)
    RESUME(7: server_id, session_id, token, seq_ack) -> RESUMED(9), then every missed message

Server messages that matter later (4, 5, 11, 13, DAVE's 21, 22, 24 and its binary 25, 27, 29,
30) carry `seq` and stay in a bounded per-session log until a heartbeat acknowledges them, so a
client that lost its socket resumes and gets what it missed, once. A session outlives its
connection; the UDP side keeps working across a resume.

DAVE (given a `DaveDeliveryService`): IDENTIFY's `max_dave_protocol_version` is kept per session
(absent: 0). After op 4 (whose `dave_protocol_version` is the channel's protocol version, 0 for a
client without DAVE) the session joins the delivery service (`join(..., dave=False)` for a client
without DAVE, which downgrades the channel while it stays). What the service sends a client goes
out as sequenced JSON (21, 22, 24) or binary frames `u16 BE seq, u8 opcode, payload` (25, 27, 29,
30) on the session's own seq counter; a client's binary 26/28 and JSON 23/31 go to the service
(a frame that is not DAVE at all closes with 4002). Simulated members (`member_joined`) are
`DaveMember`s (Discord's libdave) answering in process through `dave_member.deliver`. Every
participant learns the roster: client sessions by ops 11/13 (with DAVE, also for other client
sessions in the channel), members by `clients_connect` / `client_disconnect`.
"""

from __future__ import annotations

import collections
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clanker.sandbox.voice.crypto import KEY_BYTES, TransportCipher, TransportMode
from clanker.sandbox.voice.dave_ds import (
    DaveAction,
    DaveBinary,
    DaveDeliveryService,
    DaveJson,
    DaveOp,
    DaveProtocolError,
)
from clanker.sandbox.voice.dave_member import DaveMember, deliver
from clanker.sandbox.voice.ops import (
    DAVE_CLIENT_BINARY_OPS,
    DAVE_CLIENT_JSON_OPS,
    IGNORED_CLIENT_OPS,
    SEQUENCED_BINARY_OPS,
    SEQUENCED_OPS,
    VoiceCloseCode,
    VoiceGrant,
    VoiceOp,
)
from clanker.sandbox.voice.opus import SILENCE_FRAME
from clanker.sandbox.voice.recording import DaveStatus
from clanker.sandbox.voice.session_state import (
    Close,
    SendBinary,
    SendJson,
    SessionReady,
    VoiceAction,
    VoiceGatewayStats,
    VoiceSession,
)

__all__ = [
    "DEFAULT_HEARTBEAT_INTERVAL_MS",
    "Close",
    "DaveFrameStatus",
    "DaveTransitionRecord",
    "SendBinary",
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


DaveFrameStatus = DaveStatus
DAVE_MAGIC_MARKER = b"\xfa\xfa"  # the last two bytes of every DAVE-encrypted frame
"""What became of one received frame's DAVE layer: `off` (no DAVE in play: a plain frame),
`silence` (F8 FF FE, never encrypted), `decrypted`, `passthrough` (arrived unencrypted and was let
through, as in a protocol-0 window), `failed` (the member had the sender's key and it did not
decrypt), `early` (no key for the sender yet), `undecryptable` (no simulated member in the channel
to decrypt with: the SFU has no keys)."""


@dataclass
class DaveTransitionRecord:
    """One DAVE transition of a channel as the gateway saw it go out: `prepared_at` when the first
    op 29/30/21 carrying its id was sent (to anyone, member or client), `executed_at` when the
    first op 22 was (None while pending; id 0 resets execute at once)."""

    channel_id: str
    transition_id: int
    protocol_version: int
    prepared_at: float
    executed_at: float | None = None


class _GatewayMember(DaveMember):
    """A simulated member whose incoming DAVE messages the gateway watches (for the transition
    records); otherwise a plain `DaveMember`."""

    def __init__(
        self, user_id: str, channel_id: str, *, ssrc: int, observe: Callable[[DaveAction], None]
    ) -> None:
        super().__init__(user_id, channel_id, ssrc=ssrc)
        self._observe = observe

    def receive(self, action: DaveAction) -> list[Any]:
        self._observe(action)
        return super().receive(action)


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
    `rng` makes ssrcs-independent secret keys reproducible. `dave` is the DAVE delivery service
    (None: no DAVE, op 4 says protocol 0 and DAVE ops are recorded and ignored).
    """

    def __init__(
        self,
        *,
        modes: tuple[TransportMode, ...] = tuple(TransportMode),
        heartbeat_interval_ms: int = DEFAULT_HEARTBEAT_INTERVAL_MS,
        replay_limit: int = 256,
        rng: random.Random | None = None,
        first_ssrc: int = 1,
        dave: DaveDeliveryService | None = None,
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
        self.dave = dave
        self.dave_members: dict[tuple[str, str], DaveMember] = {}  # (channel, user) -> member
        self.dave_transitions: list[DaveTransitionRecord] = []
        self.dave_undeliverable: list[DaveAction] = []  # for a client session no longer there
        self._now = 0.0  # the latest time any call was given (for calls that take none)

    # -- grants (from the sandbox gateway) --------------------------------------------------

    def grant(self, grant: VoiceGrant) -> None:
        """Accept these credentials in IDENTIFY (the latest grant per user replaces older)."""
        for token, old in list(self._grants.items()):
            if (old.server_id, old.user_id) == (grant.server_id, grant.user_id):
                del self._grants[token]
        self._grants[grant.token] = grant

    def revoke(self, server_id: str, user_id: str, now: float | None = None) -> list[VoiceAction]:
        """The user left voice: forget its grant, end its sessions (close 4014); it leaves the
        DAVE group."""
        now = self._time(now)
        for token, old in list(self._grants.items()):
            if (old.server_id, old.user_id) == (server_id, user_id):
                del self._grants[token]
        actions: list[VoiceAction] = []
        for sid, session in list(self.sessions.items()):
            if (session.grant.server_id, session.grant.user_id) == (server_id, user_id):
                actions += self._end_session(
                    sid, VoiceCloseCode.DISCONNECTED, "left the channel", now
                )
        return actions

    # -- connections --------------------------------------------------------------------------

    def open_connection(self, now: float, *, version: int | None) -> tuple[int, list[VoiceAction]]:
        """A websocket connected with `?v=version`: register it and say HELLO."""
        self._now = now
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
        """Close connections whose heartbeats stopped (4009); execute DAVE transitions whose
        timeout passed."""
        self._now = now
        limit = self.heartbeat_interval_ms / 1000 * HEARTBEAT_TIMEOUT_INTERVALS
        actions: list[VoiceAction] = []
        for conn in list(self._connections.values()):
            if not conn.closing and now - conn.last_heartbeat > limit:
                actions += self._close(conn, VoiceCloseCode.SESSION_TIMEOUT, "no heartbeat")
        if self.dave is not None:
            actions += self._dave_send(self.dave.poll(now), now)
        return actions

    def next_deadline(self) -> float | None:
        """When `poll` may next have something to do."""
        limit = self.heartbeat_interval_ms / 1000 * HEARTBEAT_TIMEOUT_INTERVALS
        times = [c.last_heartbeat + limit for c in self._connections.values() if not c.closing]
        if self.dave is not None:
            dave_deadline = self.dave.next_deadline()
            if dave_deadline is not None:
                times.append(dave_deadline)
        return min(times, default=None)

    # -- client frames ------------------------------------------------------------------------

    def receive_text(self, connection_id: int, text: str, now: float) -> list[VoiceAction]:
        """One text frame from a client."""
        self._now = now
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
            return self._identify(conn, data, now)
        if op == VoiceOp.RESUME:
            return self._resume(conn, data)
        if op in IGNORED_CLIENT_OPS or (op in DAVE_CLIENT_JSON_OPS and self.dave is None):
            self.stats.ignored_ops.append(op)
            return []
        if op not in (VoiceOp.SELECT_PROTOCOL, VoiceOp.SPEAKING, *DAVE_CLIENT_JSON_OPS):
            return self._close(conn, VoiceCloseCode.UNKNOWN_OPCODE, f"unknown opcode {op}")
        session = self.sessions.get(conn.session_id or "")
        if session is None:
            return self._close(conn, VoiceCloseCode.NOT_AUTHENTICATED, f"op {op} before IDENTIFY")
        if op == VoiceOp.SELECT_PROTOCOL:
            return self._select_protocol(conn, session, data, now)
        if op in DAVE_CLIENT_JSON_OPS:
            return self._dave_from_client(conn, session, op, data, now)
        self.stats.client_speaking.append(data if isinstance(data, dict) else {"d": data})
        if isinstance(data, dict) and isinstance(data.get("speaking"), int):
            session.speaking = data["speaking"]
        return []

    def receive_binary(
        self, connection_id: int, data: bytes, now: float | None = None
    ) -> list[VoiceAction]:
        """One binary frame: DAVE's 26 KEY_PACKAGE or 28 COMMIT_WELCOME (`u8 opcode, payload`),
        for the delivery service (recorded and ignored without one). Anything else: 4002."""
        now = self._time(now)
        conn = self._connections.get(connection_id)
        if conn is None or conn.closing:
            return []
        if not data or data[0] not in DAVE_CLIENT_BINARY_OPS:
            return self._close(conn, VoiceCloseCode.DECODE_ERROR, "unexpected binary frame")
        if self.dave is None:
            self.stats.ignored_ops.append(data[0])
            return []
        session = self.sessions.get(conn.session_id or "")
        if session is None:
            return self._close(
                conn, VoiceCloseCode.NOT_AUTHENTICATED, f"op {data[0]} before IDENTIFY"
            )
        return self._dave_from_client(conn, session, data[0], bytes(data), now)

    def _dave_from_client(
        self, conn: _Connection, session: VoiceSession, op: int, data: Any, now: float
    ) -> list[VoiceAction]:
        """A DAVE message from a client (JSON `data`, or the whole binary frame as bytes)."""
        assert self.dave is not None
        session.dave_sent.append((now, op))
        self.stats.dave_messages_received += 1
        channel, user = session.grant.channel_id, session.grant.user_id
        try:
            if isinstance(data, bytes):
                actions = self.dave.receive_binary(channel, user, data, now)
            else:
                actions = self.dave.receive_json(channel, user, op, data, now)
        except DaveProtocolError as exc:
            return self._close(conn, VoiceCloseCode.DECODE_ERROR, f"DAVE op {op}: {exc}")
        return self._dave_send(actions, now)

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

    def _identify(self, conn: _Connection, data: Any, now: float) -> list[VoiceAction]:
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
        if old is not None:
            actions += self._dave_leave(old, now)
        session = VoiceSession(grant, ssrc=self._next_ssrc)
        self._next_ssrc += 1
        max_dave = data.get("max_dave_protocol_version", 0)
        valid = isinstance(max_dave, int) and not isinstance(max_dave, bool) and max_dave > 0
        session.max_dave_protocol_version = max_dave if valid else 0
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
        self, conn: _Connection, session: VoiceSession, data: Any, now: float
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
        channel, user = session.grant.channel_id, session.grant.user_id
        dave_actions: list[DaveAction] = []
        others: list[VoiceAction] = []
        if self.dave is not None and not session.dave_joined:
            # The roster first (members must know the user before its proposals), then the join.
            session.dave_joined = True
            for member in self._members_in(channel).values():
                member.clients_connect([user])
            for other in self._dave_sessions(channel):
                if other is not session and other.grant.user_id != user:
                    others += self._sequenced(other, VoiceOp.CLIENTS_CONNECT, {"user_ids": [user]})
            dave_actions = self._dave_route(
                self.dave.join(channel, user, now, dave=session.dave), now
            )
        description = {
            "mode": mode,
            "secret_key": list(key),
            "dave_protocol_version": self.dave_protocol_version(channel) if session.dave else 0,
            "audio_codec": "opus",
            "video_codec": "H264",
            "media_session_id": f"sandbox-media-{session.ssrc}",
        }
        session.description = description
        actions: list[VoiceAction] = self._sequenced(
            session, VoiceOp.SESSION_DESCRIPTION, description
        )
        actions.append(SessionReady(session.grant.session_id))
        present = set(self.members[channel])
        if self.dave is not None:
            present.update(s.grant.user_id for s in self._dave_sessions(channel))
        present.discard(user)
        if present:
            ids = sorted(present)
            actions += self._sequenced(session, VoiceOp.CLIENTS_CONNECT, {"user_ids": ids})
        return actions + others + self._dave_to_sessions(dave_actions)

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
        missed: list[VoiceAction] = [
            SendBinary(conn.id, frame) if isinstance(frame, bytes) else SendJson(conn.id, frame)
            for seq, frame in session.log
            if seq > seq_ack
        ]
        self.stats.replayed += len(missed)
        actions += missed
        if grant is not None and grant.token != session.grant.token:
            # The client re-joined on the main gateway and resumes with the token of that new
            # allocation: describe the session again (same mode and key), for clients that
            # only take a key from a session description on the new socket.
            session.grant = grant
            if session.description is not None:
                self.stats.redescribed += 1
                if session.dave:
                    version = self.dave_protocol_version(session.grant.channel_id)
                    session.description["dave_protocol_version"] = version
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

    def member_joined(
        self, channel_id: str, user_id: str, *, ssrc: int = 0, now: float | None = None
    ) -> list[VoiceAction]:
        """A (simulated) member joined the channel: op 11 to the sessions there. With DAVE it
        becomes a `DaveMember` (sending with `ssrc`) and joins the channel's group."""
        now = self._time(now)
        if user_id in self.members[channel_id]:
            return []
        self.members[channel_id].add(user_id)
        actions = self.broadcast(VoiceOp.CLIENTS_CONNECT, {"user_ids": [user_id]}, channel_id)
        if self.dave is None:
            return actions
        roster = set(self.members[channel_id])
        roster.update(s.grant.user_id for s in self._dave_sessions(channel_id))
        for other in self._members_in(channel_id).values():
            other.clients_connect([user_id])
        member = _GatewayMember(user_id, channel_id, ssrc=ssrc, observe=self._observe_dave)
        member.clients_connect(roster)
        self.dave_members[(channel_id, user_id)] = member
        return actions + self._dave_send(self.dave.join(channel_id, user_id, now), now)

    def member_left(
        self, channel_id: str, user_id: str, *, now: float | None = None
    ) -> list[VoiceAction]:
        """A member left the channel: op 13 to the sessions there; with DAVE it leaves the
        group (re-keyed without it)."""
        now = self._time(now)
        if user_id not in self.members[channel_id]:
            return []
        self.members[channel_id].discard(user_id)
        actions = self.broadcast(VoiceOp.CLIENT_DISCONNECT, {"user_id": user_id}, channel_id)
        if self.dave is None:
            return actions
        self.dave_members.pop((channel_id, user_id), None)
        for other in self._members_in(channel_id).values():
            other.client_disconnect(user_id)
        return actions + self._dave_send(self.dave.leave(channel_id, user_id, now), now)

    # -- DAVE ---------------------------------------------------------------------------------

    def dave_protocol_version(self, channel_id: str) -> int:
        """The channel's DAVE protocol version (0 without a delivery service)."""
        return 0 if self.dave is None else self.dave.protocol_version(channel_id)

    def set_dave_protocol_version(
        self, channel_id: str, version: int | None, now: float | None = None
    ) -> list[VoiceAction]:
        """Force the channel to DAVE protocol `version` (0 downgrades, 1 upgrades); None lets its
        members decide again (0 while a client without DAVE is there)."""
        if self.dave is None:
            raise RuntimeError("this voice gateway has no DAVE delivery service (dave=False)")
        now = self._time(now)
        return self._dave_send(self.dave.set_protocol_version(channel_id, version, now), now)

    def dave_member(self, user_id: str, channel_id: str | None = None) -> DaveMember | None:
        """Simulated member `user_id`'s DAVE participant (in `channel_id`, if given)."""
        for (channel, user), member in self.dave_members.items():
            if user == user_id and channel_id in (None, channel):
                return member
        return None

    def dave_open(
        self, session: VoiceSession, frame: bytes
    ) -> tuple[bytes | None, DaveFrameStatus]:
        """The Opus frame inside a frame `session`'s client sent, and what became of its DAVE
        layer.

        The SFU (this server) holds no DAVE keys and cannot decrypt anything: the frame is
        decrypted by a simulated member of the channel, one that is ready and has the sender's
        key when there is one (its decryptor and counters are the ones used). None when it did
        not decrypt (`failed`, `early`) or nobody could try (`undecryptable`)."""
        if self.dave is None or not session.dave:
            return frame, "off"
        if frame == SILENCE_FRAME:
            return frame, "silence"
        channel, user = session.grant.channel_id, session.grant.user_id
        members = [m for m in self._members_in(channel).values() if m.user_id != user]
        if not members:
            if self.dave_protocol_version(channel) == 0:
                return frame, "off"
            if not frame.endswith(DAVE_MAGIC_MARKER):
                # The SFU can tell an unmarked (plain) frame, as Discord's does; a lone client
                # with no group yet sends those.
                return frame, "passthrough"
            return None, "undecryptable"
        keyed = [m for m in members if m.ready and user in m.group_users]
        member = (keyed or [m for m in members if m.ready] or members)[0]
        opus = member.decrypt(user, frame)
        if opus is None:
            return None, "failed" if user in member.group_users and member.ready else "early"
        if opus == frame:
            return opus, "passthrough"
        return opus, "decrypted"

    def _time(self, now: float | None) -> float:
        if now is not None:
            self._now = now
        return self._now

    def _members_in(self, channel_id: str) -> dict[str, DaveMember]:
        return {u: m for (c, u), m in self.dave_members.items() if c == channel_id}

    def _dave_sessions(self, channel_id: str) -> list[VoiceSession]:
        """Client sessions of the channel that joined the delivery service."""
        return [
            s for s in self.sessions.values() if s.dave_joined and s.grant.channel_id == channel_id
        ]

    def _dave_session(self, channel_id: str, user_id: str) -> VoiceSession | None:
        for session in self._dave_sessions(channel_id):
            if session.grant.user_id == user_id:
                return session
        return None

    def _dave_leave(self, session: VoiceSession, now: float) -> list[VoiceAction]:
        """A client session ended: it leaves the group and the roster."""
        if self.dave is None or not session.dave_joined:
            return []
        session.dave_joined = False
        channel, user = session.grant.channel_id, session.grant.user_id
        actions: list[VoiceAction] = []
        for other in self._dave_sessions(channel):
            if other.grant.user_id != user:
                actions += self._sequenced(other, VoiceOp.CLIENT_DISCONNECT, {"user_id": user})
        for member in self._members_in(channel).values():
            member.client_disconnect(user)
        return actions + self._dave_send(self.dave.leave(channel, user, now), now)

    def _dave_send(self, actions: list[DaveAction], now: float) -> list[VoiceAction]:
        return self._dave_to_sessions(self._dave_route(actions, now))

    def _dave_route(self, actions: list[DaveAction], now: float) -> list[DaveAction]:
        """Run the in-process members (per channel) to quiescence; what is left is for client
        sessions."""
        assert self.dave is not None
        self._now = now
        by_channel: dict[str, list[DaveAction]] = {}
        for action in actions:
            by_channel.setdefault(action.channel_id, []).append(action)
        rest: list[DaveAction] = []
        for channel, group in by_channel.items():
            rest += deliver(self.dave, self._members_in(channel), group, now)
        return rest

    def _dave_to_sessions(self, actions: list[DaveAction]) -> list[VoiceAction]:
        out: list[VoiceAction] = []
        for action in actions:
            self._observe_dave(action)
            session = self._dave_session(action.channel_id, action.user_id)
            if session is None:
                self.dave_undeliverable.append(action)
                continue
            if isinstance(action, DaveJson):
                out += self._sequenced(session, VoiceOp(action.op), action.data)
            else:
                out += self._sequenced_binary(session, action)
        return out

    def _observe_dave(self, action: DaveAction) -> None:
        """Keep `dave_transitions` from what goes out (to members and clients alike)."""
        transition_id: int | None = None
        version = 1
        executed = False
        if isinstance(action, DaveBinary):
            if action.opcode in (DaveOp.ANNOUNCE_COMMIT, DaveOp.WELCOME):
                transition_id = int.from_bytes(action.payload[:2], "big")
        elif action.op == DaveOp.PREPARE_TRANSITION:
            transition_id = int(action.data.get("transition_id", 0))
            version = int(action.data.get("protocol_version", 1))
        elif action.op == DaveOp.EXECUTE_TRANSITION:
            transition_id = int(action.data.get("transition_id", 0))
            executed = True
        if transition_id is None:
            return
        record = next(
            (
                r
                for r in reversed(self.dave_transitions)
                if r.channel_id == action.channel_id and r.transition_id == transition_id
            ),
            None,
        )
        fresh = record is None or (record.executed_at is not None and not executed)
        if transition_id == 0:
            fresh = record is None or record.prepared_at != self._now
        if fresh:
            record = DaveTransitionRecord(action.channel_id, transition_id, version, self._now)
            if transition_id == 0:
                record.executed_at = self._now
            self.dave_transitions.append(record)
        if executed and record is not None and record.executed_at is None:
            record.executed_at = self._now

    def speaking(
        self, user_id: str, ssrc: int, flags: int, channel_id: str | None = None
    ) -> list[VoiceAction]:
        """A member's speaking state (op 5), which maps its `ssrc` to its `user_id`."""
        data = {"user_id": user_id, "ssrc": ssrc, "speaking": flags}
        return self.broadcast(VoiceOp.SPEAKING, data, channel_id)

    def speaking_to(
        self, session: VoiceSession, user_id: str, ssrc: int, flags: int
    ) -> list[VoiceAction]:
        """A member's speaking state (op 5) for one session (one that became ready while the
        member was already speaking)."""
        data = {"user_id": user_id, "ssrc": ssrc, "speaking": flags}
        return self._sequenced(session, VoiceOp.SPEAKING, data)

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
        self._log(session, frame)
        if session.connection_id is None or session.connection_id not in self._connections:
            return []
        return [SendJson(session.connection_id, frame)]

    def _sequenced_binary(self, session: VoiceSession, action: DaveBinary) -> list[VoiceAction]:
        assert action.opcode in SEQUENCED_BINARY_OPS
        session.seq += 1
        frame = action.frame(session.seq)
        self._log(session, frame)
        self.stats.dave_frames_sent += 1
        if session.connection_id is None or session.connection_id not in self._connections:
            return []
        return [SendBinary(session.connection_id, frame)]

    def _log(self, session: VoiceSession, frame: dict[str, Any] | bytes) -> None:
        session.log.append((session.seq, frame))
        while len(session.log) > self.replay_limit:
            evicted, _ = session.log.popleft()
            session.lost_through = max(session.lost_through, evicted)

    def _acknowledge(self, session: VoiceSession, seq_ack: int) -> None:
        session.acked = max(session.acked, seq_ack)
        while session.log and session.log[0][0] <= session.acked:
            session.log.popleft()

    def _end_session(
        self, session_id: str, code: int, reason: str, now: float
    ) -> list[VoiceAction]:
        session = self.sessions.pop(session_id)
        actions = self._dave_leave(session, now)
        conn = self._connections.get(session.connection_id or -1)
        return actions if conn is None else actions + self._close(conn, code, reason)

    def _close(self, conn: _Connection, code: int, reason: str) -> list[VoiceAction]:
        conn.closing = True
        self.stats.closes.append((int(code), reason))
        self.connection_closed(conn.id)
        return [Close(conn.id, int(code), reason)]

    @staticmethod
    def _send(connection_id: int, op: VoiceOp, data: Any) -> SendJson:
        return SendJson(connection_id, {"op": int(op), "d": data})
