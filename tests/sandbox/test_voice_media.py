"""Sans-IO media parts of the sandbox voice server: RTP, IP discovery, Opus, playback plans
and stream recordings."""

from __future__ import annotations

import random
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clanker.sandbox.voice import discovery
from clanker.sandbox.voice.audio import Pcm, chirp, goertzel_power, silence, tone
from clanker.sandbox.voice.opus import SILENCE_FRAME, OpusDecoder, OpusEncoder
from clanker.sandbox.voice.playback import MemberStream
from clanker.sandbox.voice.recording import StreamRecording
from clanker.sandbox.voice.rtp import (
    RtpError,
    RtpHeader,
    is_rtcp,
    parse_header,
    sequence_distance,
    strip_decrypted,
)

# -- RTP ----------------------------------------------------------------------------------------


def test_a_discord_audio_header_has_the_documented_bytes():
    header = RtpHeader(sequence=0x0102, timestamp=0x03040506, ssrc=0x0708090A)
    assert header.pack() == bytes.fromhex("80 78 0102 03040506 0708090a")
    assert parse_header(header.pack() + b"payload") == header


@given(
    seq=st.integers(0, 65535),
    ts=st.integers(0, 2**32 - 1),
    ssrc=st.integers(0, 2**32 - 1),
    pt=st.integers(0, 127),
    marker=st.booleans(),
    padding=st.booleans(),
    csrcs=st.lists(st.integers(0, 2**32 - 1), max_size=15).map(tuple),
    ext=st.one_of(st.none(), st.integers(0, 65535)),
    words=st.integers(0, 65535),
)
def test_headers_round_trip(seq, ts, ssrc, pt, marker, padding, csrcs, ext, words):
    header = RtpHeader(
        seq, ts, ssrc, pt, marker, padding, csrcs, ext, words if ext is not None else 0
    )
    packed = header.pack()
    assert len(packed) == header.size == 12 + 4 * len(csrcs) + (4 if ext is not None else 0)
    assert parse_header(packed) == header


def test_bad_rtp_is_refused_with_the_reason():
    with pytest.raises(RtpError, match="at least 12 bytes"):
        parse_header(b"\x80\x78")
    with pytest.raises(RtpError, match="version must be 2"):
        parse_header(b"\x40" + bytes(11))
    with pytest.raises(RtpError, match="3 CSRCs"):
        parse_header(b"\x83\x78" + bytes(10 + 4))
    with pytest.raises(RtpError, match="bad RTP padding"):
        strip_decrypted(RtpHeader(1, 1, 1, padding=True), b"abc\x09")
    with pytest.raises(RtpError, match="extension body of 8 bytes"):
        strip_decrypted(RtpHeader(1, 1, 1, extension_profile=0xBEDE, extension_words=2), b"abc")


def test_rtcp_is_told_apart_from_audio():
    assert is_rtcp(bytes([0x80, 200]) + bytes(6))  # sender report
    assert is_rtcp(bytes([0x81, 201]) + bytes(6))  # receiver report
    assert not is_rtcp(RtpHeader(1, 1, 1).pack())
    assert not is_rtcp(RtpHeader(1, 1, 1, marker=True).pack())


def test_sequence_distance_wraps():
    assert sequence_distance(1, 65535) == 2
    assert sequence_distance(65535, 1) == -2
    assert sequence_distance(5, 5) == 0


# -- IP discovery -------------------------------------------------------------------------------


def test_ip_discovery_packets_have_the_documented_74_bytes():
    request = discovery.request(0x01020304)
    assert request == b"\x00\x01\x00\x46\x01\x02\x03\x04" + bytes(66)
    answer = discovery.response(0x01020304, "127.0.0.1", 50_000)
    assert len(answer) == 74
    assert answer[:8] == b"\x00\x02\x00\x46\x01\x02\x03\x04"
    assert answer[8:72] == b"127.0.0.1" + bytes(64 - 9)
    assert answer[72:] == struct.pack(">H", 50_000)
    assert discovery.parse(answer) == discovery.Discovery(2, 0x01020304, "127.0.0.1", 50_000)
    assert discovery.looks_like_discovery(request) and not discovery.looks_like_discovery(
        RtpHeader(1, 1, 1).pack() + bytes(62)
    )


def test_bad_ip_discovery_is_refused_with_the_reason():
    with pytest.raises(discovery.DiscoveryError, match="74 bytes, got 10"):
        discovery.parse(bytes(10))
    with pytest.raises(discovery.DiscoveryError, match="type must be 1 or 2, got 3"):
        discovery.parse(b"\x00\x03\x00\x46" + bytes(70))
    with pytest.raises(discovery.DiscoveryError, match="length field must be 70, got 69"):
        discovery.parse(b"\x00\x01\x00\x45" + bytes(70))


# -- Opus ---------------------------------------------------------------------------------------


