"""The clankvox pipe codec, without I/O.

House rules of this module (as h11's state machine opens with its own):

* Nothing here reads or writes a pipe. `ClankvoxFrameDecoder.feed(bytes)` takes whatever the
  pipe gave, in chunks of any size, and returns the events completed so far.
* Bad input never raises. A frame that cannot be understood is counted in `FrameStats` (with its
  reason kept in a short ring) and skipped; the frames around it are still decoded.
* Memory is bounded: a frame that declares a payload above `max_payload` is skipped by counting
  its bytes as they pass, never buffered.

Wire layout (all little-endian), from the protocol reference, section 1.3:

    stdout frame:  u8 format | u32 length | payload[length]
      format 0:    payload = one JSON event object
      format 1:    payload = u64 user_id | u16 peak | u32 active | u32 count | s16le mono PCM

    stdin line:    one JSON command object, then "\\n"
"""

from __future__ import annotations

import collections
import struct
from dataclasses import dataclass, field
from enum import IntEnum

import msgspec

from clanker.voice.commands import AnyCommand, ClankvoxCommand
from clanker.voice.events import (
    JSON_EVENT_TYPES,
    AnyEvent,
    AnyJsonEvent,
    ClankvoxEvent,
    UserAudio,
)

FRAME_HEADER = struct.Struct("<BI")
"""`format` (u8) and payload `length` (u32)."""

USER_AUDIO_HEADER = struct.Struct("<QHII")
"""`user_id` (u64), `signal_peak_abs` (u16), `signal_active_sample_count` (u32),
`signal_sample_count` (u32): 18 bytes before the PCM."""

DEFAULT_MAX_PAYLOAD = 16 * 1024 * 1024
"""Larger than any frame clankvox writes (its stdin limit is 8 MiB; video frames are base64 of a
few hundred kB), small enough that a corrupted length cannot make the reader hoard memory."""


class FrameFormat(IntEnum):
    """The first byte of every stdout frame."""

    JSON = 0
    USER_AUDIO = 1


class _TypeProbe(msgspec.Struct):
    type: str | None = None


@dataclass
class FrameStats:
    """What the decoder has seen. Every skipped frame is counted under exactly one reason."""

    bytes_received: int = 0
    frames: int = 0  # complete frames, whatever became of them
    json_events: int = 0
    audio_events: int = 0
    malformed: int = 0  # bad JSON, wrong fields, a short or odd-sized audio payload
    unknown_format: int = 0  # a format byte other than 0 or 1 (skipped, as the protocol says)
    unknown_type: int = 0  # well-formed JSON with a `type` this codec does not know
    oversized: int = 0  # a declared length above `max_payload` (skipped unread)
    truncated: int = 0  # the stream ended inside a frame
    recent_problems: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=16)
    )

    @property
    def skipped(self) -> int:
        """Frames that produced no event."""
        return (
            self.malformed
            + self.unknown_format
            + self.unknown_type
            + self.oversized
            + self.truncated
        )


