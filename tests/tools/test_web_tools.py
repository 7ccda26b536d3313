"""web_search against the Brave/SerpAPI sim, web_scrape against a local site, both through the
guard (the sims are reached through the fetcher's explicit test-only host map)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from clanker.tools.config import WebToolsConfig
from clanker.tools.fetch import FetchLimits, GuardedFetcher
from clanker.tools.registry import web_tools
from clanker.tools.web_scrape import WEB_SCRAPE_SPEC, web_scrape
from clanker.tools.web_search import WEB_SEARCH_SPEC, search, web_search
from clanker.toolsims import Page, SearchSim, SimHit, open_search_sim, open_site

BRAVE_KEY = "brave-test-key"
SERP_KEY = "serp-test-key-123"
TEST_HOSTS = {"search.test": "127.0.0.1", "site.test": "127.0.0.1"}


@pytest.fixture
async def sim() -> AsyncIterator[SearchSim]:
    async with open_search_sim(brave_key=BRAVE_KEY, serpapi_key=SERP_KEY) as running:
        yield running


def config_for(sim: SearchSim, **fields: object) -> WebToolsConfig:
    base = f"http://search.test:{sim.port}"
    config = WebToolsConfig(
        brave_api_key=BRAVE_KEY,
        serpapi_api_key=SERP_KEY,
        brave_base_url=base,
        serpapi_base_url=base,
    )
    return replace(config, **fields)  # type: ignore[arg-type]


def fetcher() -> GuardedFetcher:
    return GuardedFetcher(testing_only_hosts=TEST_HOSTS)


async def test_brave_results_are_normalised(sim: SearchSim) -> None:
    sim.brave.results["trio"] = [
        SimHit("Trio &amp; <b>friends</b>", "https://trio.example/", "Async <strong>I/O</strong>"),
        SimHit("no url", "javascript:alert(1)", "dropped"),
        SimHit("Docs", "https://trio.example/docs", ""),
    ]
    result = await web_search(
        {"query": "  trio  ", "count": 3}, fetcher=fetcher(), config=config_for(sim)
    )
    assert not result.is_error
    assert result.content == (
        "Results for 'trio':\n"
        "1. Trio & friends\n   https://trio.example/\n   Async I/O\n"
        "2. Docs\n   https://trio.example/docs"
    )
    (request,) = sim.brave.requests
    assert request.headers["x-subscription-token"] == BRAVE_KEY
    assert request.params == {"q": "trio", "count": "3"}
    assert sim.serpapi.requests == []


async def test_a_brave_failure_falls_back_to_serpapi(sim: SearchSim) -> None:
    sim.brave.fail(429, "RATE_LIMITED")
    sim.serpapi.results["rust"] = [SimHit("Rust", "https://rust.example/", "a language")]
    outcome = await search(fetcher(), config_for(sim), "rust", 5)
    assert outcome.provider == "serpapi"
    assert [h.url for h in outcome.hits] == ["https://rust.example/"]
    assert outcome.failures == ("brave: HTTP 429 (RATE_LIMITED: simulated RATE_LIMITED)",)
    (request,) = sim.serpapi.requests
    assert request.params["engine"] == "google" and request.params["num"] == "5"


async def test_a_wrong_brave_key_falls_back_and_says_why(sim: SearchSim) -> None:
    outcome = await search(fetcher(), config_for(sim, brave_api_key="wrong"), "x", 2)
    assert outcome.provider == "serpapi"
    assert "SUBSCRIPTION_TOKEN_INVALID" in outcome.failures[0]
    assert len(outcome.hits) == 2


async def test_without_a_brave_key_only_serpapi_is_asked(sim: SearchSim) -> None:
    outcome = await search(fetcher(), config_for(sim, brave_api_key=None), "x", 3)
    assert outcome.provider == "serpapi"
    assert sim.brave.requests == []


async def test_a_stalled_brave_is_bounded_and_serpapi_answers(sim: SearchSim) -> None:
    sim.brave.stall()
    outcome = await search(fetcher(), config_for(sim, search_timeout=0.3), "slow", 1)
    assert outcome.provider == "serpapi"
    assert "longer than 0.3 s" in outcome.failures[0]


async def test_when_both_fail_the_model_gets_an_error_without_the_keys(sim: SearchSim) -> None:
    config = config_for(sim, serpapi_api_key="not-the-key-999")
    sim.brave.fail(500)
    result = await web_search({"query": "anything"}, fetcher=fetcher(), config=config)
    assert result.is_error
    assert "Web search is unavailable" in result.content
    assert "Invalid API key" in result.content
    assert "not-the-key-999" not in result.content and BRAVE_KEY not in result.content


async def test_a_refused_search_url_never_carries_the_serpapi_key() -> None:
    config = WebToolsConfig(
        brave_api_key=None, serpapi_api_key="secret-k", serpapi_base_url="http://10.0.0.1"
    )
    result = await web_search({"query": "q"}, fetcher=GuardedFetcher(), config=config)
    assert result.is_error and "refused" in result.content
    assert "secret-k" not in result.content


async def test_serpapi_with_nothing_found_is_no_results(sim: SearchSim) -> None:
    sim.serpapi.results["zzz"] = []
    config = config_for(sim, brave_api_key=None)
    result = await web_search({"query": "zzz"}, fetcher=fetcher(), config=config)
    assert not result.is_error
    assert result.content == "No results for 'zzz'."


async def test_the_count_is_bounded_and_arguments_are_checked(sim: SearchSim) -> None:
    config = config_for(sim, search_results=1, search_max_results=2)
    result = await web_search({"query": "q", "count": 50}, fetcher=fetcher(), config=config)
    assert result.content.count("https://example.com/") == 2
    assert sim.brave.requests[0].params["count"] == "2"
    for bad in (
        {},
        {"query": ""},
        {"query": 3},
        {"query": "q", "count": "many"},
        {"query": "x" * 401},
    ):
        outcome = await web_search(bad, fetcher=fetcher(), config=config)
        assert outcome.is_error


ARTICLE = b"""<!doctype html><html><head><title>The Otter Report</title>
<meta charset="utf-8"></head><body>
<nav><a href="/">Home</a> | <a href="/about">About</a> | <a href="/shop">Shop</a></nav>
<article><h1>Otters hold hands while sleeping</h1>
<p>Sea otters often hold paws while they sleep so that they do not drift apart from each other
in the water. A group of resting otters is called a raft, and some rafts number in the hundreds.</p>
<p>Researchers observing the coast of California counted rafts of more than two hundred animals,
wrapped in kelp so that the current would not carry them away during the night.</p>
</article>
<footer>Copyright 2026 Otter Facts Ltd. All rights reserved. Cookie settings.</footer>
</body></html>"""


async def test_web_scrape_returns_the_title_and_the_main_text() -> None:
    async with open_site() as site:
        site.pages["/otters"] = Page(ARTICLE)
        site.pages["/old"] = Page(status=301, headers=(("location", "/otters"),))
        result = await web_scrape(
            {"url": f"http://site.test:{site.port}/old"}, fetcher=fetcher(), config=WebToolsConfig()
        )
    assert not result.is_error, result.content
    head, _, text = result.content.partition("\n\n")
    # trafilatura takes the article's headline as the title
    assert (
        head == f"Title: Otters hold hands while sleeping\nURL: http://site.test:{site.port}/otters"
    )
    assert "Sea otters often hold paws" in text
    assert "rafts of more than two hundred" in text
    assert "Shop" not in text and "All rights reserved" not in text


async def test_web_scrape_cuts_the_text() -> None:
    async with open_site() as site:
        site.pages["/otters"] = Page(ARTICLE)
        result = await web_scrape(
            {"url": f"http://site.test:{site.port}/otters", "max_chars": 200},
            fetcher=fetcher(),
            config=WebToolsConfig(),
        )
    body = result.content.partition("\n\n")[2]
    text, _, marker = body.partition("\n[")
    assert len(text) <= 200
    assert marker.startswith("… the page goes on")


async def test_web_scrape_reads_plain_text_and_refuses_other_types() -> None:
    async with open_site() as site:
        site.pages["/notes.txt"] = Page(b"just some notes", content_type="text/plain")
        site.pages["/cat.png"] = Page(b"\x89PNG", content_type="image/png")
        base = f"http://site.test:{site.port}"
        text = await web_scrape(
            {"url": f"{base}/notes.txt"}, fetcher=fetcher(), config=WebToolsConfig()
        )
        image = await web_scrape(
            {"url": f"{base}/cat.png"}, fetcher=fetcher(), config=WebToolsConfig()
        )
        missing = await web_scrape(
            {"url": f"{base}/nope"}, fetcher=fetcher(), config=WebToolsConfig()
        )
    assert text.content.endswith("\n\njust some notes") and not text.is_error
    assert image.is_error and "image/png" in image.content
    assert missing.is_error and "HTTP 404" in missing.content


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "http://[::1]:8080/",
    ],
)
async def test_web_scrape_refuses_private_targets_with_a_hint(url: str) -> None:
    result = await web_scrape({"url": url}, fetcher=GuardedFetcher(), config=WebToolsConfig())
    assert result.is_error
    assert result.content.startswith(f"Could not read {url}")


async def test_web_tools_register_with_their_specs(sim: SearchSim) -> None:
    search_tool, scrape_tool = web_tools(config_for(sim), fetcher())
    assert (search_tool.spec, scrape_tool.spec) == (WEB_SEARCH_SPEC, WEB_SCRAPE_SPEC)
    assert [search_tool.name, scrape_tool.name] == ["web_search", "web_scrape"]
    result = await search_tool.run({"query": "tools"}, None)
    assert result.content.startswith("Results for 'tools':")


def test_config_from_the_environment_hides_its_keys() -> None:
    config = WebToolsConfig.from_env(
        {
            "BRAVE_SEARCH_API_KEY": "b-secret",
            "SERPAPI_API_KEY": "s-secret",
            "CLANKER_FETCH_MAX_BYTES": "1000",
            "CLANKER_SCRAPE_CHARS": "500",
        }
    )
    assert config.brave_api_key == "b-secret" and config.serpapi_api_key == "s-secret"
    assert config.fetch == FetchLimits(max_bytes=1000)
    assert config.scrape_chars == 500
    assert "secret" not in repr(config) and "secret" not in str(config)
    with pytest.raises(ValueError, match="CLANKER_FETCH_TIMEOUT"):
        WebToolsConfig.from_env({"CLANKER_FETCH_TIMEOUT": "soon"})
    assert WebToolsConfig.from_env({}).brave_api_key is None
