"""Anthropic Messages converters, without any network: request shape, response and stream."""

from __future__ import annotations

from typing import Any

from clanker.llm import (
    ImagePart,
    LlmRequest,
    OutputSchema,
    SystemPart,
    TextDelta,
    TextPart,
    ToolCallDelta,
    ToolCallDone,
    ToolResultPart,
    ToolSpec,
    ToolUsePart,
    Usage,
    assistant,
    user,
)
from clanker.llm.anthropic_wire import (
    AnthropicStream,
    error_kind,
    output_from_message,
    request_params,
    stop_reason,
)
from clanker.llm.errors import ErrorKind

EPHEMERAL = {"type": "ephemeral"}


def test_request_carries_system_cache_marks_tools_images_and_a_tool_round_trip() -> None:
    req = LlmRequest(
        system=(SystemPart("persona", cache=True), SystemPart("today is tuesday")),
        messages=(
            user("what is this?", ImagePart("https://cdn/x.png")),
            assistant("let me look", ToolUsePart("toolu_1", "lookup", {"q": "x"})),
            user(ToolResultPart("toolu_1", "a cat", cache=True), TextPart("and?")),
            assistant("ok"),
            user(ImagePart("data:image/jpeg;base64,QUJD")),
        ),
        tools=(ToolSpec(name="lookup", description="find things"),),
        max_tokens=300,
        temperature=0.7,
    )
    params = request_params(req, "claude-sonnet-4-6")
    assert params["model"] == "claude-sonnet-4-6"
    assert params["max_tokens"] == 300
    assert "temperature" not in params  # the pinned SDK has no temperature parameter
    assert params["system"] == [
        {"type": "text", "text": "persona", "cache_control": EPHEMERAL},
        {"type": "text", "text": "today is tuesday"},
    ]
    assert params["tools"] == [
        {
            "name": "lookup",
            "description": "find things",
            "input_schema": {"type": "object", "properties": {}},
        }
    ]
    assert params["tool_choice"] == {"type": "auto"}
    m = params["messages"]
    assert m[0] == {
        "role": "user",
        "content": [
            {"type": "text", "text": "what is this?"},
            {"type": "image", "source": {"type": "url", "url": "https://cdn/x.png"}},
        ],
    }
    assert m[1]["content"][1] == {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "lookup",
        "input": {"q": "x"},
    }
    assert m[2]["content"][0] == {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "content": "a cat",
        "cache_control": EPHEMERAL,
    }
    assert m[4]["content"][0]["source"] == {
        "type": "base64",
        "media_type": "image/jpeg",
        "data": "QUJD",
    }


