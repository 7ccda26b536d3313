"""The sandbox voice server over real sockets, against a raw test client.

Real clock (real UDP and websockets); every wait is bounded generously and nothing asserts on
how fast the machine is.
"""

from __future__ import annotations

import json
import math
import socket
import struct

import pytest
import trio
from voice_client import AES, XCHACHA, RawVoiceClient

from clanker.sandbox.voice.audio import Pcm, goertzel_power, speech, tone, write_wav
from clanker.sandbox.voice.crypto import TransportMode
from clanker.sandbox.voice.ops import VoiceGrant
from clanker.sandbox.voice.opus import OpusDecoder, OpusEncoder
from clanker.sandbox.voice.server import NoVoiceSession, open_voice_server

GRANT = VoiceGrant(server_id="10", channel_id="20", user_id="30", session_id="s-1", token="t-1")
ALICE = 40


def client_for(server) -> RawVoiceClient:
    server.grant(GRANT)
    return RawVoiceClient(
        server.endpoint,
        GRANT.server_id,
        GRANT.user_id,
        GRANT.session_id,
        GRANT.token,
        ca_file=server.ca_file,
    )


def decode(payloads: list[bytes]) -> Pcm:
    decoder = OpusDecoder()
    return Pcm(b"".join(decoder.decode(p) for p in payloads), 48_000, 2)


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        (tuple(TransportMode), AES),
        ((TransportMode.XCHACHA20_POLY1305,), XCHACHA),
        ((TransportMode.AES256_GCM,), AES),
    ],
)
async def test_a_member_speaks_and_the_client_hears_decodable_audio(offered, chosen):
    async with open_voice_server(modes=offered) as server, client_for(server).running() as client:
        await client.connect()
        assert client.mode == chosen and server.stats.selected_modes == [chosen]
        assert client.external == ("127.0.0.1", client._udp.getsockname()[1])
        session = await server.wait_for_session(GRANT.user_id)
        assert session.ssrc == client.ssrc

        report = await server.play(ALICE, tone(440, 0.3))

        await client.wait_for(lambda: len(client.packets) == 20 and len(client.ops(5)) == 2)
        assert report.frames == 15 and report.packets_sent == 20 and report.sessions == 1
        # Paced on trio time: never faster than 20 ms a packet.
        assert report.finished_at - report.started_at >= 20 * 0.02
        start, stop = client.ops(5)
        assert start["d"] == {"user_id": str(ALICE), "ssrc": report.ssrc, "speaking": 1}
        assert stop["d"]["speaking"] == 0 and stop["seq"] == start["seq"] + 1
        assert client.undecryptable == 0
        packets = client.packets
        assert {p.ssrc for p in packets} == {report.ssrc}
        assert [p.sequence for p in packets] == list(range(20))
        assert [p.timestamp for p in packets] == [960 * i for i in range(20)]
        assert [p.marker for p in packets] == [True] + [False] * 19
        assert [p.nonce for p in packets] == list(range(20))
        assert [p.payload for p in packets[15:]] == [b"\xf8\xff\xfe"] * 5
        heard = decode([p.payload for p in packets[:15]])
        assert heard.duration == pytest.approx(0.3)
        assert goertzel_power(heard, 440) > 100 * goertzel_power(heard, 1000)
        assert server.media.ip_discoveries == 1 and server.media.rtp_sent == 20


async def test_the_server_records_decrypts_and_decodes_what_the_client_sends():
    async with open_voice_server() as server, client_for(server).running() as client:
        await client.connect()
        await server.wait_for_session()
        encoder = OpusEncoder()
        pcm = tone(660, 0.5).for_discord().data
        for n in range(25):
            frame = pcm[n * 3840 : (n + 1) * 3840]
            await client.send_rtp(1000 + n, 48_000 + 960 * n, encoder.encode(frame))
        await client.send_raw(
            client.seal(struct.pack(">BBHII", 0x80, 0x78, 2000, 0, client.ssrc), b"x")[:-5]
            + b"\x00" * 5
        )
        await client.send_raw(bytes([0x80, 201]) + bytes(30))  # an RTCP receiver report
        await client.send_raw(b"\x12\x34" * 8)  # noise: 16 bytes that are not RTP
        await client.send_raw(struct.pack(">II", 7, 0))  # clankvox's keepalive: ignored
        # 1 IP discovery + 25 audio + a forged packet, an RTCP report, noise and a keepalive.
        await server.wait_until(lambda: server.media.datagrams_received == 30)
        assert server.media.ip_discoveries == 1
        assert server.media.rtp_received == 25
        assert server.media.decrypt_failures == 1
        assert server.media.rtcp_received == 1
        assert server.media.malformed == 1
        assert server.media.keepalives == 1
        assert [p for p in server.media.problems if "RTP" in p and "version" in p] != []
        assert not any("12 bytes" in p for p in server.media.problems)
        stats = server.jitter_stats(GRANT.user_id)
        assert (stats.packets, stats.lost, stats.late, stats.decode_errors) == (25, 0, 0, 0)
        assert stats.max_interval_ms >= stats.mean_interval_ms >= stats.min_interval_ms >= 0
        heard = server.received_pcm()
        assert heard.frames == 25 * 960 and heard.channels == 2
        assert goertzel_power(heard, 660) > 100 * goertzel_power(heard, 440)
        assert [p.nonce for p in server.recording().packets] == list(range(25))
        # Kernel receive timestamps (SO_TIMESTAMPNS) on every packet, in arrival order.
        kernel = [p.kernel_arrival for p in server.recording().packets]
        assert None not in kernel and kernel == sorted(kernel)  # type: ignore[type-var]
        assert server.stats.client_speaking == [{"speaking": 1, "delay": 0, "ssrc": client.ssrc}]


