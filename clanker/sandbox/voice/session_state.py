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
class Close:
    """Close `connection_id` with a voice close code."""

    connection_id: int
    code: int
    reason: str


@dataclass(frozen=True)
class SessionReady:
    """A session selected its protocol: the UDP side may now send it media."""

    session_id: str


VoiceAction = SendJson | Close | SessionReady


@dataclass
class VoiceSession:
    """One client's voice session (survives reconnects; ends on a new IDENTIFY or a revoke)."""

    grant: VoiceGrant
    ssrc: int
    seq: int = 0
    log: collections.deque[dict[str, Any]] = field(default_factory=collections.deque)
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
