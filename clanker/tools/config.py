"""The web tools' configuration: search API keys, base URLs and limits, from the environment.

Keys are secrets: they never appear in a repr (`WebToolsConfig.__repr__` shows only whether each
is set). Every variable is listed in docs/tools.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from clanker.tools.fetch import FetchLimits

__all__ = ["BRAVE_BASE_URL", "SERPAPI_BASE_URL", "WebToolsConfig"]

BRAVE_BASE_URL = "https://api.search.brave.com"
SERPAPI_BASE_URL = "https://serpapi.com"


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"${name} must be a number, got {raw!r}") from None


@dataclass(frozen=True)
class WebToolsConfig:
    """Configuration of `web_search` and `web_scrape`.

    * ``brave_api_key`` / ``serpapi_api_key``: search keys; a provider without one is skipped.
    * ``brave_base_url`` / ``serpapi_base_url``: the APIs' origins (tests point them at
      ``clanker.toolsims``).
    * ``search_results``: results a search returns unless the model asks for fewer;
      ``search_max_results``: the most it may ask for.
    * ``search_timeout``: seconds one search API call may take.
    * ``scrape_chars``: characters of page text `web_scrape` returns by default;
      ``scrape_max_chars``: the most the model may ask for.
    * ``fetch``: the guard's limits for page fetches (`FetchLimits`).
    * ``brave_usd_per_search`` / ``serpapi_usd_per_search``: what one answered search costs
      (list prices, mid-2026: Brave's Search plan $5 per 1,000 requests, SerpAPI's Developer
      plan $75 per 5,000); logged as the call's cost.
    """

    brave_api_key: str | None = None
    serpapi_api_key: str | None = None
    brave_base_url: str = BRAVE_BASE_URL
    serpapi_base_url: str = SERPAPI_BASE_URL
    search_results: int = 5
    search_max_results: int = 10
    search_timeout: float = 8.0
    scrape_chars: int = 6000
    scrape_max_chars: int = 8000
    fetch: FetchLimits = field(default_factory=FetchLimits)
    brave_usd_per_search: float = 0.005
    serpapi_usd_per_search: float = 0.015

    @property
    def search_configured(self) -> bool:
        """Whether `web_search` has a provider to ask (a Brave or a SerpAPI key)."""
        return bool(self.brave_api_key or self.serpapi_api_key)

    def __post_init__(self) -> None:
        if not 1 <= self.search_results <= self.search_max_results <= 20:
            raise ValueError(
                "WebToolsConfig: need 1 <= search_results <= search_max_results <= 20 "
                f"(Brave's own cap), got {self.search_results} and {self.search_max_results}"
            )
        if not self.search_timeout > 0:
            raise ValueError(f"WebToolsConfig.search_timeout must be > 0: {self.search_timeout}")
        if not 1 <= self.scrape_chars <= self.scrape_max_chars:
            raise ValueError(
                "WebToolsConfig: need 1 <= scrape_chars <= scrape_max_chars, got "
                f"{self.scrape_chars} and {self.scrape_max_chars}"
            )
        for name in ("brave_usd_per_search", "serpapi_usd_per_search"):
            value = getattr(self, name)
            if not (value >= 0 and value < float("inf")):
                raise ValueError(f"WebToolsConfig.{name} must be a finite cost >= 0: {value}")

    def __repr__(self) -> str:
        brave = "<set>" if self.brave_api_key else None
        serp = "<set>" if self.serpapi_api_key else None
        return (
            f"WebToolsConfig(brave_api_key={brave}, serpapi_api_key={serp}, "
            f"brave_base_url={self.brave_base_url!r}, serpapi_base_url={self.serpapi_base_url!r}, "
            f"search_results={self.search_results}, scrape_chars={self.scrape_chars}, "
            f"fetch={self.fetch!r})"
        )

    __str__ = __repr__

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebToolsConfig:
        """The configuration from the environment (docs/tools.md lists every variable)."""
        env = os.environ if environ is None else environ
        fetch = FetchLimits(
            timeout=_number(env, "CLANKER_FETCH_TIMEOUT", FetchLimits.timeout),
            connect_timeout=_number(
                env, "CLANKER_FETCH_CONNECT_TIMEOUT", FetchLimits.connect_timeout
            ),
            max_bytes=int(_number(env, "CLANKER_FETCH_MAX_BYTES", FetchLimits.max_bytes)),
            max_redirects=int(
                _number(env, "CLANKER_FETCH_MAX_REDIRECTS", FetchLimits.max_redirects)
            ),
        )
        return cls(
            brave_api_key=env.get("BRAVE_SEARCH_API_KEY") or None,
            serpapi_api_key=env.get("SERPAPI_API_KEY") or None,
            brave_base_url=env.get("CLANKER_BRAVE_BASE_URL") or BRAVE_BASE_URL,
            serpapi_base_url=env.get("CLANKER_SERPAPI_BASE_URL") or SERPAPI_BASE_URL,
            search_results=int(_number(env, "CLANKER_SEARCH_RESULTS", 5)),
            search_max_results=int(_number(env, "CLANKER_SEARCH_MAX_RESULTS", 10)),
            search_timeout=_number(env, "CLANKER_SEARCH_TIMEOUT", 8.0),
            scrape_chars=int(_number(env, "CLANKER_SCRAPE_CHARS", 6000)),
            scrape_max_chars=int(_number(env, "CLANKER_SCRAPE_MAX_CHARS", 8000)),
            fetch=fetch,
            brave_usd_per_search=_number(env, "CLANKER_BRAVE_USD_PER_SEARCH", 0.005),
            serpapi_usd_per_search=_number(env, "CLANKER_SERPAPI_USD_PER_SEARCH", 0.015),
        )
