"""The brain's contract in a real trio loop on the autojump clock: the shape of the actor the
lead wires in, asserting exact virtual times."""

from __future__ import annotations

import math

import trio
import trio.testing

from clanker.settings import Settings
from clanker.text import (
    Action,
    ChannelBrain,
    MessageView,
    Outcome,
    StartGeneration,
)
from clanker.text.brain import TYPING_REFRESH_SECONDS

from .helpers import ALICE, BOT, CHANNEL, GUILD, msg


async def run_channel(
    inbox: trio.MemoryReceiveChannel[MessageView | int],
    outbox: trio.MemorySendChannel[MessageView | int],
    done: list[tuple[float, Action]],
    generation_seconds: float,
) -> None:
    """A minimal channel loop: one inbox (messages, and job ids when a generation ends),
    actions carried out in order, and a sleep until the brain's next wake-up."""
    brain = ChannelBrain(channel_id=CHANNEL, guild_id=GUILD, bot_user_id=BOT, settings=Settings())

    async def generate(job_id: int) -> None:
        await trio.sleep(generation_seconds)  # the LLM call and the send
        await outbox.send(job_id)

    async with trio.open_nursery() as nursery:
        while True:
            deadline = brain.next_wakeup()
            actions: list[Action] = []
            with trio.move_on_at(math.inf if deadline is None else deadline) as timer:
                event = await inbox.receive()
                now = trio.current_time()
                if isinstance(event, int):
                    actions = brain.on_generation_finished(event, Outcome.SENT, now)
                else:
                    actions = brain.on_message(event, now)
            if timer.cancelled_caught:
                actions = brain.on_tick(trio.current_time())
            for action in actions:
                done.append((trio.current_time(), action))
                if isinstance(action, StartGeneration):
                    nursery.start_soon(generate, action.job.job_id)


async def test_a_burst_answered_once_on_virtual_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    done: list[tuple[float, Action]] = []
    send, recv = trio.open_memory_channel[MessageView | int](16)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_channel, recv, send, done, 20.0)
        burst = [msg(f"part {i}", author=ALICE) for i in range(5)]
        for i, m in enumerate(burst):
            await trio.sleep_until(i * 0.75)
            await send.send(m)
        await trio.sleep_until(40)
        nursery.cancel_scope.cancel()
    starts = [(t, a) for t, a in done if isinstance(a, StartGeneration)]
    # Nobody typing: due 1 s (+0.25 s) after the latest message, at 3.0.
    assert [(t, a.job.trigger.message_id) for t, a in starts] == [(4.25, burst[-1].message_id)]
    typing = [t for t, a in done if type(a).__name__ == "ShowTyping"]
    assert typing == [4.25, 4.25 + TYPING_REFRESH_SECONDS, 4.25 + 2 * TYPING_REFRESH_SECONDS]
    sent = [(t, a.decision) for t, a in done if type(a).__name__ == "LogDecision"]
    assert sent[-1] == (24.25, "sent")
