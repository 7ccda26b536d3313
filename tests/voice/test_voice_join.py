"""`VoiceJoin`, the sans-IO core of `VoiceLink`: inputs in, actions out, no trio."""

from __future__ import annotations

import msgspec

from clanker.voice import GatewayVoiceState, JoinPhase, Subscription, VoiceJoin
from clanker.voice import commands as c
from clanker.voice.join import JoinFailed

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


# -- no join hangs ------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def connecting(ready_deadline: float = 30.0) -> tuple[VoiceJoin, Clock]:
    clock = Clock()
    j = join(clock=clock, ready_deadline=ready_deadline)
    j.start()
    state(j)
    assert server(j) == [connect()]
    return j, clock


def test_no_ready_by_the_deadline_fails_the_attempt_and_retries_backed_off() -> None:
    j, clock = connecting()
    assert j.next_deadline() == 130.0
    clock.now = 129.9
    assert j.poll() == []
    clock.now = 130.0
    [failed] = j.poll()
    assert isinstance(failed, JoinFailed)
    assert (failed.attempt, failed.retry_in) == (1, 1.0)
    assert "not ready 30 s after the connect" in failed.reason
    assert j.phase == JoinPhase.RETRYING and j.next_deadline() == 131.0
    assert j.last_error == failed.reason
    clock.now = 131.0
    assert j.poll() == [connect()]  # the retry sends the join again
    assert j.phase == JoinPhase.CONNECTING and j.next_deadline() == 161.0
    # Each further failure waits longer: 2 s, 4 s, 8 s, 16 s, then 30 s for good.
    delays = []
    for _ in range(6):
        clock.now = j.next_deadline()
        [failed] = j.poll()
        delays.append(failed.retry_in)
        clock.now = j.next_deadline()
        assert j.poll() == [connect()]
    assert delays == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    j.clankvox_ready()
    assert (j.phase, j.failures, j.next_deadline()) == (JoinPhase.READY, 0, None)


def test_a_refused_command_fails_the_attempt_at_once() -> None:
    j, clock = connecting()
    [failed] = j.clankvox_error("invalid_request", "guildId must be a u64")
    assert isinstance(failed, JoinFailed) and failed.retry_in == 1.0
    assert failed.reason == "clankvox refused the join (invalid_request: guildId must be a u64)"
    # Values that change while waiting go into the retry.
    assert server(j, endpoint="127.0.0.1:2", token="t2") == []
    clock.now += 1.0
    assert j.poll() == [connect(endpoint="127.0.0.1:2", token="t2")]


def test_a_failed_voice_connection_is_reported_while_clankvox_retries_it() -> None:
    j, clock = connecting()
    clock.now = 110.0
    [failed] = j.clankvox_error("voice_connect_failed", "timed out in ready")
    assert failed.retry_in is None and failed.attempt == 1
    assert j.phase == JoinPhase.CONNECTING and j.next_deadline() == 140.0  # armed again
    assert j.clankvox_error("voice_runtime_error", "later") == []  # not a join error


def test_errors_outside_a_join_attempt_change_nothing() -> None:
    j, _ = connecting()
    j.clankvox_ready()
    assert j.clankvox_error("invalid_request", "bad base64") == []
    assert j.phase == JoinPhase.READY


def test_a_clankvox_without_connect_is_joined_with_the_original_flow() -> None:
    j, _ = connecting()
    actions = j.clankvox_error(
        "invalid_json", "Invalid stdin JSON message: unknown variant `connect`"
    )
    assert actions == [
        c.Join(guild_id=str(GUILD), channel_id=str(CHANNEL)),
        c.VoiceState(
            data=c.VoiceStateData(session_id="s1", user_id=str(BOT), channel_id=str(CHANNEL))
        ),
        c.VoiceServer(data=c.VoiceServerData(endpoint="ws://127.0.0.1:1", token="t1")),
    ]
    assert j.legacy and j.failures == 0
    # The op 4 that clankvox asks for after `join` is the one already sent: not sent twice.
    assert j.is_repeat_of_our_op4(
        {"guild_id": str(GUILD), "channel_id": str(CHANNEL), "self_mute": False, "self_deaf": False}
    )
    assert not j.is_repeat_of_our_op4(
        {"guild_id": str(GUILD), "channel_id": "99", "self_mute": False, "self_deaf": False}
    )
    # A new process gets the same flow.
    assert [type(a) for a in j.clankvox_started()] == [c.Join, c.VoiceState, c.VoiceServer]


def op4(self_mute: bool) -> GatewayVoiceState:
    return GatewayVoiceState(
        data={
            "guild_id": str(GUILD),
            "channel_id": str(CHANNEL),
            "self_mute": self_mute,
            "self_deaf": False,
        }
    )


def test_muting_in_the_call_sends_op_4_and_keeps_the_connection() -> None:
    j = join()
    j.start()
    state(j)
    server(j)
    j.clankvox_ready()
    assert j.set_self_mute(True) == [op4(True)]
    assert j.set_self_mute(True) == []  # already muted
    # Discord answers with the new VOICE_STATE_UPDATE alone: no new Connect, still ready.
    assert state(j) == [] and j.phase == JoinPhase.READY and j.connects == 1
    # A fresh clankvox gets the Connect with the flag as it is now.
    assert j.clankvox_started() == [msgspec.structs.replace(connect(), self_mute=True)]
    assert j.set_self_mute(False) == [op4(False)]


def test_a_mute_before_the_join_or_after_leaving_goes_with_the_next_op_4_only() -> None:
    j = join()
    assert j.set_self_mute(True) == []
    assert j.start() == [op4(True)]
    j.leave()
    assert j.set_self_mute(False) == []
