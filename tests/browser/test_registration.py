"""Where the browser agent is in the product: the registry, the tree, the environment."""

from __future__ import annotations

from pathlib import Path

from clanker.app import AppConfig, app_spec, browser_config, reply_tool_registry
from clanker.automations.names import AUTOMATION_TOOLS
from clanker.browser.actor import BrowserConfig
from clanker.browser.policy import BrowseLimits
from clanker.llm import LlmConfig, ProviderConfig

LLM = LlmConfig(providers=(ProviderConfig(name="a", kind="anthropic", model="m", api_key="k"),))
ENV = {"DISCORD_TOKEN": "t", "ANTHROPIC_API_KEY": "k", "CLANKER_DASHBOARD": "off"}


def app(browser: BrowserConfig | None) -> AppConfig:
    return AppConfig(db_path=Path("x.db"), discord_token="t", llm=LLM, browser=browser)


def test_the_tool_is_registered_with_its_budget_and_timeout_only_with_a_browser() -> None:
    memory = [
        "memory_search",
        "memory_write",
        "memory_forget",
        "conversation_search",
        "music",
        *AUTOMATION_TOOLS,
    ]
    assert reply_tool_registry(app(None)).names == ["web_scrape", *memory]
    limits = BrowseLimits(task_timeout=60.0)
    registry = reply_tool_registry(app(BrowserConfig("/usr/bin/chromium", limits=limits)))
    assert registry.names == ["web_scrape", "browser_browse", *memory]
    tool = registry.get("browser_browse")
    assert tool is not None
    assert (tool.per_hour, tool.call_timeout) == (10, 75.0)  # the task's 60 s + 15 s of grace
    assert tool.spec.parameters["required"] == ["task"]


def test_the_browser_agent_joins_the_tree_after_the_captioner() -> None:
    names = [c.name for c in app_spec(app(BrowserConfig("/usr/bin/chromium"))).children]
    assert names == [
        "store",
        "settings",
        "llm",
        "pacing",
        "image_captions",
        "browser",
        "memory",
        "guilds",
        "scheduler",
        "memory_reflector",
        "initiative",
        "discord",
    ]
    browser = app_spec(app(BrowserConfig("/usr/bin/chromium"))).children[5]
    assert browser.register == "browser"


def test_chromium_is_found_or_the_agent_is_left_out() -> None:
    found = AppConfig.from_env({**ENV, "CLANKER_CHROMIUM": "/usr/bin/chromium"}).browser
    assert found is not None and found.executable == "/usr/bin/chromium"
    assert found.limits == BrowseLimits()
    assert (found.idle_timeout, found.max_sessions) == (300.0, 2)
    assert browser_config({"CLANKER_CHROMIUM": "/nonexistent/chromium"}) is None
    assert (
        browser_config({"CLANKER_CHROMIUM": "/usr/bin/chromium", "CLANKER_BROWSER": "off"}) is None
    )