async def test_loss_and_reordering_show_in_what_the_client_receives():
    async with open_voice_server() as server, client_for(server).running() as client:
        await client.connect()
        await server.wait_for_session()
        report = await server.play(
            ALICE, tone(300, 0.2), loss=[3, 4], reorder=[7], silence_frames=0
        )
        await client.wait_for(lambda: len(client.packets) == 8 and len(client.ops(5)) == 2)
        assert report.dropped == [3, 4] and report.reordered == [7]
        assert [p.sequence for p in client.packets] == [0, 1, 2, 5, 6, 8, 7, 9]


async def test_a_dropped_socket_resumes_with_the_missed_messages_and_media_goes_on():
    async with open_voice_server() as server, client_for(server).running() as client:
        await client.connect()
        await server.wait_for_session()
        await client.heartbeat(77)
        await client.wait_for(lambda: bool(client.ops(6)))
        assert client.ops(6)[0]["d"] == {"t": 77}

        server.drop_socket()
        await client.wait_for(lambda: client.closes == [4015])
        server.member_joined(GRANT.channel_id, ALICE)  # missed while disconnected
        await client.resume()
        await client.wait_for(lambda: bool(client.ops(11)))
        assert [m["op"] for m in client.messages[-2:]] == [9, 11]
        assert client.ops(11)[0]["d"] == {"user_ids": [str(ALICE)]}
        assert server.stats.resumes == 1 and server.stats.replayed == 1

        await server.play(ALICE, tone(440, 0.1))
        await client.wait_for(lambda: len(client.packets) == 10)
        assert client.undecryptable == 0


async def test_playing_with_no_client_says_what_to_wait_for():
    async with open_voice_server() as server:
        with pytest.raises(NoVoiceSession, match="wait_for_session"):
            await server.play(ALICE, tone(440, 0.1))
        with pytest.raises(NoVoiceSession, match="found 0"):
            server.received_pcm()


async def test_playback_is_paced_on_trio_time(autojump_clock, tmp_path):
    # A session made through the gateway state machine directly, media going to a plain UDP
    # socket: nothing waits on the network, so virtual time is exact.
    path = tmp_path / "alice.wav"
    write_wav(path, tone(440, 0.1, rate=16_000))
    async with open_voice_server() as server:
        server.grant(GRANT)
        # A plain non-blocking socket, read only after the playback.
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with sink:
            sink.bind(("127.0.0.1", 0))
            sink.setblocking(False)
            now = trio.current_time()
            gw = server.gateway
            cid, _ = gw.open_connection(now, version=8)
            identify = {"server_id": "10", "user_id": "30", "session_id": "s-1", "token": "t-1"}
            gw.receive_text(cid, json.dumps({"op": 0, "d": identify}), now)
            udp = {"address": "127.0.0.1", "port": sink.getsockname()[1], "mode": XCHACHA}
            gw.receive_text(cid, json.dumps({"op": 1, "d": {"protocol": "udp", "data": udp}}), now)
            start = trio.current_time()
            report = await server.play(ALICE, str(path))
            assert report.started_at == start
            assert report.finished_at == start + 9 * 0.02 + 0.02
            assert trio.current_time() == report.finished_at
            cipher = gw.sessions["s-1"].cipher
            received = []
            while True:
                try:
                    received.append(sink.recv(2048))
                except BlockingIOError:
                    break
            assert len(received) == report.packets_sent == 10
            opened = [cipher.open_rtp(datagram) for datagram in received]
            assert [h.sequence for h, _, _ in opened] == list(range(10))
            assert [n for _, _, n in opened] == list(range(10))


async def test_speech_made_with_espeak_ng_plays_through_the_server():
    spoken = await speech("testing one two three")
    async with open_voice_server() as server, client_for(server).running() as client:
        await client.connect()
        await server.wait_for_session()
        report = await server.play(ALICE, spoken)
        assert report.frames == math.ceil(spoken.for_discord().frames / 960)
        await client.wait_for(lambda: len(client.packets) == report.frames + 5)
        heard = decode([p.payload for p in client.packets[: report.frames]])
        assert heard.rms() > 300


async def test_a_client_that_vanishes_does_not_stop_the_server():
    async with open_voice_server() as server:
        async with client_for(server).running() as gone:
            await gone.connect()
            await server.wait_for_session()
        # Its sockets are closed; the session is still there, so media goes to a dead port.
        await server.play(ALICE, tone(440, 0.06))
        other = VoiceGrant(
            server_id="10", channel_id="20", user_id="31", session_id="s-2", token="t-2"
        )
        server.grant(other)
        fresh = RawVoiceClient(server.endpoint, "10", "31", "s-2", "t-2", ca_file=server.ca_file)
        async with fresh.running():
            await fresh.connect()
            await server.wait_for_session("31")
            await server.play(ALICE, tone(440, 0.06), channel_id="20")
            await fresh.wait_for(lambda: len(fresh.packets) == 8)
            assert fresh.undecryptable == 0
