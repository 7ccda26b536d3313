"""Gateway frame encoding: JSON, optionally zlib-stream compressed, one encoder per connection.

discord.py-self 2.1.0 always asks for `compress=zlib-stream` (or `zstd-stream` when the optional
`zstandard` package is installed) and feeds every bytes payload to its decompressor, so plain
frames never complete a message for it (python-stack notes 3d). zlib-stream means one
compressor for the whole connection with a Z_SYNC_FLUSH after each message.
"""

from __future__ import annotations

import json
import zlib
from typing import Any


class UnsupportedTransport(ValueError):
    """The client asked for a gateway encoding or compression the sandbox does not emulate."""


class FrameEncoder:
    """Turns gateway payloads into websocket messages for one connection.

    `compress` is the connection URL's `compress` query value (`None` for uncompressed text).
    """

    SUPPORTED = (None, "zlib-stream")

    def __init__(self, *, compress: str | None, encoding: str = "json") -> None:
        if encoding != "json":
            raise UnsupportedTransport(
                f"gateway encoding={encoding!r} is not emulated; the sandbox speaks encoding=json"
            )
        if compress not in self.SUPPORTED:
            raise UnsupportedTransport(
                f"gateway compress={compress!r} is not emulated; the sandbox supports zlib-stream "
                "(zstd-stream is requested when the `zstandard` package is installed, e.g. by "
                "discord.py-self[speed]: uninstall it to use the sandbox)"
            )
        self.compress = compress
        self._zlib = zlib.compressobj() if compress == "zlib-stream" else None

    def encode(self, payload: dict[str, Any]) -> bytes | str:
        """One websocket message: bytes (a BINARY frame) when compressed, else str (TEXT)."""
        text = json.dumps(payload, separators=(",", ":"))
        if self._zlib is None:
            return text
        return self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)


class FrameDecodeError(ValueError):
    """A client frame was not a JSON object with an integer `op` (gateway close code 4002)."""


def decode_client_frame(message: bytes | str) -> dict[str, Any]:
    """Parse a client frame. Clients never compress what they send; curl_cffi sends BINARY."""
    try:
        payload = json.loads(message)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FrameDecodeError(f"gateway frame is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("op"), int):
        raise FrameDecodeError(f"gateway frame has no integer 'op': {str(payload)[:200]}")
    return payload
