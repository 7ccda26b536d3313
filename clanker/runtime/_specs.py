"""Declarative specs: how a child is started, restarted and stopped, and how a mailbox behaves."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clanker.runtime._actor import Actor


class Strategy(StrEnum):
    """Which children a supervisor restarts when one of them exits (Erlang/OTP names)."""

    ONE_FOR_ONE = "one_for_one"  # only the child that exited
    ONE_FOR_ALL = "one_for_all"  # every child: stop all (reverse order), start all (in order)
    REST_FOR_ONE = "rest_for_one"  # the child and every child declared after it


class Restart(StrEnum):
    """When a child is restarted after it exits."""

    PERMANENT = "permanent"  # always
    TRANSIENT = "transient"  # only after a crash; a normal exit removes it
    TEMPORARY = "temporary"  # never; any exit removes it


class Overflow(StrEnum):
    """What `tell` does when a mailbox is full."""

    BLOCK = "block"  # wait for room: backpressure (control traffic)
    DROP_OLDEST = "drop_oldest"  # evict the oldest queued message, counted (audio, telemetry)
    DROP_NEWEST = "drop_newest"  # discard the new message, counted


@dataclass(frozen=True, slots=True)
class MailboxSpec:
    """A mailbox's bound and its overflow policy."""

    capacity: int = 64
    overflow: Overflow = Overflow.BLOCK

    def __post_init__(self) -> None:
        if not isinstance(self.capacity, int) or self.capacity < 1:
            raise ValueError(f"mailbox capacity must be an integer >= 1, got {self.capacity!r}")
        Overflow(self.overflow)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before a restart: ``initial * factor**(n-1)`` capped at ``maximum``, where n counts
    the restarts inside the current intensity window; ``jitter`` adds up to that fraction, drawn
    from the supervisor's seeded random source."""

    initial: float = 0.1
    factor: float = 2.0
    maximum: float = 10.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < 0:
            raise ValueError("backoff delays must be >= 0")
        if self.factor < 1:
            raise ValueError(f"backoff factor must be >= 1, got {self.factor}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"backoff jitter is a fraction in [0, 1], got {self.jitter}")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before restart number ``attempt`` (1-based) of the window."""
        base = min(self.maximum, self.initial * self.factor ** max(0, attempt - 1))
        if self.jitter:
            base += base * self.jitter * rng.random()
        return base


@dataclass(frozen=True, slots=True)
class SupervisorSpec:
    """A supervisor: its strategy, its static children and its restart intensity.

    At most ``intensity`` restarts may happen within any ``period`` seconds; one more and the
    supervisor stops all its children and escalates to its parent (OTP's MaxR / MaxT).
    """

    strategy: Strategy = Strategy.ONE_FOR_ONE
    children: Sequence[ChildSpec] = ()
    intensity: int = 3
    period: float = 5.0
    backoff: Backoff | None = None

    def __post_init__(self) -> None:
        Strategy(self.strategy)
        if self.intensity < 0:
            raise ValueError(f"restart intensity must be >= 0, got {self.intensity}")
        if not self.period > 0:
            raise ValueError(f"restart period must be > 0 seconds, got {self.period}")
        names = [c.name for c in self.children]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"child names must be unique within a supervisor; repeated: {dupes}")


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """One child of a supervisor.

    ``start`` is either a zero-argument factory returning a fresh `Actor` (called on every start
    and restart, so state never leaks across incarnations) or a `SupervisorSpec`. ``shutdown`` is
    how long a graceful stop may take before the child is cancelled: default 5 s for actors and
    unlimited for supervisors (their children have their own deadlines).
    """

    name: str
    start: Callable[[], Actor] | SupervisorSpec
    restart: Restart = Restart.PERMANENT
    shutdown: float | None = None
    mailbox: MailboxSpec | None = None
    register: str | None = None
    _shutdown: float = field(init=False, repr=False, compare=False, default=0.0)

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name:
            raise ValueError(f"child name must be non-empty and contain no '/', got {self.name!r}")
        Restart(self.restart)
        if self.shutdown is not None and not self.shutdown >= 0:
            raise ValueError(f"{self.name}: shutdown timeout must be >= 0, got {self.shutdown}")
        if not (isinstance(self.start, SupervisorSpec) or callable(self.start)):
            raise TypeError(
                f"{self.name}: start must be an actor factory or a SupervisorSpec, "
                f"got {self.start!r}"
            )
        default = math.inf if self.is_supervisor else 5.0
        object.__setattr__(self, "_shutdown", default if self.shutdown is None else self.shutdown)

    @property
    def is_supervisor(self) -> bool:
        """Whether this child is a supervisor rather than an actor."""
        return isinstance(self.start, SupervisorSpec)

    @property
    def shutdown_timeout(self) -> float:
        """The effective shutdown timeout in seconds (``math.inf`` for none)."""
        return self._shutdown
