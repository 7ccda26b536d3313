"""`ClankvoxPipe`: how the current process's stdout gets from `Clankvox` to `PipeReader`.

One process, two owners: the `Clankvox` actor spawns it and owns its stdin, the `PipeReader`
owns its stdout. A stream cannot travel in a message (messages must cross a process boundary),
so `voice_session_spec` builds one `ClankvoxPipe` and hands it to both actors' factories: the
spawner `attach`es the stdout it just opened, the reader `take`s it once. It is the hand-over of
an OS resource, like an Erlang port changing owner, not a place for shared state: besides the
stream it carries one fact, whether the process is expected to end.
"""

from __future__ import annotations

import trio


class PipeNotAttached(RuntimeError):
    """The reader started with no clankvox stdout to read."""


class ClankvoxPipe:
    """Hands each clankvox process's stdout from its spawner to its reader, once."""

    def __init__(self) -> None:
        self._stdout: trio.abc.ReceiveStream | None = None
        self.pid: int | None = None
        self.generation = 0  # processes attached so far
        self.exit_expected = False

    def attach(self, stdout: trio.abc.ReceiveStream, pid: int) -> None:
        """A new process is running: its stdout waits for the reader."""
        self._stdout = stdout
        self.pid = pid
        self.generation += 1
        self.exit_expected = False

    def take(self) -> trio.abc.ReceiveStream:
        """The stdout of the current process; only once per process."""
        stdout, self._stdout = self._stdout, None
        if stdout is None:
            raise PipeNotAttached(
                "no clankvox stdout to read: the PipeReader must start right after the "
                "Clankvox actor under the same one_for_all supervisor (use voice_session_spec)"
            )
        return stdout

    def expect_exit(self) -> None:
        """The process was asked to end: its end of stdout is not a crash."""
        self.exit_expected = True
