"""GIPHY search: the first GIF for a query, through the SSRF-guarded fetcher.

``GET {giphy_base_url}/v1/gifs/search?api_key=…&q=…&limit=…&rating=…&lang=en`` answers
``{"data": [GIF objects], "pagination": {…}, "meta": {"status", "msg", "response_id"}}``; a
GIF object has ``id``, ``url`` (its giphy.com page), ``title`` and ``images`` (renditions:
``original.url`` is the GIF itself, which Discord embeds). Errors: HTTP 401/403 for a missing
or bad key, 414 for a query over 50 characters, 429 for too many requests, with a ``meta``
object (``msg``) or a bare ``{"message": …}``. A 200 whose ``meta.response_id`` is empty and
``data`` empty is GIPHY's "synthetic response" (its systems are in trouble): a failure, not
"nothing found". The key travels in the query string, so it is scrubbed from every error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from clanker.media.config import MediaConfig
from clanker.tools.fetch import FetchError, GuardedFetcher

__all__ = ["Gif", "GifError", "search_gif"]

_JSON = ("application/json", "text/json")
SEARCH_LIMIT = 10


@dataclass(frozen=True)
class Gif:
    """One GIF: its id, title, the GIF file's URL (what is posted) and its GIPHY page."""

    id: str
    title: str
    url: str
    page_url: str


class GifError(Exception):
    """The search failed; the message says why (never with the key in it)."""


def _message(body: Any) -> str:
    if isinstance(body, dict):
        meta = body.get("meta")
        if isinstance(meta, dict) and isinstance(meta.get("msg"), str):
            return str(meta["msg"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return "no error detail"


def _gif(item: Any) -> Gif | None:
    if not isinstance(item, dict):
        return None
    images = item.get("images")
    original = images.get("original") if isinstance(images, dict) else None
    url = original.get("url") if isinstance(original, dict) else None
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return None
    page = item.get("url")
    return Gif(
        id=str(item.get("id") or ""),
        title=str(item.get("title") or "").strip(),
        url=url,
        page_url=page if isinstance(page, str) else "",
    )


async def search_gif(
    query: str, *, rating: str, fetcher: GuardedFetcher, config: MediaConfig
) -> Gif | None:
    """The first usable GIF for ``query`` (None: GIPHY found nothing). Raises `GifError`."""
    key = config.giphy_api_key
    if not key:
        raise GifError("giphy: no API key ($GIPHY_API_KEY)")
    url = f"{config.giphy_base_url.rstrip('/')}/v1/gifs/search?" + urlencode(
        {"api_key": key, "q": query, "limit": SEARCH_LIMIT, "rating": rating, "lang": "en"}
    )
    try:
        result = await fetcher.fetch(url, accept=_JSON, timeout=config.gif_timeout)
    except FetchError as exc:
        raise GifError(f"giphy: {str(exc).replace(key, '***')}") from None
    if result.truncated:
        raise GifError("giphy: the response was larger than the fetch limit")
    try:
        body = json.loads(result.body)
    except (ValueError, UnicodeDecodeError):
        raise GifError(f"giphy: HTTP {result.status}, the response is not JSON") from None
    if result.status != 200:
        detail = _message(body).replace(key, "***")
        raise GifError(f"giphy: HTTP {result.status} ({detail})")
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise GifError("giphy: HTTP 200 without a data list")
    meta = body.get("meta")
    synthetic = isinstance(meta, dict) and meta.get("response_id") == "" and not body["data"]
    if synthetic:
        raise GifError("giphy: a synthetic (empty) response: GIPHY is having trouble")
    for item in body["data"]:
        gif = _gif(item)
        if gif is not None:
            return gif
    return None
