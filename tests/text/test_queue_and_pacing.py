"""The reply queue (coalescing timing, capacity, idempotency) and global pacing."""

from __future__ import annotations

import math

import pytest

from clanker.text import (
    Admission,
    AdmissionReason,
    GateVerdict,
    PaceReason,
    PacingState,
    QueuedMessage,
    ReplyQueue,
    SendGate,
    SendLog,
    may_react,
    pace,
)

from .helpers import msg

ADMITTED = Admission(admitted=True, reason=AdmissionReason.AMBIENT)


def queued(at: float, message_id: int | None = None) -> QueuedMessage:
    return QueuedMessage(message=msg("x", message_id=message_id), admission=ADMITTED, queued_at=at)


@pytest.mark.parametrize(
    ("window", "max_messages", "arrivals", "due"),
    [
        (6.0, 6, [0.0], 6.25),
        (6.0, 6, [0.0, 1.0, 2.0, 3.0, 4.0], 6.25),  # the window counts from the first
        (6.0, 6, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], 5.0),  # full: due when the 6th came
        (6.0, 3, [10.0, 10.5, 11.0], 11.0),
        (0.0, 6, [2.0], 2.0),  # no window: at once, no grace
        (20.0, 60, [1.0], 21.25),
    ],
)
def test_when_a_batch_is_due(
    window: float, max_messages: int, arrivals: list[float], due: float
) -> None:
    q = ReplyQueue(window=window, max_messages=max_messages)
    assert q.due_at() is None
    for at in arrivals:
        q.add(queued(at))
    assert q.due_at() == due
    assert not q.is_due(due - 0.001) and q.is_due(due)


def test_take_empties_and_the_next_batch_opens_fresh() -> None:
    q = ReplyQueue(window=6, max_messages=6)
    q.add(queued(0))
    q.add(queued(1))
    assert len(q.take()) == 2 and q.due_at() is None
    q.add(queued(30))
    assert q.due_at() == 36.25


def test_capacity_drops_the_oldest() -> None:
    q = ReplyQueue(window=6, max_messages=100, capacity=3)
    items = [queued(i) for i in range(5)]
    dropped = [d for item in items for d in q.add(item)]
    assert dropped == items[:2] and q.items == tuple(items[2:])


def test_requeue_puts_a_failed_batch_in_front_no_earlier_than_asked() -> None:
    q = ReplyQueue(window=6, max_messages=6)
    failed = (queued(0), queued(1))
    newer = queued(9)
    q.add(newer)
    q.requeue(failed, not_before=12.5, attempt=2)
    assert q.items == (*failed, newer) and q.attempt == 2
    assert q.due_at() == 12.5
    q.take()
    assert q.attempt == 1


def test_each_message_id_is_accepted_once() -> None:
    q = ReplyQueue(window=6, max_messages=6, seen_capacity=3)
    assert q.mark_seen(1) and not q.mark_seen(1)
    for i in (2, 3, 4):
        q.mark_seen(i)
    assert not q.seen(1)  # the oldest id fell out of the bounded memory
    assert q.seen(4)


def test_remove_one_pending_message() -> None:
    q = ReplyQueue(window=6, max_messages=6)
    a, b = queued(0, 1), queued(1, 2)
    q.add(a)
    q.add(b)
    assert q.remove(1) == a and q.remove(1) is None
    assert q.items == (b,)
    assert q.remove(2) == b and q.due_at() is None


@pytest.mark.parametrize(
    ("now", "state", "allowed", "reason", "retry_at"),
    [
        (100.0, PacingState(), True, PaceReason.OK, None),
        (
            100.0,
            PacingState(last_send_at=96.0, sends_last_hour=1),
            False,
            PaceReason.MIN_GAP,
            101.0,
        ),
        (100.0, PacingState(last_send_at=95.0, sends_last_hour=1), True, PaceReason.OK, None),
        (
            100.0,
            PacingState(last_send_at=10.0, sends_last_hour=20),
            False,
            PaceReason.HOURLY_CAP,
            None,
        ),
        (
            100.0,
            PacingState(last_send_at=99.0, sends_last_hour=20),
            False,
            PaceReason.HOURLY_CAP,
            None,
        ),
    ],
)
def test_pace(
    now: float, state: PacingState, allowed: bool, reason: PaceReason, retry_at: float | None
) -> None:
    verdict = pace(now, state, min_gap_seconds=5, max_per_hour=20)
    assert (verdict.allowed, verdict.reason, verdict.retry_at) == (allowed, reason, retry_at)


