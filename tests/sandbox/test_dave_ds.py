"""The sandbox's DAVE delivery service with simulated members on Discord's libdave (dave.py),
through the real `dave-sim` external sender: group creation, joins and leaves with re-keying,
op 31 recovery, downgrade/upgrade, a member with the wrong key, timeouts and encodings."""

from __future__ import annotations

import collections
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from clanker.sandbox.voice.dave_ds import (
    ClientBinary,
    ClientJson,
    DaveAction,
    DaveBinary,
    DaveDeliveryService,
    DaveJson,
    DaveOp,
    DaveProtocolError,
    encode_vector,
)
from clanker.sandbox.voice.dave_member import DaveMember, deliver
from clanker.sandbox.voice.mls_sim import (
    DaveSimError,
    DaveSimMissing,
    MlsExternalSender,
)

# A missing helper fails these tests (MlsExternalSender raises DaveSimMissing, which names the
# command that builds it); they never skip.

CHANNEL = "1122334455667788990"
A, B, C, D, E = ("1001", "1002", "1003", "1004", "1005")


@pytest.fixture(scope="module")
def sender() -> Iterator[MlsExternalSender]:
    with MlsExternalSender() as helper:
        yield helper


class Room:
    """A voice channel of in-process libdave members around one delivery service."""

    def __init__(self, sender: MlsExternalSender, channel: str = CHANNEL) -> None:
        self.ds = DaveDeliveryService(sender)
        self.channel = channel
        self.members: dict[str, DaveMember] = {}
        self.now = 0.0
        self.silent: set[str] = set()  # members whose op 23 never reaches the service
        self.sent: list[DaveAction] = []  # everything the service sent, in order

    def join(self, user: str) -> DaveMember:
        member = DaveMember(user, self.channel, ssrc=len(self.members) + 1)
        member.clients_connect(self.members)
        for other in self.members.values():
            other.clients_connect([user])
        self.members[user] = member
        self.run(self.ds.join(self.channel, user, self.now))
        return member

    def leave(self, user: str) -> DaveMember:
        member = self.members.pop(user)
        for other in self.members.values():
            other.client_disconnect(user)
        self.run(self.ds.leave(self.channel, user, self.now))
        return member

    def run(self, actions: Iterable[DaveAction]) -> None:
        queue = collections.deque(actions)
        while queue:
            action = queue.popleft()
            self.sent.append(action)
            member = self.members[action.user_id]
            for reply in member.receive(action):
                is_ready = isinstance(reply, ClientJson) and reply.op == DaveOp.READY_FOR_TRANSITION
                if is_ready and member.user_id in self.silent:
                    continue
                queue.extend(self.ds.receive(self.channel, member.user_id, reply, self.now))

    def tick(self, seconds: float) -> None:
        self.now += seconds
        self.run(self.ds.poll(self.now))

    def ops_to(self, user: str) -> list[int]:
        return [
            a.op if isinstance(a, DaveJson) else a.opcode for a in self.sent if a.user_id == user
        ]


def opus_frame(seed: int) -> bytes:
    """A made-up Opus frame (TOC byte, then payload): DAVE does not look inside."""
    return bytes([0x78]) + bytes((seed * 7 + i) % 256 for i in range(60))


def assert_all_hear(members: Iterable[DaveMember], seed: int = 1) -> None:
    """Every member decrypts every other member's frame to exactly what was sent."""
    members = list(members)
    for sender in members:
        frame = opus_frame(seed)
        seed += 1
        encrypted = sender.encrypt(frame)
        assert encrypted is not None and encrypted != frame, f"{sender.user_id} did not encrypt"
        for receiver in members:
            if receiver is not sender:
                assert receiver.decrypt(sender.user_id, encrypted) == frame, (
                    f"{receiver.user_id} could not decrypt {sender.user_id}"
                )


