"""The web tools in the product, end to end: the sandbox Discord with the real discord.py-self
client, the whole tree, the real Anthropic SDK against llmsim (scripted to call the tools), the
Brave/SerpAPI sim and a local site. Only the far ends are scripted: the fact in the answer
comes from the site, through web_scrape, into the model's request.

Real sockets, so the real clock: waits are on conditions, bounded by generous timeouts.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio

from clanker.automations.names import AUTOMATION_TOOLS
from clanker.cli.sandbox import SandboxApp, open_sandbox_app
from clanker.llm import LlmConfig, RetryConfig
from clanker.llmsim import (
    JsonReply,
    LlmSim,
    RecordedRequest,
    SimToolCall,
    Text,
    ToolUse,
    Turn,
    open_llmsim,
)
from clanker.tools.automation_tools import automation_tools
from clanker.tools.config import WebToolsConfig
from clanker.tools.fetch import GuardedFetcher
from clanker.tools.memory_tools import (
    CONVERSATION_SEARCH_SPEC,
    MEMORY_FORGET_SPEC,
    MEMORY_SEARCH_SPEC,
    MEMORY_WRITE_SPEC,
)
from clanker.tools.music import MUSIC_SPEC
from clanker.tools.web_scrape import WEB_SCRAPE_SPEC
from clanker.tools.web_search import WEB_SEARCH_SPEC
from clanker.toolsims import Page, SearchSim, SimHit, Site, open_search_sim, open_site
from tests.guilds.test_conversation import (
    FAST,
    TIMEOUT,
    actions,
    configure,
    provider,
    wait_for_actions,
)
from tests.llm.conftest import KEY, KINDS, provider_for

QUERY = "who won the 2031 clanker cup"
ARTICLE = (
    b"<html><head><title>Clanker Cup 2031: the final</title></head><body>"
    b"<nav>Home | Sport | Weather</nav><article><h1>Clanker Cup 2031: the final</h1>"
    b"<p>The 2031 Clanker Cup was won by the Otters, who beat the Herons three goals to one "
    b"in a final played in the rain on Saturday afternoon.</p>"
    b"<p>It was the Otters' first title in eleven years, and their captain lifted the cup in "
    b"front of a crowd of twelve thousand people who had waited since the morning.</p>"
    b"</article><footer>Copyright the Sim Gazette</footer></body></html>"
)


@dataclass
class Web:
    search: SearchSim
    site: Site
    config: WebToolsConfig
    fetcher: GuardedFetcher

    @property
    def article_url(self) -> str:
        return f"http://news.test:{self.site.port}/cup"


@asynccontextmanager
async def open_web() -> AsyncIterator[Web]:
    async with open_search_sim(brave_key="bk", serpapi_key="sk") as search, open_site() as site:
        config = WebToolsConfig(
            brave_api_key="bk",
            serpapi_api_key="sk",
            brave_base_url=f"http://search.test:{search.port}",
            serpapi_base_url=f"http://search.test:{search.port}",
        )
        fetcher = GuardedFetcher(
            config.fetch, testing_only_hosts={"search.test": "127.0.0.1", "news.test": "127.0.0.1"}
        )
        web = Web(search, site, config, fetcher)
        hit = SimHit("Clanker Cup 2031 final report", web.article_url, "Who lifted the cup")
        search.brave.results[QUERY] = [hit]
        search.serpapi.results[QUERY] = [hit]
        site.pages["/cup"] = Page(ARTICLE)
        yield web


@asynccontextmanager
async def open_app(tmp_path: Path, sim: LlmSim, web: Web) -> AsyncIterator[SandboxApp]:
    llm = LlmConfig(providers=(provider(sim, "anthropic"),), retry=RetryConfig(max_attempts=1))
    async with open_sandbox_app(
        tmp_path / "c.db", llm=llm, web_tools=web.config, web_fetcher=web.fetcher
    ) as app:
        await configure(app.runtime, FAST)
        yield app


async def poll(condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` holds (a local server's record), bounded by TIMEOUT."""
    with trio.fail_after(TIMEOUT):
        while True:
            if condition():
                return
            await trio.sleep(0.01)


