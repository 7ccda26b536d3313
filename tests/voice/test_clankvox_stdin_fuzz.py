"""Garbage on the REAL clankvox's stdin: every bad line is answered by exactly one `error` event
with the code the protocol names, nothing else happens, the process keeps serving, and it exits
0 on `destroy`. Then the bytes it wrote are used to fuzz the Python frame decoder: mutated
real frames never make it raise and every frame is counted exactly once.

Seeded generators (reproducible), a real child process, the real clock, generous bounds.
"""

from __future__ import annotations

import json
import random
import subprocess
from collections import Counter
from typing import Any

import trio

from clanker.voice import ClankvoxFrameDecoder, encode_command
from clanker.voice import commands as c
from clanker.voice import events as e
from tests.voice.voice_app import TIMEOUT, clankvox_binary

KNOWN = [
    "join",
    "voice_state",
    "voice_server",
    "connect",
    "audio",
    "subscribe_user",
    "unsubscribe_user",
    "music_set_gain",
    "music_play",
]
RESERVED = ["stream_watch_connect", "subscribe_user_video", "stream_publish_stop"]
WRONG_TYPED: list[dict[str, Any]] = [
    {"type": "subscribe_user", "userId": 7},
    {"type": "subscribe_user", "userId": "7", "sampleRate": 24000.5},
    {"type": "subscribe_user", "userId": "7", "sampleRate": -1},
    {"type": "subscribe_user", "userId": "7", "silenceDurationMs": "700"},
    {"type": "audio", "pcmBase64": 5},
    {"type": "audio", "pcmBase64": "AAAA", "sampleRate": [1]},
    {"type": "join", "guildId": 1, "channelId": "2"},
    {"type": "join", "guildId": "1"},
    {"type": "music_set_gain", "target": "loud"},
    {"type": "music_play", "url": None},
    {"type": "voice_server", "data": "x"},
    {"type": "connect", "guildId": "1"},
]
UNUSABLE: list[dict[str, Any]] = [
    {"type": "subscribe_user", "userId": "seven"},
    {"type": "unsubscribe_user", "userId": "-3"},
    {"type": "join", "guildId": "1", "channelId": "18446744073709551616"},
    {"type": "audio", "pcmBase64": "!!!!"},
    {"type": "audio", "pcmBase64": "AAAA"},  # three bytes: not whole samples
]


def garbage(rng: random.Random, count: int) -> list[tuple[bytes, str]]:
    """`count` bad stdin lines (no newline inside, not blank) with the error code each earns."""
    lines: list[tuple[bytes, str]] = []
    valid = [
        encode_command(c.SubscribeUser(user_id="123")),
        encode_command(c.Join(guild_id="1", channel_id="2")),
        encode_command(c.MusicSetGain(target=0.5, fade_ms=10)),
        encode_command(c.StopTtsPlayback()),
    ]
    while len(lines) < count:
        kind = rng.randrange(8)
        if kind == 0:  # random bytes, often not UTF-8
            raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
            raw = raw.replace(b"\n", b"").replace(b"\r", b"")
            if not raw.strip() or raw.lstrip().startswith(b"{"):
                continue
            lines.append((raw, "invalid_json"))
        elif kind == 1:  # JSON that is not an object
            value = rng.choice([1, -2.5, "join", None, True, [], [{"type": "join"}]])
            lines.append((json.dumps(value).encode(), "invalid_json"))
        elif kind == 2:  # an object without a usable type
            value = rng.choice([{}, {"type": 1}, {"type": None}, {"kind": "join"}])
            lines.append((json.dumps(value).encode(), "invalid_json"))
        elif kind == 3:  # an unknown type
            name = "".join(rng.choice("abcdefghij_") for _ in range(rng.randrange(1, 20)))
            if name in KNOWN:
                continue
            lines.append((json.dumps({"type": "x_" + name}).encode(), "invalid_json"))
        elif kind == 4:  # a known type with a field of the wrong JSON type
            lines.append((json.dumps(rng.choice(WRONG_TYPED)).encode(), "invalid_json"))
        elif kind == 5:  # well-formed but unusable values
            lines.append((json.dumps(rng.choice(UNUSABLE)).encode(), "invalid_request"))
        elif kind == 6:  # a valid line cut short
            line = rng.choice(valid).rstrip(b"\n")
            lines.append((line[: rng.randrange(1, len(line))], "invalid_json"))
        else:  # a reserved command
            lines.append((json.dumps({"type": rng.choice(RESERVED)}).encode(), "unsupported"))
    return lines


