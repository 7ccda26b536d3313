"""End to end: the real anthropic and openai SDKs over HTTP against llmsim, per wire API.

Each test runs for every flavour: Anthropic Messages, OpenAI Responses, OpenAI Chat
Completions, xAI and an OpenAI-compatible local server.
"""

from __future__ import annotations

from typing import Any

import pytest

from clanker.llm import (
    ImagePart,
    LlmRequest,
    OutputSchema,
    StreamDone,
    SystemPart,
    TextDelta,
    TextPart,
    ToolCallDelta,
    ToolCallDone,
    ToolResultPart,
    ToolSpec,
    Usage,
    cost_usd,
    user,
)
from clanker.llm.pricing import DEFAULT_PRICES
from clanker.llmsim import JsonReply, LlmSim, SimToolCall, SimUsage, Text, ToolUse

from .conftest import KEY, KINDS, Running, provider_for

FLAVOURS = list(KINDS)
WEATHER = ToolSpec(
    name="weather",
    description="Current weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def ask(*messages: Any, **fields: Any) -> LlmRequest:
    return LlmRequest(messages=messages or (user("hello there"),), **fields)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_text(sim: LlmSim, running: Running, flavour: str) -> None:
    sim.script(Text("Hi! How can I help?"))
    async with running(provider_for(sim, flavour)) as (svc, records):
        response = await svc.complete(ask(system=(SystemPart("Be kind."),), max_tokens=77))
    assert response.text == "Hi! How can I help?"
    assert response.stop_reason == "end_turn"
    assert response.provider == flavour and response.attempts == 1
    assert response.usage.output_tokens > 0 and response.usage.input_tokens > 0
    (request,) = sim.requests
    assert request.api == {"anthropic": "anthropic", "openai": "responses"}.get(flavour, "chat")
    assert request.model == KINDS[flavour][2] and not request.stream
    assert request.headers["authorization"] == "<redacted>"  # sent, and not recorded
    assert KEY not in repr(sim.requests)
    body = request.body
    if flavour == "anthropic":
        assert request.headers["anthropic-version"]
        assert body["system"] == [{"type": "text", "text": "Be kind."}]
        assert body["max_tokens"] == 77
    elif flavour == "openai":
        assert body["instructions"] == "Be kind." and body["max_output_tokens"] == 77
    else:
        assert body["messages"][0] == {"role": "system", "content": "Be kind."}
        field = "max_completion_tokens" if flavour == "openai_chat" else "max_tokens"
        assert body[field] == 77
    assert records.records[0].outcome == "ok"


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_streaming_text(sim: LlmSim, running: Running, flavour: str) -> None:
    sim.script(Text(chunks=("Once ", "upon ", "a ", "time."), chunk_delay=0.01))
    async with running(provider_for(sim, flavour)) as (svc, _), svc.stream(ask()) as deltas:
        got = [d async for d in deltas]
    assert [d.text for d in got if isinstance(d, TextDelta)] == ["Once ", "upon ", "a ", "time."]
    done = got[-1]
    assert isinstance(done, StreamDone)
    assert done.response.text == "Once upon a time."
    assert done.response.first_delta_after is not None
    assert 0 < done.response.first_delta_after <= done.response.latency
    assert done.response.usage.output_tokens > 0
    assert sim.requests[0].stream
    if flavour not in ("anthropic", "openai"):
        assert sim.requests[0].body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_tool_calls_and_the_follow_up_turn(
    sim: LlmSim, running: Running, flavour: str
) -> None:
    sim.script(
        ToolUse((SimToolCall("weather", {"city": "Oslo"}),), text="Let me check."),
        Text("It is sunny in Oslo."),
    )
    async with running(provider_for(sim, flavour)) as (svc, _):
        first = await svc.complete(ask(user("weather in Oslo?"), tools=(WEATHER,)))
        assert first.stop_reason == "tool_use" and first.text == "Let me check."
        (call,) = first.tool_calls
        assert (call.name, call.arguments) == ("weather", {"city": "Oslo"})
        follow_up = ask(
            user("weather in Oslo?"),
            first.as_message(),
            user(ToolResultPart(call.id, "sunny, 21C")),
            tools=(WEATHER,),
        )
        second = await svc.complete(follow_up)
    assert second.text == "It is sunny in Oslo."
    body = sim.requests[1].body
    if flavour == "anthropic":
        assert body["tools"][0]["input_schema"] == WEATHER.parameters
        assert body["messages"][1]["content"][1] == {
            "type": "tool_use",
            "id": call.id,
            "name": "weather",
            "input": {"city": "Oslo"},
        }
        assert body["messages"][2]["content"][0]["tool_use_id"] == call.id
    elif flavour == "openai":
        assert body["tools"][0]["name"] == "weather"
        kinds = [item["type"] for item in body["input"]]
        assert kinds == ["message", "message", "function_call", "function_call_output"]
        assert body["input"][3] == {
            "type": "function_call_output",
            "call_id": call.id,
            "output": "sunny, 21C",
        }
    else:
        assert body["tools"][0]["function"]["name"] == "weather"
        assert body["messages"][1]["tool_calls"][0]["id"] == call.id
        assert body["messages"][2] == {
            "role": "tool",
            "tool_call_id": call.id,
            "content": "sunny, 21C",
        }


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_streamed_tool_calls(sim: LlmSim, running: Running, flavour: str) -> None:
    calls = (SimToolCall("weather", {"city": "Lima"}), SimToolCall("weather", {"city": "Quito"}))
    sim.script(ToolUse(calls))
    request = ask(tools=(WEATHER,), tool_choice="required")
    async with running(provider_for(sim, flavour)) as (svc, _), svc.stream(request) as deltas:
        got = [d async for d in deltas]
    pieces: dict[int, str] = {}
    for d in got:
        if isinstance(d, ToolCallDelta):
            pieces[d.index] = pieces.get(d.index, "") + d.arguments_delta
    assert pieces == {0: '{"city":"Lima"}', 1: '{"city":"Quito"}'}
    done = [d.call.arguments for d in got if isinstance(d, ToolCallDone)]
    assert done == [{"city": "Lima"}, {"city": "Quito"}]
    final = got[-1]
    assert isinstance(final, StreamDone) and final.response.stop_reason == "tool_use"
    assert [c.arguments["city"] for c in final.response.tool_calls] == ["Lima", "Quito"]
    body = sim.requests[0].body
    expected_choice: Any = {"type": "any"} if flavour == "anthropic" else "required"
    assert body["tool_choice"] == expected_choice


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("streamed", [False, True])
async def test_structured_json_output(
    sim: LlmSim, running: Running, flavour: str, streamed: bool
) -> None:
    schema = {
        "type": "object",
        "properties": {"reply": {"type": "string"}, "skip": {"type": "boolean"}},
        "required": ["reply", "skip"],
        "additionalProperties": False,
    }
    value = {"reply": "hey, what's up?", "skip": False}
    sim.script(JsonReply(value))
    request = ask(output_schema=OutputSchema(name="reply_output", schema=schema))
    async with running(provider_for(sim, flavour)) as (svc, _):
        if streamed:
            async with svc.stream(request) as deltas:
                response = await deltas.final()
        else:
            response = await svc.complete(request)
    assert response.json() == value
    body = sim.requests[0].body
    if flavour == "anthropic":
        assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    elif flavour == "openai":
        assert body["text"]["format"] == {
            "type": "json_schema",
            "name": "reply_output",
            "schema": schema,
            "strict": True,
        }
    else:
        assert body["response_format"]["json_schema"]["schema"] == schema


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("streamed", [False, True])
async def test_prompt_caching_usage_is_reported_and_costed(
    sim: LlmSim, running: Running, flavour: str, streamed: bool
) -> None:
    usage = SimUsage(
        input_tokens=120, output_tokens=30, cache_read_tokens=4000, cache_write_tokens=800
    )
    sim.script(Text("cached!", usage=usage))
    request = ask(
        user("question", TextPart("long context", cache=True)),
        system=(SystemPart("a long, stable persona", cache=True), SystemPart("today")),
    )
    async with running(provider_for(sim, flavour)) as (svc, records):
        if streamed:
            async with svc.stream(request) as deltas:
                response = await deltas.final()
        else:
            response = await svc.complete(request)
    # The same scripted usage reads the same through every wire format.
    assert response.usage == Usage(
        input_tokens=120, output_tokens=30, cache_read_tokens=4000, cache_write_tokens=800
    )
    kind, _, model = KINDS[flavour]
    price = DEFAULT_PRICES.lookup(kind, model)
    if kind == "openai_compatible":
        assert price is None and response.usd_cost == 0.0
    else:
        assert price is not None
        assert response.usd_cost == pytest.approx(cost_usd(response.usage, price))
        assert response.usd_cost > 0
    assert records.records[0].priced
    if flavour == "anthropic":
        body = sim.requests[0].body
        assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
        assert "cache_control" not in body["system"][1]
        assert body["messages"][0]["content"][1]["cache_control"] == {"type": "ephemeral"}


async def test_anthropic_cache_cost_uses_write_and_read_rates(
    sim: LlmSim, running: Running
) -> None:
    usage = SimUsage(
        input_tokens=1_000_000,
        output_tokens=1_000_000,
        cache_read_tokens=1_000_000,
        cache_write_tokens=1_000_000,
    )
    sim.script(Text("x", usage=usage))
    async with running(provider_for(sim, "anthropic")) as (svc, _):
        response = await svc.complete(ask())
    # claude-sonnet-4-6: $3 in, $15 out, $0.30 cache read, $3.75 cache write per million.
    assert response.usd_cost == pytest.approx(3 + 15 + 0.3 + 3.75)


async def test_images_reach_each_api_in_its_shape(sim: LlmSim, running: Running) -> None:
    request = ask(user("what's this?", ImagePart("https://cdn.example/cat.png")))
    async with running(
        provider_for(sim, "anthropic"), provider_for(sim, "openai"), provider_for(sim, "xai")
    ) as (svc, _):
        for name in ("anthropic", "openai", "xai"):
            await svc.complete(LlmRequest(messages=request.messages, providers=(name,)))
    anthropic_body, responses_body, chat_body = (r.body for r in sim.requests)
    assert anthropic_body["messages"][0]["content"][1] == {
        "type": "image",
        "source": {"type": "url", "url": "https://cdn.example/cat.png"},
    }
    assert responses_body["input"][0]["content"][1]["image_url"] == "https://cdn.example/cat.png"
    assert chat_body["messages"][0]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "https://cdn.example/cat.png"},
    }
