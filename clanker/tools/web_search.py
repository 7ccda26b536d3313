"""`web_search`: Brave Search first, SerpAPI (Google) as the fallback.

* Brave: ``GET {brave_base_url}/res/v1/web/search?q=…&count=…`` with the key in the
  ``X-Subscription-Token`` header; results in ``web.results[]`` (``title``, ``url``,
  ``description``); errors as ``{"type": "ErrorResponse", "error": {"code", "detail", …}}``.
* SerpAPI: ``GET {serpapi_base_url}/search.json?engine=google&q=…&num=…&api_key=…``; results
  in ``organic_results[]`` (``title``, ``link``, ``snippet``); errors as ``{"error": "…"}``
  (with HTTP 200 and ``"Google hasn't returned any results…"`` when nothing matched).

A provider without a key is skipped; one that fails (HTTP error, timeout, a body that is not
the expected JSON) hands over to the next. Results are normalised to `SearchHit` (title, url,
snippet as plain text), at most the asked count. Every call goes through the `GuardedFetcher`,
like any outbound fetch. What the model gets is text: the numbered results, or what failed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

from clanker.llm.model import ToolSpec
from clanker.tools.config import WebToolsConfig
from clanker.tools.fetch import FetchError, FetchResult, GuardedFetcher
from clanker.tools.result import ToolResult

__all__ = [
    "WEB_SEARCH_SPEC",
    "SearchError",
    "SearchHit",
    "SearchOutcome",
    "brave_search",
    "search",
    "serpapi_search",
    "web_search",
]

log = logging.getLogger("clanker.tools.web_search")

MAX_QUERY_CHARS = 400  # Brave refuses queries over 400 characters
_SNIPPET_CHARS = 400
_JSON = ("application/json", "text/json")

WEB_SEARCH_SPEC = ToolSpec(
    name="web_search",
    description=(
        "Search the web. Returns the top results as a numbered list of title, URL and snippet. "
        "Use it for current events, facts you are unsure of, or to find a page to read with "
        "web_scrape."
    ),
    parameters={
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What to search for, as you would type it"},
            "count": {
                "type": "integer",
                "minimum": 1,
                "maximum": 10,
                "description": "How many results (default 5)",
            },
        },
        "required": ["query"],
        "additionalProperties": False,
    },
)


@dataclass(frozen=True)
class SearchHit:
    """One result: plain-text title and snippet, and the result's URL."""

    title: str
    url: str
    snippet: str


@dataclass(frozen=True)
class SearchOutcome:
    """Which provider answered (None: none did), its hits, and what failed before it."""

    provider: str | None
    hits: tuple[SearchHit, ...]
    failures: tuple[str, ...]


class SearchError(Exception):
    """One provider's call failed; the message is safe to show (no key in it)."""


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain(text: Any, limit: int = _SNIPPET_CHARS) -> str:
    """A provider's title or snippet (which may hold HTML such as ``<strong>``) as plain text,
    whitespace collapsed, cut at ``limit`` characters."""
    if not isinstance(text, str):
        return ""
    parser = _Text()
    parser.feed(text)
    parser.close()
    joined = " ".join(unescape("".join(parser.parts)).split())
    return joined if len(joined) <= limit else joined[: limit - 1].rstrip() + "…"


def _json_body(result: FetchResult, provider: str) -> Any:
    if result.truncated:
        raise SearchError(f"{provider}: the response was larger than the fetch limit")
    try:
        return json.loads(result.body)
    except (ValueError, UnicodeDecodeError):
        raise SearchError(f"{provider}: the response is not JSON (HTTP {result.status})") from None


def _hits(items: Any, url_key: str, snippet_key: str, count: int) -> tuple[SearchHit, ...]:
    hits: list[SearchHit] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        url = item.get(url_key)
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            continue
        hits.append(
            SearchHit(
                title=plain(item.get("title"), 200) or url,
                url=url,
                snippet=plain(item.get(snippet_key)),
            )
        )
        if len(hits) == count:
            break
    return tuple(hits)


