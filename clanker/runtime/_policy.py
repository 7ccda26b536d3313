"""Supervision decisions, sans-IO: which children to stop, restart or remove, and when to give up.

`SupervisionPolicy` is fed "child X exited (crashed or not) at time t" and answers with a
`Decision`; it never touches trio. The supervisor actor carries decisions out. Keeping the rules
here lets the property tests drive thousands of crash schedules without an event loop.

Rules (Erlang/OTP):

* permanent children are always restarted, transient ones only after a crash, temporary never;
  a child that is not restarted is removed;
* every restart is recorded at its time; if more than ``intensity`` restarts fall within any
  window of ``period`` seconds (inclusive: t >= now - period) the supervisor gives up: it stops
  every child in reverse order and escalates to its parent;
* one_for_one restarts the child; one_for_all stops every other child (reverse declared order)
  and restarts all; rest_for_one does the same for the children declared after it. Temporary
  siblings stopped this way are removed, not restarted;
* a group restart counts as one restart.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field

from clanker.runtime._specs import Backoff, Restart, Strategy


@dataclass(frozen=True, slots=True)
class Decision:
    """What a supervisor must do after a child exited."""

    stop: tuple[str, ...] = ()  # stop these, in this order (reverse declared order)
    start: tuple[str, ...] = ()  # then start these, in this order (declared order)
    remove: tuple[str, ...] = ()  # forget these children
    delay: float = 0.0  # seconds to wait before starting
    escalate: bool = False  # give up: stop everything (``stop``) and crash to the parent
    restarts_in_window: int = 0


@dataclass(slots=True)
class RestartIntensity:
    """Sliding-window restart counter: at most ``limit`` restarts within ``period`` seconds."""

    limit: int
    period: float
    _times: deque[float] = field(default_factory=deque)

    def record(self, now: float) -> bool:
        """Record a restart at ``now``; False when it exceeds the limit (give up)."""
        self._times.append(now)
        while self._times and self._times[0] < now - self.period:
            self._times.popleft()
        return len(self._times) <= self.limit

    @property
    def in_window(self) -> int:
        """Restarts currently inside the window (as of the last `record`)."""
        return len(self._times)


class SupervisionPolicy:
    """The decision half of a supervisor. Children are known by name, in declared order."""

    def __init__(
        self,
        strategy: Strategy,
        intensity: int,
        period: float,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.strategy = Strategy(strategy)
        self.backoff = backoff
        self._rng = rng if rng is not None else random.Random(0)
        self._intensity = RestartIntensity(intensity, period)
        self._order: list[str] = []
        self._restart: dict[str, Restart] = {}

    @property
    def children(self) -> list[str]:
        """Child names in declared order."""
        return list(self._order)

    def add_child(self, name: str, restart: Restart) -> None:
        """A child joins, after all existing ones."""
        if name in self._restart:
            raise ValueError(f"child {name!r} already exists")
        self._order.append(name)
        self._restart[name] = Restart(restart)

    def remove_child(self, name: str) -> None:
        """A child leaves (terminated by request, or removed by a decision)."""
        self._order.remove(name)
        del self._restart[name]

    def child_exited(self, name: str, *, crashed: bool, now: float) -> Decision:
        """Decide what to do now that ``name`` exited on its own (crash or normal return)."""
        kind = self._restart[name]
        wanted = kind is Restart.PERMANENT or (kind is Restart.TRANSIENT and crashed)
        if not wanted:
            self.remove_child(name)
            return Decision(remove=(name,))
        if not self._intensity.record(now):
            everyone = tuple(reversed(self._order))
            return Decision(
                stop=everyone, escalate=True, restarts_in_window=self._intensity.in_window
            )
        if self.strategy is Strategy.ONE_FOR_ONE:
            group = [name]
        elif self.strategy is Strategy.ONE_FOR_ALL:
            group = list(self._order)
        else:
            group = self._order[self._order.index(name) :]
        others = [c for c in group if c != name]
        removed = tuple(c for c in others if self._restart[c] is Restart.TEMPORARY)
        for child in removed:
            self.remove_child(child)
        delay = 0.0
        if self.backoff is not None:
            delay = self.backoff.delay(self._intensity.in_window, self._rng)
        return Decision(
            stop=tuple(reversed(others)),
            start=tuple(c for c in group if c not in removed),
            remove=removed,
            delay=delay,
            restarts_in_window=self._intensity.in_window,
        )
