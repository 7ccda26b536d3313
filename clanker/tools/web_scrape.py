"""`web_scrape`: fetch one page under the SSRF guard and give the model its readable text.

The page is fetched by the `GuardedFetcher` (HTML, XHTML or plain text only; body cut at the
fetch limit), and its main text is extracted by trafilatura (Apache-2.0), which drops
navigation, footers and boilerplate; when it finds no main text, trafilatura's whole-page text
is used instead. Extraction runs on a worker thread (lxml parsing a large page is CPU work).
The answer is the page's title, its final URL (after redirects) and the text, cut at the asked
number of characters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import trio

from clanker.llm.model import ToolSpec
from clanker.tools.config import WebToolsConfig
from clanker.tools.fetch import FetchError, FetchResult, GuardedFetcher
from clanker.tools.result import ToolResult

__all__ = ["WEB_SCRAPE_SPEC", "Page", "extract_page", "scrape", "web_scrape"]

PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain")

WEB_SCRAPE_SPEC = ToolSpec(
    name="web_scrape",
    description=(
        "Read a web page: fetches a public http(s) URL and returns its title and main text "
        "(navigation and boilerplate removed), cut to max_chars."
    ),
    parameters={
        "type": "object",
        "properties": {
            "url": {"type": "string", "description": "The page's full http:// or https:// URL"},
            "max_chars": {
                "type": "integer",
                "minimum": 200,
                "maximum": 8000,
                "description": "How much text to return at most (default 6000)",
            },
        },
        "required": ["url"],
        "additionalProperties": False,
    },
)


@dataclass(frozen=True)
class Page:
    """A page read: its title ("" if none), the URL it was read from after redirects, its
    text, and whether the text (or the fetched body) was cut."""

    title: str
    url: str
    text: str
    truncated: bool


def _decode(result: FetchResult) -> str:
    charset = result.charset or "utf-8"
    try:
        return result.body.decode(charset, errors="replace")
    except LookupError:
        return result.body.decode("utf-8", errors="replace")


def extract_page(result: FetchResult) -> tuple[str, str]:
    """(title, text) of a fetched page; blocking (lxml), so call it on a worker thread."""
    if result.content_type == "text/plain":
        return "", _decode(result)
    import trafilatura  # imported on first use: it pulls in lxml, htmldate, dateparser

    html: str | bytes = _decode(result) if result.charset else result.body
    text = trafilatura.extract(
        html,
        url=result.final_url,
        output_format="txt",
        include_comments=False,
        include_tables=True,
        include_links=False,
        include_images=False,
        deduplicate=False,
    )
    if not text:
        text = trafilatura.html2txt(html)
    title = ""
    try:
        metadata = trafilatura.extract_metadata(
            html if isinstance(html, str) else _decode(result), default_url=result.final_url
        )
    except Exception:  # metadata is a nicety; a page it trips over still has its text
        metadata = None
    if metadata is not None and metadata.title:
        title = str(metadata.title)
    return " ".join(title.split()), (text or "").strip()


async def scrape(fetcher: GuardedFetcher, url: str, max_chars: int) -> Page:
    """Fetch and extract ``url``; raises `FetchError` (also for an HTTP error status)."""
    result = await fetcher.fetch(url, accept=PAGE_TYPES)
    if not 200 <= result.status < 300:
        raise FetchError("http", f"{result.final_url} answered HTTP {result.status}")
    title, text = await trio.to_thread.run_sync(extract_page, result, abandon_on_cancel=True)
    cut = len(text) > max_chars
    if cut:
        text = text[:max_chars].rstrip()
    return Page(title=title, url=result.final_url, text=text, truncated=cut or result.truncated)


def format_page(page: Page) -> str:
    """The page as the model reads it."""
    head = [f"Title: {page.title}"] if page.title else []
    head.append(f"URL: {page.url}")
    body = page.text or "(the page has no readable text)"
    tail = "\n[… the page goes on; the text was cut]" if page.truncated else ""
    return "\n".join(head) + "\n\n" + body + tail


async def web_scrape(
    arguments: Mapping[str, Any], *, fetcher: GuardedFetcher, config: WebToolsConfig
) -> ToolResult:
    """The tool: validate the model's arguments, read the page, and answer in text."""
    url = arguments.get("url")
    if not isinstance(url, str) or not url.strip():
        return ToolResult("web_scrape needs a 'url' string (http:// or https://).", is_error=True)
    raw = arguments.get("max_chars", config.scrape_chars)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return ToolResult("'max_chars' must be a whole number.", is_error=True)
    max_chars = max(200, min(int(raw), config.scrape_max_chars))
    try:
        page = await scrape(fetcher, url.strip(), max_chars)
    except FetchError as exc:
        hint = {
            "refused": " Only public web pages can be read.",
            "content_type": " web_scrape reads HTML and plain-text pages only.",
            "timeout": " The site is slow or not answering; try another source.",
        }.get(exc.kind, "")
        return ToolResult(f"Could not read {url.strip()}: {exc}.{hint}", is_error=True)
    return ToolResult(format_page(page))
