"""``browser_browse`` end to end: the real Chromium (Debian's, under Playwright on the
trio-asyncio loop), the real `BrowserAgent` and `Llm` actors, the anthropic SDK against
llmsim scripted as the inner model, and pages on a local `Site` reached through the guard's
test-only host ``site.test``.

Each test launches Chromium (about a second), so they are few. The real clock: Chromium,
the SDK and the site use real sockets.
"""

from __future__ import annotations

import base64
import io
import os
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import trio
import trio_asyncio
from PIL import Image

from clanker.browser.actor import (
    BROWSER_NAME,
    BrowserConfig,
    BrowserSessions,
    DescribeSessions,
    browser_child,
)
from clanker.browser.policy import BrowseLimits
from clanker.browser.tool import browser_browse_tool
from clanker.llm import LlmConfig, llm_child
from clanker.llmsim import LlmSim, SimToolCall, Text, ToolUse, open_llmsim
from clanker.llmsim.script import RecordedRequest
from clanker.runtime import Runtime, SupervisorSpec, open_runtime
from clanker.text.tool_registry import ToolContext, ToolOutput
from clanker.tools.fetch import GuardedFetcher
from clanker.toolsims.site import Page, Site, open_site

from ..llm.conftest import FAST_RETRY, provider_for

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHANNEL = 7

HOME = b"""<html><head><title>Otter desk</title></head><body>
<h1>Welcome to the otter desk</h1>
<p>Ask us anything about otters.</p>
<a href="/form">Find the answer form</a>
</body></html>"""
FORM = b"""<html><head><title>Ask</title></head><body>
<form action="/answer" method="get">
<label for="q">Animal</label> <input id="q" name="q">
<button type="submit">Look up</button>
</form></body></html>"""
ANSWER = b"""<html><head><title>Answer</title></head><body>
<p id="fact">Sea otters hold hands while sleeping: 42 of them in one raft.</p>
</body></html>"""


@dataclass
class Rig:
    rt: Runtime
    sim: LlmSim
    site: Site

    @property
    def base(self) -> str:
        return f"http://site.test:{self.site.port}"

    async def browse(self, arguments: dict[str, Any], channel: int = CHANNEL) -> ToolOutput:
        tool = browser_browse_tool()
        context = ToolContext(
            guild_id=1, channel_id=channel, message_id=3, user_id=4, lookup=self.rt.lookup
        )
        return await tool.run(arguments, context)

    async def sessions(self, *, settled: bool = False) -> BrowserSessions:
        return await self.rt.lookup(BROWSER_NAME).ask(
            DescribeSessions(settled=settled), BrowserSessions, timeout=30
        )


@asynccontextmanager
async def rig(
    limits: BrowseLimits | None = None, max_sessions: int = 2, executable: str = CHROMIUM
) -> AsyncIterator[Rig]:
    assert os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing: scripts/bootstrap installs it"
    async with trio_asyncio.open_loop(), open_llmsim() as sim, open_site() as site:
        fetcher = GuardedFetcher(testing_only_hosts={"site.test": "127.0.0.1"})
        config = LlmConfig(providers=(provider_for(sim, "anthropic"),), retry=FAST_RETRY)
        browser = BrowserConfig(
            executable=executable,
            fetcher=fetcher,
            limits=limits or BrowseLimits(),
            max_sessions=max_sessions,
        )
        spec = SupervisorSpec(children=[llm_child(config, store=None), browser_child(browser)])
        async with open_runtime(spec, wire_check=True) as rt:
            yield Rig(rt, sim, site)


def tool_results(request: RecordedRequest) -> list[str]:
    """The texts of the tool results in the request's last (user) message (Anthropic shape)."""
    out = []
    for block in request.body["messages"][-1]["content"]:
        if block.get("type") != "tool_result":
            continue
        content = block.get("content")
        if isinstance(content, str):
            out.append(content)
        else:
            out.append("".join(part.get("text", "") for part in content or ()))
    return out


def images_in(request: RecordedRequest) -> list[bytes]:
    found = []
    for block in request.body["messages"][-1]["content"]:
        if block.get("type") == "image":
            found.append(base64.b64decode(block["source"]["data"]))
    return found


def call(name: str, **arguments: Any) -> ToolUse:
    return ToolUse((SimToolCall(name, arguments),))


