"""DAVE's server side, without I/O: the voice gateway as MLS delivery service and external sender.

`DaveDeliveryService` is told who is in each voice channel (`join`, `leave`), what DAVE
participants send (`receive`, or `receive_binary` / `receive_json` with raw frames) and the passing
of time (`poll`), and returns actions: a JSON op (`DaveJson`) or a binary frame (`DaveBinary`) for
one participant. It follows Discord's DAVE protocol (`discord/dave-protocol` protocol.md, v1.1):

    first participant(s), no group: op 24 PREPARE_EPOCH {protocol_version 1, epoch 1} + op 25
    op 26 KEY_PACKAGE from P      -> op 27 PROPOSALS (external add of P) to who must commit it
    op 28 COMMIT_WELCOME (first valid one for the epoch wins)
                                  -> op 29 ANNOUNCE_COMMIT to members, op 30 WELCOME to new ones
    op 23 READY_FOR_TRANSITION from all of them (or the timeout)
                                  -> op 22 EXECUTE_TRANSITION
    a participant leaves          -> op 27 (external remove of its leaf)
    op 31 INVALID_COMMIT_WELCOME  -> its leaf removed; re-added from its next key package
    downgrade                     -> op 21 PREPARE_TRANSITION {protocol_version 0} ... op 22
    upgrade                       -> op 24 {epoch 1} + op 25: a new group, as at the start
    one participant left          -> op 24 {epoch 1} + op 21 {transition_id 0} (sole member reset)

The MLS work (signing proposals, reading commits and key packages) is done by an
`ExternalSenderLike` (`mls_sim.MlsExternalSender`: the `dave-sim` helper); this module only keeps
the delivery service's view of each group: its epoch, the leaf of each member and the proposals in
flight.

Leaves are tracked as RFC 9420 assigns them: whoever's commit creates the group is leaf 0; a
commit's removes blank their leaves first, then its adds fill the leftmost blank leaf each (or
extend the tree), in the order the commit lists them.

Server-to-client binary frames are `u16 BE sequence number, u8 opcode, payload`. The sequence
number is the voice gateway's per-session `seq`, so a `DaveBinary` carries only the opcode and
payload: the gateway assigns the next seq and builds the frame with `DaveBinary.frame(seq)`.
Client frames are `u8 opcode, payload` (`ClientBinary.parse`).

Transitions: one at a time per channel. While one is pending (announced, not yet executed), new
proposals and protocol version changes wait; they go out when it executes. A transition executes
when every participant it was announced to has sent op 23, or `transition_timeout` seconds
(default 2 s, protocol.md's "roughly two seconds" of transition timeout) after it was announced,
whichever is first (`poll`).

Proposal delay: protocol.md lets the gateway delay an add proposal (to batch them).
`proposal_delay` seconds (default 0) hold each key package back before it is proposed, and
`poll` proposes it when the time comes; a script uses it to make a newcomer hear the others'
frames before it has their keys.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Literal

from clanker.sandbox.voice.mls_sim import DaveSimError, ExternalSenderLike

__all__ = [
    "DEFAULT_TRANSITION_TIMEOUT",
    "ClientBinary",
    "ClientJson",
    "ClientMessage",
    "DaveAction",
    "DaveBinary",
    "DaveChannel",
    "DaveDeliveryService",
    "DaveJson",
    "DaveOp",
    "DaveProtocolError",
    "DaveStats",
    "encode_vector",
]

DEFAULT_TRANSITION_TIMEOUT = 2.0
DAVE_PROTOCOL_VERSION = 1
_MAX_TRANSITION_ID = 0xFFFF


class DaveOp(IntEnum):
    """DAVE voice gateway opcodes."""

    PREPARE_TRANSITION = 21
    EXECUTE_TRANSITION = 22
    READY_FOR_TRANSITION = 23
    PREPARE_EPOCH = 24
    EXTERNAL_SENDER = 25
    KEY_PACKAGE = 26
    PROPOSALS = 27
    COMMIT_WELCOME = 28
    ANNOUNCE_COMMIT = 29
    WELCOME = 30
    INVALID_COMMIT_WELCOME = 31


class DaveProtocolError(ValueError):
    """A client frame that is not DAVE at all (the gateway may close the socket, 4002/4020)."""


# -- what goes out ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DaveJson:
    """Send JSON op `op` with `data` to `user_id` in `channel_id`."""

    channel_id: str
    user_id: str
    op: int
    data: dict[str, Any]

    def frame(self, seq: int | None = None) -> dict[str, Any]:
        """The text frame: `{"op", "d"}`, plus `seq` when the gateway sequences it."""
        frame: dict[str, Any] = {"op": self.op, "d": self.data}
        if seq is not None:
            frame["seq"] = seq
        return frame


@dataclass(frozen=True)
class DaveBinary:
    """Send binary op `opcode` with `payload` to `user_id` in `channel_id`."""

    channel_id: str
    user_id: str
    opcode: int
    payload: bytes

    def frame(self, seq: int) -> bytes:
        """The binary frame with the gateway's sequence number: `u16 BE seq, u8 opcode, payload`."""
        return (seq & 0xFFFF).to_bytes(2, "big") + bytes([self.opcode]) + self.payload


