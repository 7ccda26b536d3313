"""Who may use the API, and which requests are refused as cross-site. No I/O here.

A request is authorised by the token in a header (``Authorization: Bearer <token>`` or
``X-Dashboard-Token``) or by a session cookie obtained by posting the token once. Sessions are
random ids kept in memory for ``ttl`` seconds of trio time: they do not survive a process restart
(log in again), and logging out forgets the id on the server, not only in the browser.
"""

from __future__ import annotations

import hmac
import secrets
from collections import OrderedDict
from collections.abc import Callable
from typing import Literal, Protocol
from urllib.parse import urlsplit

import trio

SESSION_COOKIE = "clanker_session"
TOKEN_HEADER = "X-Dashboard-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_SESSIONS = 1000

AuthMethod = Literal["header", "cookie"]


class HeaderLookup(Protocol):
    """Case-insensitive header access (werkzeug's ``Headers``, or a dict in tests)."""

    def get(self, key: str, /) -> str | None:
        """The header's value, or None."""
        ...


class TokenAuth:
    """Checks the token and keeps the sessions it was exchanged for."""

    def __init__(
        self,
        token: str,
        *,
        ttl: float = 12 * 3600.0,
        now: Callable[[], float] = trio.current_time,
    ) -> None:
        if not token:
            raise ValueError("the dashboard token must not be empty")
        self._token = token.encode()
        self.ttl = ttl
        self._now = now
        self._sessions: OrderedDict[str, float] = OrderedDict()  # id -> expiry (trio time)

    def token_matches(self, presented: str | None) -> bool:
        """Constant-time comparison with the configured token."""
        if not presented:
            return False
        return hmac.compare_digest(presented.encode(), self._token)

    def header_token(self, headers: HeaderLookup) -> str | None:
        """The token a request carries in its headers, if any."""
        auth = headers.get("Authorization") or ""
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip()
        return headers.get(TOKEN_HEADER)

    def authorise(self, headers: HeaderLookup, cookie: str | None) -> AuthMethod | None:
        """How the request proved it knows the token, or None."""
        if self.token_matches(self.header_token(headers)):
            return "header"
        if cookie is not None and self.session_valid(cookie):
            return "cookie"
        return None

    def open_session(self) -> str:
        """A new session id (the cookie's value), valid for ``ttl`` seconds."""
        self._expire()
        session = secrets.token_urlsafe(32)
        self._sessions[session] = self._now() + self.ttl
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        return session

    def session_valid(self, session: str) -> bool:
        """Whether ``session`` was opened here and has not expired or been closed."""
        expiry = self._sessions.get(session)
        if expiry is None:
            return False
        if self._now() >= expiry:
            del self._sessions[session]
            return False
        return True

    def close_session(self, session: str | None) -> None:
        """Forget a session (logout)."""
        if session is not None:
            self._sessions.pop(session, None)

    @property
    def session_count(self) -> int:
        """Open sessions (expired ones may linger until the next login)."""
        return len(self._sessions)

    def _expire(self) -> None:
        now = self._now()
        for session, expiry in list(self._sessions.items()):
            if now >= expiry:
                del self._sessions[session]


def cross_site_problem(method: str, headers: HeaderLookup, host: str) -> str | None:
    """Why a state-changing request must be refused as cross-site, or None if it may proceed.

    Browsers say where a request comes from (``Sec-Fetch-Site``, ``Origin``); a request that
    says it comes from another site is refused whatever credentials it carries. Clients that
    send neither header (curl, scripts) are not browsers and are judged by their token alone.
    """
    if method.upper() in SAFE_METHODS:
        return None
    site = headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return f"cross-site {method} refused: the request came from another site ({site})"
    origin = headers.get("Origin")
    if origin is not None:
        if origin == "null":
            return f"cross-site {method} refused: the request has an opaque origin"
        if urlsplit(origin).netloc.lower() != host.lower():
            return f"cross-site {method} refused: origin {origin!r} is not this dashboard ({host})"
    return None