def by_ref(pattern: str, step: Callable[[int], ToolUse]) -> Callable[[RecordedRequest], ToolUse]:
    """A turn that reads an element's number off the latest snapshot, as a model would."""

    def turn(request: RecordedRequest) -> ToolUse:
        (snapshot,) = tool_results(request)
        match = re.search(r"\[(\d+)\] " + pattern, snapshot)
        assert match, f"no element matching {pattern!r} in:\n{snapshot}"
        return step(int(match[1]))

    return turn


async def test_a_task_opens_clicks_types_and_extracts_the_answer() -> None:
    async with rig() as r:
        r.site.pages["/"] = Page(HOME)
        r.site.pages["/form"] = Page(FORM)
        r.site.pages["/answer"] = Page(ANSWER)
        r.sim.script(
            call("browser_open", url=r.base + "/"),
            by_ref(r'link "Find the answer form"', lambda n: call("browser_click", ref=n)),
            by_ref(
                r'textbox "Animal" name=q',
                lambda n: call("browser_type", ref=n, text="otter", submit=True),
            ),
            call("browser_extract"),
            call("browser_screenshot"),
            Text("Sea otters hold hands while sleeping; 42 of them in one raft."),
        )
        output = await r.browse({"task": "How many otters hold hands in one raft?"})
        sessions = await r.sessions()
        # A follow-up task in the channel goes on from the page the last one left...
        r.sim.script(call("browser_snapshot"), Text("Still on the answer."))
        follow_up = await r.browse({"task": "Where are you?"})
        # ... unless it asks for a fresh page.
        r.sim.script(call("browser_snapshot"), Text("A blank page."))
        fresh = await r.browse({"task": "Where are you?", "new_session": True})

    assert not output.is_error, output.content
    assert output.content.startswith("Sea otters hold hands while sleeping; 42")
    assert f"The browser was at {r.base}/answer?q=otter." in output.content
    assert "[browser: 5 steps." in output.content
    # The site saw the three pages, in order, through the guard (Host: site.test).
    targets = [(q.target, q.headers.get("host")) for q in r.site.requests]
    host = f"site.test:{r.site.port}"
    assert targets == [("/", host), ("/form", host), ("/answer?q=otter", host)]
    assert len(r.sim.requests) == 6 + 2 + 2  # the task, then the two follow-ups
    requests = r.sim.requests[:6]
    opened = tool_results(requests[1])[0]
    assert opened.startswith(f"Title: Otter desk\nURL: {r.base}/\n")
    assert "Welcome to the otter desk" in opened
    assert tool_results(requests[2])[0].startswith(f"Title: Ask\nURL: {r.base}/form\n")
    typed = tool_results(requests[3])[0]
    assert typed.startswith(f"Title: Answer\nURL: {r.base}/answer?q=otter\n")
    assert tool_results(requests[4]) == [
        "Sea otters hold hands while sleeping: 42 of them in one raft."
    ]
    # The screenshot step's picture went to the inner model as an image.
    assert tool_results(requests[5])[0].startswith("Screenshot of")
    (shot,) = images_in(requests[5])
    assert Image.open(io.BytesIO(shot)).size == (1280, 800)
    # The inner model was offered the browser steps, and its calls were logged by purpose.
    names = {t["name"] for t in requests[0].body["tools"]}
    assert names == {
        "browser_open",
        "browser_snapshot",
        "browser_click",
        "browser_type",
        "browser_scroll",
        "browser_extract",
        "browser_screenshot",
    }
    # The outer model gets the final page's screenshot; the session stays for the channel.
    (final,) = output.images
    assert final.url.startswith("data:image/jpeg;base64,")
    assert sessions == BrowserSessions(channels=(CHANNEL,), busy=(), chromium_running=True)
    again = tool_results(r.sim.requests[7])[0]
    assert again.startswith(f"Title: Answer\nURL: {r.base}/answer?q=otter\n")
    assert follow_up.content.startswith("Still on the answer.")
    assert len(r.site.requests) == 3  # the follow-up read the page it had, fetched nothing
    assert tool_results(r.sim.requests[9])[0].startswith("Title: (none)\nURL: about:blank\n")
    assert fresh.content == "A blank page.\n\n[browser: 1 step.]"


