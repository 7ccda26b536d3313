"""Every request the browser makes goes through the SSRF guard's `GuardedFetcher`.

`GuardedRoutes.handle` is installed as a Playwright route for ``**/*`` on each browser context:
Chromium's own network is never used for a page. For each request the route handler (on the
asyncio side, under trio-asyncio) asks the trio side (`GuardedRoutes.fetch`, through
``trio_as_aio``) to fetch the URL with the one guarded fetcher, and fulfills the request with
what came back, or aborts it with the guard's reason, which is kept for the next snapshot
(`take_refused`). So navigations, redirects (the fetcher follows and vets each hop itself),
sub-resources, scripts' XHRs and form submissions by GET are all vetted by the same rules as
``web_scrape``; DNS rebinding cannot move a connection (the fetcher pins the vetted address);
no cookie is ever sent (the fetcher strips them). Requests other than GET and HEAD are refused.

Chromium is also launched with a dead proxy (`clanker.browser.chromium`), so a request that
escaped the route (Chromium follows some fulfilled redirects without asking again) cannot
reach the network either.

A navigation the fetcher redirected is fulfilled with the final page under the first URL, so
an HTML document gets a ``<base href>`` naming its final URL (relative links resolve as on the
real page), and `final_url` maps the first URL to the final one for the snapshot.

`close` cancels the fetches in flight (a stopped task: the site sees the client hang up).
"""

from __future__ import annotations

import logging
import re
from html import escape

import trio
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Route
from trio_asyncio import trio_as_aio

from clanker.tools.fetch import FetchError, FetchResult, GuardedFetcher

log = logging.getLogger("clanker.browser")

__all__ = ["GuardedRoutes"]

_DROP_HEADERS = frozenset(
    {
        "set-cookie",
        "content-encoding",  # the fetcher decoded the body
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
    }
)
_HEAD = re.compile(rb"<head(\s[^>]*)?>", re.IGNORECASE)
MAX_REFUSED_KEPT = 20


class GuardedRoutes:
    """One browser context's route handler and the fetches it runs (module docstring)."""

    def __init__(self, fetcher: GuardedFetcher) -> None:
        self._fetcher = fetcher
        self._scopes: set[trio.CancelScope] = set()
        self._refused: list[str] = []
        self._final: dict[str, str] = {}
        # The page's own navigation was refused since `take_refused` (it shows REFUSED_PAGE).
        self.navigation_refused = False
        self.fetched: list[str] = []  # URLs fetched, in order (for the logs and the tests)
        self.closed = False

    # -- the trio side ---------------------------------------------------------------------

    async def fetch(self, url: str) -> FetchResult | str:
        """Fetch ``url`` under the guard: the result, or the reason it was refused or failed."""
        if self.closed:
            return "the browser session was closed"
        with trio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                self.fetched.append(url)
                return await self._fetcher.fetch(url)
            except FetchError as exc:
                return f"{url}: {exc}"
            except Exception as exc:  # a bug must not leave the page's request hanging
                log.exception("browser fetch of %s failed", url)
                return f"{url}: the fetch failed ({type(exc).__name__})"
            finally:
                self._scopes.discard(scope)
        return f"{url}: the browser session was closed"

    def close(self) -> None:
        """Cancel every fetch in flight; later requests are refused."""
        self.closed = True
        for scope in list(self._scopes):
            scope.cancel()

    def take_refused(self) -> list[str]:
        """The requests refused since the last call (the guard's reasons)."""
        refused, self._refused = self._refused, []
        self.navigation_refused = False
        return refused

    def final_url(self, url: str) -> str:
        """Where ``url`` (a navigation) ended after the redirects the fetcher followed."""
        return self._final.get(url, url)

    def _refuse(self, reason: str) -> None:
        log.info("browser request refused: %s", reason)
        if len(self._refused) < MAX_REFUSED_KEPT and reason not in self._refused:
            self._refused.append(reason)  # once each (Chromium may ask for a resource twice)

    # -- the asyncio side (Playwright calls it) ---------------------------------------------

    async def handle(self, route: Route) -> None:
        """The route for every request of the context."""
        request = route.request
        try:
            if request.method not in ("GET", "HEAD"):
                self._refuse(
                    f"{request.method} {request.url}: only GET requests are made (a form "
                    "that posts cannot be submitted)"
                )
                await route.abort("blockedbyclient")
                return
            outcome = await trio_as_aio(self.fetch)(request.url)
            if isinstance(outcome, str):
                self._refuse(outcome)
                if request.is_navigation_request() and request.frame.parent_frame is None:
                    # A page of our own, not an aborted load: Chromium would commit its error
                    # page a moment later, inside whatever navigation comes next.
                    self.navigation_refused = True
                    await route.fulfill(status=403, content_type="text/html", body=REFUSED_PAGE)
                else:
                    await route.abort("blockedbyclient")
                return
            body = outcome.body
            if request.is_navigation_request() and outcome.final_url != request.url:
                self._final[request.url] = outcome.final_url
                if outcome.content_type in ("text/html", "application/xhtml+xml"):
                    body = _with_base(body, outcome.final_url)
            headers = {k: v for k, v in outcome.headers if k.lower() not in _DROP_HEADERS}
            await route.fulfill(status=outcome.status, headers=headers, body=body)
        except PlaywrightError as exc:  # the page or context closed meanwhile
            log.debug("browser route for %s ended: %s", request.url, exc)


REFUSED_PAGE = b"<title>Refused</title><p>clanker's guard refused this page.</p>"


def _with_base(body: bytes, url: str) -> bytes:
    tag = f'<base href="{escape(url, quote=True)}">'.encode()
    match = _HEAD.search(body, 0, 4096)
    if match is None:
        return tag + body
    return body[: match.end()] + tag + body[match.end() :]
