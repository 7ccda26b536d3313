"""OpenAI Responses and Chat Completions converters, without any network."""

from __future__ import annotations

from typing import Any

import pytest

from clanker.llm import (
    ImagePart,
    LlmRequest,
    OutputSchema,
    SystemPart,
    TextDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolResultPart,
    ToolSpec,
    ToolUsePart,
    Usage,
    assistant,
    user,
)
from clanker.llm import openai_chat_wire as chat
from clanker.llm import openai_responses_wire as responses
from clanker.llm.errors import ErrorKind

TOOL = ToolSpec(
    name="lookup",
    description="find",
    parameters={"type": "object", "properties": {"q": {"type": "string"}}},
)


def conversation() -> LlmRequest:
    return LlmRequest(
        system=(SystemPart("You are terse.", cache=True), SystemPart("Date: today")),
        messages=(
            user("see", ImagePart("https://cdn/x.png")),
            assistant("checking", ToolUsePart("call_1", "lookup", {"q": "x"})),
            user(
                ToolResultPart("call_1", "a cat"), ToolResultPart("call_2", "nope", is_error=True)
            ),
        ),
        tools=(TOOL,),
        max_tokens=256,
        temperature=0.5,
    )


# --- Responses --------------------------------------------------------------------------------


def test_responses_request_uses_instructions_input_items_and_function_tools() -> None:
    params = responses.request_params(conversation(), "gpt-5.4")
    assert params["model"] == "gpt-5.4"
    assert params["instructions"] == "You are terse.\n\nDate: today"
    assert params["max_output_tokens"] == 256
    assert params["temperature"] == 0.5
    assert params["store"] is False
    assert params["tools"] == [
        {
            "type": "function",
            "name": "lookup",
            "description": "find",
            "parameters": TOOL.parameters,
            "strict": False,
        }
    ]
    assert params["tool_choice"] == "auto"
    assert params["input"] == [
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "see"},
                {"type": "input_image", "image_url": "https://cdn/x.png", "detail": "auto"},
            ],
        },
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "checking", "annotations": []}],
        },
        {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": '{"q":"x"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "a cat"},
        {"type": "function_call_output", "call_id": "call_2", "output": "ERROR: nope"},
    ]


def test_responses_structured_output_is_a_json_schema_text_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    req = LlmRequest(messages=(user("x"),), output_schema=OutputSchema(name="reply", schema=schema))
    params = responses.request_params(req, "m")
    assert params["text"] == {
        "format": {"type": "json_schema", "name": "reply", "schema": schema, "strict": True}
    }
    assert "instructions" not in params and "temperature" not in params and "tools" not in params


RESPONSE: dict[str, Any] = {
    "id": "resp_1",
    "object": "response",
    "status": "completed",
    "model": "gpt-5.4-2026-03-05",
    "output": [
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Looking.", "annotations": []}],
        },
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_7",
            "name": "lookup",
            "arguments": '{"q":"dogs"}',
            "status": "completed",
        },
    ],
    "usage": {
        "input_tokens": 1500,
        "input_tokens_details": {"cached_tokens": 1024, "cache_write_tokens": 0},
        "output_tokens": 40,
        "output_tokens_details": {"reasoning_tokens": 12},
        "total_tokens": 1540,
    },
}


def test_a_response_becomes_text_calls_and_usage_with_cached_tokens_apart() -> None:
    out = responses.output_from_response(RESPONSE)
    assert out.text == "Looking."
    assert [(c.id, c.name, c.arguments) for c in out.tool_calls] == [
        ("call_7", "lookup", {"q": "dogs"})
    ]
    assert out.stop_reason == "tool_use"
    assert out.usage == Usage(input_tokens=476, output_tokens=40, cache_read_tokens=1024)
    assert out.model == "gpt-5.4-2026-03-05"