async def test_loopback_and_a_redirect_to_it_are_refused() -> None:
    async with rig() as r:
        r.site.pages["/go"] = Page(
            status=302, headers=(("location", f"http://127.0.0.1:{r.site.port}/secret"),)
        )
        r.site.pages["/secret"] = Page(b"<p>the secret</p>")
        pixel = f"http://127.0.0.1:{r.site.port}/pixel.png"
        r.site.pages["/pic"] = Page(
            f'<title>Pic</title><p>A picture:</p><img src="{pixel}" alt="x">'.encode()
        )
        r.sim.script(
            call("browser_open", url=f"http://127.0.0.1:{r.site.port}/secret"),
            call("browser_open", url=r.base + "/go"),
            call("browser_open", url=r.base + "/pic"),
            Text("Both were refused."),
        )
        output = await r.browse({"task": "Read the secret page."})

    direct = tool_results(r.sim.requests[1])[0]
    redirected = tool_results(r.sim.requests[2])[0]
    pic = tool_results(r.sim.requests[3])[0]
    port = r.site.port
    assert direct == (
        f"Refused by the guard: http://127.0.0.1:{port}/secret: refused: 127.0.0.1 is "
        "loopback (127.0.0.0/8)"
    )
    assert redirected == (
        f"Refused by the guard: http://site.test:{port}/go: redirect refused: refused: "
        "127.0.0.1 is loopback (127.0.0.0/8)"
    )
    # A page's own sub-request to loopback is refused too, and the snapshot says so.
    assert pic.startswith(f"Title: Pic\nURL: {r.base}/pic\n")
    assert pic.endswith(
        f"Refused requests:\n- {pixel}: refused: 127.0.0.1 is loopback (127.0.0.0/8)"
    )
    # The site was asked for /go and /pic only: never for the secret or the pixel.
    assert [q.target for q in r.site.requests] == ["/go", "/pic"]
    assert output.content.startswith("Both were refused.")


async def test_a_task_past_its_step_budget_ends_with_a_clear_error() -> None:
    async with rig(BrowseLimits(max_steps=2)) as r:
        r.site.pages["/"] = Page(HOME)
        r.sim.script(
            call("browser_open", url=r.base + "/"),
            call("browser_scroll", direction="down"),
            call("browser_snapshot"),
        )
        output = await r.browse({"task": "Keep looking."})
        scrolled = tool_results(r.sim.requests[2])[0]

    assert output.is_error
    assert output.content == (
        "browser_browse stopped: the task used all 2 browser steps without finishing. "
        f"The browser was at {r.base}/. Give it a smaller task, or answer with what you have."
    )
    assert len(r.sim.requests) == 3
    assert scrolled.startswith(f"Title: Otter desk\nURL: {r.base}/\n")  # a scroll's snapshot


async def test_cancelling_mid_task_stops_the_page_and_closes_the_session() -> None:
    async with rig(max_sessions=1) as r:
        asked = trio.Event()

        def slow(path: str) -> Page | None:
            asked.set()
            return Page(b"<p>begin", stall=True) if path == "/slow" else None

        r.site.fallback = slow
        r.sim.script(call("browser_open", url=r.base + "/slow"))
        outputs: list[ToolOutput] = []
        async with trio.open_nursery() as nursery:
            scope = trio.CancelScope()

            async def browse() -> None:
                with scope:
                    outputs.append(await r.browse({"task": "Read the slow page."}))

            nursery.start_soon(browse)
            with trio.fail_after(30):
                await asked.wait()
            busy = await r.sessions()
            # The one session is busy: another channel's task is refused, not queued.
            other = await r.browse({"task": "Anything."}, channel=CHANNEL + 1)
            scope.cancel()  # what a stop word does to the reply's tool call
        after = await r.sessions(settled=True)  # the page and Chromium close in the background

    assert busy == BrowserSessions(channels=(CHANNEL,), busy=(CHANNEL,), chromium_running=True)
    assert other.is_error and other.content == (
        "browser_browse refused: the browser is busy with 1 task in other channels (at most "
        "1 at once); try later."
    )
    assert outputs == []  # cancelled, no answer
    assert r.site.hung_up == ["/slow"]  # the page's fetch hung up on the site
    assert after == BrowserSessions(channels=(), busy=(), chromium_running=False)
    assert len(r.sim.requests) == 1


async def test_a_browser_that_cannot_start_is_a_clear_error_and_no_session() -> None:
    async with rig(executable="/nonexistent/chromium") as r:
        output = await r.browse({"task": "Anything."})
        sessions = await r.sessions(settled=True)

    assert output.is_error
    assert output.content.startswith("browser_browse failed: the browser could not start (")
    assert "/nonexistent/chromium" in output.content
    assert "install" not in output.content and "\n" not in output.content
    assert sessions == BrowserSessions(channels=(), busy=(), chromium_running=False)
    assert r.sim.requests == []  # the inner model was never asked