async def test_garbage_on_stdin_yields_one_error_each_and_no_crash() -> None:
    rng = random.Random(20261121)
    bad = garbage(rng, 400)
    too_large = b'{"type":"audio","pcmBase64":"' + b"A" * (8 * 1024 * 1024 + 16) + b'"}'
    process = await trio.lowlevel.open_process(
        [str(clankvox_binary())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={"CLANKVOX_LOG": "error", "PATH": "/usr/bin:/bin"},
    )
    assert process.stdin is not None and process.stdout is not None
    decoder = ClankvoxFrameDecoder()
    stream = bytearray()
    got: list[e.ClankvoxEvent] = []

    async def read_until(done: Any) -> None:
        assert process.stdout is not None
        while not done():
            chunk = await process.stdout.receive_some(65_536)
            if not chunk:
                return
            stream.extend(chunk)
            got.extend(decoder.feed(chunk))

    try:
        with trio.fail_after(TIMEOUT):
            async with trio.open_nursery() as nursery:

                async def write() -> None:
                    assert process.stdin is not None
                    for line, _ in bad:
                        await process.stdin.send_all(line + b"\n")
                    await process.stdin.send_all(b"   \n\n")  # blank lines: silently ignored
                    await process.stdin.send_all(too_large + b"\n")
                    await process.stdin.send_all(encode_command(c.StopPlayback()))

                nursery.start_soon(write)
                await read_until(lambda: any(isinstance(x, e.PlayerState) for x in got))
            errors = [x for x in got if isinstance(x, e.Error)]
            expected = Counter(code for _, code in bad) + Counter({"input_too_large": 1})
            assert Counter(x.code for x in errors) == expected
            # Nothing but the errors (and log lines) came before the answer to stop_playback.
            others = [type(x).__name__ for x in got if not isinstance(x, e.Error | e.Log)]
            assert others == ["PlayerState"]
            assert all(x.message for x in errors)
            assert process.returncode is None  # still running

            # Still serving: a valid command is answered, and destroy ends it with status 0.
            got.clear()
            await process.stdin.send_all(encode_command(c.StopPlayback()))
            await read_until(lambda: any(isinstance(x, e.PlayerState) for x in got))
            await process.stdin.send_all(encode_command(c.Destroy()))
            await read_until(lambda: False)  # to EOF
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert decoder.stats.skipped == 0 and decoder.stats.frames > len(bad)
    fuzz_the_decoder_with(bytes(stream), random.Random(7))


def fuzz_the_decoder_with(real: bytes, rng: random.Random) -> None:
    """Mutations of real clankvox output: any chunking, flipped bytes, cuts and splices never
    raise, and every frame the decoder framed is counted once (an event or one skip reason)."""
    clean = ClankvoxFrameDecoder()
    reference = clean.feed(real)
    clean.eof()
    assert clean.stats.skipped == 0 and len(reference) == clean.stats.frames
    for _ in range(300):
        data = bytearray(real)
        for _ in range(rng.randrange(1, 8)):
            choice = rng.randrange(4)
            if choice == 0 and data:
                data[rng.randrange(len(data))] = rng.randrange(256)
            elif choice == 1 and data:
                cut = rng.randrange(len(data))
                del data[cut : cut + rng.randrange(1, 64)]
            elif choice == 2 and data:
                at = rng.randrange(len(data))
                data[at:at] = real[: rng.randrange(1, 256)]
            else:
                at = rng.randrange(len(data) + 1)
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
        decoder = ClankvoxFrameDecoder(max_payload=1 << 20)
        events: list[Any] = []
        position = 0
        while position < len(data):
            step = rng.randrange(1, 4096)
            events += decoder.feed(bytes(data[position : position + step]))
            position += step
        decoder.eof()
        s = decoder.stats
        assert s.bytes_received == len(data)
        assert len(events) == s.json_events + s.audio_events
        assert s.frames == len(events) + s.malformed + s.unknown_format + s.unknown_type + (
            s.oversized
        )
        assert s.truncated in (0, 1)