async def brave_search(
    fetcher: GuardedFetcher, config: WebToolsConfig, query: str, count: int
) -> tuple[SearchHit, ...]:
    """Brave Web Search; raises `SearchError`."""
    if not config.brave_api_key:
        raise SearchError("brave: no API key ($BRAVE_SEARCH_API_KEY)")
    url = f"{config.brave_base_url.rstrip('/')}/res/v1/web/search?" + urlencode(
        {"q": query, "count": count}
    )
    try:
        result = await fetcher.fetch(
            url,
            headers={"Accept": "application/json", "X-Subscription-Token": config.brave_api_key},
            accept=_JSON,
            timeout=config.search_timeout,
        )
    except FetchError as exc:
        raise SearchError(f"brave: {exc}") from None
    body = _json_body(result, "brave")
    if result.status != 200:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            detail = f"{error.get('code', '?')}: {error.get('detail', '')}".strip()
        else:
            detail = "no error detail"
        raise SearchError(f"brave: HTTP {result.status} ({detail})")
    if not isinstance(body, dict):
        raise SearchError("brave: the response is not a JSON object")
    web = body.get("web")
    return _hits(web.get("results") if isinstance(web, dict) else [], "url", "description", count)


async def serpapi_search(
    fetcher: GuardedFetcher, config: WebToolsConfig, query: str, count: int
) -> tuple[SearchHit, ...]:
    """SerpAPI's Google engine; raises `SearchError` (never with the key in it)."""
    key = config.serpapi_api_key
    if not key:
        raise SearchError("serpapi: no API key ($SERPAPI_API_KEY)")
    url = f"{config.serpapi_base_url.rstrip('/')}/search.json?" + urlencode(
        {"engine": "google", "q": query, "num": count, "api_key": key}
    )
    try:
        result = await fetcher.fetch(url, accept=_JSON, timeout=config.search_timeout)
    except FetchError as exc:
        # The key travels in the query string: never let it into a message.
        raise SearchError(f"serpapi: {str(exc).replace(key, '***')}") from None
    body = _json_body(result, "serpapi")
    if not isinstance(body, dict):
        raise SearchError(f"serpapi: HTTP {result.status}, the response is not a JSON object")
    error = body.get("error")
    organic = body.get("organic_results")
    if result.status == 200 and organic is None and isinstance(error, str):
        state = (body.get("search_information") or {}).get("organic_results_state")
        if state == "Fully empty" or "hasn't returned any results" in error:
            return ()
    if result.status != 200 or (isinstance(error, str) and organic is None):
        detail = error.replace(key, "***") if isinstance(error, str) else "no error detail"
        raise SearchError(f"serpapi: HTTP {result.status} ({detail})")
    return _hits(organic, "link", "snippet", count)


async def search(
    fetcher: GuardedFetcher, config: WebToolsConfig, query: str, count: int
) -> SearchOutcome:
    """Brave, then SerpAPI on failure or no key; the first answer wins (an empty one too)."""
    failures: list[str] = []
    for name, provider in (("brave", brave_search), ("serpapi", serpapi_search)):
        try:
            hits = await provider(fetcher, config, query, count)
        except SearchError as exc:
            log.info("web_search: %s", exc)
            failures.append(str(exc))
            continue
        return SearchOutcome(name, hits, tuple(failures))
    return SearchOutcome(None, (), tuple(failures))


def format_hits(query: str, hits: Sequence[SearchHit]) -> str:
    """The results as the model reads them."""
    if not hits:
        return f"No results for {query!r}."
    lines = [f"Results for {query!r}:"]
    for number, hit in enumerate(hits, 1):
        lines.append(f"{number}. {hit.title}\n   {hit.url}")
        if hit.snippet:
            lines.append(f"   {hit.snippet}")
    return "\n".join(lines)


async def web_search(
    arguments: Mapping[str, Any], *, fetcher: GuardedFetcher, config: WebToolsConfig
) -> ToolResult:
    """The tool: validate the model's arguments, search, and answer in text."""
    query = arguments.get("query")
    if not isinstance(query, str) or not query.strip():
        return ToolResult("web_search needs a non-empty 'query' string.", is_error=True)
    query = " ".join(query.split())
    if len(query) > MAX_QUERY_CHARS:
        return ToolResult(
            f"The query is {len(query)} characters; keep it under {MAX_QUERY_CHARS}.",
            is_error=True,
        )
    raw_count = arguments.get("count", config.search_results)
    if isinstance(raw_count, bool) or not isinstance(raw_count, int | float):
        return ToolResult("'count' must be a whole number.", is_error=True)
    count = max(1, min(int(raw_count), config.search_max_results))
    outcome = await search(fetcher, config, query, count)
    if outcome.provider is None:
        reasons = "; ".join(outcome.failures)
        return ToolResult(
            f"Web search is unavailable right now ({reasons}). Answer without it, and say so "
            "if it matters.",
            is_error=True,
        )
    cost = (
        config.brave_usd_per_search
        if outcome.provider == "brave"
        else config.serpapi_usd_per_search
    )
    return ToolResult(format_hits(query, outcome.hits), usd_cost=cost)