DaveAction = DaveJson | DaveBinary


# -- what comes in ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientBinary:
    """A binary frame from a participant: op 26 KEY_PACKAGE or op 28 COMMIT_WELCOME."""

    opcode: int
    payload: bytes

    @classmethod
    def parse(cls, frame: bytes) -> ClientBinary:
        """A client's binary frame: `u8 opcode, payload`."""
        if not frame:
            raise DaveProtocolError("an empty binary frame")
        return cls(frame[0], bytes(frame[1:]))

    def frame(self) -> bytes:
        """The frame as the client sends it."""
        return bytes([self.opcode]) + self.payload


@dataclass(frozen=True)
class ClientJson:
    """A JSON op from a participant: op 23 READY_FOR_TRANSITION or op 31 INVALID_COMMIT_WELCOME."""

    op: int
    data: dict[str, Any]


ClientMessage = ClientBinary | ClientJson


# -- state ----------------------------------------------------------------------------------------


@dataclass
class DaveParticipant:
    """One DAVE participant of a channel (a client session or a simulated member)."""

    user_id: str
    key_package: bytes | None = None  # the latest one not yet used by a welcome
    key_package_at: float = 0.0  # when it came (proposals wait `proposal_delay` after it)


@dataclass
class _Proposal:
    kind: Literal["add", "remove"]
    user_id: str
    message: bytes
    ref: bytes
    key_package: bytes | None = None  # for an add
    leaf: int | None = None  # for a remove
    recipients: set[str] = field(default_factory=set)


@dataclass
class DaveTransition:
    """A transition announced and not yet executed."""

    transition_id: int
    protocol_version: int
    awaiting: set[str]  # who has yet to send op 23
    notify: set[str]  # who gets op 22
    deadline: float


@dataclass
class DaveChannel:
    """The delivery service's view of one voice channel's DAVE group. Read it; do not change it."""

    channel_id: str
    external_sender: bytes
    protocol_version: int = DAVE_PROTOCOL_VERSION
    forced_version: int | None = None  # set by `set_protocol_version`
    participants: dict[str, DaveParticipant] = field(default_factory=dict)
    non_dave: set[str] = field(default_factory=set)  # members without DAVE (force protocol 0)
    epoch: int = 0  # the group's MLS epoch; 0 while no group is established
    leaves: dict[int, str] = field(default_factory=dict)  # leaf index -> user id
    stale_leaves: set[int] = field(default_factory=set)  # to remove (op 31, or re-initialised)
    transition: DaveTransition | None = None
    proposals: list[_Proposal] = field(default_factory=list)

    @property
    def established(self) -> bool:
        """Whether a commit has created the group (epoch 1 or later)."""
        return self.epoch > 0

    def wanted_version(self) -> int:
        """The protocol version the channel should be at."""
        if self.forced_version is not None:
            return self.forced_version
        return 0 if self.non_dave else DAVE_PROTOCOL_VERSION

    def leaf_of(self, user_id: str) -> int | None:
        """The user's current (not stale) leaf in the group."""
        for leaf, user in self.leaves.items():
            if user == user_id and leaf not in self.stale_leaves:
                return leaf
        return None

    def members(self) -> list[str]:
        """Participants holding a current leaf, by leaf: who can commit."""
        return [
            user
            for leaf, user in sorted(self.leaves.items())
            if leaf not in self.stale_leaves and user in self.participants
        ]

    def _clear_group(self) -> None:
        self.epoch = 0
        self.leaves.clear()
        self.stale_leaves.clear()
        self.proposals.clear()


