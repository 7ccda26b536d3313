"""Typing-aware coalescing: the reply queue's due time from who is typing, and the brain fed
TYPING_START on virtual time. Exact times are asserted (defaults: window 6 s, grace 1 s, the
250 ms edge grace on both, typing lasts 10 s after each TYPING_START)."""

from __future__ import annotations

import pytest

from clanker.text import Admission, AdmissionReason, Outcome, QueuedMessage, ReplyQueue
from clanker.text.coalescing import TYPING_SECONDS

from .driver import Driver
from .helpers import ALICE, BOB, BOT, CAROL, CHANNEL, OTHER_BOT, msg, settings_with

ADMITTED = Admission(admitted=True, reason=AdmissionReason.ADDRESSED)
WIDE = settings_with(activity={"coalesce_window_seconds": 20})
"""A 20 s window, so a test of typing is not cut short by the cap."""


def queued(at: float, author: int = ALICE) -> QueuedMessage:
    return QueuedMessage(message=msg("x", author=author), admission=ADMITTED, queued_at=at)


def queue(window: float = 6.0, grace: float | None = 1.0, max_messages: int = 6) -> ReplyQueue:
    return ReplyQueue(window=window, max_messages=max_messages, grace=grace)


# --- the queue, sans-IO ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arrivals", "due"),
    [
        ([0.0], 1.25),  # nobody typing: 1 s grace + 0.25 s edge grace
        ([0.0, 0.5], 1.75),  # counted from the latest message
        ([0.0, 1.0, 2.0, 3.0, 4.0], 5.25),
        ([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], 5.0),  # the 6th closes it at once, as before
        ([0.0, 1.2, 2.4, 3.6, 4.8], 6.05),  # 4.8 + 1.25, still inside the window (6.25)
    ],
)
def test_with_nobody_typing_the_batch_is_due_a_grace_after_its_latest_message(
    arrivals: list[float], due: float
) -> None:
    q = queue()
    for at in arrivals:
        q.add(queued(at))
    assert q.due_at() == pytest.approx(due)
    assert q.typing_until() is None


def test_the_window_caps_the_grace() -> None:
    q = queue()
    for at in (0.0, 1.2, 2.4, 3.6, 4.8, 5.9):
        q.add(queued(at))
    q2 = queue(max_messages=10)
    for at in (0.0, 1.2, 2.4, 3.6, 4.8, 5.9):
        q2.add(queued(at))
    assert q.due_at() == 5.9  # six messages: at once
    assert q2.due_at() == 6.25  # 5.9 + 1.25 would be 7.15: the window from 0 ends first


def test_typing_extends_the_due_time_while_it_goes_on_up_to_the_window() -> None:
    q = queue(window=20.0)
    q.add(queued(0.0))
    q.typing(BOB, 0.5)
    assert q.due_at() == 0.5 + TYPING_SECONDS  # until bob's typing lapses
    q.typing(BOB, 8.0)  # his client sends TYPING_START again while he types
    assert q.due_at() == 18.0
    q.typing(BOB, 15.0)
    assert q.due_at() == 20.25  # never past the window (+0.25 s) from the first message


def test_the_authors_message_ends_their_typing() -> None:
    q = queue()
    q.typing(ALICE, 0.0)  # alice types her message...
    q.add(queued(2.0))
    assert q.due_at() == 8.25  # were she still typing: the window from her message at 2
    q.message_from(ALICE)  # ...and posts it: her typing is over
    assert q.due_at() == 3.25 and q.typing_until() is None


def test_lapsed_typing_holds_nothing() -> None:
    q = queue()
    q.typing(BOB, 0.0)
    q.add(queued(20.0))
    assert q.due_at() == 21.25  # bob's typing lapsed at 10
    q.typing(CAROL, 20.5)  # and is forgotten with the next TYPING_START
    assert q.typing_until() == 30.5
    q.message_from(CAROL)
    assert q.typing_until() is None


def test_without_a_grace_the_queue_keeps_the_fixed_window() -> None:
    q = queue(grace=None)
    q.add(queued(0.0))
    assert q.due_at() == 6.25
    q.typing(BOB, 0.5)
    assert q.due_at() == 6.25
    q.configure(window=6.0, max_messages=6, grace=1.0)
    assert q.due_at() == 6.25  # bob is still typing
    q.message_from(BOB)
    assert q.due_at() == 1.25


def test_the_queue_remembers_a_bounded_number_of_typists() -> None:
    q = ReplyQueue(window=20.0, max_messages=6, grace=1.0, typing_capacity=2)
    q.add(queued(0.0))
    for user, at in ((1, 0.1), (2, 0.2), (3, 0.3)):
        q.typing(user, at)
    q.message_from(2)
    q.message_from(3)
    assert q.typing_until() is None  # user 1, the oldest, was forgotten


