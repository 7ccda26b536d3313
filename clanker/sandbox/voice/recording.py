"""What a voice client sent, decrypted and decoded, with its timing.

`StreamRecording` keeps one client's stream (one SSRC): every accepted packet with its arrival
time, and the decoded 48 kHz stereo PCM. Packets are decoded as they arrive, the way a real
receiver without a jitter buffer would: duplicates and packets older than the last one are
dropped and counted; a short gap (at most `max_concealed` packets) is filled with Opus packet
loss concealment, a longer one (the sender paused) is not.
"""

from __future__ import annotations

from dataclasses import dataclass

from clanker.sandbox.voice.audio import SAMPLE_RATE, Pcm
from clanker.sandbox.voice.opus import SILENCE_FRAME, OpusDecoder, OpusError
from clanker.sandbox.voice.rtp import RtpHeader, sequence_distance

_TICKS_PER_MS = SAMPLE_RATE // 1000


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

    def add(
        self,
        header: RtpHeader,
        payload: bytes,
        nonce: int,
        arrival: float,
        kernel_arrival: float | None = None,
    ) -> bool:
        """Accept one decrypted packet; False if it was dropped (duplicate or late)."""
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
            )
        )
        try:
            self._chunks.append(self._decoder.decode(payload))
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