def test_three_members_establish_a_group_and_hear_each_other(sender: MlsExternalSender) -> None:
    room = Room(sender)
    a = room.join(A)
    assert room.ops_to(A) == [DaveOp.PREPARE_EPOCH, DaveOp.EXTERNAL_SENDER]
    assert not a.ready  # alone: no group, nothing to encrypt for
    b = room.join(B)
    channel = room.ds.channels[CHANNEL]
    assert channel.epoch == 1
    # b got a's in-flight add proposal as it joined, so b committed first: the creator is leaf 0.
    assert channel.leaves == {0: B, 1: A}
    assert a.ready and b.ready
    c = room.join(C)
    assert room.ops_to(C)[:1] == [DaveOp.EXTERNAL_SENDER]  # no op 24: the group exists
    assert DaveOp.PREPARE_EPOCH not in room.ops_to(C)
    assert channel.epoch == 2 and channel.leaves == {0: B, 1: A, 2: C}
    assert channel.transition is None
    assert all(m.ready for m in (a, b, c))
    assert a.session.get_last_epoch_authenticator() == c.session.get_last_epoch_authenticator()
    assert_all_hear([a, b, c])
    # Each transition: op 29 to members, op 30 to the new one, then op 22 once all were ready.
    assert room.ops_to(C) == [
        DaveOp.EXTERNAL_SENDER,
        DaveOp.WELCOME,
        DaveOp.EXECUTE_TRANSITION,
    ]
    assert room.ds.stats.transitions_executed == [1, 2]
    assert room.ds.stats.transition_timeouts == 0
    # Both members committed each time; only the first commit counted.
    assert room.ds.stats.commits_accepted == 2
    assert any("pending" in why for _, why in room.ds.stats.commits_ignored)
    assert all(m.mls_failures == [] for m in (a, b, c))
    # A transition id is never 0 for a commit, and op 29/30 carry it big-endian.
    welcome = next(x for x in room.sent if isinstance(x, DaveBinary) and x.opcode == DaveOp.WELCOME)
    assert welcome.payload[:2] in (b"\x00\x01", b"\x00\x02")


def test_a_fourth_joins_and_one_leaves_and_keys_follow(sender: MlsExternalSender) -> None:
    room = Room(sender)
    a, b, c = room.join(A), room.join(B), room.join(C)
    # b speaks under the epoch-2 key; the frame is still in flight when d joins.
    in_flight = b.encrypt(opus_frame(9))
    assert in_flight is not None
    d = room.join(D)
    channel = room.ds.channels[CHANNEL]
    assert channel.epoch == 3 and channel.leaves[3] == D
    assert_all_hear([a, b, c, d])
    # Frames under the previous key still decrypt inside the transition window.
    assert c.decrypt(B, in_flight) == opus_frame(9)
    assert a.decrypt(B, in_flight) == opus_frame(9)

    # b (leaf 0, the creator) leaves: removed, re-keyed.
    gone = room.leave(B)
    assert channel.epoch == 4
    assert channel.leaves == {1: A, 2: C, 3: D}
    assert_all_hear([a, c, d], seed=20)
    # b no longer has the key a sends with now.
    after = a.encrypt(opus_frame(30))
    assert after is not None
    assert gone.decrypt(A, after) is None
    assert gone.stats[A].failed == 1

    # A new member takes the leftmost blank leaf, the one b left.
    e = room.join(E)
    assert channel.leaves == {0: E, 1: A, 2: C, 3: D}
    assert_all_hear([a, c, d, e], seed=40)
    assert all(m.mls_failures == [] for m in (a, c, d, e))


def test_invalid_welcome_is_reported_and_the_member_re_added(sender: MlsExternalSender) -> None:
    room = Room(sender)
    a, b = room.join(A), room.join(B)
    c = DaveMember(C, CHANNEL, ssrc=3)
    c.corrupt_next_welcome = True
    c.clients_connect([A, B])
    a.clients_connect([C])
    b.clients_connect([C])
    room.members[C] = c
    room.run(room.ds.join(CHANNEL, C, room.now))

    assert c.invalid_reports == [2]  # the welcome of transition 2 failed
    assert room.ds.stats.invalid_reports == [(C, 2)]
    assert c.key_packages_sent == 2  # one to join, a fresh one after the failure
    channel = room.ds.channels[CHANNEL]
    # Transition 2 went ahead without c; then one commit removed c's stale leaf and added c from
    # its fresh key package (removes apply first, so c gets its old leaf back).
    assert channel.leaves == {0: B, 1: A, 2: C}
    assert channel.epoch == 3
    assert room.ds.stats.transitions_executed == [1, 2, 3]
    assert c.ready
    assert_all_hear([a, b, c])


