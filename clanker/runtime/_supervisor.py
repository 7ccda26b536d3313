"""The supervisor: carries out `SupervisionPolicy` decisions with trio tasks.

Each supervisor incarnation owns a nursery holding its children's tasks and a control channel on
which it receives child exits, dynamic start / terminate requests, delayed restarts and its own
stop request, one at a time. Children start in declared order (each after the previous one has
started) and stop in reverse order, each within its shutdown timeout.

A static child whose start fails blocks the children declared after it, as in OTP: it is retried
as a crash (restart intensity and backoff apply) before the next one starts, and if the
supervisor gives up, the children already started are stopped and the supervisor's own start
fails. So nothing runs above a Store that could not open.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import trio

from clanker.runtime import _telemetry as ev
from clanker.runtime._cell import Cell, Exit, Status, run_child
from clanker.runtime._errors import (
    ActorStopped,
    ChildStartFailed,
    Escalation,
    NameTaken,
    NotRegistered,
)
from clanker.runtime._policy import SupervisionPolicy
from clanker.runtime._ref import ReplySlot
from clanker.runtime._specs import ChildSpec, SupervisorSpec

log = logging.getLogger("clanker.runtime")


@dataclass(slots=True)
class ChildExited:
    """A child's incarnation ended."""

    cell: Cell
    incarnation: int
    exit: Exit


@dataclass(slots=True)
class StartChild:
    """Request: add and start a dynamic child."""

    spec: ChildSpec
    reply: ReplySlot


@dataclass(slots=True)
class TerminateChild:
    """Request: stop a child and remove it."""

    name: str
    reply: ReplySlot


@dataclass(slots=True)
class RestartDue:
    """A delayed (backoff) restart is due."""

    names: tuple[str, ...]
    generations: dict[str, int] = field(default_factory=dict)


class StopSupervisor:
    """Request: stop every child in reverse order, then end."""


Control = ChildExited | StartChild | TerminateChild | RestartDue | StopSupervisor


