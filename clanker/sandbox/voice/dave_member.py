"""A simulated voice channel member that speaks DAVE, on Discord's own reference implementation.

`DaveMember` wraps a libdave session through the `dave` package (`dave.py`: Discord's C++ libdave
with mlspp and OpenSSL, bound with nanobind). We did not write it, so a group that libdave members
and our client (clankvox, on davey) agree on is checked against Discord's implementation rather
than against itself.

A member takes the delivery service's actions addressed to it (`receive`, in process: no
websocket) and returns what it would send back: its key package, commit/welcome, READY_FOR_
TRANSITION, or INVALID_COMMIT_WELCOME and a fresh key package when a commit or welcome fails.
`deliver` runs that loop for a set of members. It encrypts its Opus frames (`encrypt`) and
decrypts what others send (`decrypt`, one libdave Decryptor per sender, re-keyed at every
transition and keeping previous keys for `transition_expiry` seconds), counting per sender what
decrypted, failed and passed through.

For tests it can misbehave: `use_wrong_key()` makes it encrypt with another member's key (others
fail to decrypt it), `corrupt_next_welcome` / `corrupt_next_commit` make it fail the next one (so
it sends op 31).
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import dave

from clanker.sandbox.voice.dave_ds import (
    ClientBinary,
    ClientJson,
    ClientMessage,
    DaveAction,
    DaveDeliveryService,
    DaveJson,
    DaveOp,
)

__all__ = ["DaveMember", "DecryptStats", "deliver"]

DEFAULT_TRANSITION_EXPIRY = 10.0  # seconds old keys keep decrypting after a transition


@dataclass
class DecryptStats:
    """What one member's decryptor for one sender did."""

    decrypted: int = 0
    failed: int = 0
    passthrough: int = 0


