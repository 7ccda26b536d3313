# ruff: noqa: E501  (golden data: long JSON lines are clearer unbroken)
"""Regenerate the golden files of docs/clankvox-protocol.md §10.

An implementation of the spec independent of clankvox's Rust code: stdout frames are built
with `struct`, transport vectors with PyNaCl (XChaCha20-Poly1305) and `cryptography` (AES-GCM).
Those two libraries are not project dependencies; run this in a scratch venv:

    python3 -m venv /tmp/g && /tmp/g/bin/pip install pynacl cryptography
    /tmp/g/bin/python clankvox/tests/golden/make_golden.py

The Rust tests (`cargo test`) and the Python tests check the files this writes.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
USER = "123456789012345678"


def compact(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def frame(fmt: int, payload: bytes) -> bytes:
    return struct.pack("<BI", fmt, len(payload)) + payload


def user_audio(user_id: str, pcm: list[int]) -> tuple[bytes, dict[str, Any]]:
    peak = max((min(abs(s), 32767) for s in pcm), default=0)
    active = sum(1 for s in pcm if min(abs(s), 32767) > 500)
    body = struct.pack(f"<{len(pcm)}h", *pcm)
    payload = struct.pack("<QHII", int(user_id), peak, active, len(pcm)) + body
    meaning = {
        "userId": user_id,
        "peak": peak,
        "active": active,
        "total": len(pcm),
        "pcmHex": body.hex(),
    }
    return frame(1, payload), meaning


EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("ready", {"type": "ready"}),
    (
        "adapter_send",
        {
            "type": "adapter_send",
            "payload": {
                "op": 4,
                "d": {
                    "guild_id": "41771983423143937",
                    "channel_id": "127121515262115840",
                    "self_mute": False,
                    "self_deaf": False,
                },
            },
        },
    ),
    ("connection_state_ready", {"type": "connection_state", "status": "ready"}),
    ("transport_state_ready", {"type": "transport_state", "role": "voice", "status": "ready"}),
    (
        "transport_state_resuming",
        {
            "type": "transport_state",
            "role": "voice",
            "status": "resuming",
            "reason": "socket_closed_4015",
        },
    ),
    ("player_state_playing", {"type": "player_state", "status": "playing"}),
    ("playback_armed", {"type": "playback_armed", "reason": "connection_ready"}),
    ("tts_playback_state_buffered", {"type": "tts_playback_state", "status": "buffered"}),
    ("speaking_start", {"type": "speaking_start", "userId": USER}),
    ("speaking_end", {"type": "speaking_end", "userId": USER}),
    ("user_audio_end", {"type": "user_audio_end", "userId": USER}),
    ("client_disconnect", {"type": "client_disconnect", "userId": USER}),
    ("music_idle", {"type": "music_idle"}),
    (
        "music_error",
        {"type": "music_error", "message": "ffmpeg exited with status 1 || No such file"},
    ),
    ("music_gain_reached", {"type": "music_gain_reached", "gain": 0.15}),
    ("buffer_depth", {"type": "buffer_depth", "ttsSamples": 9600, "musicSamples": 0}),
    (
        "error_invalid_json",
        {
            "type": "error",
            "code": "invalid_json",
            "message": "Invalid stdin JSON message: expected value",
        },
    ),
    (
        "log",
        {
            "type": "log",
            "level": "warn",
            "target": "clankvox::clock",
            "message": "send clock fell behind",
            "fields": {"skipped": 3},
        },
    ),
    (
        "receive_stats",
        {
            "type": "receive_stats",
            "userId": USER,
            "ssrc": 4242,
            "packets": 250,
            "lost": 2,
            "concealed": 2,
            "fecRecovered": 1,
            "late": 0,
            "duplicates": 1,
            "reordered": 3,
            "jitterDepthMs": 20,
        },
    ),
]

COMMANDS: list[dict[str, Any]] = [
    {
        "line": '{"type":"join","guildId":"41771983423143937","channelId":"127121515262115840","selfMute":true}',
        "ok": {
            "type": "join",
            "guildId": "41771983423143937",
            "channelId": "127121515262115840",
            "selfMute": True,
        },
    },
    {
        "line": '{"type":"voice_state","data":{"session_id":"abc","user_id":"104694319306248192","channel_id":"1"}}',
        "ok": {
            "type": "voice_state",
            "sessionId": "abc",
            "userId": "104694319306248192",
            "channelId": "1",
        },
    },
    {
        "line": '{"type":"voice_server","data":{"endpoint":"sweetwater-12345.discord.media:2048","token":"tok"}}',
        "ok": {
            "type": "voice_server",
            "endpoint": "sweetwater-12345.discord.media:2048",
            "token": "tok",
        },
    },
    {
        "line": '{"type":"voice_server","data":{"endpoint":null,"token":"tok"}}',
        "ok": {"type": "voice_server", "endpoint": None, "token": "tok"},
    },
    {
        "line": (
            '{"type":"connect","guildId":"1","channelId":"2","userId":"3","sessionId":"s",'
            '"endpoint":"ws://127.0.0.1:5000","token":"t","mode":"aead_xchacha20_poly1305_rtpsize"}'
        ),
        "ok": {
            "type": "connect",
            "guildId": "1",
            "channelId": "2",
            "userId": "3",
            "sessionId": "s",
            "endpoint": "ws://127.0.0.1:5000",
            "token": "t",
            "selfMute": False,
            "mode": "aead_xchacha20_poly1305_rtpsize",
        },
    },
    {
        "line": '{"type":"audio","pcmBase64":"'
        + base64.b64encode(struct.pack("<3h", 1, -2, 32767)).decode()
        + '"}',
        "ok": {"type": "audio", "pcm": [1, -2, 32767], "sampleRate": 24000},
    },
    {
        "line": '{"type":"audio","pcmBase64":"","sampleRate":100000}',
        "ok": {"type": "audio", "pcm": [], "sampleRate": 48000},
    },
    {"line": '{"type":"stop_playback"}', "ok": {"type": "stop_playback"}},
    {"line": '{"type":"stop_tts_playback","extra":1}', "ok": {"type": "stop_tts_playback"}},
    {
        "line": '{"type":"music_play","url":"https://example.invalid/a.mp3","resolvedDirectUrl":true,"visualizerMode":"cqt"}',
        "ok": {
            "type": "music_play",
            "url": "https://example.invalid/a.mp3",
            "resolvedDirectUrl": True,
        },
    },
    {"line": '{"type":"music_stop"}', "ok": {"type": "music_stop"}},
    {"line": '{"type":"music_pause"}', "ok": {"type": "music_pause"}},
    {"line": '{"type":"music_resume"}', "ok": {"type": "music_resume"}},
    {
        "line": '{"type":"music_set_gain","target":1.5}',
        "ok": {"type": "music_set_gain", "target": 1.0, "fadeMs": 0},
    },
    {
        "line": '{"type":"music_set_gain","target":0.15,"fadeMs":300}',
        "ok": {"type": "music_set_gain", "target": 0.15, "fadeMs": 300},
    },
    {
        "line": '{"type":"subscribe_user","userId":"7"}',
        "ok": {
            "type": "subscribe_user",
            "userId": "7",
            "silenceDurationMs": 700,
            "sampleRate": 24000,
            "jitterBufferMs": 60,
        },
    },
    {
        "line": '{"type":"subscribe_user","userId":"7","silenceDurationMs":99999,"sampleRate":1,"jitterBufferMs":1000}',
        "ok": {
            "type": "subscribe_user",
            "userId": "7",
            "silenceDurationMs": 5000,
            "sampleRate": 8000,
            "jitterBufferMs": 200,
        },
    },
    {
        "line": '{"type":"unsubscribe_user","userId":"7"}',
        "ok": {"type": "unsubscribe_user", "userId": "7"},
    },
    {
        "line": '{"type":"dave_verification_code","userId":"7"}',
        "ok": {"type": "dave_verification_code", "userId": "7"},
    },
    {"line": '{"type":"dave_verification_code","userId":"seven"}', "error": "invalid_request"},
    {"line": '{"type":"destroy"}', "ok": {"type": "destroy"}},
    {"line": '{"type":"stream_watch_connect","endpoint":"e"}', "error": "unsupported"},
    {"line": '{"type":"subscribe_user_video","userId":"7"}', "error": "unsupported"},
    {"line": "hello", "error": "invalid_json"},
    {"line": "[]", "error": "invalid_json"},
    {"line": '{"type":"warp_drive"}', "error": "invalid_json"},
    {"line": '{"type":"join","guildId":"1"}', "error": "invalid_json"},
    {
        "line": '{"type":"subscribe_user","userId":"7","sampleRate":24000.5}',
        "error": "invalid_json",
    },
    {"line": '{"type":"subscribe_user","userId":"7","sampleRate":-24000}', "error": "invalid_json"},
    {"line": '{"type":"subscribe_user","userId":7}', "error": "invalid_json"},
    {"line": '{"type":"subscribe_user","userId":"seven"}', "error": "invalid_request"},
    {"line": '{"type":"join","guildId":"-1","channelId":"2"}', "error": "invalid_request"},
    {"line": '{"type":"audio","pcmBase64":"!!!"}', "error": "invalid_request"},
    {"line": '{"type":"audio","pcmBase64":"AAAA"}', "error": "invalid_request"},
    {
        "line": (
            '{"type":"connect","guildId":"1","channelId":"2","userId":"3","sessionId":"s",'
            '"endpoint":"ws://x","token":"t","mode":"xsalsa20_poly1305"}'
        ),
        "error": "invalid_request",
    },
]


def rtp_header(first: int, pt: int, seq: int, ts: int, ssrc: int, csrcs: list[int] = ()) -> bytes:
    out = struct.pack(">BBHII", first, pt, seq, ts, ssrc)
    for c in csrcs:
        out += struct.pack(">I", c)
    return out


def seal(mode: str, key: bytes, counter: int, aad: bytes, plaintext: bytes) -> bytes:
    nonce4 = struct.pack(">I", counter)
    if mode == "aead_aes256_gcm_rtpsize":
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        ct = AESGCM(key).encrypt(nonce4 + bytes(8), plaintext, aad)
    else:
        import nacl.bindings as sodium

        ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
            plaintext, aad, nonce4 + bytes(20), key
        )
    return aad + ct + nonce4


def transport() -> dict[str, Any]:
    key = bytes(range(32))
    opus_silence = bytes([0xF8, 0xFF, 0xFE])
    opus = bytes(range(0x10, 0x30))
    ext_body = bytes([0x10, 0xFF, 0x00, 0x00])
    cases: list[dict[str, Any]] = []
    shapes = [
        # name, aad (clear header), plaintext (what is encrypted), expected opus after stripping
        ("plain_silence", rtp_header(0x80, 0x78, 1, 960, 12345), opus_silence, opus_silence),
        (
            "extension",
            rtp_header(0x90, 0x78, 2, 1920, 12345) + bytes([0xBE, 0xDE, 0x00, 0x01]),
            ext_body + opus,
            opus,
        ),
        (
            "csrc_extension_padding",
            rtp_header(0xB1, 0xF8, 65535, 0xFFFFFC40, 0xDEADBEEF, [7])
            + bytes([0xBE, 0xDE, 0x00, 0x01]),
            ext_body + opus + bytes([0, 0, 3]),
            opus,
        ),
    ]
    for mode in ("aead_aes256_gcm_rtpsize", "aead_xchacha20_poly1305_rtpsize"):
        for counter in (0, 0x01020304):
            for name, aad, pt, want in shapes:
                cases.append(
                    {
                        "name": f"{name}_{counter:#x}",
                        "mode": mode,
                        "keyHex": key.hex(),
                        "counter": counter,
                        "aadHex": aad.hex(),
                        "plaintextHex": pt.hex(),
                        "opusHex": want.hex(),
                        "packetHex": seal(mode, key, counter, aad, pt).hex(),
                    }
                )
    request = struct.pack(">HHI", 1, 70, 12345) + bytes(64) + struct.pack(">H", 0)
    address = b"203.0.113.7".ljust(64, b"\0")
    response = struct.pack(">HHI", 2, 70, 12345) + address + struct.pack(">H", 50000)
    return {
        "description": "Transport vectors (docs/clankvox-protocol.md §9.3-9.4); made by make_golden.py",
        "rtpsize": cases,
        "ipDiscovery": {
            "ssrc": 12345,
            "requestHex": request.hex(),
            "responseHex": response.hex(),
            "address": "203.0.113.7",
            "port": 50000,
        },
        "urls": [
            {
                "endpoint": "sweetwater-12345.discord.media:2048",
                "url": "wss://sweetwater-12345.discord.media:2048/?v=8",
            },
            {
                "endpoint": "sweetwater-12345.discord.media:2048/",
                "url": "wss://sweetwater-12345.discord.media:2048/?v=8",
            },
            {"endpoint": "ws://127.0.0.1:5000", "url": "ws://127.0.0.1:5000/?v=8"},
            {"endpoint": "wss://voice.example.invalid", "url": "wss://voice.example.invalid/?v=8"},
            {
                "endpoint": "ws://127.0.0.1:5000/voice?x=1",
                "url": "ws://127.0.0.1:5000/voice?x=1&v=8",
            },
            {"endpoint": "ws://127.0.0.1:5000/voice", "url": "ws://127.0.0.1:5000/voice?v=8"},
        ],
    }


def main() -> None:
    frames: list[dict[str, Any]] = []
    for name, event in EVENTS:
        frames.append(
            {"name": name, "format": 0, "hex": frame(0, compact(event)).hex(), "event": event}
        )
    pcm = [0, 100, -600, 32767, -32768, 501, -501, 500]
    raw, meaning = user_audio(USER, pcm)
    frames.append({"name": "user_audio", "format": 1, "hex": raw.hex(), "user_audio": meaning})
    raw, meaning = user_audio("1", [])
    frames.append(
        {"name": "user_audio_empty", "format": 1, "hex": raw.hex(), "user_audio": meaning}
    )
    doc = {
        "description": "stdout frames (docs/clankvox-protocol.md §3-4); made by make_golden.py",
        "frames": frames,
    }
    (HERE / "frames.json").write_text(json.dumps(doc, indent=1) + "\n")
    cmds = {
        "description": "stdin lines and their outcome (docs/clankvox-protocol.md §2); made by make_golden.py",
        "commands": COMMANDS,
    }
    (HERE / "commands.json").write_text(json.dumps(cmds, indent=1) + "\n")
    (HERE / "transport.json").write_text(json.dumps(transport(), indent=1) + "\n")


if __name__ == "__main__":
    main()
