"""The Llm actor in a real runtime, with a real Store (tmp_path) and the SDKs against llmsim.

The real clock: SQLite runs on worker threads and the SDKs use real sockets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clanker.llm import (
    LLM_CALL,
    CallContext,
    Complete,
    LlmClient,
    LlmCompleted,
    LlmConfig,
    LlmFailed,
    LlmRequest,
    LlmTimeout,
    ProviderConfig,
    RateLimited,
    ToolSpec,
    llm_child,
    user,
)
from clanker.llm.errors import ErrorKind
from clanker.llmsim import LlmSim, SimToolCall, SimUsage, Stall, Text, ToolUse, rate_limited
from clanker.runtime import ChildStartFailed, SupervisorSpec, open_runtime
from clanker.store import ActionRow, ActionRows, ActionsQuery, store_child

from .conftest import FAST_RETRY, KEY, provider_for


def tree(db: Path, config: LlmConfig) -> SupervisorSpec:
    return SupervisorSpec(children=[store_child(db), llm_child(config)])


async def llm_rows(rt: Any) -> list[ActionRow]:
    reply = await rt.lookup("store").ask(ActionsQuery(kind=LLM_CALL), ActionRows)
    return list(reversed(reply.rows))  # oldest first


def meta(row: ActionRow) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(row.metadata)
    return value


async def test_a_completed_call_is_answered_and_logged_with_usage_and_cost(
    tmp_path: Path, sim: LlmSim
) -> None:
    usage = SimUsage(
        input_tokens=200, output_tokens=40, cache_read_tokens=3000, cache_write_tokens=100
    )
    sim.script(
        ToolUse((SimToolCall("remember", {"fact": "likes tea"}),), text="Noted.", usage=usage)
    )
    config = LlmConfig(providers=(provider_for(sim, "anthropic"),), retry=FAST_RETRY)
    request = LlmRequest(
        messages=(user("I like tea"),),
        tools=(ToolSpec(name="remember", description="store a fact"),),
        context=CallContext(purpose="reply", guild_id=10, channel_id=20, message_id=30, user_id=40),
    )
    async with open_runtime(tree(tmp_path / "c.db", config), wire_check=True) as rt:
        reply = await rt.lookup("llm").ask(Complete(request=request), timeout=60)
        assert isinstance(reply, LlmCompleted)
        response = reply.response
        assert response.text == "Noted." and response.tool_calls[0].arguments == {
            "fact": "likes tea"
        }
        (row,) = await llm_rows(rt)
    expected_cost = (200 * 3 + 40 * 15 + 3000 * 0.3 + 100 * 3.75) / 1e6
    assert response.usd_cost == pytest.approx(expected_cost)
    assert row.usd_cost == pytest.approx(expected_cost)
    assert (row.guild_id, row.channel_id, row.message_id, row.user_id) == (10, 20, 30, 40)
    assert row.content == "Noted."
    m = meta(row)
    assert m["outcome"] == "ok" and m["purpose"] == "reply"
    assert m["provider"] == "anthropic" and m["model"] == "claude-sonnet-4-6"
    assert m["usage"] == {
        "input_tokens": 200,
        "output_tokens": 40,
        "cache_read_tokens": 3000,
        "cache_write_tokens": 100,
    }
    assert m["tools"] == ["remember"] and m["tool_calls"] == ["remember"]
    assert m["stop_reason"] == "tool_use" and m["error"] is None and m["priced"] is True
    assert m["latency"] > 0 and len(m["attempts"]) == 1
    assert KEY not in row.metadata and KEY not in row.content
    assert "prompt" not in m  # prompts are only logged when log_prompts is on


async def test_a_timeout_is_a_typed_failure_reply_and_a_logged_failure_row(
    tmp_path: Path, sim: LlmSim
) -> None:
    # A warm-up call first: a fresh SDK client's first request does slow one-time work.
    sim.script(Text("warm-up"), Stall(), Stall())
    config = LlmConfig(providers=(provider_for(sim, "openai"),), retry=FAST_RETRY)
    request = LlmRequest(
        messages=(user("hello?"),), timeout=1.0, context=CallContext(purpose="initiative")
    )
    async with open_runtime(tree(tmp_path / "c.db", config), wire_check=True) as rt:
        client = LlmClient(rt.lookup("llm"))
        await client.complete(LlmRequest(messages=(user("warm up"),)))
        reply = await rt.lookup("llm").ask(Complete(request=request), timeout=60)
        assert isinstance(reply, LlmFailed)
        assert reply.failure.kind is ErrorKind.TIMEOUT and reply.failure.provider == "openai"
        with pytest.raises(LlmTimeout, match=r"within the call's timeout of 1s"):
            await client.complete(request)
        rows = await llm_rows(rt)
    assert [meta(r)["outcome"] for r in rows] == ["ok", "failed", "failed"]
    m = meta(rows[1])
    assert m["purpose"] == "initiative"
    assert m["error"]["kind"] == "timeout" and m["error"]["provider"] == "openai"
    assert m["usage"] is None and rows[1].usd_cost == 0.0
    assert rows[1].content.startswith("LLM call failed at openai (gpt-5.4): timeout")
    assert m["attempts"][0]["decision"]["action"] == "give_up"
    await sim.wait_until(lambda: sim.requests[1].hung_up and sim.requests[2].hung_up)


async def test_retries_are_in_the_row_and_the_client_returns_the_response(
    tmp_path: Path, sim: LlmSim
) -> None:
    sim.script(rate_limited(retry_after=0.05), Text("hi"))
    config = LlmConfig(providers=(provider_for(sim, "xai"),), retry=FAST_RETRY, log_prompts=True)
    async with open_runtime(tree(tmp_path / "c.db", config), wire_check=True) as rt:
        client = LlmClient(rt.lookup("llm"))
        response = await client.complete(LlmRequest(messages=(user("yo"),)))
        (row,) = await llm_rows(rt)
        (info,) = await client.describe()
    assert response.text == "hi" and response.attempts == 2
    first, second = meta(row)["attempts"]
    assert first["error"]["kind"] == "rate_limited" and first["error"]["status"] == 429
    assert first["decision"]["action"] == "retry"
    assert first["decision"]["at"] == pytest.approx(first["ended_at"] + 0.05)
    assert "error" not in second
    assert meta(row)["prompt"]["messages"] == [{"role": "user", "parts": [{"text": "yo"}]}]
    assert (info.name, info.kind, info.api, info.available) == ("xai", "xai", "chat", True)
    assert info.base_url == sim.openai_url


async def test_the_client_raises_the_typed_error(tmp_path: Path, sim: LlmSim) -> None:
    sim.script(*[rate_limited(retry_after=0.01)] * 3)
    config = LlmConfig(providers=(provider_for(sim, "anthropic"),), retry=FAST_RETRY)
    async with open_runtime(tree(tmp_path / "c.db", config), wire_check=True) as rt:
        with pytest.raises(RateLimited) as caught:
            await LlmClient(rt.lookup("llm")).complete(LlmRequest(messages=(user("x"),)))
    assert len(caught.value.failure.errors) == 3


async def test_without_a_store_calls_still_work(
    sim: LlmSim, caplog: pytest.LogCaptureFixture
) -> None:
    config = LlmConfig(providers=(provider_for(sim, "local"),))
    spec = SupervisorSpec(children=[llm_child(config)])  # no Store in this tree
    async with open_runtime(spec) as rt:
        response = await LlmClient(rt.lookup("llm")).complete(LlmRequest(messages=(user("ping"),)))
    assert response.text == "(llmsim) you said: ping" and response.usd_cost == 0.0
    assert "llm_call not logged (the store is unavailable)" in caplog.text


async def test_a_config_with_no_usable_key_fails_the_start_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = LlmConfig(providers=(ProviderConfig(name="o", kind="openai", model="gpt-5.4"),))
    async with open_runtime(SupervisorSpec(children=[])) as rt:
        with pytest.raises(ChildStartFailed, match="LlmConfigError"):
            await rt.root.start_child(llm_child(config))
    assert (
        "no LLM provider is usable: provider 'o' (openai) has no API key: set $OPENAI_API_KEY"
        in caplog.text
    )
