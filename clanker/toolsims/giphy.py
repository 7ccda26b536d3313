"""`GiphySim`: a local server speaking GIPHY's search API, scripted, and serving its GIFs.

    async with open_giphy_sim(api_key="gk") as sim:
        sim.results["otters"] = [SimGif("otter-1", "Otter Waving GIF")]
        sim.fail(429)                       # the next search fails
        config = MediaConfig(giphy_api_key="gk", giphy_base_url=sim.url)

Routes:

* ``GET /v1/gifs/search?api_key=…&q=…&limit=…&rating=…&lang=…``: a missing key gets 401, a
  wrong one 403 (GIPHY's meta object: ``{"data": [], "meta": {"status", "msg",
  "response_id"}}``); an empty ``q`` 400; a ``q`` over 50 characters 414; otherwise
  ``{"data": [GIF objects], "pagination": {total_count, count, offset}, "meta": {200, "OK",
  id}}``. Each GIF object has GIPHY's fields (``type``, ``id``, ``url``, ``slug``,
  ``bitly_url``, ``embed_url``, ``username``, ``source``, ``title``, ``rating``, ``alt_text``,
  ``images`` with ``original``, ``downsized``, ``fixed_height`` … renditions: ``url``,
  ``width``, ``height``, ``size``, ``mp4``, ``webp``).
* ``GET /media/{id}/giphy.gif``: the GIF itself (a small animated GIF drawn with Pillow,
  the same bytes for the same id; `gif_bytes`).

A query without scripted results gets three GIFs made from the query (`default_gifs`); an
empty list scripts "nothing found". ``synthetic()`` makes the next search answer GIPHY's
synthetic response (200, empty ``data``, ``response_id`` ""). ``media_url`` (default: the
sim's own URL) is where the GIF links point (the sandbox names a host of its own).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from urllib.parse import parse_qs, urlsplit

import trio

from clanker.llmsim._http import Reply, Request, serve

__all__ = [
    "GiphySim",
    "RecordedGifSearch",
    "SimGif",
    "default_gifs",
    "gif_bytes",
    "open_giphy_sim",
]

_JSON = [("content-type", "application/json")]
_MEDIA = re.compile(r"^/media/([A-Za-z0-9_-]{1,64})/giphy\.gif$")


@dataclass(frozen=True)
class SimGif:
    """One scripted GIF: its id and title."""

    id: str
    title: str


@dataclass(frozen=True)
class RecordedGifSearch:
    """A search as the sim received it: the query parameters (first values)."""

    path: str
    params: dict[str, str]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "gif"


def default_gifs(query: str) -> list[SimGif]:
    """Three deterministic GIFs for ``query``."""
    digest = hashlib.sha256(query.encode()).hexdigest()
    return [
        SimGif(f"sim{digest[n * 8 : n * 8 + 12]}", f"{query.title()} GIF {n + 1} (GIPHY sim)")
        for n in range(3)
    ]


def gif_bytes(gif_id: str) -> bytes:
    """A small two-frame animated GIF, the same for the same id."""
    from PIL import Image

    seed = hashlib.sha256(gif_id.encode()).digest()
    frames = [
        Image.new("RGB", (48, 48), (seed[0], seed[1], seed[2])),
        Image.new("RGB", (48, 48), (seed[3], seed[4], seed[5])),
    ]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=300, loop=0)
    return out.getvalue()


class GiphySim:
    """GIPHY's search API (module docstring). Build it with `open_giphy_sim`."""

    def __init__(self, api_key: str | None) -> None:
        self.api_key = api_key
        self.results: dict[str, list[SimGif]] = {}
        self.failures: deque[int | str] = deque()  # a status, "synthetic" or "stall"
        self.requests: list[RecordedGifSearch] = []
        self.media_requests: list[str] = []
        self.url = ""
        self.port = 0
        self.media_url = ""

    def fail(self, status: int = 500, *, times: int = 1) -> None:
        """Fail the next ``times`` searches with ``status``."""
        self.failures.extend(status for _ in range(times))

    def synthetic(self) -> None:
        """Answer the next search with GIPHY's synthetic (empty) response."""
        self.failures.append("synthetic")

    def stall(self) -> None:
        """Never answer the next search."""
        self.failures.append("stall")

    def gifs_for(self, query: str) -> list[SimGif]:
        return self.results[query] if query in self.results else default_gifs(query)

    def gif_url(self, gif_id: str) -> str:
        """Where the sim serves a GIF (what ``images.original.url`` says)."""
        return f"{self.media_url or self.url}/media/{gif_id}/giphy.gif"

    @staticmethod
    def _meta(status: int, msg: str, response_id: str = "") -> Reply:
        body = {"data": [], "meta": {"status": status, "msg": msg, "response_id": response_id}}
        return Reply(status, _JSON, json.dumps(body).encode())

    async def handle(self, request: Request) -> Reply:
        parts = urlsplit(request.target)
        if request.method != "GET":
            return self._meta(405, "Method Not Allowed")
        media = _MEDIA.match(parts.path)
        if media is not None:
            self.media_requests.append(media.group(1))
            return Reply(200, [("content-type", "image/gif")], gif_bytes(media.group(1)))
        if parts.path != "/v1/gifs/search":
            return self._meta(404, "Not Found")
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.requests.append(RecordedGifSearch(parts.path, params))
        key = params.get("api_key")
        if self.api_key is not None and not key:
            return self._meta(401, "No API key found in request.")
        if self.api_key is not None and key != self.api_key:
            return self._meta(403, "Forbidden: invalid API key.")
        if self.failures:
            failure = self.failures.popleft()
            if failure == "stall":
                await trio.sleep_forever()
            if failure == "synthetic":
                return Reply(
                    200,
                    _JSON,
                    json.dumps(
                        {
                            "data": [],
                            "pagination": {},
                            "meta": {"status": 200, "msg": "OK", "response_id": ""},
                        }
                    ).encode(),
                )
            status = int(failure)
            return self._meta(status, "Too Many Requests" if status == 429 else "Server Error")
        query = params.get("q", "").strip()
        if not query:
            return self._meta(400, "Bad Request: q is required.")
        if len(query) > 50:
            return self._meta(414, "URI Too Long")
        try:
            limit = min(max(int(params.get("limit", "25")), 1), 50)
        except ValueError:
            return self._meta(400, "Bad Request: limit must be a number.")
        gifs = self.gifs_for(query)
        rating = params.get("rating", "g")
        body = {
            "data": [self._object(g, rating) for g in gifs[:limit]],
            "pagination": {"total_count": len(gifs), "count": min(len(gifs), limit), "offset": 0},
            "meta": {
                "status": 200,
                "msg": "OK",
                "response_id": hashlib.sha1(query.encode()).hexdigest()[:24],
            },
        }
        return Reply(200, _JSON, json.dumps(body).encode())

    def _object(self, gif: SimGif, rating: str) -> dict[str, object]:
        url = self.gif_url(gif.id)
        still = url.replace("giphy.gif", "giphy_s.gif")

        def rendition(width: int) -> dict[str, str]:
            return {
                "height": str(width),
                "width": str(width),
                "size": "2048",
                "url": url,
                "mp4_size": "1024",
                "mp4": url.replace(".gif", ".mp4"),
                "webp_size": "1024",
                "webp": url.replace(".gif", ".webp"),
            }

        slug = _slug(gif.title)
        return {
            "type": "gif",
            "id": gif.id,
            "url": f"https://giphy.com/gifs/{slug}-{gif.id}",
            "slug": f"{slug}-{gif.id}",
            "bitly_gif_url": f"https://gph.is/g/{gif.id[:7]}",
            "bitly_url": f"https://gph.is/g/{gif.id[:7]}",
            "embed_url": f"https://giphy.com/embed/{gif.id}",
            "username": "",
            "source": "",
            "title": gif.title,
            "rating": rating,
            "content_url": "",
            "source_tld": "",
            "source_post_url": "",
            "is_sticker": 0,
            "import_datetime": "2026-01-01 00:00:00",
            "trending_datetime": "0000-00-00 00:00:00",
            "alt_text": gif.title,
            "images": {
                "original": {**rendition(48), "frames": "2", "hash": gif.id},
                "downsized": {"height": "48", "width": "48", "size": "2048", "url": url},
                "fixed_height": rendition(200),
                "fixed_width": rendition(200),
                "original_still": {"height": "48", "width": "48", "size": "512", "url": still},
            },
        }


@asynccontextmanager
async def open_giphy_sim(
    *, api_key: str | None = None, host: str = "127.0.0.1", media_url: str = ""
) -> AsyncIterator[GiphySim]:
    """Run a `GiphySim` on ``host`` at an ephemeral port for the duration of the block;
    ``media_url``: the origin its GIF links name (default: the sim's own URL)."""
    sim = GiphySim(api_key)
    async with trio.open_nursery() as nursery:
        port = await nursery.start(partial(serve, sim.handle, host))
        sim.port = port
        sim.url = f"http://{host}:{port}"
        sim.media_url = media_url.format(port=port) if media_url else ""
        try:
            yield sim
        finally:
            nursery.cancel_scope.cancel()
