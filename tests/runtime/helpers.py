"""Small actors and messages shared by the runtime tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

import trio

from clanker.runtime import Actor, ActorContext, ChildSpec, Message, Restart, handles


class Ping(Message, frozen=True):
    n: int = 0


class Pong(Message, frozen=True):
    n: int
    incarnation: int = 0


class Crash(Message, frozen=True):
    reason: str = "boom"


class Stop(Message, frozen=True):
    pass


class Slow(Message, frozen=True):
    seconds: float


class Unknown(Message, frozen=True):
    pass


Log = list[tuple[str, str, float]]


class Probe(Actor):
    """Records its lifecycle in a shared log; crashes or answers on request."""

    def __init__(
        self,
        name: str,
        log: Log,
        *,
        stop_delay: float = 0.0,
        crash_on_start: bool = False,
        fail_starts: int = 0,
        start_delay: float = 0.0,
        log_up: bool = False,
    ) -> None:
        self.name = name
        self.log = log
        self.stop_delay = stop_delay
        self.crash_on_start = crash_on_start
        self.fail_starts = fail_starts  # crash in on_start for the first N incarnations
        self.start_delay = start_delay
        self.log_up = log_up  # also log ("up", name, t) when on_start has finished
        self.incarnation = 0
        self.ctx: ActorContext | None = None

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx
        self.incarnation = ctx.incarnation
        self.log.append(("start", self.name, trio.current_time()))
        if self.start_delay:
            await trio.sleep(self.start_delay)
        if self.crash_on_start or ctx.incarnation <= self.fail_starts:
            raise RuntimeError(f"{self.name} cannot start")
        if self.log_up:
            self.log.append(("up", self.name, trio.current_time()))

    async def on_stop(self) -> None:
        self.log.append(("stop", self.name, trio.current_time()))
        if self.stop_delay:
            await trio.sleep(self.stop_delay)
        self.log.append(("stopped", self.name, trio.current_time()))

    @handles(Ping)
    async def ping(self, msg: Ping) -> Pong:
        return Pong(n=msg.n, incarnation=self.incarnation)

    @handles(Crash)
    async def crash(self, msg: Crash) -> None:
        self.log.append(("crash", self.name, trio.current_time()))
        raise RuntimeError(msg.reason)

    @handles(Stop)
    async def stop(self, msg: Stop) -> None:
        assert self.ctx is not None
        self.ctx.stop()

    @handles(Slow)
    async def slow(self, msg: Slow) -> Pong:
        await trio.sleep(msg.seconds)
        return Pong(n=int(msg.seconds))


def probe(
    name: str,
    log: Log,
    restart: Restart = Restart.PERMANENT,
    shutdown: float | None = None,
    register: str | None = None,
    **kwargs: object,
) -> ChildSpec:
    """A child spec for a `Probe` named ``name`` (registered under the same name by default)."""
    factory: Callable[[], Actor] = lambda: Probe(name, log, **kwargs)  # type: ignore[arg-type]  # noqa: E731
    return ChildSpec(
        name,
        factory,
        restart=restart,
        shutdown=shutdown,
        register=register if register is not None else name,
    )


def starts(log: Log) -> list[str]:
    return [name for kind, name, _ in log if kind == "start"]


def events_of(log: Log, kind: str) -> list[tuple[str, float]]:
    return [(name, t) for k, name, t in log if k == kind]


E = TypeVar("E")


def of_type(items: Iterable[object], cls: type[E]) -> list[E]:
    """The items that are instances of ``cls``, in order."""
    return [i for i in items if isinstance(i, cls)]
