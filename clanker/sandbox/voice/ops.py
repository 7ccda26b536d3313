"""Voice gateway opcodes, close codes and the grant that lets a client in."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class VoiceOp(IntEnum):
    """Voice gateway opcodes (v8) the sandbox sends or understands."""

    IDENTIFY = 0
    SELECT_PROTOCOL = 1
    READY = 2
    HEARTBEAT = 3
    SESSION_DESCRIPTION = 4
    SPEAKING = 5
    HEARTBEAT_ACK = 6
    RESUME = 7
    HELLO = 8
    RESUMED = 9
    CLIENTS_CONNECT = 11
    CLIENT_DISCONNECT = 13
    DAVE_PREPARE_TRANSITION = 21
    DAVE_EXECUTE_TRANSITION = 22
    DAVE_READY_FOR_TRANSITION = 23
    DAVE_PREPARE_EPOCH = 24
    DAVE_INVALID_COMMIT_WELCOME = 31


# Client opcodes that are real but not emulated (video, codecs): accepted and recorded, never
# answered. Anything else unknown closes the socket with 4001, as Discord does.
IGNORED_CLIENT_OPS = frozenset({12, 14, 15, 16, 17, 18, 20})
# DAVE's client opcodes: JSON 23 READY_FOR_TRANSITION and 31 INVALID_COMMIT_WELCOME, binary
# 26 KEY_PACKAGE and 28 COMMIT_WELCOME. They go to the DAVE delivery service; a gateway without
# one (`dave=False`) records and ignores them like the ops above.
DAVE_CLIENT_JSON_OPS = frozenset({23, 31})
DAVE_CLIENT_BINARY_OPS = frozenset({26, 28})

# Server messages that carry `seq` and are replayed on resume (v8 buffered resume).
SEQUENCED_OPS = frozenset(
    {
        VoiceOp.SESSION_DESCRIPTION,
        VoiceOp.SPEAKING,
        VoiceOp.CLIENTS_CONNECT,
        VoiceOp.CLIENT_DISCONNECT,
        VoiceOp.DAVE_PREPARE_TRANSITION,
        VoiceOp.DAVE_EXECUTE_TRANSITION,
        VoiceOp.DAVE_PREPARE_EPOCH,
    }
)
# Server binary DAVE opcodes (25 EXTERNAL_SENDER, 27 PROPOSALS, 29 ANNOUNCE_COMMIT, 30 WELCOME):
# `u16 BE seq, u8 opcode, payload`, sequenced and replayed like the JSON messages above.
SEQUENCED_BINARY_OPS = frozenset({25, 27, 29, 30})


class VoiceCloseCode(IntEnum):
    """Voice gateway close codes the sandbox uses."""

    UNKNOWN_OPCODE = 4001
    DECODE_ERROR = 4002
    NOT_AUTHENTICATED = 4003
    AUTHENTICATION_FAILED = 4004
    ALREADY_AUTHENTICATED = 4005
    SESSION_INVALID = 4006
    SESSION_TIMEOUT = 4009
    UNKNOWN_PROTOCOL = 4012
    DISCONNECTED = 4014
    SERVER_CRASHED = 4015
    UNKNOWN_ENCRYPTION_MODE = 4016
    BAD_REQUEST = 4020


@dataclass(frozen=True)
class VoiceGrant:
    """What the sandbox gateway told a client in VOICE_STATE/VOICE_SERVER_UPDATE: the only
    credentials the voice server accepts in IDENTIFY / RESUME."""

    server_id: str  # the guild id
    channel_id: str
    user_id: str
    session_id: str
    token: str
