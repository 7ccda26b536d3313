"""The golden files of the clankvox protocol (clankvox/tests/golden/*.json) against `clanker.voice`.

The Rust tests check that clankvox produces these bytes and outcomes; these check that the
Python side reads the same bytes as the same meaning and writes lines clankvox reads as stated.
Both sides are pinned to one file, so they cannot drift apart unnoticed.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any, get_args

import msgspec
import pytest

from clanker.voice import ClankvoxFrameDecoder, UserAudio, decode_command, encode_command
from clanker.voice import commands as c
from clanker.voice.events import ClankvoxEvent
from clanker.voice.framing import encode_event_frame

GOLDEN = Path(__file__).resolve().parents[2] / "clankvox/tests/golden"


def load(name: str) -> dict[str, Any]:
    path = GOLDEN / f"{name}.json"
    assert path.exists(), f"missing golden file {path}: it ships with the clankvox crate"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


FRAMES = load("frames")["frames"]
COMMANDS = load("commands")["commands"]

# The reserved commands of the protocol (section 2.4): clankvox answers `unsupported`.
RESERVED = {
    "subscribe_user_video",
    "unsubscribe_user_video",
    "stream_watch_connect",
    "stream_watch_disconnect",
    "stream_publish_connect",
    "stream_publish_disconnect",
    "stream_publish_play",
    "stream_publish_play_visualizer",
    "stream_publish_browser_start",
    "stream_publish_browser_frame",
    "stream_publish_stop",
    "stream_publish_pause",
    "stream_publish_resume",
}

# Clamps of section 2 (field -> (low, high)), applied by clankvox, not by the Python structs.
CLAMPS: dict[str, dict[str, tuple[float, float]]] = {
    "audio": {"sampleRate": (8000, 48000)},
    "music_set_gain": {"target": (0.0, 1.0)},
    "subscribe_user": {
        "silenceDurationMs": (100, 5000),
        "sampleRate": (8000, 48000),
        "jitterBufferMs": (0, 200),
    },
}
# Fields clankvox reads and then ignores (section 2.1): not part of the normalised outcome.
IGNORED = {"join": {"selfDeaf"}}


def test_the_golden_files_cover_every_event_and_command_the_spec_lists() -> None:
    assert len(FRAMES) >= 20 and len(COMMANDS) >= 30
    kinds = {f["event"]["type"] for f in FRAMES if f["format"] == 0}
    assert {"ready", "adapter_send", "speaking_start", "user_audio_end", "error"} <= kinds
    assert {f["format"] for f in FRAMES} == {0, 1}


@pytest.mark.parametrize("frame", FRAMES, ids=[f["name"] for f in FRAMES])
def test_each_golden_frame_decodes_to_its_stated_meaning(frame: dict[str, Any]) -> None:
    raw = bytes.fromhex(frame["hex"])
    decoder = ClankvoxFrameDecoder()
    # Byte by byte: the meaning must not depend on how the pipe chunks the stream.
    events = [event for i in range(len(raw)) for event in decoder.feed(raw[i : i + 1])]
    assert decoder.stats.skipped == 0, decoder.stats.recent_problems
    [event] = events
    assert raw[0] == frame["format"]
    if frame["format"] == 0:
        assert isinstance(event, ClankvoxEvent) and not isinstance(event, UserAudio)
        assert json.loads(msgspec.json.encode(event)) == frame["event"]
        # Re-encoding gives a frame clankvox's reader sees as the same event.
        assert json.loads(encode_event_frame(event)[5:]) == json.loads(raw[5:])
    else:
        meaning = frame["user_audio"]
        assert isinstance(event, UserAudio)
        assert event.user_id == meaning["userId"]
        assert event.signal_peak_abs == meaning["peak"]
        assert event.signal_active_sample_count == meaning["active"]
        assert event.signal_sample_count == meaning["total"]
        assert event.pcm == bytes.fromhex(meaning["pcmHex"])
        assert encode_event_frame(event) == raw  # the binary layout is exact


def normalise(command: c.ClankvoxCommand) -> dict[str, Any]:
    """What clankvox makes of a command (section 2), from the Python struct: `data` flattened,
    PCM as samples, clamps applied, ignored fields dropped."""
    wire: dict[str, Any] = msgspec.to_builtins(command)
    kind = wire["type"]
    out: dict[str, Any] = {"type": kind}
    for key, value in wire.items():
        if key == "type" or key in IGNORED.get(kind, set()):
            continue
        if key == "data":
            out.update({_camel(k): v for k, v in value.items()})
        elif key == "pcmBase64":
            pcm = base64.b64decode(value)
            out["pcm"] = list(struct.unpack(f"<{len(pcm) // 2}h", pcm))
        else:
            low_high = CLAMPS.get(kind, {}).get(key)
            out[key] = value if low_high is None else min(max(value, low_high[0]), low_high[1])
    return out


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


OK = [x for x in COMMANDS if "ok" in x]
ERRORS = [x for x in COMMANDS if "error" in x]


@pytest.mark.parametrize("case", OK, ids=[x["line"][:60] for x in OK])
def test_each_accepted_golden_line_means_the_same_to_the_python_structs(
    case: dict[str, Any],
) -> None:
    command = decode_command(case["line"])
    expected = dict(case["ok"])
    got = normalise(command)
    # Optional fields the Python struct leaves out when unset are absent in our encoding.
    for key, value in expected.items():
        if value is None:
            got.setdefault(key, None)
    assert got == expected
    # And the line Python writes for it is read back as the same command.
    line = encode_command(command)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode_command(line) == command


@pytest.mark.parametrize("case", ERRORS, ids=[x["line"][:60] for x in ERRORS])
def test_each_rejected_golden_line_is_one_python_refuses_to_build(case: dict[str, Any]) -> None:
    code = case["error"]
    line = case["line"]
    if code == "unsupported":
        # A reserved command: Python can still name it (clankvox answers `unsupported`).
        kind = json.loads(line)["type"]
        assert kind in RESERVED
        tags = {cls.__struct_config__.tag for cls in get_args(c.AnyCommand)}
        assert kind in tags
        return
    assert code in {"invalid_json", "invalid_request"}
    with pytest.raises((msgspec.DecodeError, msgspec.ValidationError)) as caught:
        decode_command(line)
    if code == "invalid_request":
        # A well-formed line with an unusable value: the error names the field.
        fields = [k for k in json.loads(line) if k != "type"]
        message = str(caught.value)
        assert any(f in message or _snake(f) in message for f in fields), message


def _snake(name: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in name)
