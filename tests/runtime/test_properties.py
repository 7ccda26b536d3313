"""Hypothesis: random crash schedules against real supervisors on virtual time."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from clanker.runtime import Strategy

from .scenarios import (
    check_final_state,
    check_no_overlapping_incarnations,
    check_ordering,
    expected_outcome,
    run_supervision,
)


@st.composite
def schedules(draw: st.DrawFn) -> tuple[Strategy, int, list[tuple[float, int]], int, float]:
    strategy = draw(st.sampled_from(list(Strategy)))
    children = draw(st.integers(1, 4))
    # Distinct half-second instants: each crash meets a fully restarted tree.
    slots = draw(st.lists(st.integers(0, 60), unique=True, max_size=12))
    crashes = [(s * 0.5, draw(st.integers(0, children - 1))) for s in sorted(slots)]
    intensity = draw(st.integers(0, 4))
    period = draw(st.sampled_from([0.5, 1.0, 2.5, 5.0, 10.0]))
    return strategy, children, crashes, intensity, period


@settings(max_examples=150, deadline=None)
@given(schedules())
def test_supervisor_matches_the_oracle(
    schedule: tuple[Strategy, int, list[tuple[float, int]], int, float],
) -> None:
    strategy, children, crashes, intensity, period = schedule
    trace = run_supervision(strategy, children, crashes, intensity=intensity, period=period)
    starts, gives_up_at = expected_outcome(strategy, children, crashes, intensity, period)
    observed = {f"c{i}": 0 for i in range(children)}
    for kind, name, _ in trace.log:
        if kind == "start":
            observed[name] += 1
    assert observed == starts
    assert trace.gave_up_at == gives_up_at
    check_no_overlapping_incarnations(trace, children)
    check_ordering(trace, strategy)
    check_final_state(trace, children)