def test_send_log_is_a_sliding_hour() -> None:
    log = SendLog([10.0, 20.0])
    log.record(30.0)
    assert log.count(3609.0) == 3
    assert log.count(3610.0) == 2  # a send exactly an hour old has expired
    assert log.state(3615.0) == PacingState(last_send_at=30.0, sends_last_hour=2)
    assert log.frees_at(3615.0, cap=2) == 3620.0
    assert log.frees_at(3615.0, cap=5) is None
    assert log.frees_at(3615.0, cap=0) == math.inf
    log.record(25.0)  # out of order: still counted in time order
    assert log.state(3615.0).last_send_at == 30.0 and log.count(3624.0) == 2


def test_a_send_has_expired_at_the_very_time_frees_at_names() -> None:
    """0.1 + 3600 - 3600 < 0.1 in floating point: the deadline the keeper sleeps to must be
    the moment the send leaves the count, or it wakes, finds it still there, and spins."""
    for at in (0.1, 1234.567, 98765.4321):
        log = SendLog([at])
        deadline = log.frees_at(at, cap=1)
        assert deadline is not None
        assert log.count(deadline) == 0, at
        assert log.frees_at(deadline, cap=1) is None


def test_may_react() -> None:
    assert may_react(23, allow_reactions=True, max_per_hour=24)
    assert not may_react(24, allow_reactions=True, max_per_hour=24)
    assert not may_react(0, allow_reactions=False, max_per_hour=24)


# -- SendGate: the gap between actual sends --------------------------------------------------


def test_a_held_send_keeps_the_next_waiting_until_it_reports() -> None:
    gate = SendGate(SendLog(), lease=10.0)
    first = gate.reserve(0.0, min_gap=1.0, cap=100)
    assert first.granted and first.at == 0.0
    # The first send is still on its way at 3 s (a bridge restarting): nobody else may go.
    assert gate.reserve(3.0, min_gap=1.0, cap=100) == GateVerdict(granted=False, wait=1.0)
    gate.release(first.token, reserved_at=0.0, sent_at=3.5)  # it went out at 3.5
    assert not gate.held
    # The gap counts from when it went out, not from when it was reserved.
    assert gate.reserve(4.0, min_gap=1.0, cap=100) == GateVerdict(granted=False, wait=0.5)
    second = gate.reserve(4.5, min_gap=1.0, cap=100)
    assert second.granted and second.token != first.token
    assert gate.log.state(4.5) == PacingState(last_send_at=4.5, sends_last_hour=2)


def test_a_send_that_never_went_out_gives_back_its_reservation() -> None:
    gate = SendGate(SendLog([5.0]), lease=10.0)
    slot = gate.reserve(20.0, min_gap=1.0, cap=2)
    assert slot.granted
    assert gate.reserve(20.0, min_gap=0.0, cap=2).refused == "hourly_cap"  # it counts at once
    gate.release(slot.token, reserved_at=20.0, sent_at=None)
    assert gate.log.state(20.0) == PacingState(last_send_at=5.0, sends_last_hour=1)
    assert gate.reserve(20.0, min_gap=1.0, cap=2).granted


def test_a_holder_that_never_reports_loses_the_gate_at_its_lease() -> None:
    gate = SendGate(SendLog(), lease=10.0)
    stuck = gate.reserve(0.0, min_gap=1.0, cap=100)
    assert not gate.reserve(9.999, min_gap=1.0, cap=100).granted
    late = gate.reserve(10.0, min_gap=1.0, cap=100)
    assert late.granted and late.at == 10.0
    # The lapsed holder's late report still moves its record, and does not free the new hold.
    gate.release(stuck.token, reserved_at=0.0, sent_at=None)
    assert gate.held
    assert gate.log.state(10.0) == PacingState(last_send_at=10.0, sends_last_hour=1)


def test_with_no_gap_sends_do_not_hold_each_other() -> None:
    gate = SendGate(SendLog(), lease=10.0)
    assert gate.reserve(0.0, min_gap=0.0, cap=100).granted
    assert gate.reserve(0.0, min_gap=0.0, cap=100).granted
    assert not gate.held


def test_the_gate_refuses_a_lease_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="lease must be > 0"):
        SendGate(SendLog(), lease=0.0)


def test_a_fresh_gate_holds_for_a_send_an_earlier_gate_granted() -> None:
    gate = SendGate(SendLog(), lease=10.0, first_token=1 << 32)
    gate.assume_held(since=2.0)  # the crashed keeper's grant at 2 s may still be on its way
    assert not gate.reserve(5.0, min_gap=1.0, cap=100).granted
    gate.release(7, reserved_at=2.0, sent_at=5.5)  # a token of the earlier gate reports
    assert not gate.held
    assert gate.reserve(6.5, min_gap=1.0, cap=100).granted
    # …and an old token cannot free a hold this gate granted.
    gate.release(8, reserved_at=2.0, sent_at=None)
    assert gate.held
    with pytest.raises(ValueError, match="first_token"):
        SendGate(SendLog(), lease=1.0, first_token=0)
