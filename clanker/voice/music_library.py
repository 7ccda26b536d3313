"""A local music library, found by title and served to clankvox over loopback HTTP.

clankvox plays only http(s) URLs (protocol §6.3), so the files of `voice.music.library_dir`
are served by `serve_library`: 127.0.0.1, an ephemeral port, an unguessable path token.
A request names a track by its *key* (a hash of its place in the library), never by a path:
`GET /<token>/<key>` is the only thing answered, so no request can reach a file outside the
library (nothing from the request is ever joined to a path). `MusicLibrary.route` is that
decision, sans-IO; `serve_library` is the thin trio + h11 server around it.

`MusicLibrary.find(query)` matches a spoken or typed query against the tracks' titles (the
file name without its extension, `_`/`-` as spaces): every meaningful query word must be in
the title; the closest title wins.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import unquote

import h11
import trio

log = logging.getLogger("clanker.voice.music")

AUDIO_TYPES = {
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".mp3": "audio/mpeg",
    ".flac": "audio/flac",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".webm": "audio/webm",
}
MAX_TRACKS = 10_000
_FILLER = {"the", "a", "an", "some", "song", "track", "tune", "music", "by", "please", "me", "of"}
_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@dataclass(frozen=True, slots=True)
class LibraryTrack:
    key: str
    title: str
    path: Path
    content_type: str


class MusicLibrary:
    """The audio files under `root` (scanned once; `rescan` to see new ones)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._tracks: dict[str, LibraryTrack] = {}
        self.rescan()

    def rescan(self) -> None:
        tracks: dict[str, LibraryTrack] = {}
        if self.root.is_dir():
            for path in sorted(self.root.rglob("*")):
                kind = AUDIO_TYPES.get(path.suffix.lower())
                if kind is None or not path.is_file():
                    continue
                real = path.resolve()
                if not real.is_relative_to(self.root):
                    continue  # a symlink out of the library is not part of it
                rel = real.relative_to(self.root).as_posix()
                key = hashlib.sha256(rel.encode()).hexdigest()[:20]
                title = " ".join(re.split(r"[\s_\-.]+", path.stem)).strip()
                tracks[key] = LibraryTrack(key=key, title=title, path=real, content_type=kind)
                if len(tracks) >= MAX_TRACKS:
                    break
        self._tracks = tracks

    def tracks(self) -> list[LibraryTrack]:
        return sorted(self._tracks.values(), key=lambda t: t.title.lower())

    def find(self, query: str) -> LibraryTrack | None:
        """The track whose title holds every meaningful word of `query` (the shortest such
        title wins, then the alphabetically first); None when none does."""
        wanted = [w for w in _words(query) if w not in _FILLER] or _words(query)
        if not wanted:
            return None
        best: tuple[int, str, LibraryTrack] | None = None
        for t in self._tracks.values():
            title = _words(t.title)
            if all(w in title for w in wanted):
                rank = (len(title) - len(wanted), t.title.lower(), t)
                if best is None or rank[:2] < best[:2]:
                    best = rank
        return None if best is None else best[2]

    def route(self, token: str, target: str) -> LibraryTrack | None:
        """The track a request target names (`/<token>/<key>`), or None: anything else —
        another token, more or fewer segments, a query, encoded or dotted segments — is not
        a track."""
        if "?" in target or "#" in target or "%" in target or "\\" in target:
            return None
        parts = target.split("/")
        if len(parts) != 3 or parts[0] != "":
            return None
        if not secrets.compare_digest(parts[1].encode(), token.encode()):
            return None
        return self._tracks.get(parts[2])


@dataclass(frozen=True, slots=True)
class LibraryServer:
    """Where a running library server answers: `url(track)` is what clankvox is given."""

    port: int
    token: str

    def url(self, track: LibraryTrack) -> str:
        return f"http://127.0.0.1:{self.port}/{self.token}/{track.key}"


async def serve_library(
    library: MusicLibrary,
    *,
    task_status: trio.TaskStatus[LibraryServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `library` on 127.0.0.1 at an ephemeral port with a fresh token until cancelled;
    `nursery.start` returns the `LibraryServer`."""
    token = secrets.token_urlsafe(24)
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    task_status.started(LibraryServer(port=port, token=token))
    await trio.serve_listeners(partial(_serve_one, library, token), listeners)


_CHUNK = 64 * 1024


async def _serve_one(library: MusicLibrary, token: str, stream: trio.SocketStream) -> None:
    conn = h11.Connection(h11.SERVER)
    try:
        with trio.move_on_after(10):
            request = await _read_head(conn, stream)
        if request is None:
            return
        method = request.method.decode("ascii", "replace")
        target = request.target.decode("ascii", "replace")
        track = library.route(token, target) if method in ("GET", "HEAD") else None
        if track is None:
            status = 405 if method not in ("GET", "HEAD") else 404
            log.info("music library: %s %s -> %d", method, unquote(target)[:200], status)
            await _send(conn, stream, _response(status, 0, "text/plain"))
            await _send(conn, stream, h11.EndOfMessage())
            return
        try:
            size = track.path.stat().st_size
            f = await trio.open_file(track.path, "rb")
        except OSError:
            await _send(conn, stream, _response(404, 0, "text/plain"))
            await _send(conn, stream, h11.EndOfMessage())
            return
        async with f:
            await _send(conn, stream, _response(200, size, track.content_type))
            if method == "GET":
                while chunk := await f.read(_CHUNK):
                    await _send(conn, stream, h11.Data(data=chunk))
        await _send(conn, stream, h11.EndOfMessage())
    except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
        pass  # the reader went away (a stop or a skip kills ffmpeg mid-file)
    finally:
        await stream.aclose()


async def _read_head(conn: h11.Connection, stream: trio.SocketStream) -> h11.Request | None:
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await stream.receive_some(16 * 1024)
            conn.receive_data(data)
            if not data:
                return None
            continue
        if isinstance(event, h11.Request):
            return event
        return None


def _response(status: int, length: int, kind: str) -> h11.Response:
    return h11.Response(
        status_code=status,
        headers=[
            ("content-type", kind),
            ("content-length", str(length)),
            ("connection", "close"),
            ("cache-control", "no-store"),
        ],
    )


async def _send(conn: h11.Connection, stream: trio.SocketStream, event: h11.Event) -> None:
    data = conn.send(event)
    if data:
        await stream.send_all(data)


__all__ = ["LibraryServer", "LibraryTrack", "MusicLibrary", "serve_library"]