class SupervisorRuntime:
    """One incarnation of a supervisor."""

    def __init__(self, cell: Cell, spec: SupervisorSpec) -> None:
        self.cell = cell
        self.spec = spec
        runtime = cell.runtime
        self.policy = SupervisionPolicy(
            spec.strategy,
            spec.intensity,
            spec.period,
            spec.backoff,
            random.Random(f"{runtime.seed}/{cell.path}/policy/{cell.incarnation}"),
        )
        self.cells: dict[str, Cell] = {}
        self.control_send, self._control_recv = trio.open_memory_channel[Control](math.inf)
        self.closing = False
        self._nursery: trio.Nursery | None = None
        self._stop_wanted = trio.Event()

    def request_stop(self) -> None:
        """Ask this supervisor to stop its children and end."""
        self._stop_wanted.set()
        if not self.closing:
            self.control_send.send_nowait(StopSupervisor())

    async def run(self, mark_started: Callable[[], None]) -> None:
        """Start the static children, then serve control messages until stopped."""
        self.cell.supervisor = self
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                await self._start_static_children()
                mark_started()
                await self._serve()
                nursery.cancel_scope.cancel()  # pending backoff timers
        finally:
            self.closing = True
            self._fail_pending_requests()
            for cell in list(self.cells.values()):
                cell.finalize()

    def _add(self, spec: ChildSpec) -> Cell:
        if spec.name in self.cells:
            raise NameTaken(f"{self.cell.path} already has a child named {spec.name!r}")
        cell = Cell(spec, f"{self.cell.path}/{spec.name}", self.cell.runtime, self._child_exited)
        if spec.register is not None:
            self.cell.runtime._register(spec.register, cell)
        self.cells[spec.name] = cell
        self.policy.add_child(spec.name, spec.restart)
        return cell

    def _child_exited(self, cell: Cell, incarnation: int, exit: Exit) -> None:
        if not self.closing:
            self.control_send.send_nowait(ChildExited(cell, incarnation, exit))

    async def _start(self, cell: Cell) -> bool:
        """Start one incarnation of ``cell``; False if it crashed before it had started."""
        assert self._nursery is not None
        cell.pending_start += 1  # a start now supersedes any scheduled one
        started: bool = await self._nursery.start(run_child, cell)
        return started

    async def _start_watched(self, cell: Cell) -> Exit | None:
        """Start ``cell``; a crash during its start is returned, not sent to the control loop."""
        failure: list[Exit] = []
        original = cell.on_exit

        def watch(c: Cell, incarnation: int, exit: Exit) -> None:
            if exit.during_start:
                failure.append(exit)
            else:
                original(c, incarnation, exit)

        cell.on_exit = watch
        try:
            await self._start(cell)
        finally:
            cell.on_exit = original
        return failure[0] if failure else None

    async def _start_static_children(self) -> None:
        """Start the declared children in order; each must be running before the next starts."""
        for spec in self.spec.children:
            cell = self._add(spec)
            while not self._stop_wanted.is_set():
                failed = await self._start_watched(cell)
                if failed is None:
                    break
                now = trio.current_time()
                decision = self.policy.child_exited(spec.name, crashed=True, now=now)
                if decision.escalate:
                    self.cell.runtime.events.publish(
                        ev.SupervisorEscalated(
                            path=self.cell.path,
                            at=now,
                            child=spec.name,
                            intensity=self.spec.intensity,
                            period=self.spec.period,
                        )
                    )
                    await self._stop_children(reversed(list(self.cells)))
                    raise Escalation(
                        self.cell.path, spec.name, self.spec.intensity, self.spec.period
                    ) from failed.error
                if spec.name not in self.policy.children:  # temporary: not restarted
                    self._remove(spec.name)
                    break
                cell.status = Status.RESTARTING
                cell.restarts += 1
                if decision.delay > 0:
                    with trio.move_on_after(decision.delay):
                        await self._stop_wanted.wait()
            if self._stop_wanted.is_set():
                return  # the StopSupervisor in the control channel stops what did start

    async def _serve(self) -> None:
        while True:
            item = await self._control_recv.receive()
            if isinstance(item, ChildExited):
                await self._on_exit(item)
            elif isinstance(item, StartChild):
                await self._on_start_child(item)
            elif isinstance(item, TerminateChild):
                await self._on_terminate_child(item)
            elif isinstance(item, RestartDue):
                await self._on_restart_due(item)
            else:
                await self._stop_children(reversed(list(self.cells)))
                return

    async def _on_exit(self, item: ChildExited) -> None:
        cell = item.cell
        if (
            self.cells.get(cell.spec.name) is not cell
            or cell.incarnation != item.incarnation
            or cell.terminating
            or cell.stopped_incarnation == item.incarnation
        ):
            return  # stale: the child was stopped on purpose, replaced or removed
        now = trio.current_time()
        decision = self.policy.child_exited(cell.spec.name, crashed=item.exit.crashed, now=now)
        if decision.escalate:
            self.cell.runtime.events.publish(
                ev.SupervisorEscalated(
                    path=self.cell.path,
                    at=now,
                    child=cell.spec.name,
                    intensity=self.spec.intensity,
                    period=self.spec.period,
                )
            )
            await self._stop_children(decision.stop)
            raise Escalation(self.cell.path, cell.spec.name, self.spec.intensity, self.spec.period)
        await self._stop_children(decision.stop)
        for name in decision.remove:
            self._remove(name)
        if cell.spec.name not in self.policy.children:
            self._remove(cell.spec.name)
        group = [self.cells[name] for name in decision.start]
        for member in group:
            member.status = Status.RESTARTING
        if decision.delay > 0:
            due = RestartDue(decision.start, {c.spec.name: c.pending_start for c in group})
            assert self._nursery is not None
            self._nursery.start_soon(self._timer, decision.delay, due)
            return
        for member in group:
            if not await self._restart(member):
                # Its crash is on the control channel; the policy's answer to it decides what
                # happens to the rest of the group, which must not start above a failed start.
                return

    async def _restart(self, cell: Cell) -> bool:
        cell.restarts += 1
        return await self._start(cell)

    async def _timer(self, delay: float, due: RestartDue) -> None:
        await trio.sleep(delay)
        if not self.closing:
            self.control_send.send_nowait(due)

    async def _on_restart_due(self, due: RestartDue) -> None:
        for name in due.names:
            cell = self.cells.get(name)
            if cell is None or cell.running or cell.pending_start != due.generations[name]:
                continue  # removed, already restarted, or superseded meanwhile
            if not await self._restart(cell):
                return  # as in _on_exit: a failed start holds back the rest of the group

    async def _stop_children(self, names: object) -> None:
        for name in list(names):  # type: ignore[call-overload]
            cell = self.cells.get(name)
            if cell is not None:
                await self._terminate(cell)

    async def _terminate(self, cell: Cell) -> None:
        cell.pending_start += 1  # cancel a scheduled restart
        if not cell.running:
            cell.status = Status.STOPPED
            return
        cell.terminating = True
        cell.stopped_incarnation = cell.incarnation
        try:
            cell.request_stop()
            timeout = cell.spec.shutdown_timeout
            if cell.scope is not None and timeout != math.inf:
                cell.scope.deadline = min(cell.scope.deadline, trio.current_time() + timeout)
            await cell.done.wait()
        finally:
            cell.terminating = False

    def _remove(self, name: str) -> None:
        cell = self.cells.pop(name, None)
        if cell is None:
            return
        if name in self.policy.children:
            self.policy.remove_child(name)
        cell.finalize()
        self.cell.runtime.events.publish(ev.ActorRemoved(path=cell.path, at=trio.current_time()))

    async def _on_start_child(self, req: StartChild) -> None:
        if req.reply.abandoned.is_set():
            req.reply.fail(ActorStopped(self.cell.path, "the caller stopped waiting"))
            return  # the caller gave up before the start began: nothing to start
        try:
            cell = self._add(req.spec)
        except NameTaken as exc:
            req.reply.fail(exc)
            return
        failed = await self._start_watched(cell)
        if failed is None and req.reply.abandoned.is_set():
            # Nobody holds the ref of what just started: undo it rather than leave an orphan.
            log.warning(
                "%s: the caller of start_child(%r) stopped waiting; stopping it again",
                self.cell.path,
                cell.spec.name,
            )
            await self._terminate(cell)
            self._remove(cell.spec.name)
            req.reply.fail(ActorStopped(cell.path, "the caller stopped waiting for its start"))
            return
        if failed is not None:
            self._remove(cell.spec.name)
            error = failed.error
            req.reply.fail(
                ChildStartFailed(
                    f"{cell.path} crashed while starting: {type(error).__qualname__}: {error}"
                )
            )
            return
        req.reply.set(cell.ref)

    async def _on_terminate_child(self, req: TerminateChild) -> None:
        cell = self.cells.get(req.name)
        if cell is None:
            req.reply.fail(NotRegistered(f"{self.cell.path} has no child named {req.name!r}"))
            return
        await self._terminate(cell)
        self._remove(req.name)
        req.reply.set(None)

    def _fail_pending_requests(self) -> None:
        while True:
            try:
                item = self._control_recv.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                return
            if isinstance(item, StartChild | TerminateChild):
                item.reply.fail(ActorStopped(self.cell.path, "the supervisor stopped"))
