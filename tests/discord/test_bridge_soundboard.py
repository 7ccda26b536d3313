"""The soundboard through the real discord.py-self bridge against the sandbox: listing, playing
(VOICE_CHANNEL_EFFECT_SEND), and Discord's refusals as typed failures (never a crash).

Real clock (curl_cffi, see tests/sandbox/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio
import trio_asyncio

from clanker.discord.bridge import wait_for_login
from clanker.discord.events import BridgeFailure, Done, SendGatewayOp
from clanker.discord.soundboard import (
    ListSoundboardSounds,
    PlaySoundboardSound,
    SoundboardSounds,
)
from clanker.runtime import Runtime, open_runtime
from clanker.sandbox import Sandbox, demo_world, open_sandbox
from clanker.sandbox.soundboard import (
    SPEAK,
    USE_EXTERNAL_SOUNDS,
    USE_SOUNDBOARD,
    SoundboardSound,
)

from .test_bridge import TIMEOUT, bridge_spec

Reply = Done | BridgeFailure


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    world = demo_world()
    other = world.add_guild("Elsewhere")
    world.add_member(other.id, world.bot.id)
    world.soundboard.add(SoundboardSound(world.snowflakes.next(), "boing", guild_id=other.id))
    async with open_sandbox(world) as sb:
        yield sb
        assert sb.unknown_routes == []


@pytest.fixture
async def rt(sandbox: Sandbox) -> AsyncIterator[Runtime]:
    async with trio_asyncio.open_loop(), open_runtime(bridge_spec(sandbox)) as runtime:
        await wait_for_login(runtime, timeout=TIMEOUT, name="bridge")
        yield runtime


async def join_lounge(rt: Runtime, sandbox: Sandbox, *, mute: bool = False) -> int:
    lounge = sandbox.world.channel_named("Lounge")
    op = SendGatewayOp(
        op=4,
        data={"guild_id": str(lounge.guild_id), "channel_id": str(lounge.id), "self_mute": mute},
    )
    assert await rt.lookup("bridge").ask(op, Done, timeout=TIMEOUT) == Done()
    with trio.fail_after(TIMEOUT):
        await sandbox.wait_until(
            lambda: (lounge.guild_id, sandbox.world.bot.id) in sandbox.world.voice_states
        )
    return lounge.id


async def play(rt: Runtime, channel_id: int, sound_id: int, source: int | None = None) -> Reply:
    cmd = PlaySoundboardSound(channel_id=channel_id, sound_id=sound_id, source_guild_id=source)
    reply = await rt.lookup("bridge").ask(cmd, timeout=TIMEOUT)
    assert isinstance(reply, Done | BridgeFailure)
    return reply


def sound_id(sandbox: Sandbox, name: str) -> int:
    for sounds in sandbox.world.soundboard.guild_sounds.values():
        for s in sounds:
            if s.name == name:
                return s.sound_id
    raise KeyError(name)


async def test_the_guilds_sounds_then_discords_defaults(rt: Runtime, sandbox: Sandbox) -> None:
    guild = sandbox.world.guild_named("Sandbox")
    got = await rt.lookup("bridge").ask(
        ListSoundboardSounds(guild_id=guild.id), SoundboardSounds, timeout=TIMEOUT
    )
    names = [s.name for s in got.sounds]
    assert names[:2] == ["rimshot", "tada"]
    assert {"airhorn", "quack", "sad horn"} <= set(names[2:])
    rimshot = got.sounds[0]
    assert (rimshot.guild_id, rimshot.emoji_name) == (guild.id, "🥁")
    assert all(s.guild_id is None for s in got.sounds[2:])
    routes = [c.route for c in sandbox.rest_calls if c.route and "sound" in c.route]
    assert routes == [
        "GET /guilds/{guild_id}/soundboard-sounds",
        "GET /soundboard-default-sounds",
    ]


async def test_a_sound_played_in_the_call_reaches_the_members(
    rt: Runtime, sandbox: Sandbox
) -> None:
    lounge = await join_lounge(rt, sandbox)
    guild = sandbox.world.guild_named("Sandbox")
    assert await play(rt, lounge, sound_id(sandbox, "rimshot"), guild.id) == Done()
    assert await play(rt, lounge, 2) == Done()  # a default sound (airhorn): no source guild
    played = sandbox.world.soundboard.played
    assert [(e.sound.name, e.channel_id, e.user_id) for e in played] == [
        ("rimshot", lounge, sandbox.world.bot.id),
        ("airhorn", lounge, sandbox.world.bot.id),
    ]
    call = next(c for c in sandbox.rest_calls if c.route and "send-soundboard" in c.route)
    assert call.status == 204
    assert call.json == {
        "sound_id": str(sound_id(sandbox, "rimshot")),
        "source_guild_id": str(guild.id),
    }
    with trio.fail_after(TIMEOUT):
        await sandbox.wait_until(
            lambda: (
                sum(d.event == "VOICE_CHANNEL_EFFECT_SEND" for d in sandbox.sent_dispatches) == 2
            )
        )
    effect = next(d for d in sandbox.sent_dispatches if d.event == "VOICE_CHANNEL_EFFECT_SEND")
    assert effect.data["sound_id"] == str(sound_id(sandbox, "rimshot"))
    assert effect.data["channel_id"] == str(lounge)
    assert effect.data["user_id"] == str(sandbox.world.bot.id)
    assert effect.data["sound_volume"] == 1.0


async def test_discords_refusals_are_typed_failures(rt: Runtime, sandbox: Sandbox) -> None:
    world = sandbox.world
    lounge = world.channel_named("Lounge").id
    general = world.channel_named("general").id
    rimshot = sound_id(sandbox, "rimshot")
    boing = sound_id(sandbox, "boing")
    elsewhere = world.guild_named("Elsewhere").id

    def code(reply: Reply) -> tuple[int | None, int | None]:
        assert isinstance(reply, BridgeFailure), reply
        assert reply.command == "PlaySoundboardSound"
        return reply.status, reply.code

    assert code(await play(rt, lounge, rimshot)) == (400, 40032)  # not connected to voice
    await join_lounge(rt, sandbox)
    assert code(await play(rt, general, rimshot)) == (400, 50024)  # not a voice channel
    assert code(await play(rt, lounge, 999)) == (404, 10097)  # unknown sound
    assert code(await play(rt, lounge, boing)) == (404, 10097)  # another guild's, no source
    assert await play(rt, lounge, boing, elsewhere) == Done()
    world.soundboard.deny(lounge, world.bot.id, USE_EXTERNAL_SOUNDS)
    assert code(await play(rt, lounge, boing, elsewhere)) == (403, 50013)
    assert await play(rt, lounge, rimshot) == Done()  # the guild's own still plays
    world.soundboard.deny(lounge, world.bot.id, USE_SOUNDBOARD)
    failure = await play(rt, lounge, rimshot)
    assert code(failure) == (403, 50013)
    assert isinstance(failure, BridgeFailure) and "USE_SOUNDBOARD" in failure.detail
    world.soundboard.allow(lounge, world.bot.id)
    world.soundboard.deny(lounge, world.bot.id, SPEAK)
    assert code(await play(rt, lounge, rimshot)) == (403, 50013)
    world.soundboard.allow(lounge, world.bot.id)
    await join_lounge(rt, sandbox, mute=True)
    with trio.fail_after(TIMEOUT):
        await sandbox.wait_until(
            lambda: world.voice_states[(world.guild_named("Sandbox").id, world.bot.id)].self_mute
        )
    assert code(await play(rt, lounge, rimshot)) == (403, 50013)  # muted
    assert [e.sound.name for e in world.soundboard.played] == ["boing", "rimshot"]
    # the bridge is still alive and answering
    assert await rt.lookup("bridge").ask(
        ListSoundboardSounds(guild_id=elsewhere), SoundboardSounds, timeout=TIMEOUT
    )