def scrape_the_hit(request: RecordedRequest) -> Turn:
    """The model reads the search results it was given and opens the first URL in them."""
    [results] = request.tool_results
    url = re.search(r"https?://\S+", results)
    assert url is not None, results
    return ToolUse((SimToolCall("web_scrape", {"url": url.group(0)}),))


def answer_from_the_page(request: RecordedRequest) -> Turn:
    """The model answers with what the page it read says (nothing hard-coded)."""
    page = request.tool_results[-1]
    found = re.search(r"won by the (\w+)", page)
    winner = found.group(1) if found else "nobody I could find"
    return JsonReply({"text": f"The {winner} won it.", "skip": False, "reaction": None})


async def test_a_member_asks_what_only_the_web_knows_and_the_answer_carries_the_pages_fact(
    tmp_path: Path,
) -> None:
    async with open_web() as web, open_llmsim() as sim, open_app(tmp_path, sim, web) as app:
        sim.script(
            ToolUse((SimToolCall("web_search", {"query": QUERY}),), text="Let me look."),
            scrape_the_hit,
            answer_from_the_page,
        )
        sb, rt = app.sandbox, app.runtime
        alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
        sb.post_message(alice, general, f"clanker, {QUERY}?")
        with trio.fail_after(TIMEOUT):
            reply = await sb.next_bot_message(general)
        assert reply.content == "The Otters won it."

        first, second, third = sim.requests
        # Both tools are offered (the registry from the settings), in Anthropic's shape.
        tools = {t["name"]: t for t in first.body["tools"]}
        assert set(tools) == {
            "web_search",
            "web_scrape",
            "memory_search",
            "memory_write",
            "memory_forget",
            "conversation_search",
            "music",
            *AUTOMATION_TOOLS,
        }
        assert tools["web_search"]["input_schema"]["required"] == ["query"]
        assert first.body["tool_choice"] == {"type": "auto"}
        assert "Clanker Cup 2031 final report" in second.tool_results[0]
        assert web.article_url in second.tool_results[0]
        assert "won by the Otters" in third.tool_results[1]
        assert "Sim Gazette" not in third.tool_results[1]  # boilerplate dropped by trafilatura
        # Two rounds used (tools.max_steps): the last request must answer.
        assert third.body["tool_choice"] == {"type": "none"}
        # Brave answered, with its key; the page was fetched once, by name.
        [brave] = web.search.brave.requests
        assert brave.params["q"] == QUERY and brave.headers["x-subscription-token"] == "bk"
        assert web.search.serpapi.requests == []
        assert [r.target for r in web.site.requests] == ["/cup"]
        assert web.site.requests[0].headers["host"] == f"news.test:{web.site.port}"

        [search] = await wait_for_actions(rt, "tool_web_search", lambda r: len(r) == 1)
        [scrape] = await actions(rt, "tool_web_scrape")
        assert search.usd_cost == 0.005 and scrape.usd_cost == 0.0
        meta = json.loads(search.metadata)
        assert meta["arguments"] == {"query": QUERY} and meta["is_error"] is False
        assert meta["step"] == 1
        assert json.loads(scrape.metadata)["step"] == 2
        assert search.channel_id == general.id and search.user_id == alice.id
        assert "Otters" in scrape.content
        assert len(await actions(rt, "llm_call")) == 3


async def test_when_brave_fails_serpapi_answers_and_costs_its_own_price(tmp_path: Path) -> None:
    async with open_web() as web, open_llmsim() as sim, open_app(tmp_path, sim, web) as app:
        web.search.brave.fail(429, "RATE_LIMITED")
        sim.script(
            ToolUse((SimToolCall("web_search", {"query": QUERY}),)),
            lambda request: JsonReply(
                {"text": request.tool_results[0].splitlines()[1], "skip": False, "reaction": None}
            ),
        )
        sb, rt = app.sandbox, app.runtime
        alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
        sb.post_message(alice, general, f"clanker, {QUERY}?")
        with trio.fail_after(TIMEOUT):
            reply = await sb.next_bot_message(general)
        assert reply.content == "1. Clanker Cup 2031 final report"
        assert len(web.search.brave.requests) == 1
        [serp] = web.search.serpapi.requests
        assert serp.params["api_key"] == "sk" and serp.params["q"] == QUERY
        [search] = await wait_for_actions(rt, "tool_web_search", lambda r: len(r) == 1)
        assert search.usd_cost == 0.015
        assert json.loads(search.metadata)["is_error"] is False
        # The second request still offers the tools (the history holds a call) but may answer.
        assert sim.requests[1].body["tool_choice"] == {"type": "auto"}


