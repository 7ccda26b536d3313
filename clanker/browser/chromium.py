"""The system Chromium under Playwright: one browser process, a context and page per session.

Threading model: Playwright's async API runs on the **trio-asyncio loop** the product already
opens for discord.py-self (house rule 6: `clanker.cli.run` / `clanker.cli.sandbox` open it
around the whole tree). Every Playwright call is awaited from trio through ``aio_as_trio``, so
a trio cancellation (a stop word, a step or task timeout) cancels the asyncio task of the call
in flight, and the caller then closes the page's context. The other choices were worse: the
sync API (greenlets) ties every call to one thread, where a stop could only be noticed after
the blocking call in flight returned; an asyncio loop of its own on a worker thread works, but
every call and every routed request (the guard's fetcher is trio code) would cross threads
both ways. On the one loop nothing crosses a thread.

No browser is ever downloaded: Chromium is Debian's (``/usr/bin/chromium``, installed by
``scripts/bootstrap``; `find_chromium`), launched with `CHROMIUM_ARGS`. Its network is not
used for pages: every request is routed through `GuardedRoutes` (the SSRF guard), and the
dead proxy in `CHROMIUM_ARGS` stops anything that escapes the route.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError
from trio_asyncio import aio_as_trio

from clanker.browser.network import GuardedRoutes
from clanker.browser.policy import (
    BrowseLimits,
    Click,
    Extract,
    Open,
    Screenshot,
    Scroll,
    Snapshot,
    Step,
    Type,
)
from clanker.browser.snapshot import SNAPSHOT_SCRIPT, format_snapshot, ref_selector
from clanker.tools.fetch import GuardedFetcher

log = logging.getLogger("clanker.browser")

__all__ = ["CHROMIUM_ARGS", "Chromium", "PageSession", "StepResult", "find_chromium"]

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium calls home at start, and this machine's closed network refuses it.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A dead proxy, loopback included: pages are fetched by the guard (network.py), never by
    # Chromium, so whatever escaped the route fails here.
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
)
VIEWPORT = {"width": 1280, "height": 800}
JPEG_QUALITY = 70
LOAD_WAIT_MS = 10_000

T = TypeVar("T")


def find_chromium(env: Mapping[str, str] | None = None) -> str | None:
    """The Chromium to drive: ``CLANKER_CHROMIUM`` if set, else ``/usr/bin/chromium``, else
    ``chromium`` on the PATH; None when there is none (the browser agent is then left out)."""
    values = os.environ if env is None else env
    configured = values.get("CLANKER_CHROMIUM", "").strip()
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    if os.access(DEFAULT_CHROMIUM, os.X_OK):
        return DEFAULT_CHROMIUM
    return shutil.which("chromium")


async def _aio(fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """Await an asyncio (Playwright) coroutine function from trio."""
    result: T = await aio_as_trio(fn)(*args, **kwargs)
    return result


@dataclass(frozen=True)
class StepResult:
    """What a step answers: text for the model, whether it failed, and a JPEG to show."""

    text: str
    is_error: bool = False
    image: bytes | None = None

    def data_url(self) -> str | None:
        if self.image is None:
            return None
        return "data:image/jpeg;base64," + base64.b64encode(self.image).decode("ascii")


class Chromium:
    """Playwright and one Chromium process. `launch` it, `new_session` per channel, `close`."""

    def __init__(self, playwright: Playwright, browser: Browser) -> None:
        self._playwright = playwright
        self._browser = browser

    @classmethod
    async def launch(cls, executable: str) -> Chromium:
        playwright = await _aio(async_playwright().start)
        try:
            browser = await _aio(
                playwright.chromium.launch,
                executable_path=executable,
                args=list(CHROMIUM_ARGS),
                headless=True,
            )
        except BaseException:
            await _aio(playwright.stop)
            raise
        return cls(playwright, browser)

    async def new_session(self, fetcher: GuardedFetcher, limits: BrowseLimits) -> PageSession:
        """A fresh context (no cookies, storage or service workers) and page, routed through
        the guard."""
        routes = GuardedRoutes(fetcher)
        context = await _aio(
            self._browser.new_context,
            service_workers="block",
            viewport=VIEWPORT,
            accept_downloads=False,
        )
        try:
            await _aio(context.route, "**/*", routes.handle)
            page = await _aio(context.new_page)
        except BaseException:
            routes.close()
            await _aio(context.close)
            raise
        page.set_default_timeout(limits.step_timeout * 1000)
        return PageSession(context, page, routes, limits)

    async def close(self) -> None:
        try:
            await _aio(self._browser.close)
        finally:
            await _aio(self._playwright.stop)


class PageSession:
    """One channel's page: the steps of `clanker.browser.policy`, carried out."""

    def __init__(
        self, context: BrowserContext, page: Page, routes: GuardedRoutes, limits: BrowseLimits
    ) -> None:
        self._context = context
        self._page = page
        self.routes = routes
        self.limits = limits
        self.closed = False

    @property
    def url(self) -> str | None:
        """The page's URL (after the guard's redirects), None before anything was opened."""
        url = self._page.url
        if not url or url == "about:blank":
            return None
        return self.routes.final_url(url)

    async def run(self, step: Step) -> StepResult:
        """Carry out ``step``; a page that fails gives an error text, never an exception."""
        try:
            return await self._run(step)
        except PlaywrightError as exc:
            return StepResult(self._failure(exc), is_error=True)

    async def _run(self, step: Step) -> StepResult:
        page = self._page
        if isinstance(step, Open):
            await _aio(page.goto, step.url, wait_until="load")
            if self.routes.navigation_refused:
                return StepResult(self._failure(None), is_error=True)
            return await self._snapshot()
        if isinstance(step, Snapshot):
            return await self._snapshot()
        if isinstance(step, Click):
            target = await self._element(step.ref)
            if isinstance(target, StepResult):
                return target
            await _aio(target.click)
            await self._settle()
            return await self._snapshot()
        if isinstance(step, Type):
            target = await self._element(step.ref)
            if isinstance(target, StepResult):
                return target
            await _aio(target.fill, step.text)
            if step.submit:
                await _aio(target.press, "Enter")
            await self._settle()
            return await self._snapshot()
        if isinstance(step, Scroll):
            sign = -1 if step.direction == "up" else 1
            await _aio(page.evaluate, f"window.scrollBy(0, {sign} * window.innerHeight * 0.9)")
            return await self._snapshot()
        if isinstance(step, Extract):
            if step.ref is None:
                text = await _aio(page.inner_text, "body")
            else:
                target = await self._element(step.ref)
                if isinstance(target, StepResult):
                    return target
                text = await _aio(target.inner_text)
            limit = self.limits.extract_chars
            tail = f"\n[… cut at {limit} characters]" if len(text) > limit else ""
            return StepResult(text[:limit] + tail)
        if isinstance(step, Screenshot):
            image = await self.screenshot()
            return StepResult(f"Screenshot of {self.url or 'the page'} follows.", image=image)
        raise AssertionError(f"unknown step {step!r}")

    async def screenshot(self) -> bytes:
        """The visible part of the page as a JPEG."""
        data: bytes = await _aio(self._page.screenshot, type="jpeg", quality=JPEG_QUALITY)
        return data

    async def _element(self, ref: int) -> Any:
        locator = self._page.locator(ref_selector(ref))
        if await _aio(locator.count) == 0:
            return StepResult(
                f"There is no element [{ref}] on the page now; take a browser_snapshot for the "
                "current numbers.",
                is_error=True,
            )
        return locator.first

    async def _settle(self) -> None:
        """Let a navigation the action started reach its load event."""
        try:
            await _aio(self._page.wait_for_load_state, "load", timeout=LOAD_WAIT_MS)
        except PlaywrightError as exc:
            log.debug("page did not settle: %s", exc)

    async def _snapshot(self) -> StepResult:
        raw: dict[str, Any] | None = None
        for _ in range(3):  # a navigation may replace the document while it is read
            try:
                raw = await _aio(self._page.evaluate, SNAPSHOT_SCRIPT)
                break
            except PlaywrightError as exc:
                if "context was destroyed" not in str(exc) and "navigat" not in str(exc):
                    raise
                await self._settle()
        if raw is None:
            return StepResult("The page kept navigating; try browser_snapshot again.", True)
        refused = self.routes.take_refused()
        text = format_snapshot(
            raw,
            max_chars=self.limits.snapshot_chars,
            max_elements=self.limits.max_elements,
            url=self.url,
            refused=refused,
        )
        blocked = str(raw.get("url", "")).startswith("chrome-error:")
        return StepResult(text, is_error=blocked and bool(refused))

    def _failure(self, exc: PlaywrightError | None) -> str:
        refused = self.routes.take_refused()
        if refused:
            return "Refused by the guard: " + "; ".join(refused)
        message = str(exc).split("\n", 1)[0]
        return f"The browser could not do that: {message}"

    async def close(self) -> None:
        """Cancel its fetches and close its context (and page)."""
        if self.closed:
            return
        self.closed = True
        self.routes.close()
        try:
            await _aio(self._context.close)
        except PlaywrightError as exc:
            log.debug("closing a browser context: %s", exc)
