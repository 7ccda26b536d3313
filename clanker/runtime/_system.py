"""The runtime: the root of the tree, the name registry, telemetry, seed and wire check."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from clanker.runtime._cell import Cell, Exit, ExitKind, run_child
from clanker.runtime._errors import NameTaken, NotRegistered, SupervisionGaveUp
from clanker.runtime._ref import ActorRef, SupervisorRef
from clanker.runtime._specs import ChildSpec, SupervisorSpec
from clanker.runtime._telemetry import ActorNode, EventBus
from clanker.runtime._wire import wire_check_default


class Runtime:
    """Shared services of one supervision tree. Create it with `open_runtime`."""

    def __init__(self, *, seed: int, wire_check: bool) -> None:
        self.seed = seed
        self.wire_check = wire_check
        self.events = EventBus()
        self._names: dict[str, Cell] = {}
        self._root: Cell | None = None
        self._failure: Exit | None = None
        self._stopped = trio.Event()

    # registry ------------------------------------------------------------------------------

    def _register(self, name: str, cell: Cell) -> None:
        if name in self._names and self._names[name] is not cell:
            raise NameTaken(f"the name {name!r} is already registered by {self._names[name].path}")
        self._names[name] = cell

    def _unregister(self, cell: Cell) -> None:
        name = cell.spec.register
        if name is not None and self._names.get(name) is cell:
            del self._names[name]

    def whereis(self, name: str) -> ActorRef | SupervisorRef | None:
        """The ref registered as ``name``, or None."""
        cell = self._names.get(name)
        return None if cell is None else cell.ref

    def lookup(self, name: str) -> ActorRef:
        """The actor registered as ``name``; raises `NotRegistered`."""
        ref = self.whereis(name)
        if not isinstance(ref, ActorRef):
            raise NotRegistered(_missing(name, "actor", ref, sorted(self._names)))
        return ref

    def lookup_supervisor(self, name: str) -> SupervisorRef:
        """The supervisor registered as ``name``; raises `NotRegistered`."""
        ref = self.whereis(name)
        if not isinstance(ref, SupervisorRef):
            raise NotRegistered(_missing(name, "supervisor", ref, sorted(self._names)))
        return ref

    @property
    def registered(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self._names)

    # tree ---------------------------------------------------------------------------------

    @property
    def root(self) -> SupervisorRef:
        """The root supervisor."""
        assert self._root is not None and isinstance(self._root.ref, SupervisorRef)
        return self._root.ref

    def at(self, path: str) -> ActorRef | SupervisorRef:
        """The ref at tree path ``path`` (``root/guilds/router``); raises `NotRegistered`
        saying which step of the path does not exist."""
        parts = [p for p in path.strip("/").split("/") if p]
        root = self.root
        if not parts or parts[0] != root.path:
            raise NotRegistered(f"tree paths start with {root.path!r}, got {path!r}")
        node: ActorRef | SupervisorRef = root
        for depth, name in enumerate(parts[1:], start=1):
            if not isinstance(node, SupervisorRef):
                raise NotRegistered(f"{'/'.join(parts[:depth])} is an actor; it has no children")
            try:
                node = node.child(name)
            except NotRegistered:
                raise NotRegistered(
                    f"no actor at {path!r}: {node.path} has no child {name!r}"
                ) from None
        return node

    def snapshot(self) -> ActorNode:
        """The whole tree now: names, paths, status, restarts, mailbox depth and drops."""
        assert self._root is not None
        return self._root.snapshot()

    async def wait_stopped(self) -> None:
        """Wait until the root supervisor has ended (gave up, or was stopped)."""
        await self._stopped.wait()

    async def shutdown(self) -> None:
        """Stop the whole tree gracefully: children in reverse order, each within its timeout."""
        if self._root is not None and self._root.running:
            self._root.request_stop()
        await self._stopped.wait()


def _missing(name: str, kind: str, found: object, known: list[str]) -> str:
    if found is not None:
        return f"{name!r} is registered, but not as a {kind}"
    return f"no {kind} is registered as {name!r}; registered: {', '.join(known) or 'none'}"


@asynccontextmanager
async def open_runtime(
    root: SupervisorSpec,
    *,
    name: str = "root",
    seed: int = 0,
    wire_check: bool | None = None,
) -> AsyncIterator[Runtime]:
    """Start a supervision tree under ``root`` and yield its `Runtime`.

    Leaving the block stops the tree gracefully (reverse order, shutdown timeouts). If the root
    supervisor gives up (restart intensity exceeded) — including while it starts, in which case
    the block never runs — the block is cancelled and
    `SupervisionGaveUp` is raised: the only error that leaves the runtime. ``wire_check``
    defaults to the ``CLANKER_WIRE_CHECK`` environment variable.
    """
    runtime = Runtime(
        seed=seed, wire_check=wire_check_default() if wire_check is None else wire_check
    )
    try:
        async with trio.open_nursery() as nursery:

            def root_exited(cell: Cell, incarnation: int, exit: Exit) -> None:
                if exit.kind is ExitKind.CRASHED:
                    runtime._failure = exit
                    nursery.cancel_scope.cancel()
                cell.finalize()
                runtime._stopped.set()
                runtime.events.close_all()

            cell = Cell(ChildSpec(name, root, shutdown=math.inf), name, runtime, root_exited)
            runtime._root = cell
            started: bool = await nursery.start(run_child, cell)
            if started:  # a root that could not start never hands out a runtime
                try:
                    yield runtime
                finally:
                    await runtime.shutdown()
    except BaseExceptionGroup as group:
        # The root's task never raises, so a group here holds what the caller's own block
        # raised: hand that back as it was, not wrapped in the runtime's nursery group.
        leaf = _sole_leaf(group)
        if leaf is None:
            raise
        raise leaf from leaf.__cause__
    if runtime._failure is not None:
        error = runtime._failure.error
        raise SupervisionGaveUp(f"the supervision tree stopped: {error}") from error
    if not started:
        raise SupervisionGaveUp("the supervision tree stopped before it had started")


def _sole_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        if len(exc.exceptions) != 1:
            return None
        exc = exc.exceptions[0]
    return exc
