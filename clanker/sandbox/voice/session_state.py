"""What the voice gateway state machine hands out and keeps: actions for the I/O layer, one
client's session, and the counters tests read."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

from clanker.sandbox.voice.crypto import TransportCipher, TransportMode
from clanker.sandbox.voice.ops import VoiceGrant


@dataclass(frozen=True)
class SendJson:
    """Send `payload` as a text frame on `connection_id`."""

    connection_id: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class SendBinary:
    """Send `payload` as a binary frame on `connection_id` (a DAVE frame: `u16 BE seq, u8
    opcode, body`)."""

    connection_id: int
    payload: bytes


@dataclass(frozen=True)
class Close:
    """Close `connection_id` with a voice close code."""

    connection_id: int
    code: int
    reason: str


@dataclass(frozen=True)
class SessionReady:
    """A session selected its protocol: the UDP side may now send it media."""

    session_id: str


VoiceAction = SendJson | SendBinary | Close | SessionReady

LoggedFrame = dict[str, Any] | bytes
"""A sequenced frame in a session's replay log: a JSON object or a binary DAVE frame."""


@dataclass
class VoiceSession:
    """One client's voice session (survives reconnects; ends on a new IDENTIFY or a revoke)."""

    grant: VoiceGrant
    ssrc: int
    seq: int = 0
    # (seq, frame): what was sent and not yet acknowledged, JSON and binary alike.
    log: collections.deque[tuple[int, LoggedFrame]] = field(default_factory=collections.deque)
    acked: int = -1
    lost_through: int = -1  # highest unacknowledged seq evicted from the log
    connection_id: int | None = None
    mode: TransportMode | None = None
    cipher: TransportCipher | None = None
    client_address: tuple[str, int] | None = None
    speaking: int = 0  # the client's own op 5 flags
    server_nonce: int = 0  # the server's AEAD counter for media it sends this client
    resumable: bool = True
    description: dict[str, Any] | None = None  # the op 4 payload it was sent
    max_dave_protocol_version: int = 0  # from IDENTIFY (absent: 0, no DAVE)
    dave_joined: bool = False  # a participant of the DAVE delivery service (after op 4)
    # DAVE messages the client sent, in order: (time, op) with binary ops 26/28, JSON 23/31.
    dave_sent: list[tuple[float, int]] = field(default_factory=list)

    @property
    def dave(self) -> bool:
        """Whether the client said it can do DAVE (max_dave_protocol_version >= 1)."""
        return self.max_dave_protocol_version >= 1

    @property
    def ready(self) -> bool:
        """Whether the client selected a protocol and got its key."""
        return self.cipher is not None and self.client_address is not None


@dataclass
class VoiceGatewayStats:
    """Counters and records for tests."""

    connections: int = 0
    identifies: int = 0
    resumes: int = 0
    failed_resumes: int = 0
    heartbeats: int = 0
    replayed: int = 0
    redescribed: int = 0  # session descriptions sent again after a resume with a new token
    versions: list[int | None] = field(default_factory=list)
    closes: list[tuple[int, str]] = field(default_factory=list)
    ignored_ops: list[int] = field(default_factory=list)
    selected_modes: list[str] = field(default_factory=list)
    client_speaking: list[dict[str, Any]] = field(default_factory=list)
    dave_frames_sent: int = 0  # binary DAVE frames queued for clients (replays excluded)
    dave_messages_received: int = 0  # DAVE ops from clients handed to the delivery service