async def test_stop_mid_tool_cancels_the_fetch_and_the_model_acknowledges_it(
    tmp_path: Path,
) -> None:
    async with open_web() as web, open_llmsim() as sim, open_app(tmp_path, sim, web) as app:
        web.site.pages["/slow"] = Page(b"<html><body><p>the first words", stall=True)
        slow = f"http://news.test:{web.site.port}/slow"
        sim.script(
            ToolUse((SimToolCall("web_scrape", {"url": slow}),)),
            Text("Okay, I stopped reading that page."),
        )
        sb, rt = app.sandbox, app.runtime
        alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
        sb.post_message(alice, general, f"clanker, what does {slow} say?")
        await poll(lambda: bool(web.site.requests))
        stop = sb.post_message(alice, general, "clanker, stop")
        with trio.fail_after(TIMEOUT):
            ack = await sb.next_bot_message(general)
        # The model wrote the acknowledgement, as a reply to the stop request.
        assert ack.content == "Okay, I stopped reading that page."
        assert ack.reference_id == stop.id
        ack_request = sim.requests[1]
        assert "Alice just said: “clanker, stop”" in ack_request.user_text
        assert ack_request.tool_names == []  # a plain call, no tools
        # The fetch itself was cancelled: the site saw its client hang up mid-body.
        await poll(lambda: web.site.hung_up == ["/slow"])
        [row] = await wait_for_actions(rt, "stop_acknowledged", lambda r: len(r) == 1)
        assert row.message_id == stop.id and json.loads(row.metadata)["by"] == "model"
        [scrape] = await wait_for_actions(rt, "tool_web_scrape", lambda r: len(r) == 1)
        meta = json.loads(scrape.metadata)
        assert meta["cancelled"] is True and meta["arguments"] == {"url": slow}
        decided = [r.content for r in await actions(rt, "reply_decision")]
        assert "cancelled: stop_requested" in decided
        purposes = [json.loads(r.metadata)["purpose"] for r in await actions(rt, "llm_call")]
        assert sorted(purposes) == ["reply", "stop_ack"]
        assert len(sb.bot_messages()) == 1  # only the acknowledgement


REFUSED_URL = "http://127.0.0.1:8080/admin"


def result_of(body: dict[str, Any], flavour: str, index: int) -> tuple[str, bool]:
    """The ``index``-th tool result in a request body, as (text, marked as an error), read
    in each API's own shape."""
    if flavour == "anthropic":
        blocks = [
            b
            for m in body["messages"]
            if isinstance(m["content"], list)
            for b in m["content"]
            if b.get("type") == "tool_result"
        ]
        block = blocks[index]
        content = block["content"]
        text = content if isinstance(content, str) else "".join(c["text"] for c in content)
        return text, bool(block.get("is_error"))
    if flavour == "openai":
        items = [i for i in body["input"] if i.get("type") == "function_call_output"]
        output = items[index]["output"]
        return output, output.startswith("ERROR: ")
    messages = [m for m in body["messages"] if m["role"] == "tool"]
    content = messages[index]["content"]
    return content, content.startswith("ERROR: ")


def declared_tools(body: dict[str, Any], flavour: str) -> dict[str, dict[str, Any]]:
    """Tool name → its JSON schema, as declared in each API's shape."""
    if flavour == "anthropic":
        return {t["name"]: t["input_schema"] for t in body["tools"]}
    if flavour == "openai":
        return {t["name"]: t["parameters"] for t in body["tools"]}
    return {t["function"]["name"]: t["function"]["parameters"] for t in body["tools"]}


