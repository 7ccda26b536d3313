"""Conversations end to end: the sandbox Discord with the real discord.py-self client, the
whole tree, and the real anthropic/openai SDKs against llmsim. Only the far ends are scripted.

Real sockets, so the real clock: waits are on conditions, bounded by generous timeouts.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
import trio

from clanker.cli.sandbox import SandboxApp, open_sandbox_app
from clanker.llm import LlmConfig, ProviderConfig, RetryConfig
from clanker.llmsim import JsonReply, LlmSim, Stall, Text, open_llmsim, rate_limited
from clanker.runtime import Runtime
from clanker.settings import CurrentSettings, GetSettings, SettingsUpdated, UpdateSettings
from clanker.store import ActionRow, ActionRows, ActionsQuery, StoreClient

TIMEOUT = 30.0
FAST = {"activity": {"coalesce_window_seconds": 0.2, "min_gap_seconds": 0}}


def provider(sim: LlmSim, kind: str, **kw: Any) -> ProviderConfig:
    if kind == "anthropic":
        return ProviderConfig(
            name="anthropic",
            kind="anthropic",
            model="claude-sonnet-4-6",
            base_url=sim.anthropic_url,
            api_key="sk-test",
            **kw,
        )
    return ProviderConfig(
        name="openai",
        kind="openai",
        model="gpt-5.4-mini",
        base_url=sim.openai_url,
        api_key="sk-test",
        **kw,
    )


async def configure(rt: Runtime, patch: dict[str, Any]) -> None:
    ref = rt.lookup("settings")
    current = await ref.ask(GetSettings(), CurrentSettings)
    reply = await ref.ask(UpdateSettings(patch=json.dumps(patch), expected_version=current.version))
    assert isinstance(reply, SettingsUpdated), reply


async def actions(rt: Runtime, kind: str) -> list[ActionRow]:
    rows = await rt.lookup("store").ask(ActionsQuery(kind=kind, limit=200), ActionRows)
    return list(reversed(rows.rows))  # oldest first


async def wait_for_actions(
    rt: Runtime, kind: str, predicate: Callable[[list[ActionRow]], bool]
) -> list[ActionRow]:
    rows: list[ActionRow] = []
    try:
        with trio.fail_after(TIMEOUT):
            while True:
                rows = await actions(rt, kind)
                if predicate(rows):
                    return rows
                await trio.sleep(0.02)
    except trio.TooSlowError:
        seen = decisions(rows)
        raise AssertionError(f"{kind} actions never matched; last seen: {seen}") from None


def decisions(rows: list[ActionRow]) -> list[str]:
    return [row.content for row in rows]


@pytest.fixture
async def sim() -> AsyncIterator[LlmSim]:
    async with open_llmsim() as s:
        yield s


def open_app(
    tmp_path: Path, sim: LlmSim, kind: str = "anthropic", **kw: Any
) -> AbstractAsyncContextManager[SandboxApp]:
    retry = RetryConfig(base_delay=0.05, max_attempts=1 if kw else 3)
    llm = LlmConfig(providers=(provider(sim, kind, **kw),), retry=retry)
    return open_sandbox_app(tmp_path / "c.db", llm=llm)


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
async def test_a_direct_mention_gets_a_reply(tmp_path: Path, sim: LlmSim, kind: str) -> None:
    sim.script(JsonReply({"text": "hi @alice, I'm here", "skip": False, "reaction": None}))
    async with open_app(tmp_path, sim, kind) as app:
        sb, rt = app.sandbox, app.runtime
        await configure(rt, FAST)
        alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
        sb.post_message(alice, general, f"<@{sb.world.bot.id}> are you there?")
        with trio.fail_after(TIMEOUT):
            reply = await sb.next_bot_message(general)
        assert reply.content == f"hi <@{alice.id}>, I'm here"  # @name became a mention
        [request] = sim.requests
        assert "are you there?" in request.user_text
        assert "Someone is talking to you directly" in request.user_text
        rows = await wait_for_actions(rt, "reply_decision", lambda r: "sent: sent" in decisions(r))
        assert decisions(rows) == ["admitted: addressed", "started: addressed", "sent: sent"]
        [sent] = await actions(rt, "sent_message")
        assert sent.message_id == reply.id
        [call] = await actions(rt, "llm_call")
        assert json.loads(call.metadata)["provider"] == kind


async def test_ambient_chatter_reaches_the_model_which_skips_but_reacts(
    tmp_path: Path, sim: LlmSim
) -> None:
    sim.script(JsonReply({"text": "", "skip": True, "reaction": "🌤️"}))
    async with open_app(tmp_path, sim) as app:
        sb, rt = app.sandbox, app.runtime
        await configure(rt, FAST)
        bob, general = sb.world.user_named("bob"), sb.world.channel_named("general")
        said = sb.post_message(bob, general, "nice weather today")
        rows = await wait_for_actions(rt, "reply_decision", lambda r: len(r) >= 3)
        assert decisions(rows) == ["admitted: ambient", "started: ambient", "skipped: llm_skip"]
        assert "Nobody is talking to you" in sim.requests[0].user_text
        assert sb.bot_messages() == []
        [reaction] = await actions(rt, "reaction_added")
        assert (reaction.message_id, reaction.content) == (said.id, "🌤️")
        assert any(r.emoji.name == "🌤️" for r in sb.world.message(said.id).reactions)


async def test_a_dm_is_answered_in_the_dm(tmp_path: Path, sim: LlmSim) -> None:
    # A DM names nobody, yet it is speech to the bot: answered even with unsolicited replies
    # off, and the reply lands in the DM (the sandbox's DMs work as Discord's do).
    sim.script(JsonReply({"text": "sure, what's up?", "skip": False, "reaction": None}))
    async with open_app(tmp_path, sim) as app:
        sb, rt = app.sandbox, app.runtime
        await configure(rt, {**FAST, "permissions": {"allow_unsolicited_replies": False}})
        alice = sb.world.user_named("alice")
        dm = sb.open_dm(alice)
        said = sb.post_message(alice, dm, "hey, got a minute?")
        with trio.fail_after(TIMEOUT):
            reply = await sb.next_bot_message(dm)
        assert reply.content == "sure, what's up?"
        assert reply.guild_id is None
        rows = await wait_for_actions(rt, "reply_decision", lambda r: "sent: sent" in decisions(r))
        assert decisions(rows)[0] == "admitted: addressed"
        assert rows[0].message_id == said.id and rows[0].guild_id is None
        assert "Someone is talking to you directly" in sim.requests[0].user_text


async def test_a_429_then_success_is_retried(tmp_path: Path, sim: LlmSim) -> None:
    sim.script(rate_limited(retry_after=0.3), JsonReply({"text": "sorry, was busy"}))
    async with open_app(tmp_path, sim) as app:
        sb, rt = app.sandbox, app.runtime
        await configure(rt, FAST)
        alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
        sb.post_message(alice, general, "clanker?")
        with trio.fail_after(TIMEOUT):
            reply = await sb.next_bot_message(general)
        assert reply.content == "sorry, was busy"
        first, second = sim.requests
        assert second.at - first.finished_at >= 0.3  # retry-after honoured (trio time)
        [call] = await actions(rt, "llm_call")
        assert len(json.loads(call.metadata)["attempts"]) == 2


async def test_a_model_timeout_yields_no_message_and_a_logged_failure(
    tmp_path: Path, sim: LlmSim
) -> None:
    # One attempt per call, 0.5 s each; the brain retries a failed job twice (+2.5 s, +5 s).
    sim.script(Stall(), Stall(), Stall())
    async with open_app(tmp_path, sim, attempt_timeout=0.5) as app:
        sb, rt = app.sandbox, app.runtime
        await configure(rt, FAST)
        alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
        asked = sb.post_message(alice, general, "clanker, what's 2+2?")
        rows = await wait_for_actions(
            rt, "reply_decision", lambda r: any(x.content.startswith("failed") for x in r)
        )
        assert [d for d in decisions(rows) if not d.startswith("started")] == [
            "admitted: addressed",
            "retrying: llm_timeout",
            "retrying: llm_timeout",
            "failed: llm_timeout",
        ]
        assert sb.bot_messages() == []
        calls = await actions(rt, "llm_call")
        assert len(calls) == 3
        assert all(json.loads(c.metadata)["error"]["kind"] == "timeout" for c in calls)
        # The message itself was stored before anything was decided.
        row = await StoreClient(rt.lookup("store")).get_message(asked.id)
        assert row is not None and row.content == "clanker, what's 2+2?"


async def test_a_stop_word_cancels_a_reply_in_flight(tmp_path: Path, sim: LlmSim) -> None:
    # The reply's call never finishes; the next call is the acknowledgement the model writes.
    sim.script(Text("a very long answer", delay=60.0), Text("Fine, stopping there."))
    async with open_app(tmp_path, sim) as app:
        sb, rt = app.sandbox, app.runtime
        await configure(rt, FAST)
        alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
        sb.post_message(alice, general, "clanker, tell me everything about trio")
        with trio.fail_after(TIMEOUT):
            await sim.wait_for_requests(1)
        stop = sb.post_message(alice, general, "stop")
        with trio.fail_after(TIMEOUT):
            ack = await sb.next_bot_message(general)
        assert ack.content == "Fine, stopping there."
        assert ack.reference_id == stop.id
        rows = await wait_for_actions(rt, "stop_acknowledged", lambda r: len(r) == 1)
        assert rows[0].message_id == stop.id
        decided = decisions(await actions(rt, "reply_decision"))
        assert "cancelled: stop_requested" in decided
        with trio.fail_after(TIMEOUT):
            await sim.wait_until(lambda: sim.requests[0].hung_up)
        assert len(sb.bot_messages()) == 1  # only the acknowledgement
        # The model call itself was cancelled (not left running), and logged as such; the
        # acknowledgement was a call of its own.
        calls = await wait_for_actions(rt, "llm_call", lambda r: len(r) == 2)
        outcomes = {
            json.loads(c.metadata)["purpose"]: json.loads(c.metadata)["outcome"] for c in calls
        }
        assert outcomes == {"reply": "cancelled", "stop_ack": "ok"}


async def test_reply_generation_settings_apply_live(tmp_path: Path, sim: LlmSim) -> None:
    sim.script(JsonReply({"text": "one"}), JsonReply({"text": "two"}))
    async with open_app(tmp_path, sim) as app:
        sb, rt = app.sandbox, app.runtime
        await configure(rt, FAST)
        alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
        sb.post_message(alice, general, "clanker, first")
        with trio.fail_after(TIMEOUT):
            await sb.next_bot_message(general)
        await configure(
            rt,
            {
                "reply_generation": {
                    "provider": "anthropic",
                    "model": "claude-haiku-4-5",
                    "max_output_tokens": 321,
                }
            },
        )
        sb.post_message(alice, general, "clanker, second")
        with trio.fail_after(TIMEOUT):
            await sb.next_bot_message(general)
        first, second = sim.requests
        assert (first.model, first.body["max_tokens"]) == ("claude-sonnet-4-6", 2500)
        assert (second.model, second.body["max_tokens"]) == ("claude-haiku-4-5", 321)
