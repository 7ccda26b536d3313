"""Member-join greetings end to end: a newcomer joins the sandbox guild, Discord (the sandbox)
posts its join message in the system channel, the real discord.py-self bridge reads it as
the event, and the model (llmsim through the real SDK) sees it and may welcome them or skip;
with the setting off it is logged and not answered. Real sockets: the real clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from clanker.llmsim import JsonReply, LlmSim, open_llmsim

from .test_conversation import (
    FAST,
    TIMEOUT,
    configure,
    decisions,
    open_app,
    wait_for_actions,
)


@pytest.fixture
async def sim() -> AsyncIterator[LlmSim]:
    async with open_llmsim() as s:
        yield s


def in_channel(sb, channel_id: int) -> list:  # type: ignore[no-untyped-def, type-arg]
    return [m for m in sb.world.messages.values() if m.channel_id == channel_id]


async def test_a_newcomer_is_welcomed_in_the_system_channel(tmp_path: Path, sim: LlmSim) -> None:
    sim.script(JsonReply({"text": "welcome, @carol!", "skip": False, "reaction": None}))
    async with open_app(tmp_path, sim) as app:
        sb, rt = app.sandbox, app.runtime
        await configure(rt, FAST)
        general = sb.world.channel_named("general")
        carol = sb.add_member(sb.world.guild_named("Sandbox"), "carol")
        with trio.fail_after(TIMEOUT):
            reply = await sb.next_bot_message(general)
        joined = [m for m in in_channel(sb, general.id) if m.kind == 7]
        assert len(joined) == 1 and joined[0].author_id == carol.user_id
        assert reply.content == f"welcome, <@{carol.user_id}>!"
        [request] = sim.requests
        assert "[SERVER EVENT: carol just joined the server]" in request.user_text
        rows = await wait_for_actions(rt, "reply_decision", lambda r: "sent: sent" in decisions(r))
        assert decisions(rows)[:2] == ["admitted: forced", "started: forced"]


async def test_the_model_may_skip_and_the_setting_turns_greetings_off(
    tmp_path: Path, sim: LlmSim
) -> None:
    sim.script(JsonReply({"text": "", "skip": True, "reaction": None}))
    async with open_app(tmp_path, sim) as app:
        sb, rt = app.sandbox, app.runtime
        await configure(rt, FAST)
        guild = sb.world.guild_named("Sandbox")
        sb.add_member(guild, "carol")
        await wait_for_actions(
            rt, "reply_decision", lambda r: any(d.startswith("skipped") for d in decisions(r))
        )
        assert len(sim.requests) == 1  # the model saw it and chose to skip
        await configure(rt, {"initiative": {"greet_newcomers": False}})
        sb.add_member(guild, "dave")
        rows = await wait_for_actions(
            rt, "reply_decision", lambda r: "skipped: greetings_off" in decisions(r)
        )
        assert len(sim.requests) == 1  # not asked about dave
        general = sb.world.channel_named("general")
        assert [m for m in in_channel(sb, general.id) if m.author_id == sb.world.bot.id] == []
        assert "skipped: greetings_off" in decisions(rows)