def test_tool_choice_and_structured_output() -> None:
    tools = (ToolSpec(name="t", description=""),)
    base = {"messages": (user("x"),), "tools": tools}
    assert request_params(LlmRequest(**base, tool_choice="required"), "m")["tool_choice"] == {
        "type": "any"
    }
    assert request_params(LlmRequest(**base, tool_choice="none"), "m")["tool_choice"] == {
        "type": "none"
    }
    schema = {"type": "object", "properties": {"reply": {"type": "string"}}}
    params = request_params(
        LlmRequest(messages=(user("x"),), output_schema=OutputSchema(schema=schema)), "m"
    )
    assert params["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert "tools" not in params and "system" not in params


def test_an_error_result_is_flagged() -> None:
    req = LlmRequest(
        messages=(
            user("x"),
            assistant(ToolUsePart("a", "t", {})),
            user(ToolResultPart("a", "boom", is_error=True)),
        )
    )
    block = request_params(req, "m")["messages"][2]["content"][0]
    assert block["is_error"] is True


MESSAGE: dict[str, Any] = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-6-20260101",
    "content": [
        {"type": "thinking", "thinking": "hmm", "signature": "s"},
        {"type": "text", "text": "Let me check. "},
        {"type": "tool_use", "id": "toolu_9", "name": "weather", "input": {"city": "Oslo"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 12,
        "output_tokens": 30,
        "cache_creation_input_tokens": 1000,
        "cache_read_input_tokens": 2000,
    },
}


def test_a_message_becomes_text_tool_calls_stop_reason_and_cache_usage() -> None:
    out = output_from_message(MESSAGE)
    assert out.text == "Let me check. "
    assert [(c.id, c.name, c.arguments) for c in out.tool_calls] == [
        ("toolu_9", "weather", {"city": "Oslo"})
    ]
    assert out.tool_calls[0].raw_arguments == '{"city":"Oslo"}'
    assert out.stop_reason == "tool_use" and out.raw_stop_reason == "tool_use"
    assert out.usage == Usage(
        input_tokens=12, output_tokens=30, cache_read_tokens=2000, cache_write_tokens=1000
    )
    assert out.model == "claude-sonnet-4-6-20260101"


def test_missing_cache_fields_count_as_zero() -> None:
    out = output_from_message({"content": [], "usage": {"input_tokens": 5, "output_tokens": 1}})
    assert out.usage == Usage(input_tokens=5, output_tokens=1)
    assert out.text == "" and out.stop_reason == "other"


def test_stop_reasons_map_to_the_neutral_ones() -> None:
    assert [stop_reason(r) for r in ("end_turn", "stop_sequence", "max_tokens", "refusal")] == [
        "end_turn",
        "end_turn",
        "max_tokens",
        "refusal",
    ]
    assert stop_reason("pause_turn") == "other" and stop_reason(None) == "other"


def test_error_kinds_by_type_then_status() -> None:
    assert error_kind(None, "overloaded_error") is ErrorKind.OVERLOADED
    assert error_kind(529, None) is ErrorKind.OVERLOADED
    assert error_kind(429, "rate_limit_error") is ErrorKind.RATE_LIMITED
    assert error_kind(500, "api_error") is ErrorKind.SERVER_ERROR
    assert error_kind(401, None) is ErrorKind.AUTH
    assert error_kind(400, "invalid_request_error") is ErrorKind.BAD_REQUEST
    assert error_kind(404, None) is ErrorKind.BAD_REQUEST
    assert error_kind(408, None) is ErrorKind.SERVER_ERROR


def stream_events() -> list[dict[str, Any]]:
    """A real-shaped Messages stream: text, then a tool call, with cumulative usage."""
    start_usage = {
        "input_tokens": 10,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 900,
        "output_tokens": 1,
    }
    return [
        {
            "type": "message_start",
            "message": {
                "id": "m",
                "model": "claude-haiku-4-5",
                "content": [],
                "usage": start_usage,
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi "}},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "there"},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_2", "name": "f", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": ""},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"n": '},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": "4}"},
        },
        {"type": "content_block_stop", "index": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 17},
        },
        {"type": "message_stop"},
    ]


def test_a_stream_yields_text_and_tool_deltas_and_the_final_output() -> None:
    state = AnthropicStream()
    deltas = [d for e in stream_events() for d in state.feed(e)]
    assert deltas[:2] == [TextDelta("Hi "), TextDelta("there")]
    assert deltas[2:5] == [
        ToolCallDelta(0, "toolu_2", "f", ""),
        ToolCallDelta(0, "toolu_2", "f", '{"n": '),
        ToolCallDelta(0, "toolu_2", "f", "4}"),
    ]
    assert isinstance(deltas[5], ToolCallDone) and deltas[5].call.arguments == {"n": 4}
    assert len(deltas) == 6
    out = state.output()
    assert out.text == "Hi there"
    assert out.stop_reason == "tool_use"
    assert out.usage == Usage(input_tokens=10, output_tokens=17, cache_read_tokens=900)
    assert out.model == "claude-haiku-4-5"


def test_thinking_and_unknown_events_produce_no_deltas() -> None:
    state = AnthropicStream()
    events = [
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": ""},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "hm"},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "ping"},
        {"type": "something_new", "x": 1},
    ]
    assert [d for e in events for d in state.feed(e)] == []
    assert state.output().text == ""


def test_message_delta_may_restate_input_usage() -> None:
    state = AnthropicStream()
    state.feed({"type": "message_start", "message": {"usage": {"input_tokens": 3}}})
    state.feed(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"input_tokens": 5, "output_tokens": 2, "cache_read_input_tokens": None},
        }
    )
    assert state.output().usage == Usage(input_tokens=5, output_tokens=2)
