"""llmsim itself: its JSON and SSE validate against the SDKs' own (OpenAPI-generated) types,
its errors have each provider's shape, and it records what it was sent.

Raw HTTP here goes through plain httpx, so nothing but llmsim's bytes is checked.
"""

from __future__ import annotations

import functools
import json
import typing
from typing import Any

import anthropic
import httpx
import openai
import pydantic
import pytest
import trio
from anthropic.types import Message, RawMessageStreamEvent
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent

from clanker.llmsim import (
    HttpError,
    JsonReply,
    LlmSim,
    RecordedRequest,
    SimToolCall,
    SimUsage,
    Stall,
    StreamError,
    Text,
    ToolUse,
    open_llmsim,
    overloaded,
    rate_limited,
)

from .conftest import KEY

HEADERS = {"authorization": f"Bearer {KEY}", "content-type": "application/json"}
ANTHROPIC_BODY = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"}],
}
RESPONSES_BODY = {"model": "gpt-5.4", "input": [{"role": "user", "content": "hi"}]}
CHAT_BODY = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hi"}]}


@functools.cache
def _adapter(tp: Any) -> pydantic.TypeAdapter[Any]:
    if typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return pydantic.TypeAdapter(tp)


def validate(tp: Any, data: Any) -> Any:
    """Validate ``data`` as the SDK type ``tp`` (a model, or an annotated union of models)."""
    return _adapter(tp).validate_python(data)


def parse_sse(text: str) -> list[tuple[str | None, str]]:
    events = []
    for block in text.strip().split("\n\n"):
        event, data = None, []
        for line in block.splitlines():
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: "):
                data.append(line[len("data: ") :])
        events.append((event, "\n".join(data)))
    return events


async def post(sim: LlmSim, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=sim.url, timeout=None) as client:
        return await client.post(path, json=body, headers=HEADERS | headers)


TURNS = [
    Text("Hello there, friend."),
    ToolUse((SimToolCall("f", {"a": 1}), SimToolCall("g", {"b": [True, None]})), text="calling"),
    JsonReply({"reply": "x", "n": 3}),
    Text("cut", stop="max_tokens"),
]


@pytest.mark.parametrize("turn", TURNS, ids=["text", "tools", "json", "max_tokens"])
async def test_anthropic_json_and_sse_validate_as_sdk_types(sim: LlmSim, turn: Any) -> None:
    sim.script(turn, turn)
    message = validate(Message, (await post(sim, "/v1/messages", ANTHROPIC_BODY)).json())
    streamed = await post(sim, "/v1/messages", ANTHROPIC_BODY | {"stream": True})
    assert streamed.headers["content-type"] == "text/event-stream"
    events = parse_sse(streamed.text)
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    for name, data in events:
        payload = json.loads(data)
        assert payload["type"] == name  # the SSE event name repeats the data's type
        if name != "ping":
            validate(RawMessageStreamEvent, payload)
    assert message.stop_reason == {"max_tokens": "max_tokens", "tools": "tool_use"}.get(
        type(turn).__name__ if not isinstance(turn, Text) else turn.stop, message.stop_reason
    )


@pytest.mark.parametrize("turn", TURNS, ids=["text", "tools", "json", "max_tokens"])
async def test_responses_json_and_sse_validate_as_sdk_types(sim: LlmSim, turn: Any) -> None:
    sim.script(turn, turn)
    response = validate(Response, (await post(sim, "/v1/responses", RESPONSES_BODY)).json())
    events = parse_sse((await post(sim, "/v1/responses", RESPONSES_BODY | {"stream": True})).text)
    sequence = []
    for name, data in events:
        payload = json.loads(data)
        assert payload["type"] == name
        validate(ResponseStreamEvent, payload)
        sequence.append(payload["sequence_number"])
    assert sequence == list(range(len(events)))
    assert events[0][0] == "response.created"
    final = json.loads(events[-1][1])["response"]
    assert final["status"] == response.status
    assert [item["type"] for item in final["output"]] == [item.type for item in response.output]


@pytest.mark.parametrize("turn", TURNS, ids=["text", "tools", "json", "max_tokens"])
async def test_chat_json_and_sse_validate_as_sdk_types(sim: LlmSim, turn: Any) -> None:
    sim.script(turn, turn)
    completion = validate(
        ChatCompletion, (await post(sim, "/v1/chat/completions", CHAT_BODY)).json()
    )
    body = CHAT_BODY | {"stream": True, "stream_options": {"include_usage": True}}
    events = parse_sse((await post(sim, "/v1/chat/completions", body)).text)
    assert events[-1] == (None, "[DONE]")
    chunks = [validate(ChatCompletionChunk, json.loads(data)) for _, data in events[:-1]]
    usage = chunks[-1].usage
    assert chunks[-1].choices == [] and usage is not None and completion.usage is not None
    assert usage.completion_tokens == completion.usage.completion_tokens
    assert chunks[-2].choices[0].finish_reason == completion.choices[0].finish_reason


