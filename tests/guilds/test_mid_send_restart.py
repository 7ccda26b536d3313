"""A channel actor that crashes while its reply is going out, on virtual time (the product tree
with the test Llm and bridge): its fresh incarnation never sends that reply again, and gives
it its terminal decision from what Discord shows: ``sent`` when the bot's message comes back
through the gateway (even after the restart), ``failed: interrupted_mid_send`` when it has not
within the grace."""

from __future__ import annotations

from pathlib import Path

import trio
import trio.testing

from clanker.discord.events import DiscordMessage, MessageCreated
from clanker.guilds.channel import MID_SEND_GRACE

from .tree import (
    BOT_ID,
    BOT_NAME,
    FAST,
    GUILD,
    World,
    actions,
    configure,
    crash,
    decisions,
    message,
    post,
    product_tree,
)


def echo(message_id: int, channel_id: int, content: str) -> MessageCreated:
    """The gateway's MESSAGE_CREATE for a message the bot sent."""
    return MessageCreated(
        message=DiscordMessage(
            message_id=message_id,
            channel_id=channel_id,
            guild_id=GUILD,
            author_id=BOT_ID,
            author_name=BOT_NAME,
            author_is_bot=False,
            content=content,
            created_at="2026-01-01T00:00:00+00:00",
        )
    )


async def test_a_reply_that_went_out_as_its_channel_crashed_is_called_sent(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    world = World(send_delays=[3.0])  # the bridge holds the reply's send for 3 s
    async with product_tree(tmp_path, world) as (rt, w):
        await configure(rt, FAST)
        trigger = await post(rt, message(10, "clanker, hello"))
        await trio.sleep(2.5)
        [started] = await actions(rt, "send_started")
        assert started.message_id == trigger and w.texts(10) == []
        await crash(rt, "channel:10")
        await trio.sleep(2.0)
        assert w.texts(10) == ["answer 1"]  # it landed, after the job that sent it died
        assert not any(d.startswith(("sent", "failed")) for d in await decisions(rt))
        await post(rt, echo(10_000, 10, "answer 1"))
        await trio.sleep(0.1)
        assert (await decisions(rt))[-1] == "sent: sent_before_restart"
        await trio.sleep(MID_SEND_GRACE + 60)
        assert w.texts(10) == ["answer 1"]  # never sent again
        assert [d for d in await decisions(rt) if d.startswith(("sent", "failed"))] == [
            "sent: sent_before_restart"
        ]


async def test_a_reply_whose_echo_is_stored_before_the_restart_is_called_sent(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    world = World(send_delays=[3.0])
    async with product_tree(tmp_path, world) as (rt, _w):
        await configure(rt, FAST)
        await post(rt, message(10, "clanker, hello"))
        await trio.sleep(2.5)
        # The bridge is holding the send; the job is cancelled by the crash, the echo (here a
        # little early) is stored by the router before the fresh incarnation looks.
        await post(rt, echo(10_000, 10, "answer 1"))
        await trio.sleep(0.01)
        await crash(rt, "channel:10")
        await trio.sleep(0.1)
        assert (await decisions(rt))[-1] == "sent: sent_before_restart"


async def test_a_reply_that_never_showed_up_is_failed_after_the_grace(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    world = World(send_delays=[120.0])  # held past its start_by: the bridge refuses it
    async with product_tree(tmp_path, world) as (rt, w):
        await configure(rt, FAST)
        await post(rt, message(10, "clanker, hello"))
        await trio.sleep(2.5)
        assert len(await actions(rt, "send_started")) == 1
        await crash(rt, "channel:10")
        restarted = trio.current_time()
        await trio.sleep_until(restarted + MID_SEND_GRACE - 0.1)
        assert not any(d.startswith(("sent", "failed")) for d in await decisions(rt))
        await trio.sleep(0.2)
        assert (await decisions(rt))[-1] == "failed: interrupted_mid_send"
        await trio.sleep(200)
        assert w.texts(10) == [] and len(w.expired) == 1
        assert len(await actions(rt, "send_started")) == 1  # not tried again
