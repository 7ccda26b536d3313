"""The sans-IO supervision policy, without trio: examples and hypothesis properties."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clanker.runtime import (
    Backoff,
    Decision,
    Restart,
    RestartIntensity,
    Strategy,
    SupervisionPolicy,
)


def policy(
    strategy: Strategy, kinds: list[Restart], intensity: int = 3, period: float = 5.0
) -> SupervisionPolicy:
    p = SupervisionPolicy(strategy, intensity, period)
    for i, kind in enumerate(kinds):
        p.add_child(f"c{i}", kind)
    return p


def test_rest_for_one_removes_temporary_later_siblings() -> None:
    p = policy(
        Strategy.REST_FOR_ONE,
        [Restart.PERMANENT, Restart.PERMANENT, Restart.TEMPORARY, Restart.TRANSIENT],
    )
    d = p.child_exited("c1", crashed=True, now=0.0)
    assert d == Decision(
        stop=("c3", "c2"), start=("c1", "c3"), remove=("c2",), restarts_in_window=1
    )
    assert p.children == ["c0", "c1", "c3"]


def test_intensity_window_is_inclusive() -> None:
    window = RestartIntensity(limit=2, period=10.0)
    assert window.record(0.0) and window.record(5.0)
    assert not window.record(10.0)  # 0.0 is within [0, 10]
    window = RestartIntensity(limit=2, period=10.0)
    assert window.record(0.0) and window.record(5.0)
    assert window.record(10.5)


def test_backoff_grows_and_caps_with_seeded_jitter() -> None:
    b = Backoff(initial=0.5, factor=3.0, maximum=4.0)
    rng = random.Random(1)
    assert [b.delay(n, rng) for n in (1, 2, 3, 4)] == [0.5, 1.5, 4.0, 4.0]
    jittery = Backoff(initial=1.0, jitter=0.5)
    first = [jittery.delay(1, random.Random(7)) for _ in range(2)]
    assert first[0] == first[1]  # same seed, same delay
    assert 1.0 <= first[0] <= 1.5


def test_specs_reject_bad_values() -> None:
    from clanker.runtime import ChildSpec, SupervisorSpec

    with pytest.raises(ValueError, match="restart period must be > 0 seconds, got 0"):
        SupervisorSpec(period=0)
    with pytest.raises(ValueError, match="repeated: \\['a'\\]"):
        SupervisorSpec(
            children=[ChildSpec("a", SupervisorSpec()), ChildSpec("a", SupervisorSpec())]
        )
    with pytest.raises(ValueError, match="contain no '/'"):
        ChildSpec("a/b", SupervisorSpec())
    with pytest.raises(TypeError, match="start must be an actor factory or a SupervisorSpec"):
        ChildSpec("a", 42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="backoff factor must be >= 1"):
        Backoff(factor=0.5)


kinds_st = st.lists(st.sampled_from(list(Restart)), min_size=1, max_size=6)
exits_st = st.lists(
    st.tuples(st.integers(0, 5), st.floats(0, 3, allow_nan=False), st.booleans()),
    max_size=40,
)


@settings(max_examples=400, deadline=None)
@given(
    strategy=st.sampled_from(list(Strategy)),
    kinds=kinds_st,
    intensity=st.integers(0, 5),
    period=st.floats(0.5, 10, allow_nan=False),
    exits=exits_st,
)
def test_policy_invariants(
    strategy: Strategy,
    kinds: list[Restart],
    intensity: int,
    period: float,
    exits: list[tuple[int, float, bool]],
) -> None:
    p = policy(strategy, kinds, intensity, period)
    kind_of = {f"c{i}": k for i, k in enumerate(kinds)}
    restart_times: list[float] = []
    now = 0.0
    for index, dt, crashed in exits:
        if not p.children:
            break
        now += dt
        order = p.children
        name = order[index % len(order)]
        d = p.child_exited(name, crashed=crashed, now=now)
        wanted = kind_of[name] is Restart.PERMANENT or (
            kind_of[name] is Restart.TRANSIENT and crashed
        )
        if not wanted:
            assert d == Decision(remove=(name,))
            assert p.children == [c for c in order if c != name]
            continue
        restart_times.append(now)
        in_window = sum(1 for t in restart_times if t >= now - period)
        assert d.escalate == (in_window > intensity)
        assert d.restarts_in_window == in_window
        if d.escalate:
            assert d.stop == tuple(reversed(order))  # everyone, last declared first
            assert d.start == ()
            return
        at = order.index(name)
        group = {
            Strategy.ONE_FOR_ONE: [name],
            Strategy.ONE_FOR_ALL: order,
            Strategy.REST_FOR_ONE: order[at:],
        }[strategy]
        temporaries = [c for c in group if c != name and kind_of[c] is Restart.TEMPORARY]
        assert d.remove == tuple(temporaries)
        assert d.stop == tuple(reversed([c for c in group if c != name]))
        assert d.start == tuple(c for c in group if c not in temporaries)
        assert name in d.start
        assert p.children == [c for c in order if c not in temporaries]
        assert d.delay == 0.0