class DaveMember:
    """One simulated member of `channel_id` as a DAVE participant (libdave through dave.py).

    `known_users` is who the member expects in the channel (what ops 11/13 tell a client): it
    refuses proposals and welcomes naming anyone else. `clients_connect` / `client_disconnect`
    keep it current.
    """

    def __init__(
        self,
        user_id: str,
        channel_id: str,
        *,
        protocol_version: int = 1,
        ssrc: int = 1,
        transition_expiry: float = DEFAULT_TRANSITION_EXPIRY,
    ) -> None:
        self.user_id = str(user_id)
        self.channel_id = str(channel_id)
        self.ssrc = ssrc
        self.transition_expiry = transition_expiry
        self.known_users: set[str] = {self.user_id}
        self.mls_failures: list[tuple[str, str]] = []
        self.session = dave.Session(self._on_mls_failure)
        self.protocol_version = protocol_version  # the one frames are sent with
        self.group_users: set[str] = set()  # the MLS group's roster, as far as this member knows
        self.external_sender: bytes | None = None
        self.decryptors: dict[str, dave.Decryptor] = {}
        self.stats: dict[str, DecryptStats] = collections.defaultdict(DecryptStats)
        self.encryptor = dave.Encryptor()
        self.encryptor.assign_ssrc_to_codec(ssrc, dave.Codec.opus)
        self.encryptor.set_passthrough_mode(protocol_version == 0)
        self.executed: list[int] = []  # transitions executed, in order
        self.key_packages_sent = 0
        self.invalid_reports: list[int] = []  # op 31 sent, by transition id
        self.encrypt_failures = 0
        self.wrong_key = False
        self.corrupt_next_welcome = False
        self.corrupt_next_commit = False
        self._pending: dict[int, int] = {}  # prepared transition id -> protocol version
        self._receive_passthrough = protocol_version == 0
        self._external_sender_applied = False
        self._key_package_sent = False
        self._init(protocol_version)

    # -- the channel, as ops 11/13 describe it ---------------------------------------------------

    def clients_connect(self, user_ids: Iterable[str]) -> None:
        """These users are (now) in the channel."""
        self.known_users.update(str(u) for u in user_ids)

    def client_disconnect(self, user_id: str) -> None:
        """This user left the channel."""
        self.known_users.discard(str(user_id))

    # -- DAVE signalling -------------------------------------------------------------------------

    def receive(self, action: DaveAction) -> list[ClientMessage]:
        """One message from the voice gateway; what the member sends back."""
        if isinstance(action, DaveJson):
            return self._receive_json(action.op, action.data)
        return self._receive_binary(action.opcode, action.payload)

    def _receive_json(self, op: int, data: Mapping[str, object]) -> list[ClientMessage]:
        if op == DaveOp.PREPARE_EPOCH:
            if data.get("epoch") == 1:
                version = data.get("protocol_version")
                # A new group: start over and send a new key package.
                self._init(version if isinstance(version, int) else 1)
                if self.external_sender is not None:
                    self._apply_external_sender()
                return [self._key_package()]
            return []
        transition_id = data.get("transition_id")
        if not isinstance(transition_id, int):
            return []
        if op == DaveOp.PREPARE_TRANSITION:
            version = data.get("protocol_version")
            version = version if isinstance(version, int) else 1
            if version == 0:
                self._receive_passthrough = True
                for decryptor in self.decryptors.values():
                    decryptor.transition_to_passthrough_mode(True, self.transition_expiry)
            if transition_id == 0:
                self._apply(version)
                return []
            self._pending[transition_id] = version
            return [ClientJson(DaveOp.READY_FOR_TRANSITION, {"transition_id": transition_id})]
        if op == DaveOp.EXECUTE_TRANSITION:
            version_or_none = self._pending.pop(transition_id, None)
            if version_or_none is not None:
                self.executed.append(transition_id)
                self._apply(version_or_none)
        return []

    def _receive_binary(self, opcode: int, payload: bytes) -> list[ClientMessage]:
        if opcode == DaveOp.EXTERNAL_SENDER:
            if payload != self.external_sender or not self._external_sender_applied:
                self.external_sender = payload
                self._apply_external_sender()
            return [] if self._key_package_sent else [self._key_package()]
        if opcode == DaveOp.PROPOSALS:
            commit_welcome = self.session.process_proposals(payload, self._recognized())
            if commit_welcome is None:
                return []
            return [ClientBinary(DaveOp.COMMIT_WELCOME, commit_welcome)]
        if opcode in (DaveOp.ANNOUNCE_COMMIT, DaveOp.WELCOME) and len(payload) >= 2:
            transition_id = int.from_bytes(payload[:2], "big")
            message = payload[2:]
            if opcode == DaveOp.ANNOUNCE_COMMIT:
                if self.corrupt_next_commit:
                    self.corrupt_next_commit = False
                    message = _corrupt(message)
                result = self.session.process_commit(message)
                if isinstance(result, dave.RejectType):
                    if result == dave.RejectType.failed:
                        return self._recover(transition_id)
                    return []
                for user, key in result.items():
                    (self.group_users.add if key else self.group_users.discard)(str(user))
            else:
                if self.corrupt_next_welcome:
                    self.corrupt_next_welcome = False
                    message = _corrupt(message)
                roster = self.session.process_welcome(message, self._recognized())
                if roster is None:
                    return self._recover(transition_id)
                self.group_users = {str(user) for user, key in roster.items() if key}
            return self._prepare_keys(transition_id)
        return []

    def _prepare_keys(self, transition_id: int) -> list[ClientMessage]:
        """After a commit or welcome: decryptors get the new epoch's keys now (keeping the old
        ones for the transition window); sending switches when the transition executes."""
        for user in self.group_users - {self.user_id}:
            ratchet = self.session.get_key_ratchet(user)
            if ratchet is not None:
                self._decryptor(user).transition_to_key_ratchet(ratchet, self.transition_expiry)
        if transition_id == 0:
            self._apply(1)
            return []
        self._pending[transition_id] = 1
        return [ClientJson(DaveOp.READY_FOR_TRANSITION, {"transition_id": transition_id})]

    def _apply(self, version: int) -> None:
        """Execute a transition to protocol `version` on the sending side."""
        self.protocol_version = version
        if version == 0:
            self.encryptor.set_passthrough_mode(True)
            return
        self._set_send_key()
        self.encryptor.set_passthrough_mode(False)
        if self._receive_passthrough:
            self._receive_passthrough = False
            for decryptor in self.decryptors.values():
                decryptor.transition_to_passthrough_mode(False, self.transition_expiry)

    def _set_send_key(self) -> None:
        user = self.user_id
        if self.wrong_key:
            others = sorted(self.group_users - {self.user_id})
            if others:
                user = others[0]
        self.encryptor.set_key_ratchet(self.session.get_key_ratchet(user))

    def _recover(self, transition_id: int) -> list[ClientMessage]:
        """An unprocessable commit or welcome: report it, start over, send a new key package."""
        self.invalid_reports.append(transition_id)
        self._init(self.session.get_protocol_version() or 1)
        if self.external_sender is not None:
            self._apply_external_sender()
        report = ClientJson(DaveOp.INVALID_COMMIT_WELCOME, {"transition_id": transition_id})
        return [report, self._key_package()]

    def _init(self, version: int) -> None:
        self.session.init(version, int(self.channel_id), self.user_id)
        self._pending.clear()
        self._external_sender_applied = False
        self._key_package_sent = False

    def _apply_external_sender(self) -> None:
        assert self.external_sender is not None
        self.session.set_external_sender(self.external_sender)
        self._external_sender_applied = True

    def _key_package(self) -> ClientBinary:
        key_package = self.session.get_marshalled_key_package()
        if key_package is None:
            raise RuntimeError(f"libdave made no key package for member {self.user_id}")
        self._key_package_sent = True
        self.key_packages_sent += 1
        return ClientBinary(DaveOp.KEY_PACKAGE, key_package)

    def _recognized(self) -> set[str]:
        return self.known_users | {self.user_id}

    def _on_mls_failure(self, source: str, reason: str) -> None:
        self.mls_failures.append((source, reason))

    # -- media -------------------------------------------------------------------------------------

    @property
    def privacy_code(self) -> str | None:
        """The call's voice privacy code as libdave computes it (the epoch authenticator as 30
        digits; Discord's clients show it in groups of five); None without a group."""
        if self.protocol_version == 0 or not self.session.has_established_group():
            return None
        authenticator = self.session.get_last_epoch_authenticator()
        if not authenticator:
            return None
        return str(dave.generate_displayable_code(authenticator, 30, 5))

    @property
    def ready(self) -> bool:
        """Whether frames it sends now are end-to-end encrypted."""
        return self.protocol_version != 0 and self.encryptor.has_key_ratchet()

    def use_wrong_key(self, wrong: bool = True) -> None:
        """Encrypt with another member's key from now on (others then fail to decrypt)."""
        self.wrong_key = wrong
        if self.protocol_version != 0 and self.session.has_established_group():
            self._set_send_key()

    def encrypt(self, frame: bytes) -> bytes | None:
        """One outgoing Opus frame as DAVE sends it (unchanged in passthrough); None when there
        is no key to encrypt with yet."""
        out = self.encryptor.encrypt(dave.MediaType.audio, self.ssrc, frame)
        if out is None:
            self.encrypt_failures += 1
        return out

    def decrypt(self, sender_user_id: str, frame: bytes) -> bytes | None:
        """One incoming frame from `sender_user_id`: the Opus frame, or None when it did not
        decrypt."""
        sender = str(sender_user_id)
        out = self._decryptor(sender).decrypt(dave.MediaType.audio, frame)
        stats = self.stats[sender]
        if out is None:
            stats.failed += 1
        elif out == frame:  # a DAVE frame never decrypts to itself: it was passed through
            stats.passthrough += 1
        else:
            stats.decrypted += 1
        return out

    def _decryptor(self, sender: str) -> dave.Decryptor:
        decryptor = self.decryptors.get(sender)
        if decryptor is None:
            decryptor = dave.Decryptor()
            if self._receive_passthrough:
                decryptor.transition_to_passthrough_mode(True, self.transition_expiry)
            if self.session.has_established_group():
                ratchet = self.session.get_key_ratchet(sender)
                if ratchet is not None:
                    decryptor.transition_to_key_ratchet(ratchet, self.transition_expiry)
            self.decryptors[sender] = decryptor
        return decryptor