@pytest.mark.parametrize(
    ("status", "details", "content", "expected"),
    [
        ("completed", None, {"type": "output_text", "text": "hi"}, "end_turn"),
        (
            "incomplete",
            {"reason": "max_output_tokens"},
            {"type": "output_text", "text": "h"},
            "max_tokens",
        ),
        (
            "incomplete",
            {"reason": "content_filter"},
            {"type": "output_text", "text": ""},
            "refusal",
        ),
        ("completed", None, {"type": "refusal", "refusal": "I can't"}, "refusal"),
        ("failed", None, {"type": "output_text", "text": ""}, "other"),
    ],
)
def test_responses_stop_reasons(status: str, details: Any, content: Any, expected: str) -> None:
    body = {
        "status": status,
        "incomplete_details": details,
        "output": [{"type": "message", "content": [content]}],
    }
    assert responses.output_from_response(body).stop_reason == expected


def responses_events() -> list[dict[str, Any]]:
    final = RESPONSE | {"output": RESPONSE["output"][1:]}
    return [
        {"type": "response.created", "response": {"model": "gpt-5.4", "output": []}},
        {"type": "response.in_progress"},
        {"type": "response.output_item.added", "item": {"type": "message", "id": "msg_1"}},
        {"type": "response.output_text.delta", "item_id": "msg_1", "delta": "Look"},
        {"type": "response.output_text.delta", "item_id": "msg_1", "delta": "ing."},
        {"type": "response.output_text.done", "item_id": "msg_1", "text": "Looking."},
        {
            "type": "response.output_item.added",
            "item": {"type": "function_call", "id": "fc_1", "call_id": "call_7", "name": "lookup"},
        },
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "delta": '{"q":'},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "delta": '"dogs"}'},
        {"type": "response.function_call_arguments.done", "item_id": "fc_1", "arguments": "x"},
        {"type": "response.output_item.done", "item": RESPONSE["output"][2]},
        {"type": "response.completed", "response": final},
    ]


def test_a_responses_stream_yields_deltas_and_ends_with_the_completed_response() -> None:
    state = responses.ResponsesStream()
    deltas = [d for e in responses_events() for d in state.feed(e)]
    assert deltas[:2] == [TextDelta("Look"), TextDelta("ing.")]
    assert deltas[2:4] == [
        ToolCallDelta(0, "call_7", "lookup", '{"q":'),
        ToolCallDelta(0, "call_7", "lookup", '"dogs"}'),
    ]
    assert isinstance(deltas[4], ToolCallDone) and deltas[4].call.arguments == {"q": "dogs"}
    assert state.finished
    out = state.output()
    assert out.text == "Looking." and out.usage.cache_read_tokens == 1024


def test_a_responses_stream_that_never_completes_is_reported_as_such() -> None:
    state = responses.ResponsesStream()
    for e in responses_events()[:5]:
        state.feed(e)
    assert not state.finished
    out = state.output()
    assert out.text == "Looking." and out.stop_reason == "other"


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        (
            {
                "type": "response.failed",
                "response": {"error": {"code": "server_is_overloaded", "message": "busy"}},
            },
            ErrorKind.OVERLOADED,
        ),
        (
            {"type": "error", "code": "rate_limit_exceeded", "message": "slow"},
            ErrorKind.RATE_LIMITED,
        ),
        ({"type": "error", "code": None, "message": "???"}, ErrorKind.SERVER_ERROR),
    ],
)
def test_stream_failures_raise_with_a_classified_kind(
    event: dict[str, Any], kind: ErrorKind
) -> None:
    state = responses.ResponsesStream()
    with pytest.raises(responses.StreamFailed) as caught:
        state.feed(event)
    error = caught.value.to_error("p", "m")
    assert error.kind is kind and error.provider == "p"


def test_openai_error_kinds_prefer_the_code_then_the_status() -> None:
    assert responses.error_kind(429, "rate_limit_exceeded") is ErrorKind.RATE_LIMITED
    assert responses.error_kind(429, "insufficient_quota") is ErrorKind.AUTH
    assert responses.error_kind(503, None) is ErrorKind.OVERLOADED
    assert responses.error_kind(502, None) is ErrorKind.SERVER_ERROR
    assert responses.error_kind(401, "invalid_api_key") is ErrorKind.AUTH
    assert responses.error_kind(None, None, "invalid_request_error") is ErrorKind.BAD_REQUEST


# --- Chat Completions -------------------------------------------------------------------------