@pytest.mark.parametrize("flavour", list(KINDS))
async def test_every_provider_carries_the_tool_specs_calls_and_results(
    tmp_path: Path, flavour: str
) -> None:
    # Round 1: a search and a refused page at once; round 2: the page found; then the answer.
    async with open_web() as web, open_llmsim(api_key=KEY) as sim:
        llm = LlmConfig(providers=(provider_for(sim, flavour),), retry=RetryConfig(max_attempts=1))
        async with open_sandbox_app(
            tmp_path / "c.db", llm=llm, web_tools=web.config, web_fetcher=web.fetcher
        ) as app:
            await configure(app.runtime, FAST)
            sim.script(
                ToolUse(
                    (
                        SimToolCall("web_search", {"query": QUERY}),
                        SimToolCall("web_scrape", {"url": REFUSED_URL}),
                    )
                ),
                lambda request: ToolUse(
                    (
                        SimToolCall(
                            "web_scrape",
                            {"url": re.findall(r"https?://\S+", request.tool_results[0])[0]},
                        ),
                    )
                ),
                answer_from_the_page,
            )
            sb = app.sandbox
            alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
            sb.post_message(alice, general, f"clanker, {QUERY}?")
            with trio.fail_after(TIMEOUT):
                reply = await sb.next_bot_message(general)
            assert reply.content == "The Otters won it."
            first, second, third = (r.body for r in sim.requests)
            schemas = declared_tools(first, flavour)
            assert schemas == {
                "web_search": WEB_SEARCH_SPEC.parameters,
                "web_scrape": WEB_SCRAPE_SPEC.parameters,
                "memory_search": MEMORY_SEARCH_SPEC.parameters,
                "memory_write": MEMORY_WRITE_SPEC.parameters,
                "memory_forget": MEMORY_FORGET_SPEC.parameters,
                "conversation_search": CONVERSATION_SEARCH_SPEC.parameters,
                "music": MUSIC_SPEC.parameters,
                # the automation tools (the tree always has the scheduler)
                **{t.name: t.spec.parameters for t in automation_tools()},
            }
            found, found_error = result_of(second, flavour, 0)
            refused, refused_error = result_of(second, flavour, 1)
            assert "Clanker Cup 2031 final report" in found and not found_error
            assert refused_error and "Only public web pages can be read" in refused
            page, page_error = result_of(third, flavour, 2)
            assert "won by the Otters" in page and not page_error
            none: Any = {"type": "none"} if flavour == "anthropic" else "none"
            assert third["tool_choice"] == none
            assert declared_tools(third, flavour) == schemas  # still declared, as required
            assert [r.target for r in web.site.requests] == ["/cup"]  # the refused one never left


async def test_with_no_search_key_the_model_is_offered_only_web_scrape(tmp_path: Path) -> None:
    async with open_llmsim() as sim:
        llm = LlmConfig(providers=(provider(sim, "anthropic"),), retry=RetryConfig(max_attempts=1))
        async with open_sandbox_app(tmp_path / "c.db", llm=llm, web_tools=WebToolsConfig()) as app:
            await configure(app.runtime, FAST)
            sim.script(JsonReply({"text": "no search here", "skip": False, "reaction": None}))
            sb = app.sandbox
            alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
            sb.post_message(alice, general, f"clanker, {QUERY}?")
            with trio.fail_after(TIMEOUT):
                reply = await sb.next_bot_message(general)
            assert reply.content == "no search here"
            assert sim.requests[0].tool_names == [
                "web_scrape",
                "memory_search",
                "memory_write",
                "memory_forget",
                "conversation_search",
                "music",
                *AUTOMATION_TOOLS,
            ]
            # Switched off live: no tools at all, and no TOOLS section in the prompt.
            await configure(app.runtime, {"tools": {"enabled": False}})
            sim.script(JsonReply({"text": "plain", "skip": False, "reaction": None}))
            sb.post_message(alice, general, "clanker, again?")
            with trio.fail_after(TIMEOUT):
                await sb.next_bot_message(general)
            assert "tools" not in sim.requests[1].body
            assert "TOOLS" not in json.dumps(sim.requests[1].body["system"])
