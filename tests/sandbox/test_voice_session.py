"""The voice gateway state machine, without sockets: handshake, heartbeats, buffered resume,
channel events and every close code it uses."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clanker.sandbox.voice.crypto import TransportMode
from clanker.sandbox.voice.ops import VoiceCloseCode, VoiceGrant, VoiceOp
from clanker.sandbox.voice.session import Close, SendJson, SessionReady, VoiceGateway

GRANT = VoiceGrant(server_id="1", channel_id="2", user_id="3", session_id="s-1", token="tok")
IDENTIFY = {"server_id": "1", "user_id": "3", "session_id": "s-1", "token": "tok"}
SELECT = {"protocol": "udp", "data": {"address": "127.0.0.1", "port": 5000, "mode": ""}}


def gateway(**kwargs) -> VoiceGateway:
    gw = VoiceGateway(rng=random.Random(1), **kwargs)
    gw.udp_address = ("127.0.0.1", 4000)
    gw.grant(GRANT)
    return gw


def send(gw: VoiceGateway, cid: int, op: int, d: object, now: float = 0.0):
    return gw.receive_text(cid, json.dumps({"op": op, "d": d}), now)


def payloads(actions) -> list[dict]:
    return [a.payload for a in actions if isinstance(a, SendJson)]


def closes(actions) -> list[tuple[int, str]]:
    return [(a.code, a.reason) for a in actions if isinstance(a, Close)]


def connect_ready(gw: VoiceGateway, mode: str = "aead_aes256_gcm_rtpsize") -> tuple[int, list]:
    cid, _hello = gw.open_connection(0.0, version=8)
    send(gw, cid, VoiceOp.IDENTIFY, IDENTIFY)
    select = {**SELECT, "data": {**SELECT["data"], "mode": mode}}
    return cid, send(gw, cid, VoiceOp.SELECT_PROTOCOL, select)


def test_the_full_handshake():
    gw = gateway(heartbeat_interval_ms=5000)
    cid, hello = gw.open_connection(0.0, version=8)
    assert payloads(hello) == [{"op": 8, "d": {"heartbeat_interval": 5000}}]
    ready = payloads(send(gw, cid, VoiceOp.IDENTIFY, {**IDENTIFY, "max_dave_protocol_version": 1}))
    assert ready == [
        {
            "op": 2,
            "d": {
                "ssrc": 1,
                "ip": "127.0.0.1",
                "port": 4000,
                "modes": ["aead_aes256_gcm_rtpsize", "aead_xchacha20_poly1305_rtpsize"],
                "experiments": [],
                "streams": [],
            },
        }
    ]
    select = {**SELECT, "data": {**SELECT["data"], "mode": "aead_xchacha20_poly1305_rtpsize"}}
    actions = send(gw, cid, VoiceOp.SELECT_PROTOCOL, select)
    [description] = payloads(actions)
    assert description["op"] == 4 and description["seq"] == 1
    d = description["d"]
    assert d["mode"] == "aead_xchacha20_poly1305_rtpsize" and d["dave_protocol_version"] == 0
    assert len(d["secret_key"]) == 32 and all(0 <= b < 256 for b in d["secret_key"])
    assert SessionReady("s-1") in actions
    session = gw.sessions["s-1"]
    assert session.ready and session.client_address == ("127.0.0.1", 5000)
    assert session.cipher is not None and list(session.cipher.key) == d["secret_key"]
    assert gw.session_by_ssrc(1) is session


def test_keys_are_reproducible_from_the_seed_and_differ_per_session():
    keys = [payloads(connect_ready(gateway())[1])[0]["d"]["secret_key"] for _ in range(2)]
    assert keys[0] == keys[1]
    gw = gateway()
    connect_ready(gw)
    gw.grant(VoiceGrant("1", "2", "4", "s-2", "tok2"))
    cid, _ = gw.open_connection(0.0, version=8)
    send(gw, cid, 0, {"server_id": "1", "user_id": "4", "session_id": "s-2", "token": "tok2"})
    other = send(
        gw, cid, 1, {**SELECT, "data": {**SELECT["data"], "mode": "aead_aes256_gcm_rtpsize"}}
    )
    assert payloads(other)[0]["d"]["secret_key"] != keys[0]
    assert gw.sessions["s-2"].ssrc == 2


def test_heartbeats_are_acknowledged_with_their_nonce():
    gw = gateway()
    cid, _ = connect_ready(gw)
    assert payloads(send(gw, cid, 3, {"t": 1234, "seq_ack": 1})) == [{"op": 6, "d": {"t": 1234}}]
    assert payloads(send(gw, cid, 3, 99)) == [{"op": 6, "d": 99}]  # the pre-v8 form
    assert gw.stats.heartbeats == 2


def test_silence_past_the_heartbeat_timeout_closes_with_4009_at_the_deadline():
    gw = gateway(heartbeat_interval_ms=1000)
    cid, _ = connect_ready(gw)
    send(gw, cid, 3, {"t": 1, "seq_ack": 1}, now=1.0)
    assert gw.next_deadline() == 3.5
    assert gw.poll(3.5) == []
    assert closes(gw.poll(3.5001)) == [(4009, "no heartbeat")]
    assert gw.next_deadline() is None


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        ([(VoiceOp.IDENTIFY, {**IDENTIFY, "token": "wrong"})], 4004),
        ([(VoiceOp.IDENTIFY, {**IDENTIFY, "user_id": "99"})], 4004),
        ([(VoiceOp.SELECT_PROTOCOL, SELECT)], 4003),
        ([(VoiceOp.SPEAKING, {"speaking": 1})], 4003),
        ([(42, {})], 4001),
        ([(VoiceOp.IDENTIFY, IDENTIFY), (VoiceOp.IDENTIFY, IDENTIFY)], 4005),
        (
            [
                (VoiceOp.IDENTIFY, IDENTIFY),
                (VoiceOp.SELECT_PROTOCOL, {**SELECT, "protocol": "webrtc"}),
            ],
            4012,
        ),
        (
            [
                (VoiceOp.IDENTIFY, IDENTIFY),
                (
                    VoiceOp.SELECT_PROTOCOL,
                    {**SELECT, "data": {**SELECT["data"], "mode": "xsalsa20_poly1305"}},
                ),
            ],
            4016,
        ),
        (
            [
                (VoiceOp.IDENTIFY, IDENTIFY),
                (
                    VoiceOp.SELECT_PROTOCOL,
                    {
                        **SELECT,
                        "data": {"mode": "aead_aes256_gcm_rtpsize", "address": "x", "port": 0},
                    },
                ),
            ],
            4020,
        ),
    ],
)
def test_protocol_errors_close_with_discords_codes(frames, code):
    gw = gateway()
    cid, _ = gw.open_connection(0.0, version=8)
    actions = []
    for op, d in frames:
        actions = send(gw, cid, op, d)
    assert [c for c, _ in closes(actions)] == [code]
    assert gw.stats.closes[-1][0] == code


def test_undecodable_frames_and_old_versions_are_refused():
    gw = gateway()
    cid, _ = gw.open_connection(0.0, version=8)
    assert closes(gw.receive_text(cid, "{nope", 0.0))[0][0] == VoiceCloseCode.DECODE_ERROR
    cid, _ = gw.open_connection(0.0, version=8)
    assert closes(gw.receive_text(cid, "[1, 2]", 0.0))[0][0] == VoiceCloseCode.DECODE_ERROR
    for version in (None, 3):
        _, actions = gw.open_connection(0.0, version=version)
        assert closes(actions) == [(4020, "voice gateway version must be 4 or later (?v=8)")]


def test_video_and_dave_ops_are_recorded_not_answered():
    gw = gateway()
    cid, _ = connect_ready(gw)
    assert send(gw, cid, 15, {"any": 100}) == []
    assert send(gw, cid, 12, {"audio_ssrc": 1}) == []
    assert gw.receive_binary(cid, bytes([26]) + b"key package") == []
    assert gw.stats.ignored_ops == [15, 12, 26]
    assert closes(gw.receive_binary(cid, b"\x63junk"))[0][0] == VoiceCloseCode.DECODE_ERROR


def test_the_clients_speaking_state_is_recorded():
    gw = gateway()
    cid, _ = connect_ready(gw)
    assert send(gw, cid, 5, {"speaking": 1, "delay": 0, "ssrc": 1}) == []
    assert gw.sessions["s-1"].speaking == 1
    assert gw.stats.client_speaking == [{"speaking": 1, "delay": 0, "ssrc": 1}]


def test_channel_events_reach_ready_sessions_with_sequence_numbers():
    gw = gateway()
    assert gw.member_joined("2", "50") == []  # nobody connected yet: remembered
    _cid, actions = connect_ready(gw)
    assert payloads(actions)[1] == {"op": 11, "d": {"user_ids": ["50"]}, "seq": 2}
    assert payloads(gw.member_joined("2", "51")) == [
        {"op": 11, "d": {"user_ids": ["51"]}, "seq": 3}
    ]
    assert gw.member_joined("2", "51") == []  # already there
    assert payloads(gw.speaking("51", 100_001, 1)) == [
        {"op": 5, "d": {"user_id": "51", "ssrc": 100_001, "speaking": 1}, "seq": 4}
    ]
    assert payloads(gw.member_left("2", "51")) == [{"op": 13, "d": {"user_id": "51"}, "seq": 5}]
    assert gw.member_joined("9", "52") == []  # another channel: not ours


def test_resume_replays_exactly_the_unacknowledged_messages_after_resumed():
    gw = gateway()
    cid, _ = connect_ready(gw)  # seq 1: session description
    gw.member_joined("2", "50")  # seq 2
    send(gw, cid, 3, {"t": 1, "seq_ack": 2})
    gw.connection_closed(cid)
    # While disconnected: logged, not sent.
    assert gw.member_joined("2", "51") == [] and gw.speaking("51", 7, 1) == []
    cid2, _ = gw.open_connection(1.0, version=8)
    actions = send(
        gw,
        cid2,
        VoiceOp.RESUME,
        {"server_id": "1", "session_id": "s-1", "token": "tok", "seq_ack": 2},
    )
    assert payloads(actions) == [
        {"op": 9, "d": None},
        {"op": 11, "d": {"user_ids": ["51"]}, "seq": 3},
        {"op": 5, "d": {"user_id": "51", "ssrc": 7, "speaking": 1}, "seq": 4},
    ]
    assert gw.stats.resumes == 1 and gw.stats.replayed == 2
    # The session goes on: new messages reach the new connection.
    assert [a.connection_id for a in gw.member_left("2", "51")] == [cid2]


def test_resume_moves_a_session_off_a_connection_that_is_still_open():
    gw = gateway()
    cid, _ = connect_ready(gw)
    cid2, _ = gw.open_connection(1.0, version=8)
    resume = {"server_id": "1", "session_id": "s-1", "token": "tok", "seq_ack": 1}
    actions = send(gw, cid2, VoiceOp.RESUME, resume)
    assert [(a.connection_id, a.code) for a in actions if isinstance(a, Close)] == [(cid, 4006)]
    assert payloads(actions) == [{"op": 9, "d": None}]


@pytest.mark.parametrize(
    "resume",
    [
        {"server_id": "1", "session_id": "s-1", "token": "nope", "seq_ack": 1},
        {"server_id": "1", "session_id": "unknown", "token": "tok", "seq_ack": 1},
        {"server_id": "9", "session_id": "s-1", "token": "tok", "seq_ack": 1},
    ],
)
def test_an_impossible_resume_closes_with_4006(resume):
    gw = gateway()
    cid, _ = connect_ready(gw)
    gw.connection_closed(cid)
    cid2, _ = gw.open_connection(1.0, version=8)
    assert closes(send(gw, cid2, VoiceOp.RESUME, resume)) == [(4006, "session cannot be resumed")]
    assert gw.stats.failed_resumes == 1


def test_a_resume_that_missed_more_than_the_buffer_holds_fails():
    gw = gateway(replay_limit=3)
    cid, _ = connect_ready(gw)  # seq 1
    gw.connection_closed(cid)
    for n in range(4):  # seq 2..5: seq 2 falls out of the 3-message log
        gw.member_joined("2", str(60 + n))
    cid2, _ = gw.open_connection(1.0, version=8)
    resume = {"server_id": "1", "session_id": "s-1", "token": "tok", "seq_ack": 1}
    assert closes(send(gw, cid2, VoiceOp.RESUME, resume))[0][0] == 4006
    # Having seen seq 2 is enough.
    cid3, _ = gw.open_connection(1.0, version=8)
    actions = send(gw, cid3, VoiceOp.RESUME, {**resume, "seq_ack": 2})
    assert [p.get("seq") for p in payloads(actions)] == [None, 3, 4, 5]


def test_drop_all_keeps_sessions_and_revoke_ends_them():
    gw = gateway()
    _cid, _ = connect_ready(gw)
    assert closes(gw.drop_all()) == [(4015, "sandbox dropped the voice connection")]
    assert "s-1" in gw.sessions
    cid2, _ = gw.open_connection(1.0, version=8)
    send(
        gw,
        cid2,
        VoiceOp.RESUME,
        {"server_id": "1", "session_id": "s-1", "token": "tok", "seq_ack": 1},
    )
    assert closes(gw.revoke("1", "3")) == [(4014, "left the channel")]
    assert gw.sessions == {}
    cid3, _ = gw.open_connection(2.0, version=8)
    assert closes(send(gw, cid3, VoiceOp.IDENTIFY, IDENTIFY))[0][0] == 4004


def test_offering_one_mode_forces_clients_onto_it():
    gw = gateway(modes=(TransportMode.XCHACHA20_POLY1305,))
    cid, _ = gw.open_connection(0.0, version=8)
    ready = payloads(send(gw, cid, VoiceOp.IDENTIFY, IDENTIFY))[0]
    assert ready["d"]["modes"] == ["aead_xchacha20_poly1305_rtpsize"]
    aes = {**SELECT, "data": {**SELECT["data"], "mode": "aead_aes256_gcm_rtpsize"}}
    assert closes(send(gw, cid, VoiceOp.SELECT_PROTOCOL, aes))[0][0] == 4016
    with pytest.raises(ValueError, match="at least one encryption mode"):
        VoiceGateway(modes=())


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=8,
)
_frame = st.one_of(
    st.fixed_dictionaries({"op": st.sampled_from([0, 1, 3, 5, 7, 12, 42]), "d": _json}),
    st.fixed_dictionaries({"op": st.just(0), "d": st.just(IDENTIFY)}),
    st.fixed_dictionaries(
        {
            "op": st.just(1),
            "d": st.just({**SELECT, "data": {**SELECT["data"], "mode": "aead_aes256_gcm_rtpsize"}}),
        }
    ),
    _json,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_frame.map(json.dumps), st.text(max_size=20)), max_size=8))
def test_any_client_input_yields_actions_never_an_exception(texts):
    gw = gateway()
    cid, _ = gw.open_connection(0.0, version=8)
    for n, text in enumerate(texts):
        for action in gw.receive_text(cid, text, float(n)):
            assert isinstance(action, (SendJson, Close, SessionReady))
    gw.poll(1000.0)
    assert all(isinstance(a, (SendJson, Close)) for a in gw.drop_all())
