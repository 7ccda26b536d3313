"""`VoiceJoin`, the sans-IO core of `VoiceLink`: inputs in, actions out, no trio."""

from __future__ import annotations

from clanker.voice import GatewayVoiceState, JoinPhase, Subscription, VoiceJoin
from clanker.voice import commands as c

GUILD, CHANNEL, BOT, ALICE = 10, 20, 30, 40


def join(**kw: object) -> VoiceJoin:
    return VoiceJoin(guild_id=GUILD, channel_id=CHANNEL, user_id=BOT, **kw)  # type: ignore[arg-type]


def connect(
    session: str = "s1", endpoint: str = "ws://127.0.0.1:1", token: str = "t1"
) -> c.Connect:
    return c.Connect(
        guild_id=str(GUILD),
        channel_id=str(CHANNEL),
        user_id=str(BOT),
        session_id=session,
        endpoint=endpoint,
        token=token,
    )


def state(
    j: VoiceJoin, *, user: int = BOT, channel: int | None = CHANNEL, session: str = "s1"
) -> list:
    return j.voice_state(guild_id=GUILD, user_id=user, channel_id=channel, session_id=session)


def server(j: VoiceJoin, endpoint: str | None = "ws://127.0.0.1:1", token: str = "t1") -> list:
    return j.voice_server(guild_id=GUILD, endpoint=endpoint, token=token)


def test_start_asks_the_gateway_with_op_4() -> None:
    j = join(self_mute=True)
    assert j.start() == [
        GatewayVoiceState(
            data={
                "guild_id": str(GUILD),
                "channel_id": str(CHANNEL),
                "self_mute": True,
                "self_deaf": False,
            }
        )
    ]
    assert j.phase == JoinPhase.ASKED


def test_connect_goes_out_once_both_updates_arrived_in_either_order() -> None:
    for first, second in ((state, server), (server, state)):
        j = join()
        j.start()
        assert first(j) == []
        assert second(j) == [connect()]
        assert j.phase == JoinPhase.CONNECTING and j.connects == 1
        # A repeat of the same values changes nothing.
        assert state(j) == [] and server(j) == []
        j.clankvox_ready()
        assert j.phase == JoinPhase.READY


def test_other_users_and_other_guilds_are_ignored() -> None:
    j = join()
    j.start()
    assert state(j, user=ALICE) == []
    assert j.voice_state(guild_id=99, user_id=BOT, channel_id=CHANNEL, session_id="x") == []
    assert j.voice_server(guild_id=99, endpoint="ws://x", token="y") == []
    assert j.session_id is None and j.endpoint is None


def test_a_server_move_or_a_new_session_reconnects_with_the_new_values() -> None:
    j = join()
    j.start()
    state(j)
    server(j)
    j.clankvox_ready()
    assert server(j, endpoint="ws://127.0.0.1:2", token="t2") == [
        connect(endpoint="ws://127.0.0.1:2", token="t2")
    ]
    assert state(j, session="s2") == [connect("s2", "ws://127.0.0.1:2", "t2")]
    assert j.connects == 3


def test_a_reallocating_server_is_passed_on_and_the_next_one_connects_again() -> None:
    j = join()
    j.start()
    state(j)
    server(j)
    assert server(j, endpoint=None, token="t1") == [
        c.VoiceServer(data=c.VoiceServerData(endpoint=None, token="t1"))
    ]
    assert server(j) == [connect()]  # the same values again: clankvox closed, so connect


def test_a_new_clankvox_gets_the_join_and_every_subscription_again() -> None:
    j = join()
    j.start()
    sub = Subscription(user_id=ALICE, sample_rate=16_000, jitter_buffer_ms=80)
    assert j.subscribe(sub) == [sub.command()]
    assert j.clankvox_started() == [sub.command()]  # nothing to connect with yet
    state(j)
    assert server(j) == [connect(), sub.command()]
    j.clankvox_ready()
    assert j.clankvox_started() == [connect(), sub.command()]
    assert j.phase == JoinPhase.CONNECTING and j.connects == 2
    assert sub.command() == c.SubscribeUser(
        user_id=str(ALICE), sample_rate=16_000, silence_duration_ms=700, jitter_buffer_ms=80
    )
    assert j.unsubscribe(ALICE) == [c.UnsubscribeUser(user_id=str(ALICE))]
    assert j.unsubscribe(ALICE) == []
    assert j.clankvox_started() == [connect()]


def test_being_moved_elsewhere_stops_connecting_until_back() -> None:
    j = join()
    j.start()
    state(j)
    server(j)
    assert state(j, channel=None) == [] and j.phase == JoinPhase.MOVED
    assert server(j, token="t2") == []  # not there: nothing to connect to
    assert state(j, session="s2") == [connect("s2", token="t2")]


def test_leave_sends_op_4_without_a_channel_then_destroy_once() -> None:
    j = join()
    j.start()
    actions = j.leave()
    assert actions == [
        GatewayVoiceState(
            data={
                "guild_id": str(GUILD),
                "channel_id": None,
                "self_mute": False,
                "self_deaf": False,
            }
        ),
        c.Destroy(),
    ]
    assert j.leave() == [] and state(j) == [] and server(j) == [] and j.clankvox_started() == []
