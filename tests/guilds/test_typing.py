"""Typing-aware coalescing through the real router, guild session and channel actor, on
virtual time: TYPING_START reaches the channel's brain as `TypingStarted`, and the model call
is made exactly when the rules say (defaults: 1 s grace +0.25 s, 6 s window +0.25 s)."""

from __future__ import annotations

from pathlib import Path

import trio
import trio.testing

from clanker.discord.events import TypingStarted
from clanker.guilds import ROUTER_NAME
from clanker.runtime import Runtime

from .tree import ALICE, BOB, BOT_ID, GUILD, configure, message, post, product_tree

NO_GAP = {"activity": {"min_gap_seconds": 0}}


async def typing(rt: Runtime, user_id: int, channel_id: int = 10, is_bot: bool = False) -> None:
    """TYPING_START as the bridge delivers it."""
    await rt.lookup(ROUTER_NAME).tell(
        TypingStarted(channel_id=channel_id, guild_id=GUILD, user_id=user_id, is_bot=is_bot, at=0.0)
    )


async def test_an_untyped_addressed_message_reaches_the_model_after_the_grace(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with product_tree(tmp_path) as (rt, world):
        await configure(rt, NO_GAP)
        t0 = trio.current_time()
        await post(rt, message(10, "clanker, you there?"))
        # The bot's own typing, another bot's and another channel's change nothing.
        await typing(rt, BOT_ID)
        await typing(rt, 555, is_bot=True)
        await typing(rt, BOB, channel_id=11)
        await trio.sleep(30)
        assert [t - t0 for t in world.llm_times] == [1.25]
        assert world.texts(10) == ["answer 1"]


async def test_a_typed_burst_is_one_model_call_after_the_typing_ends(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with product_tree(tmp_path) as (rt, world):
        await configure(rt, NO_GAP)
        t0 = trio.current_time()
        await post(rt, message(10, "clanker, part 0"))
        for n in range(1, 5):
            # Alice goes on typing 0.1 s after each part and posts the next 1.4 s later:
            # longer than the grace, so only her typing keeps the batch open.
            await trio.sleep_until(t0 + 1.4 * (n - 1) + 0.1)
            await typing(rt, ALICE)
            await trio.sleep_until(t0 + 1.4 * n)
            await post(rt, message(10, f"part {n}"))
        await trio.sleep(30)
        # The last part came at 5.6; the window from 0 (6.25) ends before 5.6 + 1.25.
        assert [t - t0 for t in world.llm_times] == [6.25]
        assert [f"part {n}" in world.prompts[0] for n in range(5)] == [True] * 5
        assert world.texts(10) == ["answer 1"]


async def test_another_member_typing_holds_the_reply_until_they_post(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with product_tree(tmp_path) as (rt, world):
        await configure(rt, NO_GAP)
        t0 = trio.current_time()
        await post(rt, message(10, "clanker, what do you two think?"))
        await trio.sleep_until(t0 + 0.5)
        await typing(rt, BOB)
        await trio.sleep_until(t0 + 3.0)
        await post(rt, message(10, "no idea", author=BOB))
        await trio.sleep(30)
        assert [t - t0 for t in world.llm_times] == [4.25]  # a grace after bob's message
        assert "no idea" in world.prompts[0]
