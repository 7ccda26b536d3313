"""The `Actor` base class, the `handles` decorator and the context an actor runs in."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import msgspec
import trio

from clanker.runtime._specs import MailboxSpec
from clanker.wire import Message

if TYPE_CHECKING:
    from clanker.runtime._cell import Cell
    from clanker.runtime._ref import ActorRef, Reply, SupervisorRef
    from clanker.runtime._system import Runtime

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
Handler = Callable[[Any, Any], Awaitable[Any]]

_HANDLES_ATTR = "__clanker_handles__"


def handles(*message_types: type[msgspec.Struct]) -> Callable[[F], F]:
    """Mark an ``async def method(self, msg)`` as the handler of these message types.

    Its return value (a message, or None) is the reply to an `ask`.
    """
    if not message_types:
        raise TypeError("@handles needs at least one message type")
    for t in message_types:
        if not (isinstance(t, type) and issubclass(t, msgspec.Struct)):
            raise TypeError(f"@handles takes msgspec Struct types, got {t!r}")

    def mark(fn: F) -> F:
        setattr(fn, _HANDLES_ATTR, message_types)
        return fn

    return mark


class OperatorCrash(Message, frozen=True):
    """Ask any actor to crash (an operator's test and demo aid, e.g. the dashboard's crash
    button): every `Actor` handles it by raising `OperatorRequestedCrash`, so its supervisor
    restarts it as after any crash. Reply: none; the asker gets `ActorCrashed`."""

    reason: str = "crash requested by the operator"


class OperatorRequestedCrash(RuntimeError):
    """The crash an `OperatorCrash` asked for."""


class Actor:
    """Base class of every actor: private state plus handlers for its message types.

    Subclass it, keep state in attributes, and mark handlers with `handles`. The runtime calls
    one handler at a time, in mailbox order. A fresh instance is made (by the child spec's
    factory) for every start, so a restart always begins from clean state.

    Class attribute ``mailbox`` declares the default bound and overflow policy; a child spec
    may override it.
    """

    mailbox: ClassVar[MailboxSpec] = MailboxSpec()
    _dispatch: ClassVar[dict[type, Handler]] = {}
    _resolved: ClassVar[dict[type, Handler | None]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table: dict[type, Handler] = {}
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                for message_type in getattr(value, _HANDLES_ATTR, ()):
                    table[message_type] = value
        cls._dispatch = table
        cls._resolved = dict(table)

    @classmethod
    def handler_for(cls, message_type: type) -> Handler | None:
        """The handler for ``message_type`` (exact type first, then its bases), or None."""
        try:
            return cls._resolved[message_type]
        except KeyError:
            found = None
            for base in message_type.__mro__[1:]:
                if base in cls._dispatch:
                    found = cls._dispatch[base]
                    break
            cls._resolved[message_type] = found
            return found

    @classmethod
    def handled_types(cls) -> list[str]:
        """Names of the message types this actor handles (for error messages)."""
        return sorted(t.__qualname__ for t in cls._dispatch if t is not OperatorCrash)

    @handles(OperatorCrash)
    async def _operator_crash(self, msg: OperatorCrash) -> None:
        raise OperatorRequestedCrash(msg.reason)

    async def on_start(self, ctx: ActorContext) -> None:
        """Called before the first message; start background tasks with ``ctx.start_soon``.

        The supervisor starts the next sibling only after this returns; raising here is a crash.
        """

    async def on_stop(self) -> None:
        """Called on a graceful stop, after the last message, within the shutdown timeout.

        Not called after a crash or when cancelled at the shutdown deadline.
        """


class ActorContext:
    """What an actor may use besides its own state: its ref, names, time, randomness, tasks."""

    def __init__(self, cell: Cell, nursery: trio.Nursery) -> None:
        self._cell = cell
        self._nursery = nursery
        self._random: random.Random | None = None

    @property
    def random(self) -> random.Random:
        """This incarnation's random source, seeded from the runtime seed, the actor's path and
        its incarnation: the same seed replays the same choices. Made on first use (a Mersenne
        Twister holds 2.5 KB, too much to give every idle actor)."""
        if self._random is None:
            cell = self._cell
            self._random = random.Random(f"{cell.runtime.seed}/{cell.path}/{cell.incarnation}")
        return self._random

    @property
    def ref(self) -> ActorRef:
        """This actor's own ref (stable across its restarts)."""
        from clanker.runtime._ref import ActorRef

        ref = self._cell.ref
        assert isinstance(ref, ActorRef)
        return ref

    @property
    def path(self) -> str:
        """This actor's path in the tree, e.g. ``root/guilds/guild-1``."""
        return self._cell.path

    @property
    def incarnation(self) -> int:
        """1 for the first start, then +1 for every restart."""
        return self._cell.incarnation

    @property
    def runtime(self) -> Runtime:
        """The runtime (registry lookups, events, snapshot)."""
        return self._cell.runtime

    def lookup(self, name: str) -> ActorRef:
        """The actor registered as ``name``; raises `NotRegistered`."""
        return self._cell.runtime.lookup(name)

    def lookup_supervisor(self, name: str) -> SupervisorRef:
        """The supervisor registered as ``name``; raises `NotRegistered`."""
        return self._cell.runtime.lookup_supervisor(name)

    @property
    def handling_ask(self) -> bool:
        """Whether the message being handled now is an ask (so `defer_reply` may be called)."""
        return self._cell.current_ask is not None

    def defer_reply(self) -> Reply:
        """Answer the ask being handled later, from a background task.

        Call it inside an ask handler, start the work with `start_soon`, and return None; the
        work answers with ``reply.send(value)`` or ``reply.fail(error)``. The mailbox moves on
        at once, so many asks can be in progress. ``reply.abandoned`` / ``wait_abandoned()``
        tell when the asker stopped waiting (timeout or cancellation). Replies still pending
        when the incarnation ends fail with `ActorStopped`.
        """
        from clanker.runtime._ref import Reply

        cell = self._cell
        if cell.current_ask is None:
            raise RuntimeError(f"{cell.path}: defer_reply() outside the handling of an ask")
        if cell.deferred_now is None:
            slot, request = cell.current_ask
            reply = Reply(cell, slot, request)
            cell.deferred_now = reply
            cell.deferred.add(reply)
        return cell.deferred_now

    def start_soon(self, fn: Callable[..., Awaitable[object]], *args: object) -> None:
        """Run a background task for this incarnation; if it raises, the actor crashes (and an
        ask being handled at that moment fails with `ActorCrashed`)."""
        cell = self._cell

        async def guarded() -> None:
            try:
                await fn(*args)
            except Exception as exc:
                if cell.background_crash is None:
                    cell.background_crash = exc
                raise

        self._nursery.start_soon(guarded, name=getattr(fn, "__qualname__", repr(fn)))

    def stop(self) -> None:
        """Stop this actor normally once the current message is handled.

        A permanent child is restarted even after a normal stop; use transient for actors that
        finish their job.
        """
        self._cell.request_stop(by_self=True)
