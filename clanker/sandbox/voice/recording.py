"""What a voice client sent, decrypted and decoded, with its timing.

`StreamRecording` keeps one client's stream (one SSRC): every accepted packet with its arrival
time, and the decoded 48 kHz stereo PCM. Packets are decoded as they arrive, the way a real
receiver without a jitter buffer would: duplicates and packets older than the last one are
dropped and counted; a short gap (at most `max_concealed` packets) is filled with Opus packet
loss concealment, a longer one (the sender paused) is not.

With DAVE the frames a client sends are end-to-end encrypted and the server (the SFU) cannot
read them; the media socket has a simulated member of the channel decrypt each one
(`VoiceGateway.dave_open`) and hands the recording the Opus frame and what happened to it. A
frame that did not decrypt is counted (`dave_failed`, `dave_early` before any key,
`dave_undecryptable` with no member to try) and concealed like a lost packet; `raw_frames` keeps
every frame as it arrived (after transport decryption), encrypted or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from clanker.sandbox.voice.audio import SAMPLE_RATE, Pcm
from clanker.sandbox.voice.opus import SILENCE_FRAME, OpusDecoder, OpusError
from clanker.sandbox.voice.rtp import RtpHeader, sequence_distance

_TICKS_PER_MS = SAMPLE_RATE // 1000

DaveStatus = Literal[
    "off", "silence", "decrypted", "passthrough", "failed", "early", "undecryptable"
]


@dataclass(frozen=True)
class ReceivedPacket:
    """One accepted RTP packet."""

    sequence: int
    timestamp: int
    arrival: float  # trio time
    nonce: int
    payload_size: int
    silence: bool  # the F8 FF FE end-of-burst frame
    # When the kernel received it (CLOCK_REALTIME seconds, SO_TIMESTAMPNS), free of the
    # server's own scheduling delays; None where the platform gives no timestamp.
    kernel_arrival: float | None = None
    # What became of its DAVE layer (session.DaveFrameStatus): "off" when DAVE was not in play.
    dave: str = "off"


@dataclass(frozen=True)
class JitterStats:
    """Timing of a received stream. Intervals are between consecutive accepted packets."""

    packets: int
    lost: int  # sequence numbers skipped over
    concealed: int  # lost packets filled with PLC
    duplicates: int
    late: int  # arrived after a newer packet (reordered or stale): dropped
    decode_errors: int
    mean_interval_ms: float
    min_interval_ms: float
    max_interval_ms: float
    jitter_ms: float  # RFC 3550 interarrival jitter estimate


class StreamRecording:
    """One client stream (SSRC): packets, timing and decoded audio."""

    def __init__(self, user_id: str, ssrc: int, *, max_concealed: int = 5) -> None:
        self.user_id = user_id
        self.ssrc = ssrc
        self.max_concealed = max_concealed
        self.packets: list[ReceivedPacket] = []
        self.lost = 0
        self.concealed = 0
        self.duplicates = 0
        self.late = 0
        self.decode_errors = 0
        self.last_nonce: int | None = None
        self._decoder = OpusDecoder(channels=2)
        self._chunks: list[bytes] = []
        self._jitter = 0.0
        self._seen: set[int] = set()
        self.raw_frames: list[bytes] = []  # every accepted frame as it arrived (maybe encrypted)
        self.dave_decrypted = 0
        self.dave_passthrough = 0  # arrived unencrypted and was let through (protocol 0 window)
        self.dave_failed = 0  # the decrypting member had the sender's key; it did not decrypt
        self.dave_early = 0  # before the decrypting member had any key for the sender
        self.dave_undecryptable = 0  # no simulated member in the channel to decrypt with

    @property
    def dave_lost(self) -> int:
        """Frames whose audio is gone because their DAVE layer could not be removed."""
        return self.dave_failed + self.dave_early + self.dave_undecryptable

    def add(
        self,
        header: RtpHeader,
        payload: bytes,
        nonce: int,
        arrival: float,
        kernel_arrival: float | None = None,
        *,
        dave: DaveStatus = "off",
        opus: bytes | Literal["same"] | None = "same",
    ) -> bool:
        """Accept one decrypted packet; False if it was dropped (duplicate or late). With DAVE,
        `opus` is the frame inside `payload` (None: it did not decrypt) and `dave` says how."""
        frame = payload if opus == "same" else opus
        if self.packets:
            last = self.packets[-1]
            distance = sequence_distance(header.sequence, last.sequence)
            if distance <= 0:
                if header.sequence in self._seen:
                    self.duplicates += 1
                else:
                    self.late += 1
                return False
            gap = distance - 1
            self.lost += gap
            if 0 < gap <= self.max_concealed:
                for _ in range(gap):
                    self._chunks.append(self._decoder.decode(None))
                self.concealed += gap
            transit_change = (arrival - last.arrival) * SAMPLE_RATE - (
                (header.timestamp - last.timestamp) & 0xFFFFFFFF
            )
            self._jitter += (abs(transit_change) - self._jitter) / 16
        self._seen.add(header.sequence)
        self.last_nonce = nonce
        self.packets.append(
            ReceivedPacket(
                sequence=header.sequence,
                timestamp=header.timestamp,
                arrival=arrival,
                nonce=nonce,
                payload_size=len(payload),
                silence=payload == SILENCE_FRAME,
                kernel_arrival=kernel_arrival,
                dave=dave,
            )
        )
        self.raw_frames.append(payload)
        if dave == "decrypted":
            self.dave_decrypted += 1
        elif dave == "passthrough":
            self.dave_passthrough += 1
        elif dave == "failed":
            self.dave_failed += 1
        elif dave == "early":
            self.dave_early += 1
        elif dave == "undecryptable":
            self.dave_undecryptable += 1
        try:
            self._chunks.append(self._decoder.decode(frame))  # None: concealed
        except OpusError:
            self.decode_errors += 1
        return True

    def pcm(self) -> Pcm:
        """Everything decoded so far: 48 kHz stereo."""
        return Pcm(b"".join(self._chunks), SAMPLE_RATE, 2)

    def jitter(self) -> JitterStats:
        """Packet timing and loss figures."""
        intervals = [
            (b.arrival - a.arrival) * 1000
            for a, b in zip(self.packets, self.packets[1:], strict=False)
        ]
        return JitterStats(
            packets=len(self.packets),
            lost=self.lost,
            concealed=self.concealed,
            duplicates=self.duplicates,
            late=self.late,
            decode_errors=self.decode_errors,
            mean_interval_ms=sum(intervals) / len(intervals) if intervals else 0.0,
            min_interval_ms=min(intervals, default=0.0),
            max_interval_ms=max(intervals, default=0.0),
            jitter_ms=self._jitter / _TICKS_PER_MS,
        )
