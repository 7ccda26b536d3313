"""The browser agent's sans-IO core: steps, budgets, the inner loop and the snapshot text."""

from __future__ import annotations

from typing import Any

import pytest

from clanker.browser.policy import (
    STEP_NAMES,
    BrowseLimits,
    BrowseLoop,
    Click,
    Extract,
    Finished,
    Open,
    RunSteps,
    Screenshot,
    Scroll,
    Snapshot,
    Type,
    parse_step,
)
from clanker.browser.snapshot import format_snapshot, ref_selector
from clanker.browser.tool import _task
from clanker.llm.model import ImagePart, LlmResponse, ToolCall, ToolResultPart, Usage
from clanker.settings.model import Tools


def call(name: str, call_id: str = "c1", **arguments: Any) -> ToolCall:
    return ToolCall(id=call_id, name=name, arguments=arguments, raw_arguments="{}")


def response(*calls: ToolCall, text: str = "") -> LlmResponse:
    return LlmResponse(
        text=text,
        tool_calls=calls,
        stop_reason="tool_use" if calls else "end_turn",
        raw_stop_reason="",
        usage=Usage(),
        usd_cost=0.0,
        provider="p",
        model="m",
        latency=0.0,
        attempts=1,
    )


@pytest.mark.parametrize(
    ("tool_call", "step"),
    [
        (call("browser_open", url=" https://example.com/a "), Open("https://example.com/a")),
        (call("browser_snapshot"), Snapshot()),
        (call("browser_click", ref=3), Click(3)),
        (call("browser_type", ref=2, text="otter"), Type(2, "otter", False)),
        (call("browser_type", ref=2, text="otter", submit=True), Type(2, "otter", True)),
        (call("browser_scroll"), Scroll("down")),
        (call("browser_scroll", direction="up"), Scroll("up")),
        (call("browser_extract"), Extract(None)),
        (call("browser_extract", ref=4), Extract(4)),
        (call("browser_screenshot"), Screenshot()),
    ],
)
def test_each_step_parses(tool_call: ToolCall, step: object) -> None:
    assert parse_step(tool_call) == step


@pytest.mark.parametrize(
    ("tool_call", "problem"),
    [
        (call("browser_open"), "'url' is missing: give the absolute http(s) URL to open."),
        (call("browser_open", url="file:///etc/passwd"), "Only http(s) URLs can be opened"),
        (call("browser_click"), "'ref' is missing: give the element's number"),
        (call("browser_click", ref="3"), "'ref' must be an element number"),
        (call("browser_click", ref=0), "'ref' must be an element number"),
        (call("browser_click", ref=True), "'ref' must be an element number"),
        (call("browser_type", ref=1), "'text' is missing"),
        (
            call("browser_type", ref=1, text="x" * 2001),
            "'text' is 2001 characters; at most 2000 can be typed.",
        ),
        (call("browser_type", ref=1, text="x", submit="yes"), "'submit' must be true or false"),
        (call("browser_scroll", direction="left"), "'direction' must be 'down' or 'up'"),
        (call("browser_fly"), "There is no browser step named 'browser_fly'"),
    ],
)
def test_bad_steps_get_a_sentence_naming_the_problem(tool_call: ToolCall, problem: str) -> None:
    result = parse_step(tool_call)
    assert isinstance(result, str) and result.startswith(problem), result


def test_the_loop_runs_steps_then_finishes_with_the_answer() -> None:
    loop = BrowseLoop(
        "find otters", limits=BrowseLimits(), started_at=100.0, start_url="https://a.example/"
    )
    assert loop.messages()[0].parts[0].text == "TASK: find otters\nSTART AT: https://a.example/"  # type: ignore[union-attr]
    first = loop.on_response(
        response(call("browser_open", "c1", url="https://a.example/"), call("browser_click", "c2")),
        101.0,
    )
    assert isinstance(first, RunSteps)
    assert first.steps == (Open("https://a.example/"), None)  # the bad click is refused
    assert (
        first.calls[1].refusal == "'ref' is missing: give the element's number from the snapshot."
    )
    shot = ImagePart("data:image/jpeg;base64,AAAA")
    loop.on_results([ToolResultPart("c1", "Title: A"), first.calls[1].refused()], [shot])
    assert loop.messages()[-1].parts[-1] == shot
    assert loop.steps == 2
    done = loop.on_response(response(text="There are otters."), 102.0)
    assert done == Finished("answered", "There are otters.", 2)
    assert done.result_text(loop.limits, "https://a.example/") == (
        "There are otters.\n\n[browser: 2 steps. The browser was at https://a.example/.]"
    )


def test_past_the_step_budget_the_task_stops_with_a_clear_error() -> None:
    limits = BrowseLimits(max_steps=2)
    loop = BrowseLoop("t", limits=limits, started_at=0.0)
    step = loop.on_response(
        response(
            call("browser_snapshot", "a"),
            call("browser_snapshot", "b"),
            call("browser_snapshot", "c"),
        ),
        1.0,
    )
    assert isinstance(step, RunSteps)
    # Two run, the third is over the budget.
    assert [p.runs for p in step.calls] == [True, True, False]
    loop.on_results(
        [ToolResultPart(p.call.id, "ok") if p.runs else p.refused() for p in step.calls]
    )
    assert loop.tool_choice() == "auto"  # the model may still answer
    done = loop.on_response(response(call("browser_snapshot", "d"), text="still looking"), 2.0)
    assert done == Finished("steps", "still looking", 2)
    assert done.is_error
    assert done.result_text(limits, None) == (
        "browser_browse stopped: the task used all 2 browser steps without finishing. What it "
        "said at the end: still looking Give it a smaller task, or answer with what you have."
    )


