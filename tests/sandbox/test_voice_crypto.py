"""Voice transport encryption: known vectors for both AEADs, the rtpsize packet layout, and
round trips of real RTP packets in both modes."""

from __future__ import annotations

import struct

import nacl.bindings
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from clanker.sandbox.voice.crypto import DecryptError, TransportCipher, TransportMode
from clanker.sandbox.voice.rtp import RtpHeader, strip_decrypted

KEY = bytes(range(32))
MODES = list(TransportMode)


# -- the primitives are the real algorithms (published test vectors) ---------------------------


def test_aes_256_gcm_matches_the_nist_gcm_test_case_16():
    key = bytes.fromhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
    iv = bytes.fromhex("cafebabefacedbaddecaf888")
    plaintext = bytes.fromhex(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
        "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
    )
    aad = bytes.fromhex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
    sealed = AESGCM(key).encrypt(iv, plaintext, aad)
    assert sealed[:-16].hex() == (
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
        "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
    )
    assert sealed[-16:].hex() == "76fc6ece0f4e1768cddf8853bb2d551b"


def test_xchacha20_poly1305_matches_the_cfrg_draft_vector():
    key = bytes(range(0x80, 0xA0))
    nonce = bytes(range(0x40, 0x58))
    aad = bytes.fromhex("50515253c0c1c2c3c4c5c6c7")
    plaintext = (
        b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for "
        b"the future, sunscreen would be it."
    )
    sealed = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, aad, nonce, key)
    assert sealed[:-16].hex() == (
        "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
        "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
        "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
        "21f9664c97637da9768812f615c68b13b52e"
    )
    assert sealed[-16:].hex() == "c0875924c1c7987947deafd8780acf49"


# -- the rtpsize layout -----------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "nonce_size"), [(MODES[0], 12), (MODES[1], 24)])
def test_a_sealed_packet_is_aad_then_ciphertext_and_tag_then_the_counter(mode, nonce_size):
    header = RtpHeader(sequence=7, timestamp=6720, ssrc=42).pack()
    packet = TransportCipher(mode, KEY).seal(header, b"opus!", 0x01020304)
    assert packet[:12] == header
    assert packet[-4:] == b"\x01\x02\x03\x04"
    # Built independently: the counter big-endian in the first 4 bytes of a zero nonce.
    nonce = struct.pack(">I", 0x01020304) + bytes(nonce_size - 4)
    if mode is TransportMode.AES256_GCM:
        expected = AESGCM(KEY).encrypt(nonce, b"opus!", header)
    else:
        expected = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
            b"opus!", header, nonce, KEY
        )
    assert packet[12:-4] == expected
    assert len(packet) == 12 + 5 + 16 + 4


@pytest.mark.parametrize("mode", MODES)
def test_rtp_with_csrcs_extension_and_padding_round_trips(mode):
    cipher = TransportCipher(mode, KEY)
    header = RtpHeader(
        sequence=65535,
        timestamp=2**32 - 960,
        ssrc=0xDEADBEEF,
        marker=True,
        padding=True,
        csrcs=(1, 2),
        extension_profile=0xBEDE,
        extension_words=2,
    )
    extension_body = b"\x10\xff\x00\x00\x20\xaa\xbb\x00"
    body = extension_body + b"OPUS-PAYLOAD" + b"\x00\x00\x03"
    packet = cipher.seal_rtp(header, body, counter=2**32 - 1)
    # The AAD is the fixed header, both CSRCs and the extension preamble: 12 + 8 + 4 bytes.
    assert header.size == 24 and packet[:24] == header.pack()
    opened, plaintext, counter = cipher.open_rtp(packet)
    assert (opened, plaintext, counter) == (header, body, 2**32 - 1)
    assert strip_decrypted(opened, plaintext) == b"OPUS-PAYLOAD"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("where", [0, 5, 13, -5, -1])
def test_any_flipped_bit_fails_authentication(mode, where):
    cipher = TransportCipher(mode, KEY)
    packet = bytearray(cipher.seal_rtp(RtpHeader(1, 960, 5), b"payload", 9))
    packet[where] ^= 0x01
    with pytest.raises(DecryptError, match="did not authenticate"):
        cipher.open_rtp(bytes(packet))


def test_a_packet_opens_only_with_its_own_mode_and_key():
    aes, xchacha = (TransportCipher(m, KEY) for m in MODES)
    packet = aes.seal_rtp(RtpHeader(1, 960, 5), b"payload", 0)
    with pytest.raises(DecryptError):
        xchacha.open_rtp(packet)
    with pytest.raises(DecryptError):
        TransportCipher(MODES[0], bytes(32)).open_rtp(packet)
    assert aes.open_rtp(packet)[1] == b"payload"


def test_short_packets_and_bad_keys_are_refused_with_the_reason():
    with pytest.raises(DecryptError, match="cannot hold a 12-byte header, a 16-byte tag"):
        TransportCipher(MODES[0], KEY).open(bytes(20), 12)
    with pytest.raises(ValueError, match="secret_key has 32 bytes, got 16"):
        TransportCipher(MODES[1], bytes(16))
    with pytest.raises(ValueError):
        TransportCipher("xsalsa20_poly1305", KEY)


@given(
    mode=st.sampled_from(MODES),
    payload=st.binary(max_size=400),
    counter=st.integers(0, 2**32 - 1),
    seq=st.integers(0, 65535),
)
def test_seal_then_open_is_the_identity(mode, payload, counter, seq):
    cipher = TransportCipher(mode, KEY)
    header = RtpHeader(sequence=seq, timestamp=seq * 960, ssrc=3)
    assert cipher.open_rtp(cipher.seal_rtp(header, payload, counter)) == (header, payload, counter)
