"""IP discovery packets (74 bytes, big-endian), without I/O.

u16 type (0x1 request, 0x2 response) | u16 length (70) | u32 ssrc |
64-byte address (NUL-padded; empty in a request) | u16 port
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

PACKET = struct.Struct(">HHI64sH")
SIZE = PACKET.size  # 74
BODY_LENGTH = 70
REQUEST = 0x1
RESPONSE = 0x2


class DiscoveryError(ValueError):
    """Bytes that are not a well-formed IP discovery packet."""


@dataclass(frozen=True)
class Discovery:
    """One IP discovery packet."""

    kind: int
    ssrc: int
    address: str = ""
    port: int = 0


def looks_like_discovery(packet: bytes) -> bool:
    """A cheap test to tell discovery from RTP (which starts with 0x80 or 0x90)."""
    return len(packet) == SIZE and packet[0] == 0 and packet[1] in (REQUEST, RESPONSE)


def pack(message: Discovery) -> bytes:
    """The 74 bytes of `message`."""
    address = message.address.encode()
    if len(address) > 63:
        raise DiscoveryError(f"address {message.address!r} does not fit in 63 bytes")
    return PACKET.pack(message.kind, BODY_LENGTH, message.ssrc, address, message.port)


def request(ssrc: int) -> bytes:
    """A client's request for its external address."""
    return pack(Discovery(REQUEST, ssrc))


def response(ssrc: int, address: str, port: int) -> bytes:
    """The server's answer: the address and port the request came from."""
    return pack(Discovery(RESPONSE, ssrc, address, port))


def parse(packet: bytes) -> Discovery:
    """Parse 74 bytes; raises `DiscoveryError` naming what is wrong."""
    if len(packet) != SIZE:
        raise DiscoveryError(f"an IP discovery packet has {SIZE} bytes, got {len(packet)}")
    kind, length, ssrc, raw_address, port = PACKET.unpack(packet)
    if kind not in (REQUEST, RESPONSE):
        raise DiscoveryError(f"IP discovery type must be 1 or 2, got {kind}")
    if length != BODY_LENGTH:
        raise DiscoveryError(f"IP discovery length field must be {BODY_LENGTH}, got {length}")
    try:
        address = raw_address.split(b"\0", 1)[0].decode()
    except UnicodeDecodeError as exc:
        raise DiscoveryError(f"IP discovery address is not UTF-8: {raw_address!r}") from exc
    return Discovery(kind, ssrc, address, port)
