"""Voice benchmark: the clankvox pipe codec and the sandbox voice server's media path.

    .venv/bin/python benchmarks/voice.py [--quick]

Reports, in one run:

* the frame decoder's throughput on a realistic stdout stream (user_audio frames of 20 ms at
  24 kHz with a JSON event every tenth frame), fed in 64 KiB chunks, against a baseline that
  only splits the same stream into frames (``decoder_vs_split``); and as concurrent speakers one
  core could carry (``speakers_per_core``: audio frames/s divided by 50);
* per-packet costs of the sandbox media path: Opus encode and decode of a 20 ms stereo frame,
  seal and open in both AEAD modes (µs);
* the pacing of `VoiceServer.play` on the real clock: 2 s of audio to a UDP socket read in the
  same trio run; mean / max interval between arrivals and the RFC 3550 jitter (ms).

The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import socket
import statistics
import struct
import time

import trio

from clanker.sandbox.voice import TransportCipher, TransportMode, open_voice_server, tone
from clanker.sandbox.voice.opus import OpusDecoder, OpusEncoder
from clanker.sandbox.voice.rtp import RtpHeader
from clanker.voice import events as e
from clanker.voice.framing import FRAME_HEADER, ClankvoxFrameDecoder, encode_event_frame


def _stream(frames: int) -> bytes:
    pcm = bytes(960)
    parts = []
    for i in range(frames):
        parts.append(
            encode_event_frame(
                e.UserAudio(
                    user_id=str(10**17 + i % 4),
                    signal_peak_abs=1200,
                    signal_active_sample_count=300,
                    signal_sample_count=480,
                    pcm=pcm,
                )
            )
        )
        if i % 10 == 0:
            parts.append(encode_event_frame(e.SpeakingStart(user_id=str(10**17 + i % 4))))
    return b"".join(parts)


def _split_only(data: bytes, chunk: int) -> int:
    buf = bytearray()
    count = 0
    for i in range(0, len(data), chunk):
        buf += data[i : i + chunk]
        pos = 0
        while len(buf) - pos >= 5:
            _, length = FRAME_HEADER.unpack_from(buf, pos)
            if len(buf) - pos - 5 < length:
                break
            payload = bytes(buf[pos + 5 : pos + 5 + length])
            del payload
            pos += 5 + length
            count += 1
        del buf[:pos]
    return count


def _decode(data: bytes, chunk: int) -> int:
    decoder = ClankvoxFrameDecoder()
    count = 0
    for i in range(0, len(data), chunk):
        count += len(decoder.feed(data[i : i + chunk]))
    return count


def codec(frames: int, rounds: int) -> dict[str, float]:
    data = _stream(frames)
    chunk = 65_536
    ratios, rates = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        _split_only(data, chunk)
        t1 = time.perf_counter()
        n = _decode(data, chunk)
        t2 = time.perf_counter()
        ratios.append((t2 - t1) / (t1 - t0))
        rates.append(frames / (t2 - t1))
    audio_fps = statistics.median(rates)
    print(
        f"decoder: {audio_fps:,.0f} audio frames/s ({n} events per round, "
        f"{len(data) / 1e6:.1f} MB); time vs split-only {statistics.median(ratios):.2f}x"
    )
    return {
        "decoder_vs_split": round(statistics.median(ratios), 2),
        "speakers_per_core": round(audio_fps / 50),
    }


def per_packet(n: int) -> dict[str, float]:
    pcm = tone(440, 0.02).for_discord().data
    encoder, decoder = OpusEncoder(), OpusDecoder()
    t0 = time.perf_counter()
    for _ in range(n):
        packet = encoder.encode(pcm)
    t1 = time.perf_counter()
    for _ in range(n):
        decoder.decode(packet)
    t2 = time.perf_counter()
    out = {"opus_encode_us": (t1 - t0) / n * 1e6, "opus_decode_us": (t2 - t1) / n * 1e6}
    header = RtpHeader(1, 960, 5)
    for mode in TransportMode:
        cipher = TransportCipher(mode, bytes(32))
        t0 = time.perf_counter()
        for i in range(n):
            sealed = cipher.seal_rtp(header, packet, i)
        t1 = time.perf_counter()
        for _ in range(n):
            cipher.open_rtp(sealed)
        t2 = time.perf_counter()
        short = "aes" if mode is TransportMode.AES256_GCM else "xchacha"
        out[f"{short}_seal_us"] = (t1 - t0) / n * 1e6
        out[f"{short}_open_us"] = (t2 - t1) / n * 1e6
    print("per packet (µs): " + ", ".join(f"{k[:-3]} {v:.1f}" for k, v in out.items()))
    return {k: round(v, 1) for k, v in out.items()}


async def pacing(seconds: float) -> dict[str, float]:
    async with open_voice_server() as server:
        sink = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        await sink.bind(("127.0.0.1", 0))
        from clanker.sandbox.voice import VoiceGrant

        server.grant(VoiceGrant("1", "2", "3", "s", "t"))
        gw, now = server.gateway, trio.current_time()
        cid, _ = gw.open_connection(now, version=8)
        gw.receive_text(
            cid,
            json.dumps(
                {"op": 0, "d": {"server_id": "1", "user_id": "3", "session_id": "s", "token": "t"}}
            ),
            now,
        )
        udp = {
            "address": "127.0.0.1",
            "port": sink.getsockname()[1],
            "mode": "aead_aes256_gcm_rtpsize",
        }
        gw.receive_text(cid, json.dumps({"op": 1, "d": {"protocol": "udp", "data": udp}}), now)
        arrivals: list[tuple[float, int]] = []

        async def receive() -> None:
            while True:
                data = await sink.recv(2048)
                arrivals.append((trio.current_time(), struct.unpack_from(">I", data, 4)[0]))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(receive)
            await server.play(4, tone(440, seconds), silence_frames=0)
            await trio.sleep(0.1)
            nursery.cancel_scope.cancel()
        sink.close()
    intervals = [(b[0] - a[0]) * 1000 for a, b in itertools.pairwise(arrivals)]
    jitter = 0.0
    for a, b in itertools.pairwise(arrivals):
        d = (b[0] - a[0]) * 48_000 - (b[1] - a[1])
        jitter += (abs(d) - jitter) / 16
    result = {
        "pacing_mean_ms": round(statistics.mean(intervals), 2),
        "pacing_max_ms": round(max(intervals), 2),
        "pacing_jitter_ms": round(jitter / 48, 3),
    }
    print(
        f"pacing: {len(arrivals)} packets, interval mean {result['pacing_mean_ms']} ms, "
        f"max {result['pacing_max_ms']} ms, RFC 3550 jitter {result['pacing_jitter_ms']} ms"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    frames, rounds, n, seconds = (5_000, 3, 500, 1.0) if args.quick else (50_000, 5, 5_000, 4.0)
    figures = {**codec(frames, rounds), **per_packet(n), **trio.run(pacing, seconds)}
    assert not math.isnan(sum(figures.values()))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