def _corrupt(message: bytes) -> bytes:
    """The message with one byte near its end flipped (a signature or ciphertext byte)."""
    if not message:
        return message
    i = len(message) - 5 if len(message) > 5 else 0
    return message[:i] + bytes([message[i] ^ 0xFF]) + message[i + 1 :]


def deliver(
    service: DaveDeliveryService,
    members: Mapping[str, DaveMember] | Iterable[DaveMember],
    actions: Iterable[DaveAction],
    now: float,
) -> list[DaveAction]:
    """Hand each action addressed to an in-process member to it and feed what it sends back to
    the delivery service, until nothing is left for members; return the actions for everyone
    else (client sessions, for the gateway to send), in order.

    Actions are delivered in the order they were made, each member's replies going to the
    service at once (a websocket client's replies would come later, never earlier).
    """
    if not isinstance(members, Mapping):
        members = {m.user_id: m for m in members}
    others: list[DaveAction] = []
    queue: collections.deque[DaveAction] = collections.deque(actions)
    while queue:
        action = queue.popleft()
        member = members.get(action.user_id)
        if member is None or member.channel_id != action.channel_id:
            others.append(action)
            continue
        for reply in member.receive(action):
            queue.extend(service.receive(action.channel_id, member.user_id, reply, now))
    return others
