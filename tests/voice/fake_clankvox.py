"""A fake clankvox: the far end of the pipe, scripted, for tests of the Python side.

It speaks the protocol from its description (JSON lines in; `u8 format | u32 LE length |
payload` frames out), written by hand with `json` and `struct` so that it shares no code with
`clanker.voice.framing`. It does no media: it answers the join sequence, plays a short tone to a
subscriber, and can misbehave on request.

    python fake_clankvox.py [--garbage] [--crash-after N] [--audio-frames N]

--garbage         start by writing frames a reader must skip, then a valid `log` event
--crash-after N   exit with status 3 after reading N command lines
--audio-frames N  user_audio frames sent per subscribe_user (default 3)
--close-stdout    close stdout at once but keep running (a broken pipe with a live process)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import struct
import sys

OUT = sys.stdout.buffer


def frame(fmt: int, payload: bytes) -> None:
    OUT.write(struct.pack("<BI", fmt, len(payload)) + payload)
    OUT.flush()


def event(kind: str, **fields: object) -> None:
    frame(0, json.dumps({"type": kind, **fields}).encode())


def user_audio(user_id: int, rate: int, index: int) -> None:
    samples = rate // 50
    pcm = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * (index * samples + n) / rate)))
        for n in range(samples)
    )
    values = struct.unpack(f"<{samples}h", pcm)
    peak = max(abs(v) for v in values)
    active = sum(1 for v in values if abs(v) > 500)
    frame(1, struct.pack("<QHII", user_id, peak, active, samples) + pcm)


def garbage() -> None:
    frame(7, b"what format is this")  # unknown format
    frame(0, b"{not json")  # malformed JSON
    frame(0, json.dumps({"type": "from_the_future", "x": 1}).encode())  # unknown type
    frame(0, json.dumps({"type": "speaking_start"}).encode())  # missing userId
    frame(1, b"\x01\x02\x03")  # audio shorter than its header
    event("log", level="info", target="fake", message="after the garbage", fields={})


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--garbage", action="store_true")
    parser.add_argument("--crash-after", type=int, default=None)
    parser.add_argument("--audio-frames", type=int, default=3)
    parser.add_argument("--close-stdout", action="store_true")
    args = parser.parse_args()
    if args.close_stdout:
        os.close(1)
    if args.garbage:
        garbage()
    state: dict[str, object] = {}
    lines = 0
    for raw in sys.stdin.buffer:
        lines += 1
        if args.crash_after is not None and lines > args.crash_after:
            return 3
        try:
            command = json.loads(raw)
        except ValueError as exc:
            event("error", code="invalid_json", message=f"Invalid stdin JSON message: {exc}")
            continue
        kind = command.get("type")
        if kind == "join":
            state["guild"] = command["guildId"]
            op4 = {
                "guild_id": command["guildId"],
                "channel_id": command["channelId"],
                "self_mute": command.get("selfMute", False),
                "self_deaf": False,
            }
            event("adapter_send", payload={"op": 4, "d": op4})
        elif kind in ("voice_state", "voice_server"):
            state[kind] = command["data"]
            if "voice_state" in state and "voice_server" in state and "guild" in state:
                event("connection_state", status="ready")
                event("transport_state", role="voice", status="ready")
                event("ready")
                event("playback_armed", reason="connection_ready")
        elif kind == "subscribe_user":
            user = command["userId"]
            rate = command.get("sampleRate", 24000)
            event("speaking_start", userId=user)
            for index in range(args.audio_frames):
                user_audio(int(user), rate, index)
            event("user_audio_end", userId=user)
            event("speaking_end", userId=user)
        elif kind == "audio":
            event("tts_playback_state", status="buffered")
            samples = len(command["pcmBase64"]) * 3 // 4 // 2
            event("buffer_depth", ttsSamples=samples * 2, musicSamples=0)
        elif kind == "destroy":
            return 0
        else:
            event("log", level="info", target="fake", message=f"ignored {kind}", fields={})
    return 0


if __name__ == "__main__":
    sys.exit(main())
