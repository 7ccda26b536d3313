"""The tools the product offers replies: only what is configured, with its budgets and costs."""

from __future__ import annotations

from pathlib import Path

import pytest

from clanker.app import AppConfig, ConfigError, reply_tool_registry, web_tools_config_from_env
from clanker.llm import LlmConfig, ProviderConfig
from clanker.tools.config import WebToolsConfig
from clanker.tools.registry import SCRAPES_PER_HOUR, SEARCHES_PER_HOUR, reply_tools

LLM = LlmConfig(providers=(ProviderConfig(name="a", kind="anthropic", model="m", api_key="k"),))


def app(**web: object) -> AppConfig:
    return AppConfig(
        db_path=Path("x.db"), discord_token="t", llm=LLM, web_tools=WebToolsConfig(**web)
    )


def test_web_search_is_offered_only_with_a_search_key() -> None:
    # memory: the tree always has the memory service; music: calls have a voice brain; the
    # automation tools: the tree always has the scheduler
    memory = [
        "memory_search",
        "memory_write",
        "memory_forget",
        "conversation_search",
        "music",
        "automation_create",
        "automation_list",
        "automation_pause",
        "automation_resume",
        "automation_delete",
    ]
    assert reply_tool_registry(app()).names == ["web_scrape", *memory]
    assert reply_tool_registry(app(brave_api_key="b")).names == [
        "web_search",
        "web_scrape",
        *memory,
    ]
    assert reply_tool_registry(app(serpapi_api_key="s")).names == [
        "web_search",
        "web_scrape",
        *memory,
    ]


def test_default_budgets_are_the_tools_own() -> None:
    search, scrape = reply_tools(WebToolsConfig(brave_api_key="b"))
    assert (search.name, search.per_hour) == ("web_search", SEARCHES_PER_HOUR) == ("web_search", 20)
    assert (scrape.name, scrape.per_hour) == ("web_scrape", SCRAPES_PER_HOUR) == ("web_scrape", 60)


def test_keys_costs_and_base_urls_come_from_the_environment() -> None:
    config = AppConfig.from_env(
        {
            "DISCORD_TOKEN": "t",
            "ANTHROPIC_API_KEY": "k",
            "CLANKER_DASHBOARD": "off",
            "CLANKER_BROWSER": "off",  # tests/browser/test_registration.py: with it
            "SERPAPI_API_KEY": "sk",
            "CLANKER_SERPAPI_BASE_URL": "http://serp.test:9",
            "CLANKER_SERPAPI_USD_PER_SEARCH": "0.02",
        }
    )
    web = config.web_tools
    assert web.serpapi_api_key == "sk" and web.brave_api_key is None
    assert web.serpapi_base_url == "http://serp.test:9" and web.serpapi_usd_per_search == 0.02
    assert web.brave_usd_per_search == 0.005
    assert "sk" not in repr(web)
    assert reply_tool_registry(config).names[:2] == ["web_search", "web_scrape"]


def test_a_bad_value_is_a_config_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="CLANKER_BRAVE_USD_PER_SEARCH"):
        web_tools_config_from_env({"CLANKER_BRAVE_USD_PER_SEARCH": "cheap"})
    with pytest.raises(ValueError, match="serpapi_usd_per_search"):
        WebToolsConfig(serpapi_usd_per_search=-1.0)
