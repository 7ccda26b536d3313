"""References to running children: `ActorRef` (tell / ask) and `SupervisorRef` (dynamic children).

A ref points at a child's slot in its supervisor, so it stays valid across the child's restarts.
When the slot is removed (or its supervisor stops), the ref raises `ActorStopped`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, TypeVar, overload

import msgspec
import trio

from clanker.runtime._errors import (
    ActorStopped,
    AskTimeout,
    InvalidMessage,
    MailboxFull,
    UnexpectedReply,
)
from clanker.runtime._specs import ChildSpec, Overflow
from clanker.runtime._wire import validate_message, wire_roundtrip

if TYPE_CHECKING:
    from clanker.runtime._cell import Cell
    from clanker.runtime._telemetry import ActorNode

R = TypeVar("R", bound=msgspec.Struct)


class ReplySlot:
    """Where the answer to one `ask` lands: a value, or a typed error."""

    __slots__ = ("abandoned", "error", "event", "value")

    def __init__(self) -> None:
        self.event = trio.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        # Set when the asker stopped waiting without an answer (timeout or cancellation).
        self.abandoned = trio.Event()

    def set(self, value: Any) -> None:
        """Deliver the reply (first answer wins)."""
        if not self.event.is_set():
            self.value = value
            self.event.set()

    def fail(self, error: BaseException) -> None:
        """Deliver an error instead of a reply (first answer wins)."""
        if not self.event.is_set():
            self.error = error
            self.event.set()


class Reply:
    """A deferred answer to one `ask`: see `ActorContext.defer_reply`.

    ``send`` delivers the value (checked like a handler's return value, wire check included),
    ``fail`` a typed error; the first answer wins. ``abandoned`` tells whether the asker has
    stopped waiting (its timeout passed or it was cancelled), so the work can be given up.
    """

    __slots__ = ("_cell", "_request", "_slot")

    def __init__(self, cell: Cell, slot: ReplySlot, request: str) -> None:
        self._cell = cell
        self._slot = slot
        self._request = request

    @property
    def done(self) -> bool:
        """True once answered (or failed)."""
        return self._slot.event.is_set()

    @property
    def request(self) -> str:
        """The type name of the request this reply answers."""
        return self._request

    @property
    def abandoned(self) -> bool:
        """True if the asker stopped waiting without an answer."""
        return self._slot.abandoned.is_set()

    async def wait_abandoned(self) -> None:
        """Return when the asker stops waiting without an answer (possibly never)."""
        await self._slot.abandoned.wait()

    def send(self, value: Any) -> None:
        """Answer with ``value`` (a Message or None)."""
        self._cell.deferred.discard(self)
        if value is not None:
            try:
                validate_message(value)
                if self._cell.runtime.wire_check:
                    value = wire_roundtrip(value)
            except (InvalidMessage, TypeError) as exc:
                self._slot.fail(exc)
                raise
        self._slot.set(value)

    def fail(self, error: BaseException) -> None:
        """Answer with an error (raised at the asker); use the `ActorError` types."""
        self._cell.deferred.discard(self)
        self._slot.fail(error)


class AskEnvelope:
    """A request travelling through a mailbox together with its reply slot."""

    __slots__ = ("msg", "reply")

    def __init__(self, msg: msgspec.Struct, reply: ReplySlot) -> None:
        self.msg = msg
        self.reply = reply


class ActorRef:
    """Send messages to an actor: `tell` (fire and forget) or `ask` (request / reply)."""

    __slots__ = ("_cell",)

    def __init__(self, cell: Cell) -> None:
        self._cell = cell

    @property
    def path(self) -> str:
        """The actor's path in the supervision tree."""
        return self._cell.path

    @property
    def name(self) -> str:
        """The actor's name within its supervisor."""
        return self._cell.spec.name

    def __repr__(self) -> str:
        return f"<ActorRef {self._cell.path}>"

    def _prepare(self, msg: msgspec.Struct) -> msgspec.Struct:
        validate_message(msg)
        if self._cell.runtime.wire_check:
            msg = wire_roundtrip(msg)
        return msg

    async def tell(self, msg: msgspec.Struct) -> None:
        """Queue ``msg`` for the actor; waits for room only under the block policy.

        Under drop_oldest / drop_newest a full mailbox drops a message and counts it. Raises
        `ActorStopped` if the actor is gone, `InvalidMessage` / `WireCheckError` for bad messages.
        """
        cell = self._cell
        mailbox = cell.mailbox
        if mailbox is None or mailbox.closed:
            raise ActorStopped(cell.path)
        msg = self._prepare(msg)
        try:
            await mailbox.put(msg)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise ActorStopped(cell.path, "it stopped while the message waited for room") from None

    def try_tell(self, msg: msgspec.Struct) -> bool:
        """Queue ``msg`` without waiting. False when a block-policy mailbox is full or the
        message was dropped (drop_newest); raises `ActorStopped` if the actor is gone."""
        cell = self._cell
        mailbox = cell.mailbox
        if mailbox is None or mailbox.closed:
            raise ActorStopped(cell.path)
        return mailbox.put_nowait(self._prepare(msg))

    @overload
    async def ask(self, msg: msgspec.Struct, *, timeout: float = ...) -> Any: ...

    @overload
    async def ask(self, msg: msgspec.Struct, reply_type: type[R], *, timeout: float = ...) -> R: ...

    async def ask(
        self,
        msg: msgspec.Struct,
        reply_type: type[R] | None = None,
        *,
        timeout: float = 5.0,
    ) -> Any:
        """Send ``msg`` and wait for the handler's return value.

        The timeout covers everything, waiting for mailbox room included. Raises `AskTimeout`,
        `ActorStopped`, `ActorCrashed` (it crashed handling this message), `UnhandledMessage`,
        `MailboxFull` (drop_newest and full), `MessageDropped` (evicted under drop_oldest), or
        `UnexpectedReply` when ``reply_type`` is given and the reply is not of that type.
        """
        cell = self._cell
        mailbox = cell.mailbox
        if mailbox is None or mailbox.closed:
            raise ActorStopped(cell.path)
        msg = self._prepare(msg)
        if mailbox.overflow is Overflow.DROP_NEWEST and mailbox.is_full():
            raise MailboxFull(cell.path, mailbox.capacity)
        slot = ReplySlot()
        try:
            with trio.move_on_after(timeout):
                try:
                    await mailbox.put(AskEnvelope(msg, slot))
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    raise ActorStopped(cell.path, "it stopped before taking the request") from None
                await slot.event.wait()
        finally:
            if not slot.event.is_set():
                # Timed out or cancelled: a handler answering later (a deferred reply) can see
                # that nobody waits any more and give up its work.
                slot.abandoned.set()
        if not slot.event.is_set():
            slot.fail(AskTimeout(cell.path, type(msg).__qualname__, timeout))
            raise AskTimeout(cell.path, type(msg).__qualname__, timeout)
        if slot.error is not None:
            raise slot.error
        reply = slot.value
        if reply_type is not None and not isinstance(reply, reply_type):
            raise UnexpectedReply(cell.path, reply_type.__qualname__, type(reply).__qualname__)
        return reply


class SupervisorRef:
    """Control a supervisor: start and terminate dynamic children, list children."""

    __slots__ = ("_cell",)

    def __init__(self, cell: Cell) -> None:
        self._cell = cell

    @property
    def path(self) -> str:
        """The supervisor's path in the tree."""
        return self._cell.path

    def __repr__(self) -> str:
        return f"<SupervisorRef {self._cell.path}>"

    async def start_child(
        self, spec: ChildSpec, *, timeout: float = math.inf
    ) -> ActorRef | SupervisorRef:
        """Add and start a child after the existing ones; returns its ref once it has started.

        Raises `NameTaken` for a duplicate name, `ChildStartFailed` if it crashed while
        starting (it is then not added), `ActorStopped` if the supervisor is not running.
        """
        from clanker.runtime._supervisor import StartChild

        return await self._control(StartChild(spec, ReplySlot()), timeout)  # type: ignore[no-any-return]

    async def terminate_child(self, name: str, *, timeout: float = math.inf) -> None:
        """Stop a child gracefully (within its shutdown timeout) and remove it.

        Raises `NotRegistered` if there is no such child.
        """
        from clanker.runtime._supervisor import TerminateChild

        await self._control(TerminateChild(name, ReplySlot()), timeout)

    def children(self) -> list[ActorNode]:
        """Snapshot of this supervisor's children, in declared order."""
        node = self._cell.snapshot()
        return list(node.children)

    def child(self, name: str) -> ActorRef | SupervisorRef:
        """The ref of a current child by name; raises `NotRegistered`."""
        from clanker.runtime._errors import NotRegistered

        sup = self._cell.supervisor
        if sup is None or name not in sup.cells:
            raise NotRegistered(f"{self.path} has no child named {name!r}")
        return sup.cells[name].ref

    async def _control(self, request: Any, timeout: float) -> Any:
        sup = self._cell.supervisor
        if sup is None or sup.closing:
            raise ActorStopped(self.path, "the supervisor is not running")
        sup.control_send.send_nowait(request)
        slot: ReplySlot = request.reply
        try:
            with trio.move_on_after(timeout):
                await slot.event.wait()
        finally:
            if not slot.event.is_set():
                # Timed out or cancelled: the supervisor undoes a start nobody waits for.
                slot.abandoned.set()
        if not slot.event.is_set():
            raise AskTimeout(self.path, type(request).__name__, timeout)
        if slot.error is not None:
            raise slot.error
        return slot.value