# --- the brain ------------------------------------------------------------------------------


def test_a_single_addressed_message_with_nobody_typing_starts_after_the_grace() -> None:
    d = Driver()
    d.message(msg("clanker, you there?"), at=0)
    d.advance(100)
    ((at, _),) = d.starts()
    assert at == 1.25


def test_a_typed_burst_of_five_is_one_job() -> None:
    # Alice types each part for 1.8 s and posts it; her client sends TYPING_START on the first
    # key after each post. 2 s between parts is longer than the grace: only her typing holds
    # the batch open.
    d = Driver(WIDE)
    parts = [msg(f"part {i}", author=ALICE) for i in range(5)]
    for i, part in enumerate(parts):
        d.typing(ALICE, at=2.0 * i)
        d.message(part, at=2.0 * i + 1.8)
    d.advance(100)
    ((at, job),) = d.starts()
    assert at == 8.0 + 1.8 + 1.25  # a grace after the last part: nobody types any more
    assert job.message_ids == tuple(p.message_id for p in parts)


def test_the_same_burst_untyped_is_answered_from_the_first_part() -> None:
    d = Driver(WIDE)
    parts = [msg(f"part {i}", author=ALICE) for i in range(5)]
    for i, part in enumerate(parts):
        d.message(part, at=2.0 * i + 1.8)
    d.advance(100)
    ((at, job),) = d.starts()  # the rest wait for the first reply to finish
    assert at == 3.05 and job.message_ids == (parts[0].message_id,)


def test_someone_else_typing_holds_the_reply_up_to_the_window() -> None:
    d = Driver()
    d.message(msg("clanker, what do you think?"), at=0)
    d.typing(BOB, at=0.5)  # bob is about to chime in...
    d.typing(BOB, at=5.0)  # ...and still typing
    d.advance(100)
    ((at, _),) = d.starts()
    assert at == 6.25  # the window, not bob's typing until 15


def test_another_members_message_joins_the_batch_and_ends_their_typing() -> None:
    d = Driver()
    asked = msg("clanker, what do you think?", author=ALICE)
    d.message(asked, at=0)
    d.typing(BOB, at=0.5)
    chimed = msg("me too, curious", author=BOB)
    d.message(chimed, at=2.0)
    d.advance(100)
    ((at, job),) = d.starts()
    assert at == 3.25 and job.message_ids == (asked.message_id, chimed.message_id)
    assert job.reply_target == asked


@pytest.mark.parametrize(
    ("user", "is_bot", "channel"),
    [
        (BOT, False, CHANNEL),  # the bot itself (Discord does not send it; ignored anyway)
        (OTHER_BOT, True, CHANNEL),  # another bot
        (BOB, False, CHANNEL + 1),  # another channel
        (CAROL, False, CHANNEL),  # a blocked user
    ],
)
def test_typing_that_does_not_count(user: int, is_bot: bool, channel: int) -> None:
    d = Driver(settings_with(permissions={"blocked_user_ids": [CAROL]}))
    d.message(msg("clanker, you there?"), at=0)
    assert d.typing(user, at=0.5, channel_id=channel, is_bot=is_bot) == []
    d.advance(100)
    ((at, _),) = d.starts()
    assert at == 1.25


def test_typing_before_the_message_counts_and_lapses() -> None:
    d = Driver(WIDE)
    d.typing(BOB, at=0)  # bob was typing before alice spoke
    d.message(msg("clanker?"), at=3)
    d.advance(100)
    ((at, _),) = d.starts()
    assert at == 10.0  # his typing lapsed then (10 s after it started)


def test_typing_while_a_reply_generates_holds_the_next_batch() -> None:
    d = Driver(settings_with(activity={"min_gap_seconds": 0}))
    d.message(msg("clanker?"), at=0)
    d.advance(1.25)
    late = msg("and another thing")
    d.message(late, at=2)
    d.typing(ALICE, at=2.5)  # typing more
    d.finish(Outcome.SENT, at=3)
    d.advance(100)
    _, (at, job) = d.starts()
    assert at == 8.25 and job.message_ids == (late.message_id,)  # the window from 2


def test_a_grace_as_long_as_the_window_ignores_typing() -> None:
    d = Driver(settings_with(activity={"coalesce_grace_seconds": 6}))
    d.message(msg("clanker?"), at=0)
    d.typing(BOB, at=0.5)
    d.advance(100)
    assert [t for t, _ in d.starts()] == [6.25]


def test_a_new_grace_applies_to_the_open_batch() -> None:
    d = Driver(settings_with(activity={"coalesce_grace_seconds": 6}))
    d.message(msg("clanker?"), at=0)
    d.settings(settings_with(activity={"coalesce_grace_seconds": 2}), at=1)
    d.advance(100)
    assert [t for t, _ in d.starts()] == [2.25]
