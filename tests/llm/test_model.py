"""The neutral model: validation that names the problem, JSON normalisation, wire safety."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clanker.llm import (
    CallContext,
    Complete,
    ImagePart,
    LlmCompleted,
    LlmMessage,
    LlmRequest,
    LlmResponse,
    OutputSchema,
    SystemPart,
    TextPart,
    ToolCall,
    ToolResultPart,
    ToolSpec,
    ToolUsePart,
    Usage,
    assistant,
    user,
)
from clanker.llm.model import parse_json_leniently, tool_call
from clanker.runtime import wire_roundtrip


def request(**fields: object) -> LlmRequest:
    return LlmRequest(messages=(user("hi"),), **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: LlmRequest(messages=()), "messages is empty"),
        (lambda: LlmRequest(messages=(assistant("x"),)), "must start with a user message"),
        (lambda: request(max_tokens=0), "max_tokens must be >= 1"),
        (lambda: request(temperature=2.5), "temperature must be in 0..2"),
        (lambda: request(timeout=0.0), "timeout must be > 0"),
        (lambda: request(tool_choice="required"), "needs at least one tool"),
        (
            lambda: request(tools=(ToolSpec(name="a", description=""),) * 2),
            "duplicate names: a",
        ),
        (
            lambda: request(system=tuple(SystemPart(str(i), cache=True) for i in range(5))),
            "5 cache marks",
        ),
        (lambda: LlmMessage("user", ()), "has no parts"),
        (lambda: LlmMessage("user", (ToolUsePart("1", "f", {}),)), "cannot hold a ToolUsePart"),
        (lambda: assistant(ImagePart("https://x/y.png")), "cannot hold a ImagePart"),
        (lambda: assistant(ToolResultPart("1", "r")), "cannot hold a ToolResultPart"),
        (lambda: ImagePart("ftp://x"), "http(s) URL or a data:image"),
        (lambda: ToolSpec(name="has space", description=""), "1-64 letters"),
        (
            lambda: ToolSpec(name="t", description="", parameters={"type": "string"}),
            '"type": "object"',
        ),
        (lambda: ToolSpec(name="t", description="", parameters={"x": object()}), "JSON values"),
        (lambda: OutputSchema(schema=[]), "must be a JSON object"),  # type: ignore[arg-type]
    ],
)
def test_bad_input_is_refused_with_a_message_naming_the_problem(build, expected: str) -> None:
    with pytest.raises(ValueError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        build()


def test_json_payloads_are_normalised_so_they_survive_the_wire() -> None:
    spec = ToolSpec(
        name="t",
        description="d",
        parameters={"type": "object", "properties": {"xs": {"enum": ("a", "b")}}},
    )
    assert spec.parameters["properties"]["xs"]["enum"] == ["a", "b"]
    part = ToolUsePart("1", "t", {"k": (1, 2)})
    assert part.arguments == {"k": [1, 2]}


def test_a_full_request_and_response_cross_the_wire_unchanged() -> None:
    req = LlmRequest(
        system=(SystemPart("stable", cache=True), SystemPart("dynamic")),
        messages=(
            user("look", ImagePart("data:image/png;base64,AAAA"), TextPart("cached", cache=True)),
            assistant("calling", ToolUsePart("c1", "lookup", {"q": "cats", "n": 2.5})),
            user(ToolResultPart("c1", "found", is_error=False, cache=True)),
        ),
        tools=(ToolSpec(name="lookup", description="d"),),
        output_schema=OutputSchema(schema={"type": "object"}),
        temperature=0.3,
        timeout=12.0,
        providers=("a", "b"),
        context=CallContext(purpose="reply", guild_id=1, channel_id=2, message_id=3, user_id=4),
    )
    assert wire_roundtrip(Complete(request=req)).request == req
    resp = LlmResponse(
        text="t",
        tool_calls=(tool_call("c", "f", '{"a": [1, {"b": null}]}'),),
        stop_reason="tool_use",
        raw_stop_reason="tool_use",
        usage=Usage(input_tokens=1, output_tokens=2, cache_read_tokens=3, cache_write_tokens=4),
        usd_cost=0.5,
        provider="p",
        model="m",
        latency=1.25,
        attempts=2,
        first_delta_after=0.5,
    )
    assert wire_roundtrip(LlmCompleted(response=resp)).response == resp


def test_tool_call_arguments_are_parsed_leniently_and_the_raw_text_is_kept() -> None:
    ok = tool_call("1", "f", '{"a": 1}')
    assert ok.arguments == {"a": 1} and ok.arguments_error is None
    empty = tool_call("1", "f", "  ")
    assert empty.arguments == {} and empty.arguments_error is None
    broken = tool_call("1", "f", '{"a": ')
    assert broken.arguments == {} and broken.raw_arguments == '{"a": '
    assert broken.arguments_error is not None and "not valid JSON" in broken.arguments_error
    not_object = tool_call("1", "f", "[1]")
    assert not_object.arguments_error == "expected a JSON object, got list"
    assert isinstance(ok.as_part(), ToolUsePart) and ok.as_part().arguments == {"a": 1}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a": 1}', {"a": 1}),
        ('```json\n{"a": 2}\n```', {"a": 2}),
        ('Sure! Here it is: {"a": 3} hope that helps', {"a": 3}),
        ("[1, 2]", [1, 2]),
    ],
)
def test_structured_output_is_parsed_leniently(text: str, value: object) -> None:
    assert parse_json_leniently(text) == value


def test_unparseable_output_names_the_problem() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        parse_json_leniently("no json here")


@given(st.integers(0, 10**7), st.integers(0, 10**7), st.integers(0, 10**7), st.integers(0, 10**7))
def test_usage_adds_field_by_field_and_prompt_tokens_sum_the_input_kinds(
    i: int, o: int, r: int, w: int
) -> None:
    u = Usage(input_tokens=i, output_tokens=o, cache_read_tokens=r, cache_write_tokens=w)
    assert u.prompt_tokens == i + r + w
    assert (u + u).prompt_tokens == 2 * u.prompt_tokens
    assert (u + Usage()) == u


def test_message_text_joins_only_text_parts() -> None:
    m = user("a", ImagePart("https://x/i.png"), "b")
    assert m.text == "ab"
    assert msgspec.json.decode(msgspec.json.encode(m), type=LlmMessage) == m
    assert ToolCall(id="i", name="n", arguments={}, raw_arguments="{}").arguments_error is None


def test_a_response_becomes_the_next_assistant_turn() -> None:
    def response(text: str, *calls: ToolCall) -> LlmResponse:
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

    call = tool_call("c1", "f", '{"a": 1}')
    assert response("hm", call).as_message() == assistant("hm", ToolUsePart("c1", "f", {"a": 1}))
    assert response("", call).as_message() == assistant(ToolUsePart("c1", "f", {"a": 1}))
    assert response("").as_message() == assistant("")
