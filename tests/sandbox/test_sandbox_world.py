"""World state, codec, fault rules and the stall gate, without sockets."""

from __future__ import annotations

import json
import zlib

import pytest
import trio
import trio.testing

from clanker.sandbox import Emoji, SandboxLookupError, World, demo_world
from clanker.sandbox.codec import (
    FrameDecodeError,
    FrameEncoder,
    UnsupportedTransport,
    decode_client_frame,
)
from clanker.sandbox.faults import InjectedFailure, RestFaults
from clanker.sandbox.gateway_server import StallGate
from clanker.sandbox.payloads import message as message_payload
from clanker.sandbox.rest import ROUTE_KEYS

SEND = "POST /channels/{channel_id}/messages"


def test_ids_are_deterministic_and_ordered():
    first, second = demo_world(), demo_world()
    assert [u.id for u in first.users.values()] == [u.id for u in second.users.values()]
    ids = [first.snowflakes.next() for _ in range(5000)]
    assert ids == sorted(ids) and len(set(ids)) == 5000


def test_history_paging_matches_discord():
    world = demo_world()
    alice, general = world.user_named("alice"), world.channel_named("general")
    ms = [world.create_message(general.id, alice.id, f"m{i}") for i in range(6)]
    world.delete_message(ms[3].id)

    def contents(**kwargs):
        return [m.content for m in world.history(general.id, **kwargs)]

    assert contents(limit=3) == ["m5", "m4", "m2"]
    assert contents(limit=2, after=ms[0].id) == ["m2", "m1"]
    assert contents(limit=10, before=ms[2].id) == ["m1", "m0"]
    assert contents(limit=3, around=ms[2].id) == ["m4", "m2", "m1"]


def test_reactions_are_per_user_and_emoji():
    world = demo_world()
    alice, bob = world.user_named("alice"), world.user_named("bob")
    msg = world.create_message(world.channel_named("general").id, alice.id, "hi")
    thumbs, custom = Emoji.parse("👍"), Emoji.parse("<:blob:123>")
    assert custom == Emoji("blob", 123) == Emoji.parse("blob:123")
    assert world.add_reaction(msg.id, alice.id, thumbs) is True
    assert world.add_reaction(msg.id, alice.id, thumbs) is False
    assert world.add_reaction(msg.id, bob.id, thumbs) is True
    assert world.add_reaction(msg.id, bob.id, custom) is True
    payload = message_payload(world, msg, viewer_id=bob.id)
    assert [(r["emoji"]["name"], r["count"], r["me"]) for r in payload["reactions"]] == [
        ("👍", 2, True),
        ("blob", 1, True),
    ]
    assert world.remove_reaction(msg.id, bob.id, custom) is True
    assert world.remove_reaction(msg.id, bob.id, custom) is False
    assert [r.emoji for r in msg.reactions] == [thumbs]


def test_lookups_fail_with_discord_codes_and_helpful_text():
    world = demo_world()
    with pytest.raises(
        SandboxLookupError, match="no channel named 'nope'; known channels: Lounge, general, random"
    ) as raised:
        world.channel_named("nope")
    assert raised.value.code == 10003
    with pytest.raises(SandboxLookupError) as raised:
        world.message(42)
    assert raised.value.code == 10008
    with pytest.raises(SandboxLookupError, match="is not a member of guild"):
        world.create_message(world.channel_named("general").id, world.add_user("x").id, "hi")
    assert World().bot.username == "clanker"


def test_reply_mentions_follow_allowed_mentions():
    world = demo_world()
    alice, general = world.user_named("alice"), world.channel_named("general")
    question = world.create_message(general.id, alice.id, "?")
    pinging = world.create_message(general.id, world.bot.id, "a", reference_id=question.id)
    quiet = world.create_message(
        general.id, world.bot.id, "b", reference_id=question.id, allowed_mentions={"parse": []}
    )
    explicit = world.create_message(general.id, world.bot.id, f"<@{alice.id}> c")
    assert (pinging.mention_ids, quiet.mention_ids, explicit.mention_ids) == (
        [alice.id],
        [],
        [alice.id],
    )


def test_zlib_stream_frames_decode_with_one_decompressor():
    encoder = FrameEncoder(compress="zlib-stream")
    inflator = zlib.decompressobj()
    for n in range(3):
        frame = encoder.encode({"op": 0, "d": {"n": n}})
        assert isinstance(frame, bytes) and frame.endswith(b"\x00\x00\xff\xff")
        assert json.loads(inflator.decompress(frame)) == {"op": 0, "d": {"n": n}}
    assert FrameEncoder(compress=None).encode({"op": 11}) == '{"op":11}'


def test_unsupported_transports_are_named():
    with pytest.raises(UnsupportedTransport, match="zstd-stream"):
        FrameEncoder(compress="zstd-stream")
    with pytest.raises(UnsupportedTransport, match="encoding='etf'"):
        FrameEncoder(compress=None, encoding="etf")


@pytest.mark.parametrize("raw", [b"{nope", b"[1, 2]", b'{"op": "1"}', b"\xff"])
def test_bad_client_frames_raise(raw):
    with pytest.raises(FrameDecodeError):
        decode_client_frame(raw)


def test_client_frames_may_be_bytes_or_text():
    assert (
        decode_client_frame(b'{"op": 1, "d": 5}')
        == decode_client_frame('{"op": 1, "d": 5}')
        == {"op": 1, "d": 5}
    )


def test_fault_rules_are_consumed_in_order():
    faults = RestFaults(ROUTE_KEYS)
    faults.delay(SEND, 2.0, times=2)
    faults.fail(SEND, 502)
    faults.fail(SEND, 429)
    decisions = [faults.take(SEND) for _ in range(4)]
    assert [(d.delay, d.failure) for d in decisions] == [
        (2.0, InjectedFailure(502)),
        (2.0, InjectedFailure(429, retry_after=1.0)),
        (0.0, None),
        (0.0, None),
    ]
    assert faults.take("GET /users/@me").failure is None


def test_fault_rules_validate_their_input():
    faults = RestFaults(ROUTE_KEYS)
    with pytest.raises(ValueError, match="must be 4xx or 5xx"):
        faults.fail(SEND, 200)
    with pytest.raises(ValueError, match="times must be >= 1"):
        faults.fail(SEND, 500, times=0)
    with pytest.raises(ValueError, match="finite number of seconds"):
        faults.delay(SEND, float("inf"))
    faults.fail(SEND, 500, times=None)
    assert all(faults.take(SEND).failure == InjectedFailure(500) for _ in range(10))
    faults.clear()
    assert faults.take(SEND).failure is None


async def test_stall_gate_holds_until_the_deadline_and_can_be_extended(autojump_clock):
    gate = StallGate()
    await gate.wait_clear()
    assert trio.current_time() == 0
    gate.stall(5)
    assert gate.stalled

    async def extend():
        await trio.sleep(3)
        gate.stall(4)  # now until t=7

    async with trio.open_nursery() as nursery:
        nursery.start_soon(extend)
        await gate.wait_clear()
    assert trio.current_time() == 7
    assert not gate.stalled
