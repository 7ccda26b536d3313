"""The `Clankvox` actor: spawns the clankvox binary and owns its stdin.

Told a `ClankvoxCommand`, it writes the command as one JSON line. A watcher task waits for the
process: an exit nobody asked for (a crash, a kill, even status 0) raises `ClankvoxCrashed`, so
the voice-session supervisor sees a crash and restarts the session (one_for_all: a new process
and a new reader). `Destroy` and a graceful stop end the process on purpose: the actor writes
`destroy`, closes stdin, waits `stop_grace` seconds, then terminates and finally kills it. A
crash or a kill of the actor itself kills the process too, so no clankvox outlives its actor.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Mapping, Sequence

import trio

from clanker.runtime import Actor, ActorContext, ActorError, MailboxSpec, Message, handles
from clanker.voice.commands import ClankvoxCommand, Destroy
from clanker.voice.framing import encode_command
from clanker.voice.messages import (
    ClankvoxExited,
    ClankvoxStarted,
    ClankvoxStatus,
    GetClankvoxStatus,
)
from clanker.voice.pipe import ClankvoxPipe

_log = logging.getLogger(__name__)

# After SIGTERM, how long a process may take before SIGKILL.
_TERMINATE_GRACE = 1.0


class ClankvoxCrashed(RuntimeError):
    """The clankvox process ended without being asked to."""


class Clankvox(Actor):
    """Owns one clankvox process at a time (a new one per incarnation)."""

    # Commands are control traffic (and TTS audio): block rather than lose them.
    mailbox = MailboxSpec(capacity=256)

    def __init__(
        self,
        command: Sequence[str],
        pipe: ClankvoxPipe,
        *,
        target: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        stop_grace: float = 2.0,
    ) -> None:
        if not command:
            raise ValueError(
                "Clankvox needs a command line, e.g. ['clankvox/target/release/clankvox']"
            )
        self.command = list(command)
        self.pipe = pipe
        self.target = target
        self.env = None if env is None else {**os.environ, **env}
        self.cwd = cwd
        self.stop_grace = stop_grace
        self.commands_written = 0
        self.bytes_written = 0
        self._process: trio.Process | None = None
        self._stdin: trio.abc.SendStream | None = None
        self._ctx: ActorContext | None = None

    async def on_start(self, ctx: ActorContext) -> None:
        self._ctx = ctx
        try:
            process = await trio.lowlevel.open_process(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=self.env,
                cwd=self.cwd,
            )
        except OSError as exc:
            raise ClankvoxCrashed(
                f"cannot start clankvox with {self.command!r}: {exc}. Build it with "
                "`cargo build --release --manifest-path clankvox/Cargo.toml` (scripts/bootstrap)"
            ) from exc
        assert process.stdin is not None and process.stdout is not None
        self._process = process
        self._stdin = process.stdin
        self.pipe.attach(process.stdout, process.pid)
        ctx.start_soon(self._watch, process)
        _log.info("clankvox started: pid %d (incarnation %d)", process.pid, ctx.incarnation)
        await self._notify(ClankvoxStarted(pid=process.pid, incarnation=ctx.incarnation))

    async def on_stop(self) -> None:
        await self._end_process()

    @handles(ClankvoxCommand)
    async def write(self, command: ClankvoxCommand) -> None:
        """Write one command line; `Destroy` also ends the process and this actor."""
        if isinstance(command, Destroy):
            await self._end_process()
            assert self._ctx is not None
            self._ctx.stop()
            return
        await self._write_line(encode_command(command))

    @handles(GetClankvoxStatus)
    async def status(self, _: GetClankvoxStatus) -> ClankvoxStatus:
        """The current process and stdin counters."""
        process = self._process
        assert process is not None and self._ctx is not None
        return ClankvoxStatus(
            pid=process.pid,
            incarnation=self._ctx.incarnation,
            running=process.returncode is None,
            commands_written=self.commands_written,
            bytes_written=self.bytes_written,
        )

    # -- the process ------------------------------------------------------------------------

    async def _write_line(self, line: bytes) -> None:
        stdin = self._stdin
        if stdin is None:
            raise ClankvoxCrashed("clankvox's stdin is already closed")
        try:
            await stdin.send_all(line)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise ClankvoxCrashed(f"clankvox stopped reading its stdin: {exc}") from exc
        self.commands_written += 1
        self.bytes_written += len(line)

    async def _watch(self, process: trio.Process) -> None:
        try:
            returncode = await process.wait()
        finally:
            if process.returncode is None:
                # This incarnation is being cancelled (a sibling crashed, or a brutal kill):
                # never leave the process behind.
                process.kill()
                with trio.CancelScope(shield=True):
                    await process.wait()
        expected = self.pipe.exit_expected
        await self._notify(
            ClankvoxExited(pid=process.pid, returncode=returncode, expected=expected)
        )
        if not expected:
            raise ClankvoxCrashed(f"clankvox (pid {process.pid}) {_describe_exit(returncode)}")

    async def _end_process(self) -> None:
        process, stdin = self._process, self._stdin
        if process is None or process.returncode is not None:
            return
        self.pipe.expect_exit()
        self._stdin = None
        if stdin is not None:
            line = encode_command(Destroy())
            with trio.move_on_after(self.stop_grace):
                try:
                    await stdin.send_all(line)
                    self.commands_written += 1
                    self.bytes_written += len(line)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass  # already gone; the waits below return at once
                await stdin.aclose()
        with trio.move_on_after(self.stop_grace):
            await process.wait()
            return
        _log.warning("clankvox (pid %d) ignored destroy; terminating it", process.pid)
        process.terminate()
        with trio.move_on_after(_TERMINATE_GRACE):
            await process.wait()
            return
        process.kill()
        await process.wait()

    async def _notify(self, message: Message) -> None:
        if self.target is None or self._ctx is None:
            return
        try:
            await self._ctx.lookup(self.target).tell(message)
        except ActorError as exc:
            name = type(message).__name__
            _log.warning("clankvox: cannot tell %s to %s: %s", name, self.target, exc)


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        return f"was killed by signal {-returncode}"
    return f"exited with status {returncode} without being asked to"
