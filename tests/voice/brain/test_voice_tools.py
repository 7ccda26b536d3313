"""Voice answers may call web_search through the reply registry, on virtual time: the answer
streams with the tool declared, the words before the call are spoken while it runs, one round
of calls runs, and the answer streams again with the results (tool_choice none). Exact times.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

import pytest
import trio
import trio.testing

from clanker.llm import LlmRequest
from clanker.llm.model import ProviderOutput, TextDelta, ToolCall, ToolResultPart, Usage
from clanker.llm.providers import Emit
from clanker.runtime import open_runtime
from clanker.settings.model import Tools
from clanker.text.tool_registry import Tool, ToolContext, ToolOutput, ToolRegistry
from clanker.tools.web_scrape import WEB_SCRAPE_SPEC
from clanker.tools.web_search import WEB_SEARCH_SPEC
from clanker.voice.brain.actor import GetVoiceBrainStatus, VoiceBrainStatus
from clanker.voice.brain.tool_step import voice_tool_registry

from .room import ALICE, Playout, RoomProvider, StubModels, connect, member_says, room_spec


def near(x: float) -> object:
    return pytest.approx(x, abs=1e-6)


class ToolProvider(RoomProvider):
    """The first request calls web_search after "Let me check."; the next answers from the
    tool result it was sent."""

    def __init__(self) -> None:
        super().__init__(lambda p: "", delay=0.2, gap=0.05)
        self.requests: list[LlmRequest] = []

    async def _play(self, request: LlmRequest, emit: Emit | None) -> ProviderOutput:
        self.requests.append(request)
        self.asked_at.append(trio.current_time())
        results = [
            p.content for m in request.messages for p in m.parts if isinstance(p, ToolResultPart)
        ]
        await trio.sleep(self.delay)
        if not results:
            if emit is not None:
                await emit(TextDelta("Let me check."))
            call = ToolCall(
                id="c1", name="web_search", arguments={"query": "cup"}, raw_arguments="{}"
            )
            return ProviderOutput(
                text="Let me check.", tool_calls=(call,), stop_reason="tool_use", usage=Usage()
            )
        text = f"The {results[0].split()[-1]} won."
        if emit is not None:
            await emit(TextDelta(text))
        return ProviderOutput(text=text, usage=Usage(input_tokens=10, output_tokens=5))


class Search:
    def __init__(self) -> None:
        self.calls: list[tuple[float, Mapping[str, Any]]] = []

    async def __call__(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolOutput:
        self.calls.append((trio.current_time(), dict(arguments)))
        await trio.sleep(1.0)
        return ToolOutput("the cup was won by the Otters", usd_cost=0.005)


def registry(search: Search) -> ToolRegistry:
    async def scrape(arguments: Mapping[str, Any], context: ToolContext) -> ToolOutput:
        raise AssertionError("voice never offers web_scrape")

    return ToolRegistry(
        [Tool(WEB_SEARCH_SPEC, search, per_hour=20), Tool(WEB_SCRAPE_SPEC, scrape, per_hour=60)]
    )


async def test_a_voice_answer_searches_the_web_and_says_what_it_found(
    autojump_clock: trio.testing.MockClock,
) -> None:
    models = StubModels(transcripts=deque(["clanker, who won the cup"]))
    provider = ToolProvider()
    playout = Playout()
    search = Search()
    tools = voice_tool_registry(registry(search), Tools())
    assert tools is not None and tools.names == ["web_search"]
    async with open_runtime(room_spec(models, provider, playout, tools=tools)) as rt:
        await connect(rt)
        await member_says(rt, ALICE, 1.0)
        await trio.sleep(6.0)
        st = await rt.lookup("brain").ask(GetVoiceBrainStatus(), VoiceBrainStatus)
    first, second = provider.requests
    assert [t.name for t in first.tools] == ["web_search"] and first.tool_choice == "auto"
    assert any("web_search" in part.text for part in first.system)
    asked = provider.asked_at[0]
    # "Let me check." streams at +0.2 and the stream ends: said (0.05 s synthesis) while the
    # search runs (1 s), then the answer is asked for and streams 0.2 s later.
    assert search.calls == [(near(asked + 0.2), {"query": "cup"})]
    assert provider.asked_at[1] == near(asked + 1.2)
    assert second.tool_choice == "none" and [t.name for t in second.tools] == ["web_search"]
    assert models.spoken == [
        (near(asked + 0.25), "Let me check."),
        (near(asked + 1.45), "The Otters won."),
    ]
    (turn,) = st.turns
    assert turn.outcome == "spoken"
    assert turn.reply == "Let me check. The Otters won."


def test_voice_offers_only_its_tools_and_follows_the_settings() -> None:
    reg = registry(Search())
    assert voice_tool_registry(None, Tools()) is None
    assert voice_tool_registry(reg, Tools(enabled=False)) is None
    assert voice_tool_registry(reg, Tools(disabled_tools=["web_search"])) is None
    limited = voice_tool_registry(reg, Tools(hourly_limits=["web_search=3"]))
    assert limited is not None
    tool = limited.get("web_search")
    assert tool is not None and tool.per_hour == 3