def test_chat_request_is_system_then_messages_with_tool_calls_and_tool_results() -> None:
    params = chat.request_params(conversation(), "grok-4")
    assert params["max_tokens"] == 256 and "max_completion_tokens" not in params
    assert params["messages"] == [
        {"role": "system", "content": "You are terse.\n\nDate: today"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "see"},
                {"type": "image_url", "image_url": {"url": "https://cdn/x.png"}},
            ],
        },
        {
            "role": "assistant",
            "content": "checking",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"q":"x"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
        {"role": "tool", "tool_call_id": "call_2", "content": "ERROR: nope"},
    ]
    assert params["tools"] == [
        {
            "type": "function",
            "function": {"name": "lookup", "description": "find", "parameters": TOOL.parameters},
        }
    ]


def test_chat_text_only_messages_are_plain_strings_and_openai_gets_max_completion_tokens() -> None:
    req = LlmRequest(
        messages=(user("a", "b"),), output_schema=OutputSchema(schema={"type": "object"})
    )
    params = chat.request_params(req, "gpt-5.4", max_tokens_field="max_completion_tokens")
    assert params["messages"] == [{"role": "user", "content": "ab"}]
    assert params["max_completion_tokens"] == 1024 and "max_tokens" not in params
    assert params["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": {"type": "object"}, "strict": True},
    }


def test_a_completion_becomes_text_calls_and_usage() -> None:
    body = {
        "model": "grok-4-0709",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": '{"a":1}'},
                        },
                        {"type": "function", "function": {"name": "g", "arguments": ""}},
                    ],
                },
            }
        ],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 5,
            "prompt_tokens_details": {"cached_tokens": 64},
        },
    }
    out = chat.output_from_completion(body)
    assert out.text == ""
    assert [(c.id, c.name, c.arguments) for c in out.tool_calls] == [
        ("c1", "f", {"a": 1}),
        ("call_1", "g", {}),
    ]
    assert out.stop_reason == "tool_use"
    assert out.usage == Usage(input_tokens=36, output_tokens=5, cache_read_tokens=64)


def test_a_chat_refusal_is_the_text_and_the_stop_reason() -> None:
    body = {"choices": [{"finish_reason": "stop", "message": {"content": None, "refusal": "No."}}]}
    out = chat.output_from_completion(body)
    assert out.text == "No." and out.stop_reason == "refusal"


def test_a_chat_stream_assembles_tool_call_fragments_by_index() -> None:
    chunks: list[dict[str, Any]] = [
        {
            "model": "llama3",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}],
        },
        {"choices": [{"index": 0, "delta": {"content": "Hm"}}]},
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "id": "a", "function": {"name": "f", "arguments": ""}},
                            {"index": 1, "id": "b", "function": {"name": "g", "arguments": "{}"}},
                        ]
                    },
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"x"'}}]},
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ":2}"}}]},
                }
            ]
        },
        {"choices": [{"index": 1, "delta": {"content": "ignored second choice"}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3}},
    ]
    state = chat.ChatStream()
    deltas = [d for c in chunks for d in state.feed(c)]
    assert deltas[0] == TextDelta("Hm")
    assert deltas[1:4] == [
        ToolCallDelta(1, "b", "g", "{}"),
        ToolCallDelta(0, "a", "f", '{"x"'),
        ToolCallDelta(0, "a", "f", ":2}"),
    ]
    done = [d for d in deltas if isinstance(d, ToolCallDone)]
    assert [(d.index, d.call.id, d.call.arguments) for d in done] == [
        (0, "a", {"x": 2}),
        (1, "b", {}),
    ]
    out = state.output()
    assert out.text == "Hm" and out.stop_reason == "tool_use" and out.model == "llama3"
    assert out.usage == Usage(input_tokens=9, output_tokens=3)
    assert [c.id for c in out.tool_calls] == ["a", "b"]


def test_a_chat_stream_without_a_finish_reason_still_closes_its_calls() -> None:
    state = chat.ChatStream()
    state.feed(
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{}"}}]
                    },
                }
            ]
        }
    )
    out = state.output()
    assert [(c.id, c.name) for c in out.tool_calls] == [("call_0", "f")]
    assert out.stop_reason == "other"
