"""Typing-aware coalescing end to end: the sandbox sends TYPING_START as Discord does, the real
discord.py-self client and the whole tree carry it to the channel's brain, and the model request
(the real Anthropic SDK against llmsim) is timed by it. Default coalescing settings (1 s grace
+0.25 s, 6 s window), minimum gap 0.

Real sockets, so the real clock: the lower bounds are exact (a reply never starts before its
due time), the upper bounds generous.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from clanker.cli.sandbox import open_sandbox_app
from clanker.llm import LlmConfig, RetryConfig
from clanker.llmsim import JsonReply, LlmSim, open_llmsim

from .test_conversation import TIMEOUT, configure, provider

NO_GAP = {"activity": {"min_gap_seconds": 0}}


@pytest.fixture
async def sim() -> AsyncIterator[LlmSim]:
    async with open_llmsim() as s:
        yield s


async def test_the_reply_waits_for_a_member_who_is_typing_and_not_for_one_who_is_not(
    tmp_path: Path, sim: LlmSim
) -> None:
    sim.script(
        JsonReply({"text": "yes, here", "skip": False, "reaction": None}),
        JsonReply({"text": "both parts read", "skip": False, "reaction": None}),
    )
    llm = LlmConfig(providers=(provider(sim, "anthropic"),), retry=RetryConfig(max_attempts=1))
    async with open_sandbox_app(tmp_path / "c.db", llm=llm) as app:
        sb = app.sandbox
        await configure(app.runtime, NO_GAP)
        alice = sb.world.user_named("alice")
        general, random = sb.world.channel_named("general"), sb.world.channel_named("random")

        # Nobody typing: the model is asked a grace after the message, not a window after.
        posted_at = trio.current_time()
        sb.post_message(alice, general, "clanker, you there?")
        with trio.fail_after(TIMEOUT):
            await sb.next_bot_message(general)
        [untyped] = sim.requests
        assert 1.25 <= untyped.at - posted_at < 6.0

        # Alice goes on typing after her first message: the batch waits for her second one
        # (2 s later, past the grace) and both are answered by one request.
        first_at = trio.current_time()
        sb.post_message(alice, random, "clanker, one question")
        await trio.sleep_until(first_at + 0.3)
        sb.start_typing(alice, random)
        await trio.sleep_until(first_at + 2.0)
        second_at = trio.current_time()
        sb.post_message(alice, random, "in two parts")
        with trio.fail_after(TIMEOUT):
            reply = await sb.next_bot_message(random)
        assert reply.content == "both parts read"
        typed = sim.requests[1]
        assert len(sim.requests) == 2
        new = typed.user_text.split("NEW MESSAGES")[-1]
        assert "one question" in new and "in two parts" in new
        # A grace after her second message (her typing ended with it), inside the window.
        assert second_at + 1.25 <= typed.at < first_at + 6.25 + 1.0
