"""The gateway's session logic, without I/O: connections in, frames and closes out.

`GatewayHub` is fed what clients send (`receive`) and what happens in the world (`dispatch`), and
returns `GatewayAction`s for the I/O layer to carry out. Each IDENTIFY creates a session with a
sequence counter and a bounded log of its dispatches; a session outlives its connection, so a
client that RESUMEs gets every dispatch it missed (and none twice), and one that cannot resume gets
INVALID_SESSION. Everything here runs synchronously and can be tested without sockets.
"""

from __future__ import annotations

import collections
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from clanker.sandbox import payloads
from clanker.sandbox.voice.ops import VoiceGrant
from clanker.sandbox.world import SandboxLookupError, World


class Op(enum.IntEnum):
    """Gateway opcodes the sandbox sends or understands."""

    DISPATCH = 0
    HEARTBEAT = 1
    IDENTIFY = 2
    PRESENCE_UPDATE = 3
    VOICE_STATE_UPDATE = 4
    RESUME = 6
    RECONNECT = 7
    REQUEST_GUILD_MEMBERS = 8
    INVALID_SESSION = 9
    HELLO = 10
    HEARTBEAT_ACK = 11


class CloseCode(enum.IntEnum):
    """Discord gateway close codes the sandbox uses."""

    UNKNOWN_ERROR = 4000
    DECODE_ERROR = 4002
    NOT_AUTHENTICATED = 4003
    AUTHENTICATION_FAILED = 4004
    ALREADY_AUTHENTICATED = 4005


@dataclass(frozen=True)
class SendFrame:
    """Send `payload` on connection `connection_id`."""

    connection_id: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class CloseConnection:
    """Close connection `connection_id` with a gateway close code."""

    connection_id: int
    code: int
    reason: str


@dataclass(frozen=True)
class Deferred:
    """Run `then()` after `delay` seconds of trio time and carry out the actions it returns
    (how the hub spaces out what Discord sends a little later, e.g. the two voice updates).
    `connection_id` is the connection that caused it (informational)."""

    connection_id: int
    delay: float
    then: Callable[[], list[GatewayAction]]


GatewayAction = SendFrame | CloseConnection | Deferred


@dataclass(frozen=True)
class VoiceUpdateTiming:
    """When the answers to a voice op 4 go out, in seconds after the request.

    Discord answers with VOICE_STATE_UPDATE and then VOICE_SERVER_UPDATE, each a network round
    trip or so after the request and not in the same instant; a client must accept either
    order. The default sends state then server, 15 ms and 30 ms after the request (a leave's
    answer, the state alone, comes after `first_after`; a client that waits for it after
    sending its leave would otherwise miss an answer that beat its wait). An op 4
    that repeats the channel the session is already in (a client re-joining after its voice
    socket dropped) re-allocates the voice server: server then state. `order="server_first"`
    swaps both cases; `second_after == first_after` sends the two in one instant.
    """

    first_after: float = 0.015
    second_after: float = 0.030
    order: str = "state_first"

    def __post_init__(self) -> None:
        if self.order not in ("state_first", "server_first"):
            raise ValueError(
                f"voice update order must be 'state_first' or 'server_first', not {self.order!r}"
            )
        if not 0 <= self.first_after <= self.second_after:
            raise ValueError("voice update delays must satisfy 0 <= first_after <= second_after")


@dataclass
class GatewayStats:
    """Counters and records for tests to assert on."""

    connections: int = 0
    identifies: int = 0
    resumes: int = 0
    invalid_sessions: int = 0
    heartbeats: int = 0
    # Ops received and deliberately not acted on (presence, member requests, subscriptions...).
    ignored_ops: list[int] = field(default_factory=list)
    # Every op 4 the bot sent, as received.
    voice_requests: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Session:
    session_id: str
    log: collections.deque[dict[str, Any]]
    seq: int = 0
    connection_id: int | None = None
    resumable: bool = True


