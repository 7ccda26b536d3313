"""`Site`: a local web server with scripted pages, over HTTP or TLS.

    async with open_site() as site:
        site.pages["/"] = Page(b"<html>…</html>")
        site.pages["/go"] = Page(status=302, headers=(("location", "http://127.0.0.1:9/"),))
        site.pages["/big"] = Page(endless=True)          # body chunks forever
        site.pages["/slow"] = Page(b"<p>begin", stall=True)  # a first chunk, then nothing

Every request is recorded (``site.requests``: method, target and headers, including Host and
whatever credentials a client sent), so tests can check what reached the server. With
``ssl_context`` the site speaks TLS (`clanker.sandbox.voice.tls.LocalCa` makes one for any
host name).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial

import trio

from clanker.llmsim import _http
from clanker.llmsim._http import Reply, Request

__all__ = ["Page", "Site", "open_site"]


@dataclass(frozen=True)
class Page:
    """One scripted response. ``endless``: after ``body``, 64 KiB chunks forever; ``stall``:
    after ``body``, the response never goes on (nor ends)."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    endless: bool = False
    stall: bool = False


@dataclass
class Site:
    """Scripted pages by path (query included when scripted so); unknown paths get 404."""

    pages: dict[str, Page] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    # Targets whose client hung up before the response was complete (a cancelled fetch).
    hung_up: list[str] = field(default_factory=list)
    # The page for a path not in ``pages`` (None: 404).
    fallback: Callable[[str], Page | None] | None = None
    url: str = ""
    port: int = 0

    async def handle(self, request: Request) -> Reply:
        self.requests.append(request)
        page = self.pages.get(request.target) or self.pages.get(request.target.split("?")[0])
        if page is None and self.fallback is not None:
            page = self.fallback(request.target.split("?")[0])
        if page is None:
            return Reply(404, [("content-type", "text/plain")], b"not found")
        headers = [("content-type", page.content_type), *page.headers]
        if not page.endless and not page.stall:
            return Reply(page.status, headers, page.body)
        return Reply(page.status, headers, chunks=self._chunks(page))

    async def _chunks(self, page: Page) -> AsyncIterator[bytes]:
        if page.body:
            yield page.body
        if page.stall:
            await trio.sleep_forever()
        filler = b"<p>" + b"x" * (64 * 1024 - 7) + b"</p>\n"
        while True:
            yield filler
            await trio.lowlevel.checkpoint()


async def _serve(
    site: Site,
    host: str,
    ssl_context: ssl.SSLContext | None,
    *,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    def hung_up(request: Request) -> None:
        site.hung_up.append(request.target)

    if ssl_context is None:
        await _http.serve(site.handle, host, on_hang_up=hung_up, task_status=task_status)
        return
    listeners = await trio.open_tcp_listeners(0, host=host)
    port: int = listeners[0].socket.getsockname()[1]
    tls = [trio.SSLListener(listener, ssl_context) for listener in listeners]
    handler = partial(_http._connection, site.handle, hung_up)
    async with trio.open_nursery() as nursery:
        await nursery.start(partial(trio.serve_listeners, handler, tls))
        task_status.started(port)


@asynccontextmanager
async def open_site(
    *, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[Site]:
    """Run a `Site` on ``host`` at an ephemeral port for the duration of the block; its ``url``
    is ``http(s)://host:port``."""
    site = Site()
    async with trio.open_nursery() as nursery:
        site.port = await nursery.start(partial(_serve, site, host, ssl_context))
        scheme = "http" if ssl_context is None else "https"
        site.url = f"{scheme}://{host}:{site.port}"
        try:
            yield site
        finally:
            nursery.cancel_scope.cancel()
