"""Gateway trouble: dropped connections, a frozen gateway, lost sessions, and voice signalling."""

from __future__ import annotations

import trio
from voice_client import RawVoice


def _alice_general(sandbox):
    return sandbox.world.user_named("alice"), sandbox.world.channel_named("general")


def _contents(client):
    return [m.content for m in client.messages()]


async def test_dropped_gateway_resumes_and_replays_missed_dispatches(connect, sandbox):
    alice, general = _alice_general(sandbox)
    async with connect() as client:
        sandbox.post_message(alice, general, "before")
        await client.wait_until(lambda: _contents(client) == ["before"])

        sandbox.drop_gateway()
        assert sandbox.hub.connected_sessions == []
        for i in range(3):
            sandbox.post_message(alice, general, f"gap {i}")
        await client.wait_until(lambda: len(client.messages()) >= 4)
        await client.wait_until(lambda: bool(client.of("resumed")))

        sandbox.post_message(alice, general, "after")
        await client.wait_until(lambda: "after" in _contents(client))
        assert _contents(client) == ["before", "gap 0", "gap 1", "gap 2", "after"]
    stats = sandbox.gateway_stats
    assert (stats.identifies, stats.resumes, stats.invalid_sessions) == (1, 1, 0)
    assert stats.connections == 2


async def test_short_gateway_stall_delays_delivery(connect, sandbox):
    alice, general = _alice_general(sandbox)
    async with connect() as client:
        start = trio.current_time()
        sandbox.stall_gateway(1)
        sandbox.post_message(alice, general, "held back")
        await client.wait_until(lambda: bool(client.messages()))
        assert trio.current_time() - start >= 1
        assert _contents(client) == ["held back"]
        assert sandbox.gateway_stats.resumes == 0


async def test_long_gateway_stall_makes_client_reconnect_and_resume(connect, sandbox):
    alice, general = _alice_general(sandbox)
    # The client gives up on a socket that has been silent for heartbeat_timeout (default 60 s).
    async with connect(heartbeat_timeout=1.5) as client:
        start = trio.current_time()
        sandbox.stall_gateway(2.5)
        sandbox.post_message(alice, general, "during stall")
        await client.wait_until(lambda: bool(client.of("resumed")))
        assert trio.current_time() - start >= 2.5
        await client.wait_until(lambda: bool(client.messages()))
        sandbox.post_message(alice, general, "after stall")
        await client.wait_until(lambda: "after stall" in _contents(client))
        assert _contents(client) == ["during stall", "after stall"]
    stats = sandbox.gateway_stats
    assert (stats.identifies, stats.resumes, stats.connections) == (1, 1, 2)
    assert stats.heartbeats > 0


async def test_invalid_session_makes_client_identify_again(connect, sandbox):
    alice, general = _alice_general(sandbox)
    async with connect() as client:
        sandbox.invalidate_sessions()
        sandbox.drop_gateway()
        await client.wait_until(lambda: len(client.of("ready")) == 2)
        sandbox.post_message(alice, general, "welcome back")
        await client.wait_until(lambda: _contents(client) == ["welcome back"])
    stats = sandbox.gateway_stats
    assert (stats.identifies, stats.resumes, stats.invalid_sessions) == (2, 0, 1)


async def test_voice_state_request_yields_state_and_server_updates(connect, sandbox, call_aio):
    world = sandbox.world
    lounge, guild = world.channel_named("Lounge"), world.guild_named("Sandbox")
    async with connect() as client:
        channel = client.get_channel(lounge.id)
        voice = await call_aio(channel.connect, cls=RawVoice, timeout=30, self_mute=True)
        assert voice.server_data == {
            "token": "sandbox-voice-token-1",
            "guild_id": str(guild.id),
            "endpoint": sandbox.hub.voice_endpoint,
        }
        state = voice.state_data
        assert (state["channel_id"], state["user_id"]) == (str(lounge.id), str(world.bot.id))
        assert state["session_id"] == client.ws.session_id
        assert state["self_mute"] is True
        assert world.voice_states[(guild.id, world.bot.id)].channel_id == lounge.id

        await call_aio(voice.disconnect, force=False)
        await client.wait_until(
            lambda: any(after.channel is None for _, _, after in client.of("voice_state_update"))
        )
        assert (guild.id, world.bot.id) not in world.voice_states
    requests = [r for r in sandbox.gateway_stats.voice_requests if r.get("channel_id")]
    assert [int(r["channel_id"]) for r in requests] == [lounge.id]
