"""RTP packets as Discord voice uses them (RFC 3550 headers), without I/O.

Discord audio: version 2, payload type 120 (0x78), no padding or CSRCs from Discord's own
clients, 20 ms of 48 kHz Opus per packet (timestamp +960). A one-byte-header extension
(profile 0xBEDE) may be present. For the `*_rtpsize` transport modes the unencrypted part of a
packet is the 12-byte fixed header, the CSRCs and the 4-byte extension preamble; the extension
body, the payload and any padding are encrypted (see `crypto.py`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

OPUS_PAYLOAD_TYPE = 0x78
RTP_VERSION = 2
FIXED_HEADER = struct.Struct(">BBHII")
EXTENSION_PREAMBLE = struct.Struct(">HH")
RTCP_PAYLOAD_TYPES = range(200, 205)  # SR, RR, SDES, BYE, APP (second byte, marker included)


class RtpError(ValueError):
    """Bytes that are not an RTP packet this server understands."""


@dataclass(frozen=True)
class RtpHeader:
    """The unencrypted part of an RTP packet."""

    sequence: int
    timestamp: int
    ssrc: int
    payload_type: int = OPUS_PAYLOAD_TYPE
    marker: bool = False
    padding: bool = False
    csrcs: tuple[int, ...] = ()
    extension_profile: int | None = None  # present iff the X bit is set
    extension_words: int = 0  # length of the extension body in 32-bit words

    def pack(self) -> bytes:
        """The header bytes: fixed part, CSRCs and (if any) the extension preamble."""
        if len(self.csrcs) > 15:
            raise RtpError(f"at most 15 CSRCs fit in an RTP header, got {len(self.csrcs)}")
        first = (
            RTP_VERSION << 6
            | int(self.padding) << 5
            | int(self.extension_profile is not None) << 4
            | len(self.csrcs)
        )
        second = int(self.marker) << 7 | (self.payload_type & 0x7F)
        out = FIXED_HEADER.pack(
            first, second, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc
        )
        out += b"".join(struct.pack(">I", c) for c in self.csrcs)
        if self.extension_profile is not None:
            out += EXTENSION_PREAMBLE.pack(self.extension_profile, self.extension_words)
        return out

    @property
    def size(self) -> int:
        """Bytes of the unencrypted header (the AAD of the rtpsize modes)."""
        return 12 + 4 * len(self.csrcs) + (4 if self.extension_profile is not None else 0)


def is_rtcp(packet: bytes) -> bool:
    """Whether `packet` is RTCP (sender/receiver reports...) rather than RTP media."""
    return len(packet) >= 2 and packet[1] in RTCP_PAYLOAD_TYPES


def parse_header(packet: bytes) -> RtpHeader:
    """The header of an RTP packet; raises `RtpError` for anything else."""
    if len(packet) < 12:
        raise RtpError(f"an RTP packet has at least 12 bytes, got {len(packet)}")
    first, second, sequence, timestamp, ssrc = FIXED_HEADER.unpack_from(packet)
    if first >> 6 != RTP_VERSION:
        raise RtpError(f"RTP version must be 2, got {first >> 6}")
    count = first & 0x0F
    offset = 12 + 4 * count
    if len(packet) < offset:
        raise RtpError(f"packet too short for its {count} CSRCs")
    csrcs = struct.unpack_from(f">{count}I", packet, 12)
    profile, words = None, 0
    if first & 0x10:
        if len(packet) < offset + 4:
            raise RtpError("packet too short for its extension header")
        profile, words = EXTENSION_PREAMBLE.unpack_from(packet, offset)
    return RtpHeader(
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload_type=second & 0x7F,
        marker=bool(second & 0x80),
        padding=bool(first & 0x20),
        csrcs=tuple(csrcs),
        extension_profile=profile,
        extension_words=words,
    )


def strip_decrypted(header: RtpHeader, plaintext: bytes) -> bytes:
    """The media payload inside a decrypted rtpsize body: drop the padding (counted by the
    last byte, when P is set), then the extension body (when X is set)."""
    body = plaintext
    if header.padding:
        if not body or body[-1] == 0 or body[-1] > len(body):
            raise RtpError(f"bad RTP padding length {body[-1] if body else 'missing'}")
        body = body[: -body[-1]]
    if header.extension_profile is not None:
        ext = 4 * header.extension_words
        if ext > len(body):
            raise RtpError(f"extension body of {ext} bytes exceeds the {len(body)}-byte payload")
        body = body[ext:]
    return body


def sequence_distance(newer: int, older: int) -> int:
    """Signed distance between two 16-bit sequence numbers, handling wrap-around."""
    d = (newer - older) & 0xFFFF
    return d - 0x10000 if d >= 0x8000 else d
