"""Discord's voice transport encryption, both current modes, without I/O.

Both `*_rtpsize` AEAD modes lay a packet out the same way:

    [unencrypted RTP header (fixed + CSRCs + extension preamble)]  <- AAD
    [ciphertext of extension body + payload + padding][16-byte tag]
    [4-byte big-endian nonce counter]                              <- in clear

The AEAD nonce is that 32-bit counter in the first four bytes of an otherwise zero nonce: 12
bytes for AES-256-GCM (`cryptography`), 24 for XChaCha20-Poly1305 (libsodium via PyNaCl). Each
sender counts its own packets from 0; a receiver reads the counter from the packet's tail.
"""

from __future__ import annotations

import struct
from enum import StrEnum

import nacl.bindings
import nacl.exceptions
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from clanker.sandbox.voice.rtp import RtpHeader, parse_header

KEY_BYTES = 32
TAG_BYTES = 16
NONCE_COUNTER = struct.Struct(">I")


class TransportMode(StrEnum):
    """Encryption modes the sandbox offers in op 2 READY (preferred first)."""

    AES256_GCM = "aead_aes256_gcm_rtpsize"
    XCHACHA20_POLY1305 = "aead_xchacha20_poly1305_rtpsize"


class DecryptError(ValueError):
    """A packet did not authenticate, or is too short to hold a tag and a nonce."""


class TransportCipher:
    """Seals and opens rtpsize packets with one session's 32-byte `secret_key`."""

    def __init__(self, mode: TransportMode | str, key: bytes) -> None:
        self.mode = TransportMode(mode)
        if len(key) != KEY_BYTES:
            raise ValueError(f"a voice secret_key has {KEY_BYTES} bytes, got {len(key)}")
        self.key = bytes(key)
        self._aes = AESGCM(self.key) if self.mode is TransportMode.AES256_GCM else None

    def _nonce(self, counter: int) -> bytes:
        size = 12 if self._aes is not None else 24
        return NONCE_COUNTER.pack(counter & 0xFFFFFFFF) + bytes(size - 4)

    def seal(self, aad: bytes, plaintext: bytes, counter: int) -> bytes:
        """`aad | ciphertext+tag | counter`."""
        nonce = self._nonce(counter)
        if self._aes is not None:
            sealed = self._aes.encrypt(nonce, plaintext, aad)
        else:
            sealed = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
                plaintext, aad, nonce, self.key
            )
        return aad + sealed + NONCE_COUNTER.pack(counter & 0xFFFFFFFF)

    def open(self, packet: bytes, aad_size: int) -> tuple[bytes, int]:
        """The plaintext after the first `aad_size` bytes, and the packet's nonce counter."""
        if len(packet) < aad_size + TAG_BYTES + 4:
            raise DecryptError(
                f"{len(packet)}-byte packet cannot hold a {aad_size}-byte header, "
                f"a {TAG_BYTES}-byte tag and a 4-byte nonce"
            )
        (counter,) = NONCE_COUNTER.unpack_from(packet, len(packet) - 4)
        aad, sealed = packet[:aad_size], packet[aad_size:-4]
        nonce = self._nonce(counter)
        try:
            if self._aes is not None:
                plaintext = self._aes.decrypt(nonce, sealed, aad)
            else:
                plaintext = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                    sealed, aad, nonce, self.key
                )
        except (InvalidTag, nacl.exceptions.CryptoError) as exc:
            raise DecryptError(
                f"{self.mode} packet (nonce {counter}) did not authenticate"
            ) from exc
        return plaintext, counter

    # -- RTP ----------------------------------------------------------------------------------

    def seal_rtp(self, header: RtpHeader, body: bytes, counter: int) -> bytes:
        """An encrypted RTP packet: `body` is the extension body + payload + padding."""
        return self.seal(header.pack(), body, counter)

    def open_rtp(self, packet: bytes) -> tuple[RtpHeader, bytes, int]:
        """Header, decrypted body (extension body + payload + padding) and nonce counter."""
        header = parse_header(packet)
        plaintext, counter = self.open(packet, header.size)
        return header, plaintext, counter
