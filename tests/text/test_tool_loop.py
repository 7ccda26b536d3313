"""The reply tool loop's decisions, sans-IO: budgets, refusals, hourly limits, order."""

from __future__ import annotations

import pytest

from clanker.llm.model import LlmResponse, ToolCall, ToolResultPart, Usage, user
from clanker.text.tool_loop import Answer, RunTools, ToolBudget, ToolLoop


def call(i: int, name: str = "web_search", error: str | None = None) -> ToolCall:
    return ToolCall(
        id=f"c{i}", name=name, arguments={"q": str(i)}, raw_arguments="{}", arguments_error=error
    )


def reply(*calls: ToolCall, text: str = "") -> LlmResponse:
    return LlmResponse(
        text=text,
        tool_calls=tuple(calls),
        stop_reason="tool_use" if calls else "end_turn",
        raw_stop_reason="tool_use" if calls else "end_turn",
        usage=Usage(),
        usd_cost=0.0,
        provider="sim",
        model="sim",
        latency=0.0,
        attempts=1,
    )


def results(step: RunTools) -> list[ToolResultPart]:
    return [p.refused() if not p.runs else ToolResultPart(p.call.id, "ok") for p in step.calls]


def test_calls_run_within_the_budget_then_the_model_must_answer() -> None:
    loop = ToolLoop([user("hi")], budget=ToolBudget(2, 3), hourly_left={"web_search": None})
    assert loop.tool_choice() == "auto"
    step = loop.on_response(reply(call(1), call(2)))
    assert isinstance(step, RunTools) and step.step == 1
    assert [p.runs for p in step.calls] == [True, True]
    loop.on_results(results(step))
    step = loop.on_response(reply(call(3), call(4)))
    assert isinstance(step, RunTools)
    # The fourth call is over the 3-call budget: refused with a text the model can act on.
    assert [p.runs for p in step.calls] == [True, False]
    assert "budget (3 calls) is spent" in (step.calls[1].refusal or "")
    loop.on_results(results(step))
    assert loop.tool_choice() == "none"
    # history: user, assistant(calls), user(results) x2
    assert [m.role for m in loop.messages()] == ["user", "assistant", "user", "assistant", "user"]
    final = loop.on_response(reply(call(5), text="done"))
    assert isinstance(final, Answer) and (final.steps, final.calls) == (2, 3)
    assert final.unanswered_calls == 1


def test_unknown_tools_bad_arguments_and_hourly_budgets_are_refused() -> None:
    loop = ToolLoop(
        [user("hi")], budget=ToolBudget(2, 5), hourly_left={"web_search": 1, "web_scrape": None}
    )
    step = loop.on_response(
        reply(call(1), call(2), call(3, "nope"), call(4, "web_scrape", error="not an object"))
    )
    assert isinstance(step, RunTools)
    refusals = [p.refusal for p in step.calls]
    assert refusals[0] is None
    assert refusals[1] is not None and "hourly budget" in refusals[1]
    assert refusals[2] is not None and "no tool named 'nope'" in refusals[2]
    assert refusals[3] is not None and "not a JSON object" in refusals[3]
    assert loop.calls == 1
    with pytest.raises(ValueError):
        loop.on_results(list(reversed(results(step))))
    loop.on_results(results(step))
    answer = loop.on_response(reply(text="the answer"))
    assert isinstance(answer, Answer) and answer.response.text == "the answer"


def test_no_tools_offered_is_a_plain_answer() -> None:
    loop = ToolLoop([user("hi")], budget=ToolBudget(0, 0), hourly_left={})
    assert loop.tool_choice() == "none"
    answer = loop.on_response(reply(call(1)))
    assert isinstance(answer, Answer) and answer.unanswered_calls == 1
    with pytest.raises(RuntimeError):
        loop.on_results([])
