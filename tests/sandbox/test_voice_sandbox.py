"""The voice server inside the sandbox: op 4 answers point at it, the credentials they carry let
a voice client in, and simulated members joining and speaking reach that client."""

from __future__ import annotations

from voice_client import RawVoice, RawVoiceClient

from clanker.sandbox import demo_world, open_sandbox
from clanker.sandbox.gateway import GatewayHub, VoiceUpdateTiming
from clanker.sandbox.voice import VoiceGrant, goertzel_power, tone
from clanker.sandbox.voice.audio import Pcm
from clanker.sandbox.voice.opus import OpusDecoder


def test_the_gateway_hub_grants_what_it_announces_and_revokes_on_leave():
    world = demo_world()
    hub = GatewayHub(world, voice_endpoint="127.0.0.1:1", voice_timing=VoiceUpdateTiming(0, 0))
    grants: list[VoiceGrant] = []
    leaves: list[tuple[str, str]] = []
    hub.on_voice_grant = grants.append
    hub.on_voice_leave = lambda guild, user: leaves.append((guild, user))
    cid, _ = hub.open_connection()
    hub.receive(cid, {"op": 2, "d": {"token": world.token}})
    guild, lounge = world.guild_named("Sandbox"), world.channel_named("Lounge")
    actions = hub.receive(
        cid, {"op": 4, "d": {"guild_id": str(guild.id), "channel_id": str(lounge.id)}}
    )
    server = next(a.payload["d"] for a in actions if a.payload.get("t") == "VOICE_SERVER_UPDATE")
    state = next(a.payload["d"] for a in actions if a.payload.get("t") == "VOICE_STATE_UPDATE")
    assert grants == [
        VoiceGrant(
            server_id=str(guild.id),
            channel_id=str(lounge.id),
            user_id=str(world.bot.id),
            session_id=state["session_id"],
            token=server["token"],
        )
    ]
    assert server["endpoint"] == "127.0.0.1:1"
    hub.receive(cid, {"op": 4, "d": {"guild_id": str(guild.id), "channel_id": None}})
    assert leaves == [(str(guild.id), str(world.bot.id))]


async def test_op_4_points_a_voice_client_at_the_voice_server_and_members_reach_it(
    connect, sandbox, call_aio
):
    world = sandbox.world
    lounge, alice = world.channel_named("Lounge"), world.user_named("alice")
    assert sandbox.voice is not None and sandbox.hub.voice_endpoint == sandbox.voice.endpoint
    # As on Discord: a bare host:port; clients add wss:// and trust the sandbox's CA.
    assert sandbox.voice.endpoint == sandbox.voice.url.removeprefix("wss://")
    assert sandbox.voice.endpoint.startswith("127.0.0.1:")
    async with connect() as client:
        channel = client.get_channel(lounge.id)
        voice = await call_aio(channel.connect, cls=RawVoice, timeout=30)
        server, state = voice.server_data, voice.state_data
        assert server["endpoint"] == sandbox.voice.endpoint
        raw = RawVoiceClient(
            server["endpoint"],
            server_id=server["guild_id"],
            user_id=state["user_id"],
            session_id=state["session_id"],
            token=server["token"],
            ca_file=sandbox.voice.ca_file,
        )
        async with raw.running():
            await raw.connect()
            await sandbox.voice.wait_for_session(world.bot)

            sandbox.join_voice(alice, lounge)
            await raw.wait_for(lambda: bool(raw.ops(11)))
            assert raw.ops(11)[0]["d"] == {"user_ids": [str(alice.id)]}
            await client.wait_until(
                lambda: any(m.id == alice.id for m, _, _ in client.of("voice_state_update"))
            )

            report = await sandbox.voice.play(alice, tone(523.25, 0.2))
            await raw.wait_for(lambda: len(raw.packets) == report.packets_sent)
            assert raw.ops(5)[0]["d"]["user_id"] == str(alice.id)
            decoder = OpusDecoder()
            heard = Pcm(b"".join(decoder.decode(p.payload) for p in raw.packets[:10]), 48_000, 2)
            assert goertzel_power(heard, 523.25) > 100 * goertzel_power(heard, 1000)

            sandbox.leave_voice(alice, lounge.guild_id)
            await raw.wait_for(lambda: bool(raw.ops(13)))
            assert raw.ops(13)[0]["d"] == {"user_id": str(alice.id)}

            await call_aio(voice.disconnect, force=False)
            await raw.wait_for(lambda: 4014 in raw.closes)


async def test_the_voice_server_can_be_left_out_or_restricted():
    async with open_sandbox(demo_world(), voice=False) as sb:
        assert sb.voice is None and sb.hub.voice_endpoint == "voice.sandbox.invalid:443"
    async with open_sandbox(demo_world(), voice_endpoint="elsewhere:1") as sb:
        assert sb.voice is None and sb.hub.voice_endpoint == "elsewhere:1"
    from clanker.sandbox.voice import TransportMode

    async with open_sandbox(demo_world(), voice_modes=(TransportMode.XCHACHA20_POLY1305,)) as sb:
        assert sb.voice is not None and sb.voice.gateway.modes == (
            TransportMode.XCHACHA20_POLY1305,
        )