async def test_without_include_usage_there_is_no_usage_chunk(sim: LlmSim) -> None:
    events = parse_sse((await post(sim, "/v1/chat/completions", CHAT_BODY | {"stream": True})).text)
    chunks = [json.loads(data) for _, data in events[:-1]]
    assert all(c["choices"] for c in chunks) and all("usage" not in c for c in chunks)


async def test_usage_is_the_same_in_every_format(sim: LlmSim) -> None:
    usage = SimUsage(input_tokens=10, output_tokens=5, cache_read_tokens=100, cache_write_tokens=7)
    sim.script(*[Text("x", usage=usage)] * 3)
    a = (await post(sim, "/v1/messages", ANTHROPIC_BODY)).json()["usage"]
    r = (await post(sim, "/v1/responses", RESPONSES_BODY)).json()["usage"]
    c = (await post(sim, "/v1/chat/completions", CHAT_BODY)).json()["usage"]
    assert (a["input_tokens"], a["cache_read_input_tokens"], a["cache_creation_input_tokens"]) == (
        10,
        100,
        7,
    )
    assert (r["input_tokens"], r["input_tokens_details"]["cached_tokens"], r["output_tokens"]) == (
        117,
        100,
        5,
    )
    assert (
        c["prompt_tokens"],
        c["prompt_tokens_details"]["cached_tokens"],
        c["completion_tokens"],
    ) == (117, 100, 5)


async def test_errors_have_each_providers_shape_and_retry_after(sim: LlmSim) -> None:
    sim.script(rate_limited(retry_after=1.5), rate_limited(retry_after=0.25), overloaded())
    a = await post(sim, "/v1/messages", ANTHROPIC_BODY)
    assert a.status_code == 429 and a.headers["retry-after"] == "1.5"
    assert a.json()["type"] == "error" and a.json()["error"]["type"] == "rate_limit_error"
    assert a.headers["request-id"] == a.json()["request_id"]
    o = await post(sim, "/v1/responses", RESPONSES_BODY)
    assert o.status_code == 429 and o.headers["retry-after-ms"] == "250"
    assert o.json()["error"]["code"] == "rate_limit_exceeded" and "x-request-id" in o.headers
    busy = await post(sim, "/v1/messages", ANTHROPIC_BODY)
    assert busy.status_code == 529 and busy.json()["error"]["type"] == "overloaded_error"


async def test_the_sdks_raise_their_own_typed_errors(sim: LlmSim) -> None:
    sim.script(rate_limited(retry_after=2), HttpError(404, "no such model"), overloaded())
    an = anthropic.AsyncAnthropic(base_url=sim.anthropic_url, api_key=KEY, max_retries=0)
    oa = openai.AsyncOpenAI(base_url=sim.openai_url, api_key=KEY, max_retries=0)
    try:
        with pytest.raises(anthropic.RateLimitError) as limited:
            await an.messages.create(**ANTHROPIC_BODY)
        assert limited.value.response.headers["retry-after"] == "2"
        with pytest.raises(openai.NotFoundError, match="no such model"):
            await oa.chat.completions.create(**CHAT_BODY)
        with pytest.raises(anthropic.InternalServerError) as busy:
            await an.messages.create(**ANTHROPIC_BODY)
        assert busy.value.status_code == 529
    finally:
        await an.close()
        await oa.close()


async def test_stream_errors_are_events_and_plain_requests_get_the_status(sim: LlmSim) -> None:
    sim.script(StreamError(text="so far"), StreamError(error_type="api_error", message="boom"))
    events = parse_sse((await post(sim, "/v1/messages", ANTHROPIC_BODY | {"stream": True})).text)
    assert events[-1][0] == "error"
    assert json.loads(events[-1][1])["error"] == {
        "type": "overloaded_error",
        "message": "Overloaded (llmsim)",
    }
    texts = [
        json.loads(d)["delta"].get("text", "") for n, d in events if n == "content_block_delta"
    ]
    assert "".join(texts) == "so far"
    plain = await post(sim, "/v1/messages", ANTHROPIC_BODY)
    assert plain.status_code == 500 and plain.json()["error"]["type"] == "api_error"


