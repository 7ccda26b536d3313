"""Replies that call tools, in the product tree on virtual time (a test Llm that asks for tool
calls, tools registered through `ChannelConfig.tools`): concurrency, the hourly budget counted
from the action log, and a stop word mid-tool — the call cancelled at that instant, the
acknowledgement written by the model, 🛑 when the model declines. Exact times asserted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import trio
import trio.testing

from clanker.guilds import GuildsConfig, SessionConfig
from clanker.guilds.channel import ChannelConfig
from clanker.llm.model import ToolCall, ToolResultPart, ToolSpec
from clanker.text.tool_registry import Tool, ToolContext, ToolOutput, ToolRegistry

from .tree import FAST, World, actions, configure, decisions, message, post, product_tree

LOOKUP = ToolSpec(
    name="slow_lookup",
    description="Looks something up, slowly",
    parameters={"type": "object", "properties": {"q": {"type": "string"}}},
)


class SlowLookup:
    """A tool that takes ``seconds`` (forever when None) and records when each call started,
    ended or was cancelled."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.started: list[float] = []
        self.ended: list[float] = []
        self.cancelled: list[float] = []

    async def __call__(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolOutput:
        self.started.append(trio.current_time())
        try:
            if self.seconds is None:
                await trio.sleep_forever()
            await trio.sleep(self.seconds)
        except trio.Cancelled:
            self.cancelled.append(trio.current_time())
            raise
        self.ended.append(trio.current_time())
        return ToolOutput(f"found {arguments.get('q')}", usd_cost=0.25)


def calls(*queries: str) -> tuple[ToolCall, ...]:
    return tuple(
        ToolCall(id=f"call-{q}", name="slow_lookup", arguments={"q": q}, raw_arguments="{}")
        for q in queries
    )


def config_with(tool: SlowLookup, per_hour: int | None = None) -> GuildsConfig:
    registry = ToolRegistry([Tool(spec=LOOKUP, run=tool, per_hour=per_hour)])
    return GuildsConfig(session=SessionConfig(channel=ChannelConfig(tools=registry)))


def results_in(world: World, n: int) -> list[ToolResultPart]:
    """The tool results the n-th model request carried."""
    return [
        part
        for m in world.requests[n - 1].messages
        for part in m.parts
        if isinstance(part, ToolResultPart)
    ]


async def test_a_steps_calls_run_concurrently_and_cost_is_logged(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    tool = SlowLookup(2.0)
    world = World(tool_calls=lambda n: calls("otters", "herons") if n == 1 else ())
    async with product_tree(tmp_path, world, config_with(tool)) as (rt, w):
        await configure(rt, FAST)
        t0 = trio.current_time()
        await post(rt, message(10, "clanker, look up otters and herons"))
        await trio.sleep(10)
        # The job starts at +1.25; both calls run at once and end 2 s later, together.
        assert [t - t0 for t in tool.started] == [1.25, 1.25]
        assert [t - t0 for t in tool.ended] == [3.25, 3.25]
        assert [t - t0 for t in w.llm_times] == [1.25, 3.25]
        assert [(r.tool_use_id, r.content) for r in results_in(w, 2)] == [
            ("call-otters", "found otters"),
            ("call-herons", "found herons"),
        ]
        assert w.requests[0].tools == (LOOKUP,) and w.requests[0].tool_choice == "auto"
        assert w.texts(10) == ["answer 2"]
        rows = await actions(rt, "tool_slow_lookup")
        assert [r.usd_cost for r in rows] == [0.25, 0.25]
        assert [json.loads(r.metadata)["seconds"] for r in rows] == [2.0, 2.0]


async def test_the_hourly_budget_is_counted_from_the_action_log(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    tool = SlowLookup(0.5)
    # Every reply's first call asks for one lookup; the budget is one an hour.
    world = World(tool_calls=lambda n: calls(f"q{n}") if n % 2 == 1 else ())
    async with product_tree(tmp_path, world, config_with(tool, per_hour=1)) as (rt, w):
        await configure(rt, FAST)
        await post(rt, message(10, "clanker, look up one thing"))
        await trio.sleep(10)
        await post(rt, message(11, "clanker, and another"))
        await trio.sleep(10)
        assert len(tool.started) == 1  # the second reply's call was not run
        [refused] = results_in(w, 4)
        assert refused.is_error and "hourly budget is spent" in refused.content
        assert len(await actions(rt, "tool_slow_lookup")) == 1
        assert len(await actions(rt, "tool_refused")) == 1
        # The setting overrides the tool's own budget by name: 2 an hour lets a third run.
        await configure(rt, {"tools": {"hourly_limits": ["slow_lookup=2"]}})
        await post(rt, message(12, "clanker, one more"))
        await trio.sleep(10)
        assert len(tool.started) == 2


async def test_stop_mid_tool_cancels_the_call_at_once_and_the_model_acknowledges(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    tool = SlowLookup(None)
    world = World(
        tool_calls=lambda n: calls("everything") if n == 1 else (),
        answer=lambda n: "Stopped looking." if n == 2 else json.dumps({"text": f"answer {n}"}),
    )
    async with product_tree(tmp_path, world, config_with(tool)) as (rt, w):
        await configure(rt, FAST)
        t0 = trio.current_time()
        await post(rt, message(10, "clanker, look up everything"))
        await trio.sleep(5)
        stop = await post(rt, message(10, "stop"))
        await trio.sleep(5)
        assert [t - t0 for t in tool.started] == [1.25]
        assert [t - t0 for t in tool.cancelled] == [5.0]  # the instant the stop arrived
        assert tool.ended == []
        [ack] = w.sent
        assert (ack.at - t0, ack.content, ack.reply_to) == (5.0, "Stopped looking.", stop)
        assert w.reactions == []
        ack_prompt = w.requests[1]
        assert ack_prompt.tools == () and ack_prompt.context.purpose == "stop_ack"
        [row] = await actions(rt, "tool_slow_lookup")
        meta = json.loads(row.metadata)
        assert (meta["cancelled"], meta["seconds"]) == (True, 3.75)
        [acked] = await actions(rt, "stop_acknowledged")
        assert json.loads(acked.metadata)["by"] == "model" and acked.content == "Stopped looking."
        assert "cancelled: stop_requested" in await decisions(rt)


async def test_when_the_model_writes_no_acknowledgement_a_reaction_is_the_fallback(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    tool = SlowLookup(None)
    world = World(
        tool_calls=lambda n: calls("everything") if n == 1 else (),
        answer=lambda n: "[SKIP]",
    )
    async with product_tree(tmp_path, world, config_with(tool)) as (rt, w):
        await configure(rt, FAST)
        t0 = trio.current_time()
        await post(rt, message(10, "clanker, look up everything"))
        await trio.sleep(5)
        stop = await post(rt, message(10, "never mind"))
        await trio.sleep(5)
        assert [t - t0 for t in tool.cancelled] == [5.0]
        assert w.sent == []
        assert [(at - t0, m, e) for at, m, e in w.reactions] == [(5.0, stop, "🛑")]
        [acked] = await actions(rt, "stop_acknowledged")
        assert json.loads(acked.metadata)["by"] == "reaction" and acked.content == "🛑"
