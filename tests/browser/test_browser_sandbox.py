"""``browser_browse`` in the product: the sandbox Discord with the real discord.py-self
client, the whole tree (its `BrowserAgent` on the system Chromium), the real Anthropic SDK
against llmsim scripted as both the reply's model and the browser's inner model, and a local
site reached through the guard's test-only host. A member asks; the reply's model hands the
task to the browser; the answer posted carries the page's fact. And "clanker, stop" while the
browser waits on a page ends the task: the page's fetch hangs up, its session closes.

Real sockets and a real browser, so the real clock: waits are on conditions, bounded.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from clanker.browser.actor import BROWSER_NAME, BrowserSessions, DescribeSessions
from clanker.cli.sandbox import SandboxApp, open_sandbox_app
from clanker.llm import LlmConfig, RetryConfig
from clanker.llmsim import JsonReply, LlmSim, RecordedRequest, Text, Turn, open_llmsim
from clanker.tools.config import WebToolsConfig
from clanker.tools.fetch import GuardedFetcher
from clanker.toolsims import Page, Site, open_site
from tests.guilds.test_conversation import (
    FAST,
    TIMEOUT,
    actions,
    configure,
    provider,
    wait_for_actions,
)

from .test_browser_agent import ANSWER, FORM, HOME, by_ref, call

BROWSER_ON = {**FAST, "tools": {"browser_enabled": True}}


@dataclass
class Rig:
    app: SandboxApp
    sim: LlmSim
    site: Site

    @property
    def base(self) -> str:
        return f"http://otters.test:{self.site.port}"


@asynccontextmanager
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_llmsim() as sim, open_site() as site:
        fetcher = GuardedFetcher(testing_only_hosts={"otters.test": "127.0.0.1"})
        llm = LlmConfig(providers=(provider(sim, "anthropic"),), retry=RetryConfig(max_attempts=1))
        async with open_sandbox_app(
            tmp_path / "c.db", llm=llm, web_tools=WebToolsConfig(), web_fetcher=fetcher
        ) as app:
            await configure(app.runtime, BROWSER_ON)
            yield Rig(app, sim, site)


def answer_with_the_raft(request: RecordedRequest) -> Turn:
    """The reply's model answers with what the browser reported (nothing hard-coded)."""
    found = re.search(r"(\d+) of them", request.tool_results[-1])
    number = found.group(1) if found else "no number"
    return JsonReply({"text": f"{number} otters in one raft.", "skip": False, "reaction": None})


def images_after_results(request: RecordedRequest) -> list[dict[str, Any]]:
    last = request.body["messages"][-1]["content"]
    return [block for block in last if block.get("type") == "image"]


async def test_a_member_asks_and_the_browser_agent_finds_it_on_the_site(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.site.pages["/"] = Page(HOME)
        r.site.pages["/form"] = Page(FORM)
        r.site.pages["/answer"] = Page(ANSWER)
        task = {"task": "How many otters hold hands in one raft?", "url": r.base + "/"}
        r.sim.script(
            call("browser_browse", **task),  # the reply's model
            call("browser_open", url=r.base + "/"),  # the browser's inner model from here
            by_ref(r'link "Find the answer form"', lambda n: call("browser_click", ref=n)),
            by_ref(
                r'textbox "Animal" name=q',
                lambda n: call("browser_type", ref=n, text="otter", submit=True),
            ),
            lambda request: Text(request.tool_results[-1].split("Text:\n", 1)[1].split("\n")[0]),
            answer_with_the_raft,  # the reply's model again
        )
        sb, rt = r.app.sandbox, r.app.runtime
        alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
        sb.post_message(alice, general, "clanker, browse the otter desk: how big is a raft?")
        with trio.fail_after(TIMEOUT):
            reply = await sb.next_bot_message(general)
        rows = await actions(rt, "tool_browser_browse")
        calls = await actions(rt, "llm_call")

    assert reply.content == "42 otters in one raft."
    first, *inner, last = r.sim.requests
    assert len(inner) == 4
    assert "browser_browse" in {t["name"] for t in first.body["tools"]}
    assert {t["name"] for t in inner[0].body["tools"]} >= {"browser_open", "browser_click"}
    assert inner[0].user_text.startswith("TASK: How many otters hold hands in one raft?")
    result = last.tool_results[-1]
    assert result.startswith("Sea otters hold hands while sleeping: 42 of them in one raft.")
    assert f"The browser was at {r.base}/answer?q=otter." in result
    # The final page's screenshot follows the result, as an image the model sees.
    (shot,) = images_after_results(last)
    assert shot["source"]["media_type"] == "image/jpeg"
    assert [q.target for q in r.site.requests] == ["/", "/form", "/answer?q=otter"]
    (row,) = rows
    meta = json.loads(row.metadata)
    assert meta["arguments"] == task and meta["is_error"] is False and meta["images"] == 1
    assert row.channel_id == general.id and row.user_id == alice.id
    purposes = [json.loads(c.metadata)["purpose"] for c in calls]
    assert purposes == ["reply"] + ["browser_agent"] * 4 + ["reply"]


async def test_stop_while_the_browser_waits_ends_the_task_and_closes_its_page(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        asked = trio.Event()

        def slow(path: str) -> Page | None:
            asked.set()
            return Page(b"<p>the first words", stall=True) if path == "/slow" else None

        r.site.fallback = slow
        r.sim.script(
            call("browser_browse", task="Read the slow page.", url=r.base + "/slow"),
            call("browser_open", url=r.base + "/slow"),
            Text("Okay, I stopped the browser."),
        )
        sb, rt = r.app.sandbox, r.app.runtime
        alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
        sb.post_message(alice, general, "clanker, browse the slow page for me")
        with trio.fail_after(TIMEOUT):
            await asked.wait()
        stop = sb.post_message(alice, general, "clanker, stop")
        with trio.fail_after(TIMEOUT):
            ack = await sb.next_bot_message(general)
        sessions = await rt.lookup(BROWSER_NAME).ask(
            DescribeSessions(settled=True), BrowserSessions, timeout=TIMEOUT
        )
        rows = await wait_for_actions(rt, "tool_browser_browse", lambda rows: len(rows) == 1)

    assert ack.content == "Okay, I stopped the browser." and ack.reference_id == stop.id
    assert r.site.hung_up == ["/slow"]  # the page's fetch was cancelled
    assert sessions == BrowserSessions(channels=(), busy=(), chromium_running=False)
    (row,) = rows
    assert json.loads(row.metadata)["cancelled"] is True
    assert len(sb.bot_messages()) == 1  # only the acknowledgement
