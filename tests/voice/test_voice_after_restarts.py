"""A voice join works after a crash of each actor the product tree rebuilds (issue 11 item 1,
part d): the whole product tree logged into the sandbox Discord, the real bridge and the REAL
clankvox binary against the sandbox voice server. Real sockets and a child process, so the real
clock: waits are on conditions, bounded by generous timeouts."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import trio

from clanker.cli.sandbox import open_sandbox_app
from clanker.discord.events import BridgeStatus, GetBridgeStatus
from clanker.guilds import Directory, GetDirectory
from clanker.guilds.messages import (
    LeaveVoice,
    SetVoiceMute,
    VoiceLeft,
    channel_name,
    voice_link_name,
)
from clanker.runtime import ActorCrashed, OperatorCrash, Runtime
from clanker.voice.link_messages import VoiceMute

from .voice_app import TIMEOUT, VoiceApp, clankvox_binary


async def crash(rt: Runtime, name: str) -> None:
    """Crash the actor registered as ``name`` through the runtime; wait until it runs again."""
    ref = rt.lookup(name)
    node = rt.snapshot().find(ref.path)
    assert node is not None
    before = node.incarnation
    with pytest.raises(ActorCrashed):
        await ref.ask(OperatorCrash(reason=f"test crashes {name}"), timeout=TIMEOUT)
    with trio.fail_after(TIMEOUT):
        while True:
            node = rt.snapshot().find(ref.path)
            if node is not None and node.incarnation > before and node.status == "running":
                return
            await trio.sleep(0.05)


async def wait_bridge_ready(rt: Runtime, *, identity: bool = False) -> None:
    """Until the bridge is logged in (and, with ``identity``, the router knows who we are)."""
    with trio.fail_after(TIMEOUT):
        while True:
            with contextlib.suppress(Exception):
                status = await rt.lookup("discord").ask(GetBridgeStatus(), BridgeStatus, timeout=5)
                directory = await rt.lookup("guilds").ask(GetDirectory(), Directory, timeout=5)
                if status.ready and (directory.identity is not None or not identity):
                    return
            await trio.sleep(0.05)


async def test_a_voice_join_works_after_each_actor_crashes(tmp_path: Path) -> None:
    clankvox_binary()
    async with open_sandbox_app(tmp_path / "v.db", env={}) as app:
        sb, rt = app.sandbox, app.runtime
        voice = VoiceApp(sandbox=sb, runtime=rt)
        await wait_bridge_ready(rt, identity=True)
        general = sb.world.channel_named("general")
        sb.post_message(sb.world.user_named("alice"), general, "hello there")  # a channel actor
        with trio.fail_after(TIMEOUT):
            while True:
                try:
                    rt.lookup(channel_name(general.id))
                    break
                except Exception:
                    await trio.sleep(0.05)
        names = [
            "store",
            "llm",
            "settings",
            "pacing",
            "guilds",
            f"guild:{voice.guild_key}",
            channel_name(general.id),
            "discord",
        ]
        for name in names:
            await crash(rt, name)
            await wait_bridge_ready(rt)
            try:
                await voice.join()
                await voice.wait_ready()
            except AssertionError as exc:
                raise AssertionError(f"after a crash of {name}: {exc}") from None
            session = rt.lookup(f"guild:{voice.guild_key}")
            left = await session.ask(LeaveVoice(), VoiceLeft, timeout=TIMEOUT)
            assert left.channel_id == sb.world.channel_named("Lounge").id, name


async def test_a_mute_holds_through_a_crash_of_the_voice_link(tmp_path: Path) -> None:
    """Muted from the guild session (as the dashboard does), the bot shows self-muted in the
    sandbox Discord without a reconnect; a crashed link rejoins muted (it asks the session)."""
    clankvox_binary()
    async with open_sandbox_app(tmp_path / "v.db", env={}) as app:
        sb, rt = app.sandbox, app.runtime
        voice = VoiceApp(sandbox=sb, runtime=rt)
        await wait_bridge_ready(rt, identity=True)
        await voice.join()
        await voice.wait_ready()
        connects = (await voice.status()).connects
        session = rt.lookup(f"guild:{voice.guild_key}")
        reply = await session.ask(SetVoiceMute(muted=True), VoiceMute, timeout=TIMEOUT)
        assert reply == VoiceMute(muted=True, in_call=True)
        bot_state = (int(voice.guild_key), sb.world.bot.id)

        async def shown_muted(muted: bool) -> None:
            """Until the sandbox Discord shows the bot (un)muted."""
            with trio.fail_after(TIMEOUT):
                while True:
                    if sb.world.voice_states[bot_state].self_mute == muted:
                        return
                    await trio.sleep(0.05)

        await shown_muted(True)
        status = await voice.status()
        assert status.self_mute and status.connects == connects and status.phase == "ready"
        await crash(rt, voice_link_name(voice.guild_key))
        await voice.wait_ready()
        assert (await voice.status()).self_mute
        assert sb.world.voice_states[bot_state].self_mute
        await session.ask(SetVoiceMute(muted=False), VoiceMute, timeout=TIMEOUT)
        await shown_muted(False)