@dataclass
class _Connection:
    id: int
    session_id: str | None = None
    closing: bool = False


class GatewayHub:
    """All gateway sessions of the sandbox.

    `gateway_url` is what READY advertises as `resume_gateway_url`; the server sets it once it
    knows its port. `replay_limit` bounds each session's log: a client that fell further behind
    than that gets INVALID_SESSION on RESUME, as on Discord.
    """

    def __init__(
        self,
        world: World,
        *,
        voice_endpoint: str,
        heartbeat_interval_ms: int = 41_250,
        replay_limit: int = 1_000,
        voice_timing: VoiceUpdateTiming | None = None,
    ) -> None:
        self.world = world
        self.voice_timing = voice_timing or VoiceUpdateTiming()
        self.gateway_url = ""
        self.voice_endpoint = voice_endpoint
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.replay_limit = replay_limit
        self.stats = GatewayStats()
        self._sessions: dict[str, _Session] = {}
        self._connections: dict[int, _Connection] = {}
        self._next_connection = 0
        self._voice_tokens = 0
        # The voice server, when one runs: told each grant (join) and each leave.
        self.on_voice_grant: Callable[[VoiceGrant], None] | None = None
        self.on_voice_leave: Callable[[str, str], None] | None = None

    # -- connections --------------------------------------------------------------------------

    def open_connection(self) -> tuple[int, list[GatewayAction]]:
        """Register a new websocket; returns its id and the HELLO to send."""
        self._next_connection += 1
        conn = _Connection(self._next_connection)
        self._connections[conn.id] = conn
        self.stats.connections += 1
        hello = {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["sandbox-gateway"]}
        return conn.id, [self._frame(conn.id, Op.HELLO, hello)]

    def connection_closed(self, connection_id: int) -> None:
        """The websocket ended (either side). Its session stays resumable."""
        conn = self._connections.pop(connection_id, None)
        if conn is not None and conn.session_id is not None:
            session = self._sessions.get(conn.session_id)
            if session is not None and session.connection_id == connection_id:
                session.connection_id = None

    def drop_all(self, code: int = CloseCode.UNKNOWN_ERROR) -> list[GatewayAction]:
        """Close every connection, as when Discord's edge restarts; sessions stay resumable."""
        actions: list[GatewayAction] = []
        for conn in list(self._connections.values()):
            actions.extend(self._close(conn, code, "sandbox dropped the connection"))
        return actions

    def invalidate_sessions(self) -> None:
        """Make every existing session unresumable: the next RESUME gets INVALID_SESSION."""
        for session in self._sessions.values():
            session.resumable = False

    @property
    def connected_sessions(self) -> list[str]:
        """Ids of sessions with a live connection."""
        return [s.session_id for s in self._sessions.values() if s.connection_id is not None]

    # -- client frames ------------------------------------------------------------------------

    def receive(self, connection_id: int, frame: dict[str, Any]) -> list[GatewayAction]:
        """Handle one decoded client frame."""
        conn = self._connections.get(connection_id)
        if conn is None or conn.closing:
            return []
        op, data = frame.get("op"), frame.get("d")
        if op == Op.HEARTBEAT:
            self.stats.heartbeats += 1
            return [self._frame(conn.id, Op.HEARTBEAT_ACK, None)]
        if op == Op.IDENTIFY:
            return self._identify(conn, data if isinstance(data, dict) else {})
        if op == Op.RESUME:
            return self._resume(conn, data if isinstance(data, dict) else {})
        if conn.session_id is None:
            return self._close(conn, CloseCode.NOT_AUTHENTICATED, f"op {op} before IDENTIFY")
        if op == Op.VOICE_STATE_UPDATE:
            return self._voice_state_update(conn, data if isinstance(data, dict) else {})
        self.stats.ignored_ops.append(int(op) if isinstance(op, int) else -1)
        return []

    def reject_frame(self, connection_id: int, reason: str) -> list[GatewayAction]:
        """A frame could not be decoded: close with 4002, as Discord does."""
        conn = self._connections.get(connection_id)
        return [] if conn is None else self._close(conn, CloseCode.DECODE_ERROR, reason)

    def _identify(self, conn: _Connection, data: dict[str, Any]) -> list[GatewayAction]:
        if data.get("token") != self.world.token:
            return self._close(conn, CloseCode.AUTHENTICATION_FAILED, "Authentication failed.")
        if conn.session_id is not None:
            return self._close(conn, CloseCode.ALREADY_AUTHENTICATED, "Already authenticated.")
        self.stats.identifies += 1
        session_id = f"sandbox-session-{len(self._sessions) + 1}"
        session = _Session(session_id, collections.deque(maxlen=self.replay_limit))
        self._sessions[session_id] = session
        self._attach(conn, session)
        ready = payloads.ready(
            self.world, session_id=session_id, resume_gateway_url=self.gateway_url
        )
        actions = self.dispatch("READY", ready, session_id=session_id)
        supplemental = payloads.ready_supplemental(self.world)
        actions += self.dispatch("READY_SUPPLEMENTAL", supplemental, session_id=session_id)
        return actions

    def _resume(self, conn: _Connection, data: dict[str, Any]) -> list[GatewayAction]:
        if data.get("token") != self.world.token:
            return self._close(conn, CloseCode.AUTHENTICATION_FAILED, "Authentication failed.")
        session = self._sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        if session is None or not session.resumable or not self._can_replay(session, seq):
            self.stats.invalid_sessions += 1
            return [self._frame(conn.id, Op.INVALID_SESSION, False)]
        assert isinstance(seq, int)  # checked by _can_replay
        self.stats.resumes += 1
        actions: list[GatewayAction] = []
        if session.connection_id is not None and session.connection_id in self._connections:
            # Discord ends the older connection when a session is resumed elsewhere.
            old = self._connections[session.connection_id]
            actions += self._close(old, CloseCode.UNKNOWN_ERROR, "session resumed elsewhere")
        self._attach(conn, session)
        actions += [SendFrame(conn.id, frame) for frame in session.log if frame["s"] > seq]
        resumed = {
            "op": int(Op.DISPATCH),
            "t": "RESUMED",
            "s": session.seq,
            "d": {"_trace": ["sandbox"]},
        }
        actions.append(SendFrame(conn.id, resumed))
        return actions

    @staticmethod
    def _can_replay(session: _Session, seq: object) -> bool:
        if not isinstance(seq, int) or seq > session.seq:
            return False
        oldest = session.log[0]["s"] if session.log else session.seq + 1
        return seq + 1 >= oldest

    def _voice_state_update(self, conn: _Connection, data: dict[str, Any]) -> list[GatewayAction]:
        self.stats.voice_requests.append(data)
        session_id = conn.session_id
        assert session_id is not None  # receive() only routes identified connections here
        raw_guild, raw_channel = data.get("guild_id"), data.get("channel_id")
        if raw_guild is None:
            return []  # private calls are not emulated; the client's initial null op 4 lands here
        guild_id, bot_id = int(raw_guild), self.world.bot.id
        if guild_id not in self.world.guilds:
            return []
        if raw_channel is None and (guild_id, bot_id) not in self.world.voice_states:
            # Leaving while not in voice changes nothing, but the request is still answered
            # with the (unchanged) state, so a client waiting for its leave to be confirmed
            # hears it (discord.py's disconnect sends a second leave and waits).
            update = payloads.voice_state(self.world, None, guild_id=guild_id, user_id=bot_id)
            return self._after(
                conn,
                self.voice_timing.first_after,
                lambda: self.dispatch("VOICE_STATE_UPDATE", update, session_id=session_id),
            )
        current = self.world.voice_states.get((guild_id, bot_id))
        rejoin = (
            current is not None
            and raw_channel is not None
            and current.channel_id == int(raw_channel)
            and current.session_id == session_id
        )
        flags = (bool(data.get("self_mute")), bool(data.get("self_deaf")))
        # Same channel and session, only the mute/deafen flags differ: Discord answers with the
        # new VOICE_STATE_UPDATE alone (the voice connection is not moved).
        flags_only = (
            rejoin and current is not None and (current.self_mute, current.self_deaf) != flags
        )
        try:
            state = self.world.set_voice_state(
                guild_id,
                bot_id,
                None if raw_channel is None else int(raw_channel),
                session_id=session_id,
                self_mute=bool(data.get("self_mute")),
                self_deaf=bool(data.get("self_deaf")),
            )
        except SandboxLookupError:
            return []  # Discord ignores voice requests for channels one cannot join
        update = payloads.voice_state(self.world, state, guild_id=guild_id, user_id=bot_id)
        if flags_only:
            return self._after(
                conn,
                self.voice_timing.first_after,
                lambda: self.dispatch("VOICE_STATE_UPDATE", update),
            )
        if state is None:
            if self.on_voice_leave is not None:
                self.on_voice_leave(str(guild_id), str(bot_id))
            return self._after(
                conn,
                self.voice_timing.first_after,
                lambda: self.dispatch("VOICE_STATE_UPDATE", update),
            )
        self._voice_tokens += 1
        token = f"sandbox-voice-token-{self._voice_tokens}"
        if self.on_voice_grant is not None:
            grant = VoiceGrant(
                server_id=str(guild_id),
                channel_id=str(state.channel_id),
                user_id=str(bot_id),
                session_id=session_id,
                token=token,
            )
            self.on_voice_grant(grant)
        server = {"token": token, "guild_id": str(guild_id), "endpoint": self.voice_endpoint}

        def state_update() -> list[GatewayAction]:
            return self.dispatch("VOICE_STATE_UPDATE", update)

        def server_update() -> list[GatewayAction]:
            if session_id not in self._sessions:
                return []
            return self.dispatch("VOICE_SERVER_UPDATE", server, session_id=session_id)

        timing = self.voice_timing
        first, second = state_update, server_update
        if (timing.order == "server_first") != rejoin:
            first, second = server_update, state_update
        if timing.first_after == timing.second_after:

            def both() -> list[GatewayAction]:
                return first() + second()

            steps = [(timing.first_after, both)]
        else:
            steps = [(timing.first_after, first), (timing.second_after, second)]
        actions: list[GatewayAction] = []
        for delay, step in steps:
            actions += self._after(conn, delay, step)
        return actions

    @staticmethod
    def _after(
        conn: _Connection, delay: float, step: Callable[[], list[GatewayAction]]
    ) -> list[GatewayAction]:
        return step() if delay == 0 else [Deferred(conn.id, delay, step)]

    # -- world events -------------------------------------------------------------------------

    def dispatch(
        self, event: str, data: dict[str, Any], *, session_id: str | None = None
    ) -> list[GatewayAction]:
        """Log a dispatch in every session (or one) and send it where a connection is attached."""
        sessions = self._sessions.values() if session_id is None else [self._sessions[session_id]]
        actions: list[GatewayAction] = []
        for session in sessions:
            session.seq += 1
            frame = {"op": int(Op.DISPATCH), "t": event, "s": session.seq, "d": data}
            session.log.append(frame)
            if session.connection_id is not None:
                actions.append(SendFrame(session.connection_id, frame))
        return actions

    # -- helpers ------------------------------------------------------------------------------

    def _attach(self, conn: _Connection, session: _Session) -> None:
        conn.session_id = session.session_id
        session.connection_id = conn.id

    def _close(self, conn: _Connection, code: int, reason: str) -> list[GatewayAction]:
        conn.closing = True
        self.connection_closed(conn.id)
        return [CloseConnection(conn.id, code, reason)]

    @staticmethod
    def _frame(connection_id: int, op: Op, data: Any) -> SendFrame:
        return SendFrame(connection_id, {"op": int(op), "t": None, "s": None, "d": data})
