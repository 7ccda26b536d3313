"""Schedule fuzz: the same supervision scenarios under 50 different trio scheduling seeds.

Trio runs each batch of runnable tasks in an order drawn from ``trio._core._run._r``; with
deterministic scheduling on, that order is a seeded shuffle. Re-running a scenario under many
seeds explores many interleavings of simultaneous crashes, restarts and racing asks; the
invariants must hold in every one.
"""

from __future__ import annotations

import pytest
import trio._core._run as trio_run

from clanker.runtime import Strategy

from .scenarios import (
    check_final_state,
    check_no_overlapping_incarnations,
    check_ordering,
    run_supervision,
)

SEEDS = range(50)

# Simultaneous crashes of several children, repeated, while a client asks every child.
SIMULTANEOUS = [(1.0, 0), (1.0, 2), (1.0, 1), (2.0, 3), (2.0, 0), (3.5, 1), (3.5, 3)]
# Enough crashes inside 5 s to exceed the intensity of 3: the fourth, at 1.5 s, is one too many.
OVERLOAD = [(0.0, 1), (0.5, 0), (1.0, 2), (1.5, 1), (2.0, 0)]


@pytest.fixture
def seeded_scheduler(monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setattr(trio_run, "_ALLOW_DETERMINISTIC_SCHEDULING", True)
    return trio_run._r


@pytest.mark.parametrize("strategy", list(Strategy))
def test_simultaneous_crashes_under_many_schedules(
    strategy: Strategy, seeded_scheduler: object
) -> None:
    outcomes = set()
    interleavings = set()
    for seed in SEEDS:
        trio_run._r.seed(seed)
        trace = run_supervision(strategy, 4, SIMULTANEOUS, intensity=20, period=5.0, asks=True)
        check_no_overlapping_incarnations(trace, 4)
        check_ordering(trace, strategy)
        check_final_state(trace, 4)
        assert trace.gave_up_at is None
        # Every ask ends in a reply or a typed error; none is lost or hangs.
        assert set(trace.ask_results) <= {"ok 1", "ActorCrashed"}, trace.ask_results
        assert trace.final is not None
        outcomes.add(tuple(c.status for c in trace.final.children))
        interleavings.add((tuple((k, n) for k, n, _ in trace.log), tuple(trace.ask_results)))
    assert outcomes == {("running",) * 4}
    # The seeds really do explore different interleavings (else this test would prove little).
    assert len(interleavings) > 1


@pytest.mark.parametrize("strategy", list(Strategy))
def test_escalation_instant_is_schedule_independent(
    strategy: Strategy, seeded_scheduler: object
) -> None:
    for seed in SEEDS:
        trio_run._r.seed(seed)
        trace = run_supervision(strategy, 3, OVERLOAD, intensity=3, period=5.0, asks=True)
        assert trace.gave_up_at == 1.5, f"seed {seed}"
        typed = {"ok 1", "ActorCrashed", "ActorStopped", "NotRegistered"}
        assert set(trace.ask_results) <= typed, trace.ask_results
        check_no_overlapping_incarnations(trace, 3)
        check_ordering(trace, strategy)
        check_final_state(trace, 3)
