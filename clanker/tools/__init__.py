"""Tools the model can call: web search and page reading, behind one SSRF guard.

`netguard` holds the guard's rules (sans-IO), `fetch.GuardedFetcher` carries them out for every
outbound fetch, `web_search` and `web_scrape` are the tools (a `ToolSpec` and an async function
each), `registry.web_tools` bundles them. See docs/tools.md. Exports are lazy
(`clanker/_lazy.py`) so ``import clanker.tools.netguard`` pulls in neither trio nor httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clanker._lazy import lazy_exports

if TYPE_CHECKING:
    from clanker.tools.config import WebToolsConfig
    from clanker.tools.fetch import FetchError, FetchLimits, FetchResult, GuardedFetcher
    from clanker.tools.netguard import UrlRefused, address_problem, is_public, parse_url
    from clanker.tools.registry import WebTool, reply_tools, web_tools
    from clanker.tools.result import ToolResult
    from clanker.tools.web_scrape import WEB_SCRAPE_SPEC, web_scrape
    from clanker.tools.web_search import WEB_SEARCH_SPEC, SearchHit, web_search

_EXPORTS = {
    "WebToolsConfig": "clanker.tools.config",
    "FetchError": "clanker.tools.fetch",
    "FetchLimits": "clanker.tools.fetch",
    "FetchResult": "clanker.tools.fetch",
    "GuardedFetcher": "clanker.tools.fetch",
    "UrlRefused": "clanker.tools.netguard",
    "address_problem": "clanker.tools.netguard",
    "is_public": "clanker.tools.netguard",
    "parse_url": "clanker.tools.netguard",
    "WebTool": "clanker.tools.registry",
    "web_tools": "clanker.tools.registry",
    "reply_tools": "clanker.tools.registry",
    "ToolResult": "clanker.tools.result",
    "WEB_SCRAPE_SPEC": "clanker.tools.web_scrape",
    "web_scrape": "clanker.tools.web_scrape",
    "WEB_SEARCH_SPEC": "clanker.tools.web_search",
    "SearchHit": "clanker.tools.web_search",
    "web_search": "clanker.tools.web_search",
}
__all__ = [
    "WEB_SCRAPE_SPEC",
    "WEB_SEARCH_SPEC",
    "FetchError",
    "FetchLimits",
    "FetchResult",
    "GuardedFetcher",
    "SearchHit",
    "ToolResult",
    "UrlRefused",
    "WebTool",
    "WebToolsConfig",
    "address_problem",
    "is_public",
    "parse_url",
    "reply_tools",
    "web_scrape",
    "web_search",
    "web_tools",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
