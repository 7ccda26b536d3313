"""Actor messages of the clankvox pipe that are ours, not the protocol's: lifecycle notices
for the session's target actor, and the stats requests and replies of the two pipe actors."""

from __future__ import annotations

from clanker.wire import Message


class ClankvoxStarted(Message, frozen=True):
    """A clankvox process is running. After a restart (`incarnation > 1`) the session must send
    `Join` and the latest `VoiceState` / `VoiceServer` again: the new process knows nothing."""

    pid: int
    incarnation: int


class ClankvoxExited(Message, frozen=True):
    """The clankvox process ended. `expected` is False for a crash or a kill (the supervisor
    then restarts the voice session) and True after `Destroy` or a graceful stop."""

    pid: int
    returncode: int
    expected: bool


class PipeClosed(Message, frozen=True):
    """clankvox's stdout reached its end (told once per process)."""

    expected: bool


class GetClankvoxStatus(Message, frozen=True):
    """Ask the `Clankvox` actor for a `ClankvoxStatus`."""


class ClankvoxStatus(Message, frozen=True):
    """The current process and what was written to its stdin."""

    pid: int
    incarnation: int
    running: bool
    commands_written: int
    bytes_written: int


class GetPipeStats(Message, frozen=True):
    """Ask the `PipeReader` for a `PipeStats`."""


class PipeStats(Message, frozen=True):
    """The reader's counters for the current process (see `FrameStats`)."""

    bytes_received: int
    frames: int
    json_events: int
    audio_events: int
    malformed: int
    unknown_format: int
    unknown_type: int
    oversized: int
    truncated: int
    delivered: int
    undelivered: int
    eof: bool
    recent_problems: list[str]
