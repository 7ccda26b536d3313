"""The sandbox's attachment CDN: signed, expiring attachment URLs, as Discord's CDN gives.

Discord's attachment URLs look like
``https://cdn.discordapp.com/attachments/{channel_id}/{attachment_id}/{filename}?ex=…&is=…&hm=…&``:
``is`` is when the link was issued and ``ex`` when it expires (Unix seconds, hex), ``hm`` an HMAC
over the rest. A link past ``ex``, or one whose signature does not match, gets 404 "This content
is no longer available."; a client re-fetches the message for a fresh link. Here the secret lives
in the `World`; `World.expire_attachment_links()` rotates it, so every link handed out before
stops working (how a test makes links "expire" without waiting a day). The CDN needs no token.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote, unquote

from clanker.sandbox.entities import Attachment
from clanker.sandbox.http_server import HttpRequest, HttpResponse

CDN_PREFIX = "/attachments/"
LINK_LIFETIME_SECONDS = 24 * 3600
_GONE = b"This content is no longer available."


def attachment_path(channel_id: int, a: Attachment) -> str:
    """The CDN path of an attachment (no query)."""
    return f"{CDN_PREFIX}{channel_id}/{a.id}/{quote(a.filename)}"


def _signature(secret: bytes, path: str, ex: str, issued: str) -> str:
    return hmac.new(secret, f"{path}|{ex}|{issued}".encode(), hashlib.sha256).hexdigest()


def signed_url(base: str, secret: bytes, channel_id: int, a: Attachment, issued_s: int) -> str:
    """The full, signed link of an attachment, issued at ``issued_s`` (Unix seconds)."""
    path = attachment_path(channel_id, a)
    issued = f"{issued_s:x}"
    ex = f"{issued_s + LINK_LIFETIME_SECONDS:x}"
    return f"{base}{path}?ex={ex}&is={issued}&hm={_signature(secret, path, ex, issued)}&"


def serve(
    request: HttpRequest,
    *,
    secret: bytes,
    find: dict[int, tuple[int, Attachment]],
    now_s: int,
) -> HttpResponse:
    """Answer a CDN request: the bytes with their content type, or Discord's 404.

    ``find`` maps attachment ids to (channel id, attachment); ``now_s`` is the sandbox's Unix
    time, checked against the link's ``ex``."""
    gone = HttpResponse(404, _GONE, "text/plain")
    if request.method != "GET":
        return HttpResponse(405, b"", "text/plain")
    parts = request.path.removeprefix(CDN_PREFIX).split("/")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return gone
    found = find.get(int(parts[1]))
    if found is None or found[0] != int(parts[0]) or unquote(parts[2]) != found[1].filename:
        return gone
    channel_id, a = found
    ex, issued, hm = (request.query.get(k, "") for k in ("ex", "is", "hm"))
    expected = _signature(secret, attachment_path(channel_id, a), ex, issued)
    if not hmac.compare_digest(hm, expected):
        return gone
    try:
        expires = int(ex, 16)
    except ValueError:
        return gone
    if now_s >= expires:
        return gone
    return HttpResponse(
        200, a.data, a.content_type or "application/octet-stream", {"cache-control": "public"}
    )