async def test_a_key_is_required_when_set_and_no_turn_is_used(sim: LlmSim) -> None:
    sim.script(Text("kept"))
    missing = await post(sim, "/v1/messages", ANTHROPIC_BODY, authorization="")
    assert missing.status_code == 401 and missing.json()["error"]["type"] == "authentication_error"
    wrong = await post(sim, "/v1/chat/completions", CHAT_BODY, authorization="Bearer nope")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    by_x_api_key = await post(
        sim, "/v1/messages", ANTHROPIC_BODY, authorization="", **{"x-api-key": KEY}
    )
    assert by_x_api_key.json()["content"][0]["text"] == "kept"


async def test_unknown_routes_bad_bodies_and_models(sim: LlmSim) -> None:
    assert (await post(sim, "/v1/embeddings", {"input": "x"})).status_code == 404
    async with httpx.AsyncClient(base_url=sim.url) as client:
        bad = await client.post("/v1/messages", content=b"{not json", headers=HEADERS)
        assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
        models = await client.get("/v1/models")
        assert models.json()["data"][0]["id"] == "llmsim-model"
    assert [r.api for r in sim.requests] == [None, "anthropic", None]


async def test_requests_are_recorded_with_secrets_redacted(sim: LlmSim) -> None:
    sim.script(Text("a"), Text("b"), Text("c"))
    await post(sim, "/v1/messages", ANTHROPIC_BODY | {"system": "s"}, **{"x-api-key": KEY})
    await post(sim, "/v1/responses", RESPONSES_BODY | {"stream": True})
    await post(sim, "/v1/chat/completions", CHAT_BODY)
    first, second, third = sim.requests
    assert (
        first.headers["authorization"] == "<redacted>"
        and first.headers["x-api-key"] == "<redacted>"
    )
    assert KEY not in repr(sim.requests)
    assert (first.api, first.path, first.method, first.model) == (
        "anthropic",
        "/v1/messages",
        "POST",
        "claude-sonnet-4-6",
    )
    assert first.body["system"] == "s" and not first.stream and second.stream
    assert [r.user_text for r in sim.requests] == ["hi", "hi", "hi"]
    assert [r.turn for r in sim.requests] == [Text("a"), Text("b"), Text("c")]
    for r in sim.requests:
        assert r.finished_at is not None and r.finished_at >= r.at and not r.hung_up
    assert third.headers["content-type"] == "application/json"


async def test_the_default_responder_and_scripted_responders() -> None:
    def shout(request: RecordedRequest) -> Text:
        return Text(request.user_text.upper())

    async with open_llmsim(default=shout) as sim:
        sim.script(lambda r: Text(f"model was {r.model}"))
        first = (await post(sim, "/v1/chat/completions", CHAT_BODY)).json()
        second = (await post(sim, "/v1/chat/completions", CHAT_BODY)).json()
    assert first["choices"][0]["message"]["content"] == "model was gpt-5.4"
    assert second["choices"][0]["message"]["content"] == "HI"


async def test_chunk_delays_are_kept(sim: LlmSim) -> None:
    sim.script(Text(chunks=("a", "b", "c"), chunk_delay=0.05, delay=0.1))
    events = parse_sse((await post(sim, "/v1/chat/completions", CHAT_BODY | {"stream": True})).text)
    assert [json.loads(d)["choices"][0]["delta"].get("content") for _, d in events[1:4]] == [
        "a",
        "b",
        "c",
    ]
    (request,) = sim.requests
    assert request.finished_at is not None and request.finished_at - request.at >= 0.25


async def test_a_stall_lasts_until_the_client_hangs_up(sim: LlmSim) -> None:
    sim.script(Stall(after_chunks=1))
    body = json.dumps(ANTHROPIC_BODY | {"stream": True}).encode()
    port = int(sim.url.rsplit(":", 1)[1])
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    head = (
        f"POST /v1/messages HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {KEY}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    await stream.send_all(head.encode() + body)
    got = b""
    while b"text_delta" not in got:
        got += await stream.receive_some(65536)
    assert b"200 OK" in got and b'"this "' in got
    assert sim.requests[0].finished_at is None and not sim.requests[0].hung_up
    await stream.aclose()
    await sim.wait_until(lambda: sim.requests[0].hung_up)
    assert sim.requests[0].finished_at is not None


async def test_the_command_line_server_answers_with_its_reply(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from clanker.llmsim.__main__ import serve_forever

    async with trio.open_nursery() as nursery:
        sim = await nursery.start(serve_forever, "127.0.0.1", 0, None, "fixed answer", 0.0)
        answer = (await post(sim, "/v1/chat/completions", CHAT_BODY)).json()
        nursery.cancel_scope.cancel()
    assert answer["choices"][0]["message"]["content"] == "fixed answer"
    assert f"openai    base_url {sim.openai_url}" in capsys.readouterr().out