def test_downgrade_to_passthrough_and_upgrade_to_a_new_group(sender: MlsExternalSender) -> None:
    room = Room(sender)
    a, b, c = room.join(A), room.join(B), room.join(C)
    encrypted_before = a.encrypt(opus_frame(5))

    room.run(room.ds.set_protocol_version(CHANNEL, 0, room.now))
    channel = room.ds.channels[CHANNEL]
    assert channel.protocol_version == 0 and channel.epoch == 0
    assert room.ds.protocol_version(CHANNEL) == 0
    assert all(m.protocol_version == 0 and not m.ready for m in (a, b, c))
    frame = opus_frame(6)
    plain = a.encrypt(frame)
    assert plain == frame  # sent as is
    assert b.decrypt(A, frame) == frame and c.decrypt(A, frame) == frame
    assert b.stats[A].passthrough == 1
    # In-flight encrypted frames from before the downgrade still decrypt in the window.
    assert encrypted_before is not None
    assert b.decrypt(A, encrypted_before) == opus_frame(5)

    room.run(room.ds.set_protocol_version(CHANNEL, None, room.now))
    assert channel.protocol_version == 1
    assert channel.epoch == 1, "the upgrade made a new group"
    assert sorted(channel.leaves.values()) == [A, B, C]
    for member in (a, b, c):
        assert DaveOp.PREPARE_EPOCH in room.ops_to(member.user_id)[-6:]
    assert all(m.ready for m in (a, b, c))
    assert_all_hear([a, b, c], seed=50)
    # Unencrypted frames still pass for the window after the upgrade.
    assert b.decrypt(A, frame) == frame
    assert room.ds.stats.downgrades == 1 and room.ds.stats.upgrades == 1


def test_a_member_without_dave_downgrades_the_channel_while_it_stays(
    sender: MlsExternalSender,
) -> None:
    room = Room(sender)
    a, b = room.join(A), room.join(B)
    room.run(room.ds.join(CHANNEL, "2000", room.now, dave=False))
    assert room.ds.protocol_version(CHANNEL) == 0
    assert a.protocol_version == 0 and b.protocol_version == 0
    room.run(room.ds.leave(CHANNEL, "2000", room.now))
    assert room.ds.protocol_version(CHANNEL) == 1
    assert a.ready and b.ready
    assert_all_hear([a, b])


def test_a_member_with_the_wrong_key_fails_at_the_others(sender: MlsExternalSender) -> None:
    room = Room(sender)
    a, b, c = room.join(A), room.join(B), room.join(C)
    c.use_wrong_key()
    for seed in range(5):
        frame = c.encrypt(opus_frame(seed))
        assert frame is not None
        assert a.decrypt(C, frame) is None
        assert b.decrypt(C, frame) is None
    assert a.stats[C].failed == 5 and b.stats[C].failed == 5
    assert a.stats[C].decrypted == 0
    assert_all_hear([a, b])  # the others are fine
    c.use_wrong_key(False)
    frame = c.encrypt(opus_frame(99))
    assert frame is not None and a.decrypt(C, frame) == opus_frame(99)


def test_the_opus_silence_frame_passes_through(sender: MlsExternalSender) -> None:
    room = Room(sender)
    a, b = room.join(A), room.join(B)
    assert a.ready
    assert b.decrypt(A, b"\xf8\xff\xfe") == b"\xf8\xff\xfe"
    assert b.stats[A].passthrough == 1


def test_a_silent_member_is_waited_for_until_the_timeout(sender: MlsExternalSender) -> None:
    room = Room(sender)
    a, b = room.join(A), room.join(B)
    room.silent.add(C)
    c = room.join(C)
    channel = room.ds.channels[CHANNEL]
    transition = channel.transition
    assert transition is not None and transition.awaiting == {C}
    assert room.ds.next_deadline() == pytest.approx(room.now + 2.0)
    room.tick(1.9)
    assert channel.transition is not None
    room.tick(0.2)
    assert channel.transition is None
    assert room.ds.stats.transition_timeouts == 1
    assert all(m.ready for m in (a, b, c))
    assert_all_hear([a, b, c])