class ClankvoxFrameDecoder:
    """Turns clankvox's stdout byte stream into typed events, incrementally.

    >>> decoder = ClankvoxFrameDecoder()
    >>> decoder.feed(encode_event_frame(Ready())[:3])
    []
    >>> decoder.feed(encode_event_frame(Ready())[3:])
    [Ready()]
    """

    def __init__(self, *, max_payload: int = DEFAULT_MAX_PAYLOAD) -> None:
        if max_payload < 0:
            raise ValueError(f"max_payload must be >= 0 bytes, got {max_payload}")
        self.max_payload = max_payload
        self.stats = FrameStats()
        self._buffer = bytearray()
        self._discard = 0  # bytes still to skip of an oversized frame
        self._json = msgspec.json.Decoder(AnyJsonEvent)
        self._probe = msgspec.json.Decoder(_TypeProbe)

    @property
    def buffered(self) -> int:
        """Bytes held waiting for the rest of their frame."""
        return len(self._buffer)

    def feed(self, data: bytes | bytearray | memoryview) -> list[AnyEvent]:
        """Add bytes from the pipe; return the events of every frame they completed."""
        self.stats.bytes_received += len(data)
        view = memoryview(data)
        if self._discard:
            skip = min(self._discard, len(view))
            self._discard -= skip
            view = view[skip:]
        self._buffer += view
        events: list[AnyEvent] = []
        buf = self._buffer
        pos = 0
        while len(buf) - pos >= FRAME_HEADER.size:
            fmt, length = FRAME_HEADER.unpack_from(buf, pos)
            if length > self.max_payload:
                self.stats.frames += 1
                self._problem(
                    "oversized",
                    f"format {fmt} frame declares {length} bytes (limit {self.max_payload})",
                )
                available = len(buf) - pos - FRAME_HEADER.size
                skip = min(length, available)
                self._discard = length - skip
                pos += FRAME_HEADER.size + skip
                continue
            end = pos + FRAME_HEADER.size + length
            if len(buf) < end:
                break
            self.stats.frames += 1
            event = self._decode(fmt, bytes(buf[pos + FRAME_HEADER.size : end]))
            if event is not None:
                events.append(event)
            pos = end
        del buf[:pos]
        return events

    def eof(self) -> None:
        """The pipe closed: count a frame cut off mid-way, if any."""
        if self._buffer or self._discard:
            self._problem("truncated", f"stream ended {len(self._buffer)} bytes into a frame")
            self._buffer.clear()
            self._discard = 0

    # -- payloads ---------------------------------------------------------------------------

    def _decode(self, fmt: int, payload: bytes) -> AnyEvent | None:
        if fmt == FrameFormat.JSON:
            return self._decode_json(payload)
        if fmt == FrameFormat.USER_AUDIO:
            return self._decode_audio(payload)
        self._problem("unknown_format", f"format byte {fmt} ({len(payload)} bytes)")
        return None

    def _decode_json(self, payload: bytes) -> AnyEvent | None:
        try:
            event: AnyEvent = self._json.decode(payload)
        except msgspec.ValidationError as exc:
            try:
                kind = self._probe.decode(payload).type
            except msgspec.MsgspecError:
                kind = None
            if kind is not None and kind not in JSON_EVENT_TYPES:
                self._problem("unknown_type", f"unknown event type {kind!r}")
            else:
                self._problem("malformed", f"JSON event does not fit the protocol: {exc}")
            return None
        except msgspec.DecodeError as exc:
            self._problem("malformed", f"format 0 payload is not JSON: {exc}")
            return None
        except ValueError as exc:  # a field check in the struct's __post_init__
            self._problem("malformed", f"JSON event has a bad value: {exc}")
            return None
        self.stats.json_events += 1
        return event

    def _decode_audio(self, payload: bytes) -> UserAudio | None:
        if len(payload) < USER_AUDIO_HEADER.size:
            self._problem(
                "malformed",
                f"user_audio payload of {len(payload)} bytes is shorter than its "
                f"{USER_AUDIO_HEADER.size}-byte header",
            )
            return None
        pcm = payload[USER_AUDIO_HEADER.size :]
        if len(pcm) % 2:
            self._problem("malformed", f"user_audio PCM has an odd byte count ({len(pcm)})")
            return None
        user_id, peak, active, count = USER_AUDIO_HEADER.unpack_from(payload)
        self.stats.audio_events += 1
        return UserAudio(
            user_id=str(user_id),
            signal_peak_abs=peak,
            signal_active_sample_count=active,
            signal_sample_count=count,
            pcm=pcm,
        )

    def _problem(self, kind: str, detail: str) -> None:
        setattr(self.stats, kind, getattr(self.stats, kind) + 1)
        self.stats.recent_problems.append(f"{kind}: {detail}")


# -- encoding ---------------------------------------------------------------------------------

_json_encoder = msgspec.json.Encoder()
_command_decoder: msgspec.json.Decoder[AnyCommand] = msgspec.json.Decoder(AnyCommand)


def encode_command(command: ClankvoxCommand) -> bytes:
    """One stdin line: the command as JSON, then a newline (JSON strings escape newlines)."""
    if not isinstance(command, ClankvoxCommand):
        raise TypeError(f"expected a clankvox command struct, got {type(command).__name__}")
    return _json_encoder.encode(command) + b"\n"


def decode_command(line: bytes | str) -> AnyCommand:
    """Parse one stdin line (for fakes of the far end and tests); raises `msgspec` errors."""
    command: AnyCommand = _command_decoder.decode(line.strip())
    return command


def encode_frame(fmt: int, payload: bytes) -> bytes:
    """Frame `payload` for stdout: `u8 format | u32 LE length | payload`."""
    return FRAME_HEADER.pack(fmt, len(payload)) + payload


def encode_event_frame(event: ClankvoxEvent) -> bytes:
    """An event as clankvox writes it: `UserAudio` as format 1, everything else as JSON."""
    if isinstance(event, UserAudio):
        header = USER_AUDIO_HEADER.pack(
            int(event.user_id),
            event.signal_peak_abs,
            event.signal_active_sample_count,
            event.signal_sample_count,
        )
        return encode_frame(FrameFormat.USER_AUDIO, header + event.pcm)
    if not isinstance(event, ClankvoxEvent):
        raise TypeError(f"expected a clankvox event struct, got {type(event).__name__}")
    return encode_frame(FrameFormat.JSON, _json_encoder.encode(event))
