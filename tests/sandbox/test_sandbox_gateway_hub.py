"""GatewayHub session logic, without sockets."""

from __future__ import annotations

import pytest

from clanker.sandbox import demo_world
from clanker.sandbox.gateway import (
    CloseCode,
    CloseConnection,
    Deferred,
    GatewayHub,
    Op,
    SendFrame,
    VoiceUpdateTiming,
)

TOKEN = "sandbox-token"


def _hub(**kwargs):
    world = demo_world(token=TOKEN)
    hub = GatewayHub(world, voice_endpoint="voice.test:443", **kwargs)
    hub.gateway_url = "ws://sandbox.test/"
    return world, hub


def _identify(hub, token=TOKEN):
    conn, hello = hub.open_connection()
    return conn, hello, hub.receive(conn, {"op": Op.IDENTIFY, "d": {"token": token}})


def _events(actions):
    return [(a.payload["t"], a.payload["s"]) for a in actions if isinstance(a, SendFrame)]


def _run(actions):
    """Carry out deferred actions once, in time order: [(delay, frame payload)]."""
    out = [(0.0, a.payload) for a in actions if isinstance(a, SendFrame)]
    for d in sorted((a for a in actions if isinstance(a, Deferred)), key=lambda a: a.delay):
        out += [(d.delay, a.payload) for a in d.then() if isinstance(a, SendFrame)]
    return out


def _settle(ran):
    """[(delay, event, seq)] of what `_run` sent."""
    return [(delay, frame["t"], frame["s"]) for delay, frame in ran]


def _frames(ran):
    return [frame for _, frame in ran]


def test_hello_then_identify_gives_ready_and_supplemental():
    world, hub = _hub(heartbeat_interval_ms=1234)
    conn, hello, actions = _identify(hub)
    assert hello == [
        SendFrame(
            conn,
            {
                "op": 10,
                "t": None,
                "s": None,
                "d": {"heartbeat_interval": 1234, "_trace": ["sandbox-gateway"]},
            },
        )
    ]
    assert _events(actions) == [("READY", 1), ("READY_SUPPLEMENTAL", 2)]
    ready = actions[0].payload["d"]
    assert ready["session_id"] == "sandbox-session-1"
    assert ready["resume_gateway_url"] == "ws://sandbox.test/"
    assert ready["user"]["id"] == str(world.bot.id)
    assert [g["properties"]["name"] for g in ready["guilds"]] == ["Sandbox"]
    supplemental = actions[1].payload["d"]
    others = [m["user_id"] for m in supplemental["merged_members"][0]]
    assert others == [str(world.user_named("alice").id), str(world.user_named("bob").id)]
    assert supplemental["merged_presences"] == {"guilds": [[]], "friends": []}


def test_heartbeat_is_acked_even_before_identify():
    _, hub = _hub()
    conn, _ = hub.open_connection()
    assert hub.receive(conn, {"op": Op.HEARTBEAT, "d": None}) == [
        SendFrame(conn, {"op": 11, "t": None, "s": None, "d": None})
    ]
    assert hub.stats.heartbeats == 1


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        ([{"op": Op.IDENTIFY, "d": {"token": "wrong"}}], CloseCode.AUTHENTICATION_FAILED),
        ([{"op": Op.VOICE_STATE_UPDATE, "d": {}}], CloseCode.NOT_AUTHENTICATED),
        ([{"op": Op.IDENTIFY, "d": {"token": TOKEN}}] * 2, CloseCode.ALREADY_AUTHENTICATED),
    ],
)
def test_protocol_violations_close_with_discord_codes(frames, code):
    _, hub = _hub()
    conn, _ = hub.open_connection()
    actions = [a for frame in frames for a in hub.receive(conn, frame)]
    assert isinstance(actions[-1], CloseConnection)
    assert (actions[-1].connection_id, actions[-1].code) == (conn, code)
    assert hub.receive(conn, {"op": Op.HEARTBEAT}) == []  # a closing connection is ignored


def test_resume_replays_exactly_the_missed_dispatches():
    _, hub = _hub()
    conn, _, _ = _identify(hub)
    delivered = hub.dispatch("MESSAGE_CREATE", {"n": 3})
    assert _events(delivered) == [("MESSAGE_CREATE", 3)]
    hub.connection_closed(conn)
    assert hub.dispatch("MESSAGE_CREATE", {"n": 4}) == []  # logged, nobody to send to
    hub.dispatch("MESSAGE_CREATE", {"n": 5})

    new, _ = hub.open_connection()
    resume = {"token": TOKEN, "session_id": "sandbox-session-1", "seq": 3}
    actions = hub.receive(new, {"op": Op.RESUME, "d": resume})
    assert _events(actions) == [("MESSAGE_CREATE", 4), ("MESSAGE_CREATE", 5), ("RESUMED", 5)]
    assert all(a.connection_id == new for a in actions)
    assert _events(hub.dispatch("MESSAGE_CREATE", {"n": 6})) == [("MESSAGE_CREATE", 6)]
    assert (hub.stats.resumes, hub.stats.invalid_sessions) == (1, 0)


