"""The sandbox's own little web: the search sim and a page server, for `clanker sandbox` with
no search key.

`open_sandbox_web()` starts a `SearchSim` (Brave's API, with a key of its own) and a `Site`,
and gives the web tools' configuration pointing at them: ``web_search`` asks the sim, whose
results for any query are pages on the site, and ``web_scrape`` reads those pages. Everything
is on 127.0.0.1 and clearly labelled as the sandbox's simulation (titles, snippets and page
text say so), so nothing reaches the internet and nobody mistakes it for real results.

The two host names (``search.sandbox.test``, ``web.sandbox.test``) are reached through the
fetcher's test-only escape hatch (`GuardedFetcher` ``testing_only_hosts``); every other URL is
still vetted by the SSRF guard as in production.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import quote, unquote

from clanker.tools.config import WebToolsConfig
from clanker.tools.fetch import GuardedFetcher
from clanker.toolsims.search import SearchSim, SimHit, open_search_sim
from clanker.toolsims.site import Page, Site, open_site

__all__ = ["SEARCH_HOST", "SIM_LABEL", "WEB_HOST", "SandboxWeb", "open_sandbox_web"]

SEARCH_HOST = "search.sandbox.test"
WEB_HOST = "web.sandbox.test"
SIM_LABEL = "sandbox search sim"
_KEY = "sandbox-search-sim-key"


@dataclass(frozen=True)
class SandboxWeb:
    """The running sims, and the tools' configuration and fetcher that reach them."""

    search: SearchSim
    site: Site
    config: WebToolsConfig
    fetcher: GuardedFetcher


def _slug(query: str) -> str:
    return quote(query.replace(" ", "-"), safe="-")


def _page(path: str) -> Page | None:
    parts = [p for p in path.split("/") if p]
    if len(parts) != 2 or not parts[1].isdigit():
        return None
    query = html.escape(unquote(parts[0]).replace("-", " "))
    title = f"{query} — {SIM_LABEL} page {parts[1]}"
    body = (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"<p>This page is served by clanker's sandbox: a local simulation of the web, not the "
        f"real internet. It stands in for result {parts[1]} of a search for “{query}”. Set "
        "BRAVE_SEARCH_API_KEY or SERPAPI_API_KEY to search the real web.</p>"
        "</article></body></html>"
    )
    return Page(body.encode())


@asynccontextmanager
async def open_sandbox_web(base: WebToolsConfig | None = None) -> AsyncIterator[SandboxWeb]:
    """Run the search sim and its pages; ``base`` gives the limits (its keys and base URLs are
    replaced by the sim's)."""
    async with open_site() as site:
        site.fallback = _page

        def hits(query: str) -> list[SimHit]:
            return [
                SimHit(
                    f"{query} — {SIM_LABEL} result {n}",
                    f"http://{WEB_HOST}:{site.port}/{_slug(query)}/{n}",
                    f"Simulated result {n} for <strong>{query}</strong> from the {SIM_LABEL} "
                    "(not the real web).",
                )
                for n in (1, 2, 3)
            ]

        async with open_search_sim(brave_key=_KEY, default=hits) as search:
            config = dataclasses.replace(
                base or WebToolsConfig(),
                brave_api_key=_KEY,
                serpapi_api_key=None,
                brave_base_url=f"http://{SEARCH_HOST}:{search.port}",
                brave_usd_per_search=0.0,
            )
            fetcher = GuardedFetcher(
                config.fetch,
                testing_only_hosts={SEARCH_HOST: "127.0.0.1", WEB_HOST: "127.0.0.1"},
            )
            yield SandboxWeb(search=search, site=site, config=config, fetcher=fetcher)