@dataclass
class DaveStats:
    """Counters and records for tests."""

    key_packages: int = 0
    proposals_sent: int = 0  # op 27 frames
    revokes_sent: int = 0
    commits_accepted: int = 0
    commits_ignored: list[tuple[str, str]] = field(default_factory=list)  # (user, why)
    rejected: list[tuple[str, int, str]] = field(default_factory=list)  # (user, op, why)
    invalid_reports: list[tuple[str, int]] = field(default_factory=list)  # op 31 (user, id)
    transitions_executed: list[int] = field(default_factory=list)
    transition_timeouts: int = 0
    sole_member_resets: int = 0
    downgrades: int = 0
    upgrades: int = 0


def encode_vector(data: bytes) -> bytes:
    """`data` as an MLS variable-length vector (RFC 9420 §2.1.2 length header)."""
    n = len(data)
    if n < 1 << 6:
        header = n.to_bytes(1, "big")
    elif n < 1 << 14:
        header = (n | 0x4000).to_bytes(2, "big")
    elif n < 1 << 30:
        header = (n | 0x8000_0000).to_bytes(4, "big")
    else:
        raise ValueError(f"{n} bytes is too long for an MLS vector")
    return header + data


# -- the delivery service -------------------------------------------------------------------------


class DaveDeliveryService:
    """DAVE's delivery service and external sender for every voice channel of the sandbox.

    `sender` does the MLS (`MlsExternalSender`, or any `ExternalSenderLike`). Every method that
    takes `now` (seconds, any monotonic clock) may start a transition; `poll(now)` executes the
    ones whose timeout passed, and `next_deadline()` says when that is next due.
    """

    def __init__(
        self,
        sender: ExternalSenderLike,
        *,
        transition_timeout: float = DEFAULT_TRANSITION_TIMEOUT,
        first_transition_id: int = 1,
        proposal_delay: float = 0.0,
    ) -> None:
        if not 0 < first_transition_id <= _MAX_TRANSITION_ID:
            raise ValueError("transition ids are non-zero u16s")
        if proposal_delay < 0:
            raise ValueError(f"a proposal delay of {proposal_delay} s is negative")
        self.sender = sender
        self.transition_timeout = transition_timeout
        self.proposal_delay = proposal_delay
        self._now = 0.0  # the latest `now` it was given
        self.channels: dict[str, DaveChannel] = {}
        self.stats = DaveStats()
        self._next_transition_id = first_transition_id

    # -- queries ---------------------------------------------------------------------------------

    def protocol_version(self, channel_id: str) -> int:
        """The DAVE protocol version in `channel_id` (what op 4 SESSION_DESCRIPTION reports)."""
        channel = self.channels.get(channel_id)
        if channel is None:
            return DAVE_PROTOCOL_VERSION
        if channel.transition is not None:
            return channel.protocol_version
        return channel.wanted_version()

    def next_deadline(self) -> float | None:
        """When `poll` may next have something to do."""
        deadlines = [c.transition.deadline for c in self.channels.values() if c.transition]
        for channel in self.channels.values():
            if channel.transition is None:
                due = [
                    p.key_package_at + self.proposal_delay for p in self._held_key_packages(channel)
                ]
                deadlines += [at for at in due if at > self._now]  # past ones were handled
        return min(deadlines, default=None)

    # -- channel events ----------------------------------------------------------------------------

    def join(
        self, channel_id: str, user_id: str, now: float, *, dave: bool = True
    ) -> list[DaveAction]:
        """`user_id` connected to voice in `channel_id`; `dave=False` for a client whose
        `max_dave_protocol_version` is 0 (it downgrades the channel while it stays)."""
        channel = self._channel(channel_id)
        if not dave:
            left = self.leave(channel_id, user_id, now)
            channel.non_dave.add(user_id)
            return left + self._reconcile(channel, now)
        channel.non_dave.discard(user_id)
        if user_id in channel.participants:
            return []
        channel.participants[user_id] = DaveParticipant(user_id)
        actions: list[DaveAction] = []
        if channel.protocol_version != 0:
            if not channel.established:
                actions.append(self._prepare_epoch(channel, user_id))
            actions.append(self._external_sender(channel, user_id))
        return actions + self._reconcile(channel, now)

    def leave(self, channel_id: str, user_id: str, now: float) -> list[DaveAction]:
        """`user_id` left voice (or its session ended) in `channel_id`."""
        channel = self.channels.get(channel_id)
        if channel is None:
            return []
        channel.non_dave.discard(user_id)
        actions: list[DaveAction] = []
        leaf = channel.leaf_of(user_id)
        if leaf is not None:
            channel.stale_leaves.add(leaf)  # if it comes back, it is added anew
        if channel.participants.pop(user_id, None) is not None:
            actions += self._revoke(channel, [p for p in channel.proposals if p.user_id == user_id])
            for proposal in channel.proposals:
                proposal.recipients.discard(user_id)
        actions += self._stop_waiting_for(channel, user_id, now)
        return actions + self._reconcile(channel, now)

    def set_protocol_version(
        self, channel_id: str, version: int | None, now: float
    ) -> list[DaveAction]:
        """Force the channel to protocol `version` (0: downgrade, 1: upgrade); None goes back to
        choosing by its members (0 while any non-DAVE member is there)."""
        if version not in (None, 0, DAVE_PROTOCOL_VERSION):
            raise ValueError(f"DAVE protocol version {version} is not 0 or 1")
        channel = self._channel(channel_id)
        channel.forced_version = version
        return self._reconcile(channel, now)

    def poll(self, now: float) -> list[DaveAction]:
        """Execute transitions whose participants did not all answer in time; propose key
        packages whose delay is over."""
        self._now = max(self._now, now)
        actions: list[DaveAction] = []
        for channel in list(self.channels.values()):
            if channel.transition is not None and now >= channel.transition.deadline:
                self.stats.transition_timeouts += 1
                actions += self._execute(channel, now)
            elif channel.transition is None and any(
                now >= p.key_package_at + self.proposal_delay
                for p in self._held_key_packages(channel)
            ):
                actions += self._reconcile(channel, now)
        return actions

    # -- what participants send --------------------------------------------------------------------

    def receive_binary(
        self, channel_id: str, user_id: str, frame: bytes, now: float
    ) -> list[DaveAction]:
        """A binary frame from a participant (`u8 opcode, payload`)."""
        return self.receive(channel_id, user_id, ClientBinary.parse(frame), now)

    def receive_json(
        self, channel_id: str, user_id: str, op: int, data: Any, now: float
    ) -> list[DaveAction]:
        """A JSON op (23 or 31) from a participant."""
        if not isinstance(data, dict):
            raise DaveProtocolError(f"op {op} carries an object")
        return self.receive(channel_id, user_id, ClientJson(op, data), now)

    def receive(
        self, channel_id: str, user_id: str, message: ClientMessage, now: float
    ) -> list[DaveAction]:
        """A participant's DAVE message."""
        channel = self.channels.get(channel_id)
        op = message.opcode if isinstance(message, ClientBinary) else message.op
        if channel is None or user_id not in channel.participants:
            self.stats.rejected.append((user_id, op, "not a DAVE participant of the channel"))
            return []
        if isinstance(message, ClientBinary):
            if message.opcode == DaveOp.KEY_PACKAGE:
                return self._key_package(channel, user_id, message.payload, now)
            if message.opcode == DaveOp.COMMIT_WELCOME:
                return self._commit_welcome(channel, user_id, message.payload, now)
            raise DaveProtocolError(f"binary opcode {message.opcode} is not a client DAVE op")
        transition_id = message.data.get("transition_id")
        if not isinstance(transition_id, int) or isinstance(transition_id, bool):
            raise DaveProtocolError(f"op {message.op} needs an integer transition_id")
        if message.op == DaveOp.READY_FOR_TRANSITION:
            return self._ready(channel, user_id, transition_id, now)
        if message.op == DaveOp.INVALID_COMMIT_WELCOME:
            return self._invalid_commit_welcome(channel, user_id, transition_id, now)
        raise DaveProtocolError(f"JSON op {message.op} is not a client DAVE op")

    # -- handlers --------------------------------------------------------------------------------

    def _key_package(
        self, channel: DaveChannel, user_id: str, key_package: bytes, now: float
    ) -> list[DaveAction]:
        self.stats.key_packages += 1
        self._now = max(self._now, now)
        op = DaveOp.KEY_PACKAGE
        if channel.protocol_version == 0:
            self.stats.rejected.append((user_id, op, "the channel is at protocol 0"))
            return []
        try:
            info = self.sender.key_package_user(key_package)
        except DaveSimError as exc:
            self.stats.rejected.append((user_id, op, str(exc)))
            return []
        if info.user_id != user_id:
            why = f"the key package is user {info.user_id}'s"
            self.stats.rejected.append((user_id, op, why))
            return []
        if not info.max_lifetime:
            self.stats.rejected.append((user_id, op, "the key package lifetime is not maximal"))
            return []
        actions: list[DaveAction] = []
        leaf = channel.leaf_of(user_id)
        if leaf is not None:
            # A member that starts over (it re-initialised): its old leaf goes, it comes back.
            channel.stale_leaves.add(leaf)
        old = [p for p in channel.proposals if p.kind == "add" and p.user_id == user_id]
        actions += self._revoke(channel, old)
        channel.participants[user_id].key_package = key_package
        channel.participants[user_id].key_package_at = now
        return actions + self._reconcile(channel, now)

    def _commit_welcome(
        self, channel: DaveChannel, user_id: str, payload: bytes, now: float
    ) -> list[DaveAction]:
        def ignore(why: str) -> list[DaveAction]:
            self.stats.commits_ignored.append((user_id, why))
            return []

        if channel.protocol_version == 0:
            return ignore("the channel is at protocol 0")
        if channel.transition is not None:
            return ignore(f"transition {channel.transition.transition_id} is still pending")
        try:
            split = self.sender.split_commit_welcome(payload)
            info = self.sender.inspect_commit(split.commit)
        except DaveSimError as exc:
            return ignore(str(exc))
        if info.epoch != channel.epoch:
            return ignore(f"a commit for epoch {info.epoch}; the group is at {channel.epoch}")
        if channel.established:
            if channel.leaf_of(user_id) != info.sender_leaf:
                return ignore(f"sent from leaf {info.sender_leaf}, not the sender's")
        elif info.sender_leaf != 0:
            return ignore("a group-creating commit not from leaf 0")
        if info.inline_proposals:
            return ignore("the commit carries proposals by value")
        expected = {p.ref: p for p in channel.proposals if user_id in p.recipients}
        refs = list(info.proposal_refs)
        if not refs or len(set(refs)) != len(refs) or set(refs) != set(expected):
            return ignore("the commit does not reference exactly the proposals sent to it")
        ordered = [expected[ref] for ref in refs]
        if any(p.kind == "add" for p in ordered) and split.welcome is None:
            return ignore("the commit adds members without a welcome")

        # The winning commit: the delivery service's view of the tree follows it.
        self.stats.commits_accepted += 1
        if channel.established:
            old_members = set(channel.members())
        else:
            channel.leaves = {0: user_id}
            old_members = {user_id}
        for proposal in ordered:
            if proposal.kind == "remove" and proposal.leaf is not None:
                channel.leaves.pop(proposal.leaf, None)
                channel.stale_leaves.discard(proposal.leaf)
        welcomed: list[str] = []
        for proposal in ordered:
            if proposal.kind == "add":
                leaf = next(i for i in itertools.count() if i not in channel.leaves)
                channel.leaves[leaf] = proposal.user_id
                welcomed.append(proposal.user_id)
                participant = channel.participants.get(proposal.user_id)
                if participant is not None and participant.key_package == proposal.key_package:
                    participant.key_package = None
        channel.epoch += 1
        channel.proposals.clear()

        transition_id = self._new_transition_id()
        announce = [u for u in channel.members() if u in old_members]
        welcome_to = [u for u in welcomed if u in channel.participants]
        actions: list[DaveAction] = []
        prefix = transition_id.to_bytes(2, "big")
        for user in announce:
            actions.append(
                DaveBinary(channel.channel_id, user, DaveOp.ANNOUNCE_COMMIT, prefix + split.commit)
            )
        assert split.welcome is not None or not welcome_to
        for user in welcome_to:
            assert split.welcome is not None
            actions.append(
                DaveBinary(channel.channel_id, user, DaveOp.WELCOME, prefix + split.welcome)
            )
        answering = set(announce) | set(welcome_to)
        channel.transition = DaveTransition(
            transition_id,
            DAVE_PROTOCOL_VERSION,
            awaiting=set(answering),
            notify=set(answering),
            deadline=now + self.transition_timeout,
        )
        if not answering:
            actions += self._execute(channel, now)
        return actions

    def _ready(
        self, channel: DaveChannel, user_id: str, transition_id: int, now: float
    ) -> list[DaveAction]:
        transition = channel.transition
        if transition is None or transition.transition_id != transition_id:
            why = f"ready for transition {transition_id}, which is not pending"
            self.stats.rejected.append((user_id, DaveOp.READY_FOR_TRANSITION, why))
            return []
        transition.awaiting.discard(user_id)
        if transition.awaiting:
            return []
        return self._execute(channel, now)

    def _invalid_commit_welcome(
        self, channel: DaveChannel, user_id: str, transition_id: int, now: float
    ) -> list[DaveAction]:
        self.stats.invalid_reports.append((user_id, transition_id))
        leaf = channel.leaf_of(user_id)
        if leaf is not None:
            channel.stale_leaves.add(leaf)
        # It starts over: its next key package is the one to add.
        channel.participants[user_id].key_package = None
        actions = self._revoke(
            channel, [p for p in channel.proposals if p.kind == "add" and p.user_id == user_id]
        )
        actions += self._stop_waiting_for(channel, user_id, now)
        return actions + self._reconcile(channel, now)

    # -- the state machine's moves -------------------------------------------------------------

    def _reconcile(self, channel: DaveChannel, now: float) -> list[DaveAction]:
        """Send what the channel's state calls for, unless a transition is pending."""
        if channel.transition is not None:
            return []
        actions: list[DaveAction] = []
        wanted = channel.wanted_version()
        if wanted != channel.protocol_version:
            if wanted == 0:
                return self._downgrade(channel, now)
            actions += self._upgrade(channel)
        if channel.protocol_version == 0:
            return actions
        if channel.established:
            if len(channel.participants) <= 1:
                return actions + self._sole_member_reset(channel)
            if not channel.members():
                # Nobody left who can commit: start over with the pending members' groups.
                channel._clear_group()
        if channel.established:
            return actions + self._propose_changes(channel, now)
        return actions + self._propose_creation(channel, now)

    def _due(self, participant: DaveParticipant, now: float) -> bool:
        """Whether its key package may be proposed now (its delay is over)."""
        return now >= participant.key_package_at + self.proposal_delay

    def _held_key_packages(self, channel: DaveChannel) -> list[DaveParticipant]:
        """Participants whose key package waits for its delay to be proposed."""
        if self.proposal_delay <= 0:
            return []
        proposed = {p.user_id for p in channel.proposals if p.kind == "add"}
        return [
            p
            for p in channel.participants.values()
            if p.key_package is not None
            and p.user_id not in proposed
            and channel.leaf_of(p.user_id) is None
        ]

    def _propose_changes(self, channel: DaveChannel, now: float) -> list[DaveAction]:
        pending_removes = {p.leaf for p in channel.proposals if p.kind == "remove"}
        removes = sorted(
            leaf
            for leaf, user in channel.leaves.items()
            if (user not in channel.participants or leaf in channel.stale_leaves)
            and leaf not in pending_removes
        )
        pending_adds = {p.user_id for p in channel.proposals if p.kind == "add"}
        adds = [
            p
            for p in channel.participants.values()
            if p.key_package is not None
            and channel.leaf_of(p.user_id) is None
            and p.user_id not in pending_adds
            and self._due(p, now)
        ]
        if not removes and not adds:
            return []
        made = self.sender.proposals(
            channel.channel_id,
            channel.epoch,
            add=[p.key_package for p in adds if p.key_package is not None],
            remove=removes,
        )
        recipients = set(channel.members())
        kinds: list[tuple[Literal["add", "remove"], str, bytes | None, int | None]] = [
            ("remove", channel.leaves[leaf], None, leaf) for leaf in removes
        ] + [("add", p.user_id, p.key_package, None) for p in adds]
        for (kind, user, key_package, leaf), message, ref in zip(
            kinds, made.messages, made.refs, strict=True
        ):
            channel.proposals.append(
                _Proposal(kind, user, message, ref, key_package, leaf, set(recipients))
            )
        self.stats.proposals_sent += len(recipients)
        return [
            DaveBinary(channel.channel_id, user, DaveOp.PROPOSALS, made.payload)
            for user in channel.members()
        ]

    def _propose_creation(self, channel: DaveChannel, now: float) -> list[DaveAction]:
        """No group yet: every pending participant gets every other's add proposal at epoch 0,
        so whoever commits first creates the group with everyone who had a key package."""
        proposed = {p.user_id for p in channel.proposals}
        for participant in channel.participants.values():
            if (
                participant.key_package is not None
                and participant.user_id not in proposed
                and self._due(participant, now)
            ):
                made = self.sender.proposals(channel.channel_id, 0, add=[participant.key_package])
                channel.proposals.append(
                    _Proposal(
                        "add",
                        participant.user_id,
                        made.messages[0],
                        made.refs[0],
                        key_package=participant.key_package,
                    )
                )
        actions: list[DaveAction] = []
        for user in channel.participants:
            fresh = [p for p in channel.proposals if p.user_id != user and user not in p.recipients]
            if not fresh:
                continue
            for proposal in fresh:
                proposal.recipients.add(user)
            payload = bytes([0]) + encode_vector(b"".join(p.message for p in fresh))
            self.stats.proposals_sent += 1
            actions.append(DaveBinary(channel.channel_id, user, DaveOp.PROPOSALS, payload))
        return actions

    def _revoke(self, channel: DaveChannel, proposals: list[_Proposal]) -> list[DaveAction]:
        """Withdraw proposals (op 27 revoke to whoever got them)."""
        if not proposals:
            return []
        actions: list[DaveAction] = []
        by_recipient: dict[str, list[bytes]] = {}
        for proposal in proposals:
            channel.proposals.remove(proposal)
            for user in sorted(proposal.recipients):
                by_recipient.setdefault(user, []).append(proposal.ref)
        for user, refs in by_recipient.items():
            if user not in channel.participants:
                continue
            self.stats.revokes_sent += 1
            payload = self.sender.revoke(refs)
            actions.append(DaveBinary(channel.channel_id, user, DaveOp.PROPOSALS, payload))
        return actions

    def _execute(self, channel: DaveChannel, now: float) -> list[DaveAction]:
        transition = channel.transition
        assert transition is not None
        channel.transition = None
        self.stats.transitions_executed.append(transition.transition_id)
        data = {"transition_id": transition.transition_id}
        actions: list[DaveAction] = [
            DaveJson(channel.channel_id, user, DaveOp.EXECUTE_TRANSITION, data)
            for user in channel.participants
            if user in transition.notify
        ]
        return actions + self._reconcile(channel, now)

    def _stop_waiting_for(self, channel: DaveChannel, user_id: str, now: float) -> list[DaveAction]:
        transition = channel.transition
        if transition is None:
            return []
        transition.notify.discard(user_id)
        if user_id in transition.awaiting:
            transition.awaiting.discard(user_id)
            if not transition.awaiting:
                return self._execute(channel, now)
        return []

    def _downgrade(self, channel: DaveChannel, now: float) -> list[DaveAction]:
        self.stats.downgrades += 1
        channel.protocol_version = 0
        channel._clear_group()
        for participant in channel.participants.values():
            participant.key_package = None
        if not channel.participants:
            return []
        transition_id = self._new_transition_id()
        users = set(channel.participants)
        channel.transition = DaveTransition(
            transition_id, 0, set(users), set(users), now + self.transition_timeout
        )
        data = {"protocol_version": 0, "transition_id": transition_id}
        return [
            DaveJson(channel.channel_id, user, DaveOp.PREPARE_TRANSITION, data)
            for user in channel.participants
        ]

    def _upgrade(self, channel: DaveChannel) -> list[DaveAction]:
        self.stats.upgrades += 1
        channel.protocol_version = DAVE_PROTOCOL_VERSION
        channel._clear_group()
        actions: list[DaveAction] = []
        for participant in channel.participants.values():
            participant.key_package = None
            actions.append(self._prepare_epoch(channel, participant.user_id))
            actions.append(self._external_sender(channel, participant.user_id))
        return actions

    def _sole_member_reset(self, channel: DaveChannel) -> list[DaveAction]:
        channel._clear_group()
        actions: list[DaveAction] = []
        for participant in channel.participants.values():
            self.stats.sole_member_resets += 1
            participant.key_package = None
            actions.append(self._prepare_epoch(channel, participant.user_id))
            data = {"protocol_version": channel.protocol_version, "transition_id": 0}
            actions.append(
                DaveJson(channel.channel_id, participant.user_id, DaveOp.PREPARE_TRANSITION, data)
            )
        return actions

    # -- helpers ---------------------------------------------------------------------------------

    def _channel(self, channel_id: str) -> DaveChannel:
        channel = self.channels.get(channel_id)
        if channel is None:
            channel = DaveChannel(channel_id, external_sender=self.sender.new_group(channel_id))
            self.channels[channel_id] = channel
        return channel

    def _prepare_epoch(self, channel: DaveChannel, user_id: str) -> DaveJson:
        data = {"protocol_version": channel.protocol_version, "epoch": 1}
        return DaveJson(channel.channel_id, user_id, DaveOp.PREPARE_EPOCH, data)

    def _external_sender(self, channel: DaveChannel, user_id: str) -> DaveBinary:
        return DaveBinary(
            channel.channel_id, user_id, DaveOp.EXTERNAL_SENDER, channel.external_sender
        )

    def _new_transition_id(self) -> int:
        transition_id = self._next_transition_id
        self._next_transition_id = transition_id % _MAX_TRANSITION_ID + 1  # 1..65535, never 0
        return transition_id