def test_the_task_time_and_each_step_deadline() -> None:
    limits = BrowseLimits(step_timeout=30.0, task_timeout=120.0)
    loop = BrowseLoop("t", limits=limits, started_at=1000.0)
    assert loop.deadline == 1120.0
    assert loop.step_deadline(1010.0) == 1040.0
    assert loop.step_deadline(1100.0) == 1120.0  # never past the task's end
    assert loop.time_left(1119.5) == 0.5 and loop.time_left(1200.0) == 0.0
    assert loop.expired(1119.9) is None
    late = loop.on_response(response(call("browser_snapshot")), 1120.0)
    assert late == Finished("time", "", 0)
    assert late.result_text(limits, "https://a.example/x") == (
        "browser_browse stopped: the task took longer than 120 s (0 steps done). The browser "
        "was at https://a.example/x. Give it a smaller task, or answer with what you have."
    )


def test_results_must_follow_the_steps() -> None:
    loop = BrowseLoop("t", limits=BrowseLimits(), started_at=0.0)
    with pytest.raises(RuntimeError, match="no browser steps are pending"):
        loop.on_results([])
    loop.on_response(response(call("browser_snapshot")), 0.0)
    with pytest.raises(RuntimeError, match="were not handed back"):
        loop.on_response(response(), 0.0)


def test_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="max_steps must be at least 1"):
        BrowseLimits(max_steps=0)
    with pytest.raises(ValueError, match="timeouts must be positive"):
        BrowseLimits(step_timeout=0)


def test_the_specs_are_the_steps() -> None:
    assert STEP_NAMES == (
        "browser_open",
        "browser_snapshot",
        "browser_click",
        "browser_type",
        "browser_scroll",
        "browser_extract",
        "browser_screenshot",
    )


RAW = {
    "title": "Otter desk",
    "url": "http://site.test/start",
    "text": "Welcome\n\n  to the   otter desk \n" + "x" * 50,
    "elements": [
        {
            "ref": 1,
            "tag": "a",
            "type": "",
            "role": "",
            "name": "",
            "label": "Form",
            "value": None,
            "href": "/form",
        },
        {
            "ref": 2,
            "tag": "input",
            "type": "",
            "role": "",
            "name": "q",
            "label": "Animal",
            "value": "",
            "href": "",
        },
        {
            "ref": 3,
            "tag": "button",
            "type": "submit",
            "role": "",
            "name": "",
            "label": "Go",
            "value": None,
            "href": "",
        },
        {
            "ref": 4,
            "tag": "input",
            "type": "checkbox",
            "role": "",
            "name": "c",
            "label": "Wet",
            "value": "on",
            "href": "",
        },
        {
            "ref": 5,
            "tag": "div",
            "type": "",
            "role": "button",
            "name": "",
            "label": "Menu",
            "value": None,
            "href": "",
        },
    ],
    "scroll_y": 0,
    "height": 2000,
    "viewport": 800,
}


def test_the_snapshot_text_format() -> None:
    text = format_snapshot(
        RAW,
        max_chars=30,
        max_elements=4,
        url="http://site.test/final",
        refused=["http://127.0.0.1/: refused: 127.0.0.1 is loopback (127.0.0.0/8)"],
    )
    assert text == "\n".join(
        [
            "Title: Otter desk",
            "URL: http://site.test/final",
            "Scrolled: 0 of 2000 px (viewport 800)",
            "",
            "Text (first 30 characters; browser_extract shows more):",
            "Welcome\nto the otter desk\nxxxx",
            "",
            "Elements:",
            '[1] link "Form" -> /form',
            '[2] textbox "Animal" name=q value=""',
            '[3] button "Go"',
            '[4] checkbox "Wet" name=c value="on"',
            "(… 1 more elements not listed)",
            "",
            "Refused requests:",
            "- http://127.0.0.1/: refused: 127.0.0.1 is loopback (127.0.0.0/8)",
        ]
    )


def test_an_empty_page_says_so() -> None:
    text = format_snapshot(
        {"title": "", "url": "about:blank", "text": ""}, max_chars=100, max_elements=5
    )
    assert text == "Title: (none)\nURL: about:blank\n\nText:\n(no visible text)\n\nElements: none"
    assert ref_selector(7) == '[data-clanker-ref="7"]'


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({}, "'task' is missing"),
        ({"task": "  "}, "'task' is missing"),
        ({"task": "x" * 2001}, "'task' is 2001 characters; at most 2000."),
        ({"task": "t", "url": "ftp://x"}, "'url' must be an absolute http(s) URL"),
        ({"task": "t", "new_session": "yes"}, "'new_session' must be true or false"),
    ],
)
def test_the_tool_checks_its_arguments(arguments: dict[str, Any], problem: str) -> None:
    result = _task(arguments)
    assert isinstance(result, str) and result.startswith(problem), result


def test_browser_browse_is_off_unless_the_setting_turns_it_on() -> None:
    assert Tools().off() == ["browser_browse"]
    assert Tools(browser_enabled=True, disabled_tools=["web_search"]).off() == ["web_search"]