def test_opus_keeps_a_tone_and_conceals_a_lost_frame():
    pcm = tone(440, 0.2).for_discord().data
    encoder, decoder = OpusEncoder(), OpusDecoder()
    frame = 960 * 4
    out = b"".join(
        decoder.decode(encoder.encode(pcm[i : i + frame])) for i in range(0, len(pcm), frame)
    )
    decoded = Pcm(out, 48_000, 2)
    assert decoded.frames == 0.2 * 48_000
    # The tone is there and nothing else much is.
    assert goertzel_power(decoded, 440) > 100 * goertzel_power(decoded, 1000)
    assert len(decoder.decode(None)) == frame  # PLC: one 20 ms frame
    # The end-of-burst frame fades the tone out, and the next one is silent.
    fade, after = decoder.decode(SILENCE_FRAME), decoder.decode(SILENCE_FRAME)
    assert Pcm(fade, 48_000, 2).rms() > Pcm(after, 48_000, 2).rms()
    assert Pcm(after, 48_000, 2).rms() < 50


def test_the_encoder_wants_whole_20_ms_frames():
    with pytest.raises(ValueError, match="needs 3840 bytes"):
        OpusEncoder().encode(bytes(100))


# -- playback plans ---------------------------------------------------------------------------


def test_a_plan_sends_one_packet_every_20_ms_then_five_silence_frames():
    stream = MemberStream("7", ssrc=100)
    plan = stream.plan(tone(440, 0.1), rng=random.Random(0))
    assert plan.frames == 5 and len(plan.packets) == 10
    assert [p.at for p in plan.packets] == pytest.approx([0.02 * i for i in range(10)])
    assert [p.header.sequence for p in plan.packets] == list(range(10))
    assert [p.header.timestamp for p in plan.packets] == [960 * i for i in range(10)]
    assert [p.header.marker for p in plan.packets] == [True] + [False] * 9
    assert [p.payload for p in plan.packets[5:]] == [SILENCE_FRAME] * 5
    assert all(p.header.ssrc == 100 for p in plan.packets)
    # A second utterance continues the stream.
    again = stream.plan(silence(0.02), rng=random.Random(0), silence_frames=0)
    assert [(p.header.sequence, p.header.timestamp) for p in again.packets] == [(10, 9600)]


def test_loss_and_reordering_by_index_and_by_seeded_probability():
    plan = MemberStream("7", 100).plan(
        chirp(200, 2000, 0.2), loss=[2, 7], reorder=[4], rng=random.Random(0), silence_frames=0
    )
    assert plan.dropped == [2, 7] and plan.reordered == [4]
    assert [p.index for p in plan.packets] == [0, 1, 3, 5, 4, 6, 8, 9]
    # Sent in the slots of the original order: 5 goes out in 4's slot.
    assert [round(p.at / 0.02) for p in plan.packets] == [0, 1, 3, 4, 5, 6, 8, 9]
    a = MemberStream("7", 1).plan(tone(300, 1.0), loss=0.2, rng=random.Random(5))
    b = MemberStream("7", 1).plan(tone(300, 1.0), loss=0.2, rng=random.Random(5))
    assert a.dropped == b.dropped and 0 < len(a.dropped) < 25
    with pytest.raises(ValueError, match="probability in"):
        MemberStream("7", 1).plan(tone(300, 0.1), loss=1.5, rng=random.Random(0))
    with pytest.raises(ValueError, match=r"indices \[99\] are outside"):
        MemberStream("7", 1).plan(tone(300, 0.1), reorder=[99], rng=random.Random(0))


# -- recordings -------------------------------------------------------------------------------


def _packets(pcm: Pcm) -> list[tuple[RtpHeader, bytes]]:
    encoder = OpusEncoder()
    data = pcm.for_discord().data
    frame = 960 * 4
    return [
        (RtpHeader(i, i * 960, 9), encoder.encode(data[o : o + frame]))
        for i, o in enumerate(range(0, len(data), frame))
    ]


def test_a_steady_stream_records_its_audio_and_zero_jitter():
    packets = _packets(tone(440, 0.2))
    rec = StreamRecording("5", 9)
    for n, (header, payload) in enumerate(packets):
        assert rec.add(header, payload, nonce=n, arrival=10 + 0.02 * n)
    stats = rec.jitter()
    assert stats.packets == 10 and stats.lost == stats.late == stats.duplicates == 0
    assert stats.mean_interval_ms == pytest.approx(20) and stats.jitter_ms == pytest.approx(
        0, abs=1e-6
    )
    assert rec.pcm().frames == 10 * 960
    assert goertzel_power(rec.pcm(), 440) > 100 * goertzel_power(rec.pcm(), 1000)


def test_gaps_are_concealed_and_late_or_duplicate_packets_dropped():
    packets = _packets(tone(440, 0.3))
    rec = StreamRecording("5", 9)
    order = [0, 1, 3, 2, 3, 4, 12, 13]  # 2 is late, 3 duplicated, 5..11 a long gap
    accepted = [rec.add(*packets[i], nonce=k, arrival=0.02 * k) for k, i in enumerate(order)]
    assert accepted == [True, True, True, False, False, True, True, True]
    stats = rec.jitter()
    assert (stats.lost, stats.concealed, stats.late, stats.duplicates) == (8, 1, 1, 1)
    # 6 packets decoded + 1 concealed frame (the 7-packet gap is too long to conceal).
    assert rec.pcm().frames == 7 * 960
    assert stats.jitter_ms > 0