def test_stale_and_late_commits_are_ignored(sender: MlsExternalSender) -> None:
    room = Room(sender)
    a, b = room.join(A), room.join(B)
    c = DaveMember(C, CHANNEL, ssrc=3)
    # Record what b sends for the add of c: a commit for epoch 1 that loses to a's.
    kept: list[ClientBinary] = []
    original = b.receive

    def recording_receive(action: DaveAction) -> list[ClientBinary | ClientJson]:
        replies = original(action)
        kept.extend(r for r in replies if isinstance(r, ClientBinary))
        return replies

    b.receive = recording_receive  # type: ignore[method-assign]
    for m in (a, b):
        m.clients_connect([C])
    c.clients_connect([A, B])
    room.members[C] = c
    room.run(room.ds.join(CHANNEL, C, room.now))
    assert room.ds.channels[CHANNEL].epoch == 2
    losing = [r for r in kept if r.opcode == DaveOp.COMMIT_WELCOME]
    assert losing
    ignored_before = len(room.ds.stats.commits_ignored)
    assert room.ds.receive(CHANNEL, B, losing[0], room.now) == []
    assert "epoch 1" in room.ds.stats.commits_ignored[ignored_before][1]


def test_sole_member_reset_and_a_new_group_after(sender: MlsExternalSender) -> None:
    room = Room(sender)
    a, _b = room.join(A), room.join(B)
    room.leave(B)
    channel = room.ds.channels[CHANNEL]
    assert channel.epoch == 0 and channel.leaves == {}
    assert room.ops_to(A)[-2:] == [DaveOp.PREPARE_EPOCH, DaveOp.PREPARE_TRANSITION]
    reset = room.sent[-1]
    assert isinstance(reset, DaveJson) and reset.data == {"protocol_version": 1, "transition_id": 0}
    assert room.ds.stats.sole_member_resets == 1
    c = room.join(C)
    assert channel.epoch == 1 and sorted(channel.leaves.values()) == [A, C]
    assert_all_hear([a, c])


def test_key_packages_are_checked(sender: MlsExternalSender) -> None:
    room = Room(sender)
    room.join(A)
    room.join(B)
    stranger = DaveMember(C, CHANNEL)
    stranger.receive(DaveBinary(CHANNEL, C, DaveOp.EXTERNAL_SENDER, sender.new_group(CHANNEL)))
    key_package = stranger.session.get_marshalled_key_package()
    assert key_package is not None
    # B sends C's key package: refused, nothing proposed.
    assert room.ds.receive(CHANNEL, B, ClientBinary(DaveOp.KEY_PACKAGE, key_package), 0.0) == []
    assert room.ds.stats.rejected[-1][2] == f"the key package is user {C}'s"
    assert room.ds.receive(CHANNEL, B, ClientBinary(DaveOp.KEY_PACKAGE, b"junk"), 0.0) == []
    assert "dave-sim key_package_user" in room.ds.stats.rejected[-1][2]
    # Someone who is not a participant is refused too.
    assert room.ds.receive(CHANNEL, C, ClientBinary(DaveOp.KEY_PACKAGE, key_package), 0.0) == []


def test_frames_and_encodings() -> None:
    action = DaveBinary(CHANNEL, A, DaveOp.WELCOME, b"\x00\x07welcome")
    assert action.frame(0x1234) == b"\x12\x34\x1e\x00\x07welcome"
    assert DaveJson(CHANNEL, A, 22, {"transition_id": 3}).frame(5) == {
        "op": 22,
        "d": {"transition_id": 3},
        "seq": 5,
    }
    parsed = ClientBinary.parse(b"\x1aabc")
    assert parsed == ClientBinary(26, b"abc") and parsed.frame() == b"\x1aabc"
    with pytest.raises(DaveProtocolError):
        ClientBinary.parse(b"")
    assert encode_vector(b"x" * 63)[:1] == b"\x3f"
    assert encode_vector(b"x" * 64)[:2] == b"\x40\x40"
    assert encode_vector(b"x" * 16384)[:4] == b"\x80\x00\x40\x00"


