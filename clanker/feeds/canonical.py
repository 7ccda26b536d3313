"""One spelling per link: URL canonicalisation and tracking-parameter stripping (sans-IO).

`canonical_url(url)` is the URL a candidate is shown and remembered by:

* scheme and host lower-cased, the default port dropped, an empty path written ``/``, dot
  segments (``/a/../b``) resolved, the fragment dropped;
* tracking parameters removed: every ``utm_*`` and the other campaign prefixes in
  `TRACKING_PREFIXES`, the click ids and referral markers in `TRACKING_PARAMS` (``fbclid``,
  ``gclid``, ``ref``, …), and on YouTube and Spotify their share markers (``si``,
  ``feature``, ``pp``); the remaining parameters keep their values and are sorted by name;
* a few known aliases unified: ``youtu.be/<id>``, ``m.``/``music.`` YouTube and ``/shorts/<id>``
  become ``www.youtube.com/watch?v=<id>``; ``old.``/``new.``/``np.``/``m.``/bare ``reddit.com``
  become ``www.reddit.com``.

`dedupe_key(url)` is looser, for "is this the same link": the canonical URL without the scheme,
a leading ``www.`` or a trailing ``/``. A URL that is not http(s) raises `BadUrl`.

Why our own code: courlan (already installed through trafilatura) strips trackers only in its
strict mode, which also drops every parameter it does not know, YouTube's ``v`` included.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

__all__ = [
    "TRACKING_PARAMS",
    "TRACKING_PREFIXES",
    "BadUrl",
    "canonical_url",
    "dedupe_key",
]

TRACKING_PREFIXES: tuple[str, ...] = (
    "utm_",  # Google Analytics campaign tags
    "mtm_",  # Matomo
    "pk_",  # Piwik
    "hsa_",  # HubSpot ads
    "_hs",  # HubSpot (_hsenc, _hsmi)
    "mc_",  # Mailchimp (mc_cid, mc_eid)
    "oly_",  # Omeda
    "vero_",  # Vero
    "itm_",  # internal campaign tags
    "ga_",
    "__twitter",
)
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "igshid",
        "igsh",
        "mkt_tok",
        "_ga",
        "_gl",
        "ref",
        "ref_src",
        "ref_url",
        "referrer",
        "cmpid",
        "ncid",
        "ocid",
        "s_cid",
        "soc_src",
        "soc_trk",
        "spm",
        "rb_clickid",
        "wt_mc",
        "at_medium",
        "at_campaign",
    }
)
_SHARE_PARAMS: dict[str, frozenset[str]] = {
    "youtube.com": frozenset({"si", "feature", "pp", "ab_channel"}),
    "spotify.com": frozenset({"si", "context"}),
}
_YOUTUBE_HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"})
_REDDIT_HOSTS = frozenset(
    {"reddit.com", "www.reddit.com", "old.reddit.com", "new.reddit.com", "np.reddit.com"}
    | {"m.reddit.com"}
)
_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{6,20}")
# Characters left as they are in a path (RFC 3986 pchar and "/"); the rest is percent-encoded.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


class BadUrl(ValueError):
    """A link that is no http(s) URL; the message names the problem."""


def _remove_dot_segments(path: str) -> str:
    out: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                out.append("")
            continue
        if segment == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
            continue
        out.append(segment)
    result = "/".join(out)
    return result if result.startswith("/") else "/" + result


def _is_tracking(name: str, host: str) -> bool:
    lowered = name.lower()
    if lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES):
        return True
    for domain, names in _SHARE_PARAMS.items():
        if (host == domain or host.endswith("." + domain)) and lowered in names:
            return True
    return False


def canonical_url(url: str) -> str:
    """``url`` in its one canonical spelling (module docstring). Raises `BadUrl`."""
    if not isinstance(url, str) or not url.strip():
        raise BadUrl("the link is empty")
    text = url.strip()
    if any(ord(c) < 0x20 or c == "\x7f" for c in text):
        raise BadUrl(f"the link {text[:80]!r} contains control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise BadUrl(f"the link {text[:80]!r} is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise BadUrl(f"the link {text[:80]!r} is not an http or https URL")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise BadUrl(f"the link {text[:80]!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise BadUrl(f"the link {text[:80]!r} carries a user name or password")
    # Non-ASCII and spaces are percent-encoded; existing escapes stay as written.
    path = _remove_dot_segments(quote(parts.path, safe=_PATH_SAFE) or "/")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]

    # Known aliases.
    if host == "youtu.be":
        video = path.strip("/")
        if _VIDEO_ID.fullmatch(video):
            host, path, scheme, port = "www.youtube.com", "/watch", "https", None
            query = [("v", video), *query]
    elif host in _YOUTUBE_HOSTS:
        host = "www.youtube.com"
        shorts = re.fullmatch(r"/shorts/([A-Za-z0-9_-]{6,20})/?", path)
        if shorts:
            path = "/watch"
            query = [("v", shorts.group(1)), *query]
    elif host in _REDDIT_HOSTS:
        host = "www.reddit.com"

    kept = sorted((k, v) for k, v in query if not _is_tracking(k, host))
    shown_host = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    netloc = shown_host if port in (None, default) else f"{shown_host}:{port}"
    return urlunsplit((scheme, netloc, path, urlencode(kept, quote_via=quote, safe="/:@,"), ""))


def dedupe_key(url: str) -> str:
    """The key two links share when they are the same link (module docstring)."""
    canonical = canonical_url(url)
    rest = canonical.split("://", 1)[1]
    if rest.startswith("www."):
        rest = rest[4:]
    head, sep, query = rest.partition("?")
    head = head.rstrip("/")
    return f"{head}{sep}{query}"