def test_resume_on_a_new_connection_closes_the_old_one():
    _, hub = _hub()
    old, _, _ = _identify(hub)
    new, _ = hub.open_connection()
    resume = {"token": TOKEN, "session_id": "sandbox-session-1", "seq": 2}
    actions = hub.receive(new, {"op": Op.RESUME, "d": resume})
    assert actions[0] == CloseConnection(old, CloseCode.UNKNOWN_ERROR, "session resumed elsewhere")
    assert _events(actions[1:]) == [("RESUMED", 2)]


@pytest.mark.parametrize(
    "resume",
    [
        {"token": TOKEN, "session_id": "no-such-session", "seq": 2},
        {"token": TOKEN, "session_id": "sandbox-session-1", "seq": 99},  # from the future
        {"token": TOKEN, "session_id": "sandbox-session-1", "seq": 0},  # older than the log
        {"token": TOKEN, "session_id": "sandbox-session-1", "seq": None},
    ],
)
def test_unresumable_sessions_get_invalid_session(resume):
    _, hub = _hub(replay_limit=3)
    conn, _, _ = _identify(hub)
    for n in range(3):
        hub.dispatch("MESSAGE_CREATE", {"n": n})  # seqs 3..5; the log keeps 3..5 only
    hub.connection_closed(conn)
    new, _ = hub.open_connection()
    actions = hub.receive(new, {"op": Op.RESUME, "d": resume})
    assert actions == [SendFrame(new, {"op": 9, "t": None, "s": None, "d": False})]
    assert hub.stats.invalid_sessions == 1


def test_invalidated_sessions_cannot_resume():
    _, hub = _hub()
    _identify(hub)
    hub.drop_all()
    hub.invalidate_sessions()
    new, _ = hub.open_connection()
    resume = {"token": TOKEN, "session_id": "sandbox-session-1", "seq": 2}
    assert hub.receive(new, {"op": Op.RESUME, "d": resume})[0].payload["op"] == Op.INVALID_SESSION


def test_drop_all_closes_every_connection_and_detaches_sessions():
    _, hub = _hub()
    first, _, _ = _identify(hub)
    second, _ = hub.open_connection()
    actions = hub.drop_all()
    assert {(a.connection_id, a.code) for a in actions} == {(first, 4000), (second, 4000)}
    assert hub.connected_sessions == []
    assert hub.dispatch("MESSAGE_CREATE", {}) == []


def test_voice_join_and_leave():
    world, hub = _hub()
    conn, _, _ = _identify(hub)
    guild, lounge = world.guild_named("Sandbox"), world.channel_named("Lounge")
    leave = {"guild_id": str(guild.id), "channel_id": None}
    assert hub.receive(conn, {"op": 4, "d": {"guild_id": None, "channel_id": None}}) == []
    join = {"guild_id": str(guild.id), "channel_id": str(lounge.id), "self_mute": True}
    actions = hub.receive(conn, {"op": 4, "d": join})
    # Not in the same instant: state after 15 ms, then server after 30 ms, as Discord spaces them.
    assert [(type(a), a.delay) for a in actions] == [(Deferred, 0.015), (Deferred, 0.030)]
    state = actions[0].then()[0].payload
    server = actions[1].then()[0].payload
    assert (state["t"], state["s"], server["t"], server["s"]) == (
        "VOICE_STATE_UPDATE",
        3,
        "VOICE_SERVER_UPDATE",
        4,
    )
    assert (state["d"]["channel_id"], state["d"]["session_id"], state["d"]["self_mute"]) == (
        str(lounge.id),
        "sandbox-session-1",
        True,
    )
    assert server["d"] == {
        "token": "sandbox-voice-token-1",
        "guild_id": str(guild.id),
        "endpoint": "voice.test:443",
    }
    assert world.voice_states[(guild.id, world.bot.id)].channel_id == lounge.id

    left = _run(hub.receive(conn, {"op": 4, "d": leave}))
    assert world.voice_states == {}
    assert _settle(left) == [(0.015, "VOICE_STATE_UPDATE", 5)]
    assert _frames(left)[0]["d"]["channel_id"] is None
    # A second leave changes nothing but is still answered (clients wait for the confirmation).
    again = _run(hub.receive(conn, {"op": 4, "d": leave}))
    assert _settle(again) == [(0.015, "VOICE_STATE_UPDATE", 6)]
    assert _frames(again)[0]["d"]["channel_id"] is None