def test_malformed_client_ops_raise(sender: MlsExternalSender) -> None:
    room = Room(sender)
    room.join(A)
    ds = room.ds
    with pytest.raises(DaveProtocolError):
        ds.receive_binary(CHANNEL, A, b"\x05xyz", 0.0)
    with pytest.raises(DaveProtocolError):
        ds.receive_json(CHANNEL, A, 23, {"transition_id": "1"}, 0.0)
    with pytest.raises(DaveProtocolError):
        ds.receive_json(CHANNEL, A, 24, {"transition_id": 1}, 0.0)
    assert ds.receive_json(CHANNEL, A, 23, {"transition_id": 77}, 0.0) == []
    assert "not pending" in ds.stats.rejected[-1][2]


def test_the_helper_reports_errors_and_a_missing_binary(tmp_path: Path) -> None:
    with pytest.raises(DaveSimMissing, match="scripts/bootstrap"):
        MlsExternalSender(tmp_path / "no-such-dave-sim")
    with MlsExternalSender() as helper:
        with pytest.raises(DaveSimError, match="new_group first"):
            helper.proposals("42", 0, remove=[1])
        with pytest.raises(DaveSimError, match="unknown op"):
            helper.request("fly")
        assert helper.new_group("42") == helper.new_group("42")
    helper.close()  # idempotent
    with pytest.raises(DaveSimError, match="closed"):
        helper.new_group("42")


def test_deliver_returns_what_is_not_for_members(sender: MlsExternalSender) -> None:
    ds = DaveDeliveryService(sender)
    a = DaveMember(A, CHANNEL)
    a.clients_connect([B])
    rest = deliver(ds, [a], ds.join(CHANNEL, A, 0.0), 0.0)
    assert rest == []
    # B is a websocket client: its ops come back for the gateway to send.
    rest = deliver(ds, [a], ds.join(CHANNEL, B, 0.0), 0.0)
    assert [x.user_id for x in rest] == [B, B, B]
    # op 24 and 25 to start, then a's in-flight add proposal.
    assert [x.op if isinstance(x, DaveJson) else x.opcode for x in rest] == [24, 25, 27]


def test_a_proposal_delay_holds_key_packages_back_until_poll(sender: MlsExternalSender) -> None:
    room = Room(sender)
    room.ds.proposal_delay = 0.5
    a, b = room.join(A), room.join(B)
    channel = room.ds.channels[CHANNEL]
    # Both key packages are in, neither proposed yet: no group, and the deadline says when.
    assert channel.epoch == 0 and channel.proposals == []
    assert not a.ready and not b.ready
    assert room.ds.next_deadline() == 0.5
    room.tick(0.4)
    assert channel.epoch == 0 and room.ds.next_deadline() == 0.5
    room.tick(0.1)
    assert channel.epoch == 1 and a.ready and b.ready
    assert room.ds.next_deadline() is None  # nothing held, nothing pending
    # A newcomer's add waits its own delay while the others already talk.
    c = room.join(C)
    assert channel.epoch == 1 and not c.ready
    assert room.ds.next_deadline() == 1.0
    room.tick(0.5)
    assert channel.epoch == 2 and c.ready
    assert_all_hear([a, b, c])
    with pytest.raises(ValueError, match="negative"):
        DaveDeliveryService(sender, proposal_delay=-1.0)


def test_a_lone_member_with_a_delay_leaves_no_deadline_behind(sender: MlsExternalSender) -> None:
    room = Room(sender)
    room.ds.proposal_delay = 0.25
    room.join(A)
    assert room.ds.next_deadline() == 0.25
    room.tick(0.25)
    # Nobody to propose it to: the deadline is spent, not due again (no busy loop).
    assert room.ds.next_deadline() is None
    assert room.ds.channels[CHANNEL].epoch == 0
