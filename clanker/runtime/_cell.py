"""A child's slot in its supervisor, and the task body that runs one incarnation of it.

The slot (`Cell`) outlives incarnations: it owns the mailbox, the ref, the restart count and the
status. `run_child` runs one incarnation inside its own cancel scope, turns whatever ends it into
an `Exit` (normal, shutdown, killed or crashed) and reports that to the supervisor. Exceptions
never escape it except trio's own cancellation and process-level exits (KeyboardInterrupt).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

import trio

from clanker.runtime import _telemetry as ev
from clanker.runtime._actor import Actor, ActorContext
from clanker.runtime._errors import (
    ActorCrashed,
    ActorStopped,
    InvalidMessage,
    MessageDropped,
    UnhandledMessage,
)
from clanker.runtime._mailbox import Mailbox
from clanker.runtime._ref import ActorRef, AskEnvelope, Reply, ReplySlot, SupervisorRef
from clanker.runtime._specs import ChildSpec, MailboxSpec, SupervisorSpec
from clanker.runtime._wire import validate_message, wire_roundtrip

if TYPE_CHECKING:
    from clanker.runtime._supervisor import SupervisorRuntime
    from clanker.runtime._system import Runtime

log = logging.getLogger("clanker.runtime")


class Status(StrEnum):
    """Where a child is in its life."""

    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    RESTARTING = "restarting"  # exited; waiting for its supervisor to start it again
    STOPPED = "stopped"


class ExitKind(StrEnum):
    """How an incarnation ended."""

    NORMAL = "normal"  # returned on its own (e.g. ctx.stop())
    SHUTDOWN = "shutdown"  # stopped gracefully on request
    KILLED = "killed"  # cancelled at its shutdown deadline
    CRASHED = "crashed"  # raised


@dataclass(frozen=True, slots=True)
class Exit:
    """The end of one incarnation, as reported to the supervisor."""

    kind: ExitKind
    error: BaseException | None = None
    during_start: bool = False

    @property
    def crashed(self) -> bool:
        """Whether the incarnation ended by raising."""
        return self.kind is ExitKind.CRASHED


class Cell:
    """One child slot: spec, ref, mailbox, status and counters, stable across restarts."""

    def __init__(
        self,
        spec: ChildSpec,
        path: str,
        runtime: Runtime,
        on_exit: Callable[[Cell, int, Exit], None],
    ) -> None:
        self.spec = spec
        self.path = path
        self.runtime = runtime
        self.on_exit = on_exit
        self.status = Status.STARTING
        self.incarnation = 0
        self.restarts = 0
        self.scope: trio.CancelScope | None = None
        self.done = trio.Event()
        self.done.set()  # not running yet
        self.stop_requested = False
        self.self_stopped = False  # the stop came from the actor itself (ctx.stop())
        self.terminating = False
        # The incarnation the supervisor last stopped on purpose: its exit, which may reach
        # the supervisor after the stop completed (e.g. during a backoff), is not news.
        self.stopped_incarnation = -1
        self.pending_start = 0  # generation of a scheduled (delayed) restart
        self.reader: trio.MemoryReceiveChannel[object] | None = None
        self.supervisor: SupervisorRuntime | None = None
        self.mailbox: Mailbox | None = None
        # The ask being handled right now (for ActorContext.defer_reply) and deferred replies
        # not answered yet; those fail when the incarnation ends.
        self.current_ask: tuple[ReplySlot, str] | None = None
        self.deferred_now: Reply | None = None
        self.deferred: set[Reply] = set()
        # The exception a background task of the current incarnation raised, if any: asks in
        # progress then fail with `ActorCrashed`, not `ActorStopped`.
        self.background_crash: BaseException | None = None
        self.ref: ActorRef | SupervisorRef
        if spec.is_supervisor:
            self.ref = SupervisorRef(self)
        else:
            factory = spec.start
            default = getattr(factory, "mailbox", None)
            mspec = spec.mailbox or (default if isinstance(default, MailboxSpec) else None)
            self.mailbox = Mailbox(mspec or MailboxSpec(), self._mailbox_full, self._evicted)
            self.ref = ActorRef(self)

    @property
    def running(self) -> bool:
        """Whether an incarnation is alive right now."""
        return not self.done.is_set()

    def request_stop(self, *, by_self: bool = False) -> None:
        """Ask the current incarnation to finish gracefully."""
        self.stop_requested = True
        self.self_stopped = by_self
        if self.status in (Status.RUNNING, Status.STARTING):
            self.status = Status.STOPPING
        if self.reader is not None:
            self.reader.close()  # wakes the mailbox loop; buffered messages stay queued
        if self.supervisor is not None:
            self.supervisor.request_stop()

    def finalize(self) -> None:
        """The slot is removed for good: fail queued asks, close the mailbox, drop the name."""
        self.status = Status.STOPPED
        dropped: dict[str, int] = {}
        if self.mailbox is not None:
            for item in self.mailbox.close():
                if isinstance(item, AskEnvelope):
                    item.reply.fail(ActorStopped(self.path, "it was removed before handling this"))
                else:
                    name = type(item).__qualname__
                    dropped[name] = dropped.get(name, 0) + 1
        if self.reader is not None:
            self.reader.close()
        self.runtime._unregister(self)
        if dropped and self.mailbox is not None:
            # Tells nobody will ever handle: counted and published, never silent.
            count = sum(dropped.values())
            self.mailbox.dropped += count
            log.warning(
                "%s was removed with %d message(s) unhandled: %s",
                self.path,
                count,
                ", ".join(f"{n} x{c}" for n, c in sorted(dropped.items())),
            )
            self.runtime.events.publish(
                ev.RemovedWithMessages(
                    path=self.path,
                    at=trio.current_time(),
                    dropped=count,
                    message_types=tuple(sorted(dropped)),
                )
            )

    def _mailbox_full(self, mailbox: Mailbox) -> None:
        self.runtime.events.publish(
            ev.MailboxOverflow(
                path=self.path,
                at=trio.current_time(),
                depth=mailbox.depth,
                capacity=mailbox.capacity,
                overflow=str(mailbox.overflow),
                dropped=mailbox.dropped,
            )
        )

    def _evicted(self, item: object) -> None:
        if isinstance(item, AskEnvelope):
            item.reply.fail(MessageDropped(self.path, type(item.msg).__qualname__))

    def snapshot(self) -> ev.ActorNode:
        """This slot (and, for a supervisor, its subtree) as a snapshot node."""
        mailbox = None
        if self.mailbox is not None:
            mailbox = ev.MailboxStats(
                depth=self.mailbox.depth if not self.mailbox.closed else 0,
                capacity=self.mailbox.capacity,
                overflow=str(self.mailbox.overflow),
                dropped=self.mailbox.dropped,
                unhandled=self.mailbox.unhandled,
            )
        children: tuple[ev.ActorNode, ...] = ()
        if self.supervisor is not None and self.running:
            children = tuple(c.snapshot() for c in self.supervisor.cells.values())
        return ev.ActorNode(
            name=self.spec.name,
            path=self.path,
            kind=_kind(self),
            status=str(self.status),
            restarts=self.restarts,
            incarnation=self.incarnation,
            mailbox=mailbox,
            children=children,
        )


def _kind(cell: Cell) -> Literal["actor", "supervisor"]:
    return "supervisor" if cell.spec.is_supervisor else "actor"


def _split_crash(exc: BaseException) -> tuple[BaseException | None, BaseException | None]:
    """Split what ended an incarnation into (crash to report, exception to re-raise)."""
    if isinstance(exc, trio.Cancelled):
        return None, exc
    if isinstance(exc, BaseExceptionGroup):
        cancelled, rest = exc.split(trio.Cancelled)
        if rest is not None and not isinstance(rest, Exception):
            return None, exc  # KeyboardInterrupt / SystemExit inside: not ours to handle
        return (_collapse(rest) if rest is not None else None), cancelled
    if isinstance(exc, Exception):
        return exc, None
    return None, exc


def _collapse(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


async def run_child(cell: Cell, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
    """Run one incarnation of ``cell`` and report how it ended."""
    cell.incarnation += 1
    incarnation = cell.incarnation
    cell.done = trio.Event()
    cell.status = Status.STARTING
    cell.stop_requested = False
    cell.self_stopped = False
    cell.background_crash = None
    runtime = cell.runtime
    started = False

    def mark_started() -> None:
        nonlocal started
        started = True
        if cell.status is Status.STARTING:
            cell.status = Status.RUNNING
        now = trio.current_time()
        runtime.events.publish(
            ev.ActorStarted(path=cell.path, at=now, kind=_kind(cell), incarnation=incarnation)
        )
        if incarnation > 1:
            runtime.events.publish(
                ev.ActorRestarted(path=cell.path, at=now, restarts=cell.restarts)
            )
        task_status.started(True)

    outcome: Exit | None = None
    try:
        with trio.CancelScope() as scope:
            cell.scope = scope
            try:
                if cell.spec.is_supervisor:
                    from clanker.runtime._supervisor import SupervisorRuntime

                    assert isinstance(cell.spec.start, SupervisorSpec)
                    await SupervisorRuntime(cell, cell.spec.start).run(mark_started)
                else:
                    await _run_actor(cell, mark_started)
                stopped = cell.stop_requested and not cell.self_stopped
                outcome = Exit(ExitKind.SHUTDOWN if stopped else ExitKind.NORMAL)
            except BaseException as exc:
                crash, reraise = _split_crash(exc)
                if crash is not None:
                    outcome = Exit(ExitKind.CRASHED, crash, during_start=not started)
                    _report_crash(cell, crash)
                if reraise is not None:
                    raise reraise from None
        if outcome is None:
            outcome = Exit(ExitKind.KILLED)
    finally:
        # Deferred work runs in background tasks: if one of them crashed the incarnation, the
        # askers waiting on deferred replies learn of a crash; any other end is a stop.
        crash_error = cell.background_crash
        for reply in list(cell.deferred):
            if crash_error is not None:
                reply.fail(
                    ActorCrashed(
                        cell.path, reply.request, type(crash_error).__qualname__, str(crash_error)
                    )
                )
            else:
                reply.fail(ActorStopped(cell.path, "it stopped before answering"))
        cell.deferred.clear()
        cell.scope = None
        cell.reader = None
        cell.supervisor = None
        if cell.status is not Status.STOPPED:
            stopped_by_others = cell.stop_requested and not cell.self_stopped
            cell.status = Status.STOPPED if stopped_by_others else Status.RESTARTING
        cell.done.set()
    if outcome.kind is not ExitKind.CRASHED:
        reason = "killed" if outcome.kind is ExitKind.KILLED else str(outcome.kind)
        runtime.events.publish(
            ev.ActorStopped(path=cell.path, at=trio.current_time(), reason=reason)  # type: ignore[arg-type]
        )
    if not started:
        task_status.started(False)  # the supervisor learns the start failed from the value
    cell.on_exit(cell, incarnation, outcome)


def _report_crash(cell: Cell, crash: BaseException) -> None:
    tb = "".join(traceback.format_exception(crash))
    log.error("%s crashed: %s: %s", cell.path, type(crash).__qualname__, crash, exc_info=crash)
    cell.runtime.events.publish(
        ev.ActorCrashed(
            path=cell.path,
            at=trio.current_time(),
            error_type=type(crash).__qualname__,
            error=str(crash),
            traceback=tb,
        )
    )


async def _run_actor(cell: Cell, mark_started: Callable[[], None]) -> None:
    factory = cell.spec.start
    assert callable(factory)
    instance = factory()
    if not isinstance(instance, Actor):
        raise TypeError(f"{cell.path}: the factory returned {instance!r}, not an Actor")
    declared = type(instance).mailbox
    mailbox_now = cell.mailbox
    if (
        cell.incarnation == 1
        and cell.spec.mailbox is None
        and mailbox_now is not None
        and (declared.capacity, declared.overflow) != (mailbox_now.capacity, mailbox_now.overflow)
    ):
        # The factory (a lambda, say) hid the class's mailbox spec when the slot was made.
        log.warning(
            "%s: %s declares %s but runs with capacity=%d overflow=%s; pass mailbox=%s.mailbox "
            "in its ChildSpec",
            cell.path,
            type(instance).__qualname__,
            declared,
            mailbox_now.capacity,
            mailbox_now.overflow,
            type(instance).__qualname__,
        )
    mailbox = cell.mailbox
    assert mailbox is not None
    reader = mailbox.reader()
    cell.reader = reader
    if cell.stop_requested:
        reader.close()
    async with trio.open_nursery() as background:
        await instance.on_start(ActorContext(cell, background))
        mark_started()
        await _mailbox_loop(cell, instance, reader)
        if cell.stop_requested:
            await instance.on_stop()
        background.cancel_scope.cancel()


async def _mailbox_loop(
    cell: Cell, instance: Actor, reader: trio.MemoryReceiveChannel[object]
) -> None:
    resolve = type(instance).handler_for
    wire_check = cell.runtime.wire_check
    while True:
        try:
            item = await reader.receive()
        except (trio.ClosedResourceError, trio.EndOfChannel):
            break
        if type(item) is AskEnvelope:
            await _handle_ask(cell, instance, item, wire_check)
            continue
        handler = resolve(type(item))
        if handler is None:
            _unhandled_tell(cell, item)
            continue
        await handler(instance, item)
    mailbox = cell.mailbox
    if cell.stop_requested and not cell.self_stopped and mailbox is not None:
        # Asked to stop: like an OTP process meeting the shutdown signal in its mailbox, first
        # handle what arrived before it (nothing received is lost), within the shutdown
        # deadline. Later arrivals wait for the next incarnation, or fail if it is removed.
        for _ in range(mailbox.depth):
            try:
                item = mailbox.take_nowait()
            except trio.WouldBlock:
                break
            if type(item) is AskEnvelope:
                await _handle_ask(cell, instance, item, wire_check)
            elif (handler := resolve(type(item))) is None:
                _unhandled_tell(cell, item)
            else:
                await handler(instance, item)


async def _handle_ask(cell: Cell, instance: Actor, envelope: AskEnvelope, wire_check: bool) -> None:
    msg, slot = envelope.msg, envelope.reply
    name = type(msg).__qualname__
    handler = type(instance).handler_for(type(msg))
    if handler is None:
        slot.fail(UnhandledMessage(cell.path, name, type(instance).handled_types()))
        return
    cell.current_ask, cell.deferred_now = (slot, name), None
    try:
        result = await handler(instance, msg)
    except trio.Cancelled:
        crash = cell.background_crash
        if crash is not None:
            # A background task crashed the incarnation while this ask was being handled.
            slot.fail(ActorCrashed(cell.path, name, type(crash).__qualname__, str(crash)))
        else:
            slot.fail(ActorStopped(cell.path, f"it was stopped while handling {name}"))
        raise
    except BaseException as exc:
        crash, _ = _split_crash(exc)
        if crash is None:
            slot.fail(ActorStopped(cell.path, f"it was stopped while handling {name}"))
        else:
            slot.fail(ActorCrashed(cell.path, name, type(crash).__qualname__, str(crash)))
        raise
    finally:
        deferred, cell.current_ask, cell.deferred_now = cell.deferred_now, None, None
    if deferred is not None:
        if result is not None:
            log.error("%s deferred its reply to %s but also returned %r", cell.path, name, result)
        return  # the actor answers later through the Reply
    if result is not None:
        try:
            validate_message(result)
            if wire_check:
                result = wire_roundtrip(result)
        except (InvalidMessage, TypeError) as exc:
            log.error("%s answered %s with an invalid reply: %s", cell.path, name, exc)
            slot.fail(exc)
            return
    slot.set(result)


def _unhandled_tell(cell: Cell, item: object) -> None:
    mailbox = cell.mailbox
    assert mailbox is not None
    mailbox.unhandled += 1
    name = type(item).__qualname__
    log.warning("%s has no handler for %s; dropped (%d so far)", cell.path, name, mailbox.unhandled)
    cell.runtime.events.publish(
        ev.UnhandledDropped(
            path=cell.path,
            at=trio.current_time(),
            message_type=name,
            unhandled=mailbox.unhandled,
        )
    )
