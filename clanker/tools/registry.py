"""The web tools as (spec, run) pairs, ready for a tool registry.

``run(arguments, context)`` has the tool loop's call shape (``clanker.text.tool_registry``:
the call's arguments and where the reply is); the web tools ignore the context. Register them
with::

    for tool in web_tools(WebToolsConfig.from_env()):
        registry.register(Tool(spec=tool.spec, run=adapt(tool.run)))

where ``adapt`` turns a `ToolResult` into the loop's ``ToolOutput`` (the same three fields).
`reply_tools` does exactly that for the product: the tools a reply may call, each with its
default hourly budget, leaving out a tool that is not configured (``web_search`` without a
Brave or SerpAPI key) so the model is never offered it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from clanker.browser.policy import BrowseLimits
from clanker.llm.model import ToolSpec
from clanker.text.tool_registry import Tool, ToolContext, ToolOutput
from clanker.tools.config import WebToolsConfig
from clanker.tools.fetch import GuardedFetcher
from clanker.tools.result import ToolResult
from clanker.tools.web_scrape import WEB_SCRAPE_SPEC, web_scrape
from clanker.tools.web_search import WEB_SEARCH_SPEC, web_search

__all__ = ["SCRAPES_PER_HOUR", "SEARCHES_PER_HOUR", "WebTool", "reply_tools", "web_tools"]

SEARCHES_PER_HOUR = 20  # the original's research.maxSearchesPerHour
SCRAPES_PER_HOUR = 60

WebToolRun = Callable[[Mapping[str, Any], Any], Awaitable[ToolResult]]


@dataclass(frozen=True)
class WebTool:
    """One tool: what the model sees, and the function that runs a call."""

    spec: ToolSpec
    run: WebToolRun

    @property
    def name(self) -> str:
        return self.spec.name


def web_tools(
    config: WebToolsConfig, fetcher: GuardedFetcher | None = None
) -> tuple[WebTool, WebTool]:
    """``web_search`` and ``web_scrape`` sharing one `GuardedFetcher` (default: a strict one
    with ``config.fetch`` limits)."""
    guarded = fetcher or GuardedFetcher(config.fetch)

    async def run_search(arguments: Mapping[str, Any], context: Any = None) -> ToolResult:
        return await web_search(arguments, fetcher=guarded, config=config)

    async def run_scrape(arguments: Mapping[str, Any], context: Any = None) -> ToolResult:
        return await web_scrape(arguments, fetcher=guarded, config=config)

    return WebTool(WEB_SEARCH_SPEC, run_search), WebTool(WEB_SCRAPE_SPEC, run_scrape)


def _adapt(run: WebToolRun) -> Callable[[Mapping[str, Any], ToolContext], Awaitable[ToolOutput]]:
    async def call(arguments: Mapping[str, Any], context: ToolContext) -> ToolOutput:
        result = await run(arguments, context)
        return ToolOutput(result.content, result.is_error, result.usd_cost)

    return call


def reply_tools(
    config: WebToolsConfig,
    fetcher: GuardedFetcher | None = None,
    browser: BrowseLimits | None = None,
) -> list[Tool]:
    """The web tools as the reply loop's `Tool`s: ``web_search`` (only with a search key;
    20 calls an hour by default) and ``web_scrape`` (no key needed; 60 an hour); with
    ``browser`` (the tree runs a browser agent with these limits) ``browser_browse`` (10 an
    hour; offered only when the ``tools.browser_enabled`` setting is on). The
    ``tools.hourly_limits`` setting overrides the budgets by name."""
    search, scrape = web_tools(config, fetcher)
    tools = []
    if config.search_configured:
        tools.append(Tool(spec=search.spec, run=_adapt(search.run), per_hour=SEARCHES_PER_HOUR))
    tools.append(Tool(spec=scrape.spec, run=_adapt(scrape.run), per_hour=SCRAPES_PER_HOUR))
    if browser is not None:
        from clanker.browser.tool import browser_browse_tool  # Playwright: only when used

        tools.append(browser_browse_tool(browser))
    return tools