def test_a_mute_in_the_same_channel_is_answered_with_the_voice_state_alone():
    world, hub = _hub()
    conn, _, _ = _identify(hub)
    guild, lounge = world.guild_named("Sandbox"), world.channel_named("Lounge")
    join = {"guild_id": str(guild.id), "channel_id": str(lounge.id), "self_mute": False}
    _settle(_run(hub.receive(conn, {"op": 4, "d": join})))
    muted = _run(hub.receive(conn, {"op": 4, "d": {**join, "self_mute": True}}))
    assert _settle(muted) == [(0.015, "VOICE_STATE_UPDATE", 5)]  # no new voice server
    assert _frames(muted)[0]["d"]["self_mute"] is True
    assert world.voice_states[(guild.id, world.bot.id)].self_mute
    # The same flags again are a rejoin, as before: a fresh voice server.
    again = _settle(_run(hub.receive(conn, {"op": 4, "d": {**join, "self_mute": True}})))
    assert [event for _, event, _ in again] == ["VOICE_SERVER_UPDATE", "VOICE_STATE_UPDATE"]


def test_a_repeated_join_reallocates_the_voice_server_first():
    world, hub = _hub()
    conn, _, _ = _identify(hub)
    guild, lounge = world.guild_named("Sandbox"), world.channel_named("Lounge")
    join = {"guild_id": str(guild.id), "channel_id": str(lounge.id)}
    assert [e[1] for e in _settle(_run(hub.receive(conn, {"op": 4, "d": join})))] == [
        "VOICE_STATE_UPDATE",
        "VOICE_SERVER_UPDATE",
    ]
    again = _frames(_run(hub.receive(conn, {"op": 4, "d": join})))
    assert [f["t"] for f in again] == ["VOICE_SERVER_UPDATE", "VOICE_STATE_UPDATE"]
    assert again[0]["d"]["token"] == "sandbox-voice-token-2"


@pytest.mark.parametrize(
    ("timing", "expected"),
    [
        (
            VoiceUpdateTiming(0.0, 0.0),
            [(0.0, "VOICE_STATE_UPDATE", 3), (0.0, "VOICE_SERVER_UPDATE", 4)],
        ),
        (
            VoiceUpdateTiming(0.01, 0.01, order="server_first"),
            [(0.01, "VOICE_SERVER_UPDATE", 3), (0.01, "VOICE_STATE_UPDATE", 4)],
        ),
        (
            VoiceUpdateTiming(0.0, 0.05, order="server_first"),
            [(0.0, "VOICE_SERVER_UPDATE", 3), (0.05, "VOICE_STATE_UPDATE", 4)],
        ),
    ],
)
def test_voice_update_timing_is_configurable(timing, expected):
    world, hub = _hub()
    hub.voice_timing = timing
    conn, _, _ = _identify(hub)
    guild, lounge = world.guild_named("Sandbox"), world.channel_named("Lounge")
    join = {"guild_id": str(guild.id), "channel_id": str(lounge.id)}
    assert _settle(_run(hub.receive(conn, {"op": 4, "d": join}))) == expected


def test_voice_update_timing_rejects_nonsense():
    with pytest.raises(ValueError, match="'state_first' or 'server_first'"):
        VoiceUpdateTiming(order="sideways")
    with pytest.raises(ValueError, match="first_after <= second_after"):
        VoiceUpdateTiming(0.05, 0.01)


def test_voice_request_for_a_text_channel_is_ignored():
    world, hub = _hub()
    conn, _, _ = _identify(hub)
    guild, general = world.guild_named("Sandbox"), world.channel_named("general")
    join = {"guild_id": str(guild.id), "channel_id": str(general.id)}
    assert hub.receive(conn, {"op": 4, "d": join}) == []
    assert world.voice_states == {}


def test_other_ops_are_ignored_and_recorded():
    _, hub = _hub()
    conn, _, _ = _identify(hub)
    assert hub.receive(conn, {"op": Op.REQUEST_GUILD_MEMBERS, "d": {"guild_id": []}}) == []
    assert hub.receive(conn, {"op": 37, "d": {}}) == []
    assert hub.stats.ignored_ops == [8, 37]


def test_undecodable_frame_closes_with_4002():
    _, hub = _hub()
    conn, _ = hub.open_connection()
    [close] = hub.reject_frame(conn, "not json")
    assert (close.code, close.reason) == (CloseCode.DECODE_ERROR, "not json")
