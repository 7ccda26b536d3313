"""ChannelBrain under random event sequences: the contract holds whatever happens.

Checked after every event: the next wake-up is never in the past (the driver asserts it); at
most one job is in flight; no job starts within the minimum gap of a known send or while the
hourly cap is reached; no message is admitted twice; and once the channel goes quiet, every
admitted message was either part of a job or logged as skipped, with nothing left behind.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from clanker.text import CancelGeneration, Decision, Outcome, PacingState, StartGeneration

from .driver import Driver
from .helpers import ALICE, BOB, BOT, CAROL, OTHER_BOT, msg

MIN_GAP = 5.0

authors = st.sampled_from([ALICE, BOB, CAROL, OTHER_BOT, BOT])
contents = st.sampled_from(["clanker?", "hm", "stop", "lol", "never mind", "", "clanky hi"])
steps = st.floats(0, 8).map(lambda x: round(x * 4) / 4)  # quarter seconds: exact sums

event = st.one_of(
    st.tuples(st.just("msg"), steps, authors, contents, st.booleans()),
    st.tuples(st.just("finish"), steps, st.sampled_from(list(Outcome))),
    st.tuples(st.just("pacing"), steps, st.floats(0, 20), st.integers(0, 25)),
    st.tuples(st.just("delete"), steps, st.integers(0, 50)),
    st.tuples(st.just("wait"), steps),
)


@settings(max_examples=300, deadline=None)
@given(events=st.lists(event, max_size=60))
# Found by a random run: a pacing snapshot older than one the brain already knew (it crossed a
# newer one on the way) moved the last send backwards, and a job started inside the min gap.
@example(
    events=[
        ("msg", 0.0, ALICE, "clanker?", False),
        ("pacing", 5.0, 0.0, 0),
        ("pacing", 2.0, 5.0, 0),
    ]
)
def test_the_brain_contract_holds_under_any_sequence(events: list[tuple[Any, ...]]) -> None:
    d = Driver()
    sent_ids: list[int] = []
    known_last_send: float | None = None
    capped = False  # the last pacing snapshot said the hour is full
    in_flight: int | None = None

    def check(actions: list[Any]) -> None:
        nonlocal in_flight
        for action in actions:
            if isinstance(action, CancelGeneration):
                assert action.job_id == in_flight
                in_flight = None
            if isinstance(action, StartGeneration):
                assert in_flight is None, "a second job started while one was in flight"
                assert not capped, "a job started with the hourly cap reached"
                if known_last_send is not None:
                    assert d.now >= known_last_send + MIN_GAP
                in_flight = action.job.job_id
        assert (d.brain.in_flight is None) == (in_flight is None)

    for kind, dt, *rest in events:
        check(d.advance(d.now + dt))
        if kind == "msg":
            author, content, duplicate = rest
            if duplicate and sent_ids:
                m = msg(content, author=author, message_id=sent_ids[-1])
            else:
                m = msg(content, author=author)
                sent_ids.append(m.message_id)
            check(d.message(m))
        elif kind == "finish" and d.brain.in_flight is not None:
            (outcome,) = rest
            in_flight = None  # reported finished; a retry or the next batch may start at once
            if outcome is Outcome.SENT:
                known_last_send = d.now
            check(d.finish(outcome))
        elif kind == "pacing":
            ago, count = rest
            last = max(0.0, d.now - ago)
            check(d.pacing(PacingState(last_send_at=last, sends_last_hour=count)))
            known_last_send = d.brain.pacing.last_send_at
            capped = d.brain.pacing.sends_last_hour >= 20
        elif kind == "delete" and sent_ids:
            (index,) = rest
            check(d.delete(sent_ids[index % len(sent_ids)]))

    # Quiet from here on: finish whatever runs, let every batch come due, until nothing is left.
    for _ in range(200):
        if d.brain.in_flight is not None:
            d.finish(Outcome.SENT, at=d.now + 1)
            continue
        wake = d.brain.next_wakeup()
        if wake is None:
            break
        d.advance(wake)
    assert d.brain.in_flight is None and d.brain.pending == ()

    admitted = [x.message_id for _, x in d.decisions(Decision.ADMITTED)]
    assert len(admitted) == len(set(admitted)), "a message was admitted twice"
    answered = {i for _, job in d.starts() for i in job.message_ids}
    skipped = {x.message_id for _, x in d.decisions(Decision.SKIPPED)}
    missing = set(admitted) - answered - skipped
    assert not missing, f"admitted but neither answered nor skipped: {missing}"
