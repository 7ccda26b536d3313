"""ChannelBrain scenarios on virtual time: coalescing, pacing, idempotency, stop words,
retries, typing, timeouts, live settings. Exact times are asserted."""

from __future__ import annotations

import pytest

from clanker.settings import Settings
from clanker.text import (
    GENERATION_TIMEOUT_SECONDS,
    AcknowledgeStop,
    AdmissionReason,
    Attention,
    CancelGeneration,
    Decision,
    Outcome,
    PacingState,
    ShowTyping,
    StartGeneration,
)

from .driver import Driver
from .helpers import ALICE, BOB, BOT, CAROL, CHANNEL, msg, settings_with

FIXED_WINDOW = settings_with(activity={"coalesce_grace_seconds": 6})
"""The grace as long as the window: the fixed 6 s window of before, typing or not."""


def test_a_burst_of_five_in_three_seconds_gets_one_reply_to_the_latest() -> None:
    d = Driver()
    burst = [msg(f"part {i}", author=ALICE) for i in range(5)]
    for i, m in enumerate(burst):
        d.message(m, at=i * 0.75)
    assert d.starts() == []
    d.advance(100)
    ((at, job),) = d.starts()
    assert at == 4.25  # nobody typing: 1 s grace after the latest (at 3) + 0.25 s edge grace
    assert job.trigger == burst[-1]
    assert job.message_ids == tuple(m.message_id for m in burst)
    assert job.reason is AdmissionReason.AMBIENT and job.reply_target is None
    # Admitted five times, started once, and the typing indicator went up with the start.
    assert len(d.decisions(Decision.ADMITTED)) == 5
    assert [type(a).__name__ for t, a in d.log if t == 4.25] == [
        "LogDecision",
        "ShowTyping",
        "StartGeneration",
    ]


def test_with_the_grace_as_long_as_the_window_the_burst_waits_the_whole_window() -> None:
    d = Driver(FIXED_WINDOW)
    burst = [msg(f"part {i}", author=ALICE) for i in range(5)]
    for i, m in enumerate(burst):
        d.message(m, at=i * 0.75)
    d.advance(100)
    ((at, job),) = d.starts()
    assert at == 6.25  # 6 s window from the first message + 0.25 s edge grace
    assert job.message_ids == tuple(m.message_id for m in burst)


def test_the_sixth_message_closes_the_batch_at_once() -> None:
    d = Driver()
    for i in range(6):
        d.message(msg(f"m{i}"), at=i * 0.5)
    ((at, job),) = d.starts()
    assert at == 2.5 and len(job.messages) == 6


def test_a_message_on_the_edge_of_the_window_still_joins() -> None:
    d = Driver(FIXED_WINDOW)
    first = msg("a")
    d.message(first, at=0.0)
    edge = msg("b")
    d.message(edge, at=6.2)  # inside the 250 ms grace
    d.advance(10)
    ((at, job),) = d.starts()
    assert at == 6.25 and job.message_ids == (first.message_id, edge.message_id)


def test_window_zero_replies_at_once() -> None:
    d = Driver(settings_with(activity={"coalesce_window_seconds": 0}))
    m = msg("clanker hi")
    d.message(m, at=3.0)
    ((at, job),) = d.starts()
    assert at == 3.0 and job.trigger == m


def test_addressed_batch_has_a_reply_target_and_the_strongest_reason() -> None:
    d = Driver()
    asked = msg("clanker, what time is it", author=ALICE)
    chatter = msg("lol", author=BOB)
    d.message(asked, at=0)
    d.message(chatter, at=1)
    d.advance(10)
    ((_, job),) = d.starts()
    assert job.trigger == chatter
    assert job.reply_target == asked
    assert job.reason is AdmissionReason.ADDRESSED and job.attention is Attention.ACTIVE


def test_messages_during_generation_form_the_next_batch_after_the_min_gap() -> None:
    d = Driver()
    d.message(msg("first"), at=0)
    d.advance(6.25)
    late = msg("while you type")
    d.message(late, at=7)  # due at 8.25 (1 s grace + 0.25 s)
    d.finish(Outcome.SENT, at=12)
    d.advance(100)
    _, (at, second_job) = d.starts()
    assert at == 17.0  # due at 8.25, but 5 s must pass after the send at 12
    assert second_job.message_ids == (late.message_id,)
    assert d.brain.next_wakeup() is not None  # typing refresh for the second job


def test_the_min_gap_counts_from_sends_anywhere() -> None:
    d = Driver()
    d.pacing(PacingState(last_send_at=4.0, sends_last_hour=3), at=0)
    d.message(msg("clanker?"), at=0)
    d.advance(100)
    ((at, _),) = d.starts()
    assert at == 9.0  # 4 + 5 s gap (later than the batch's 1.25)


def test_the_hourly_cap_drops_the_batch_and_logs_why() -> None:
    d = Driver()
    d.pacing(PacingState(last_send_at=None, sends_last_hour=20), at=0)
    a, b = msg("clanker?"), msg("hello?")
    d.message(a, at=0)
    d.message(b, at=1)
    d.advance(100)
    assert d.starts() == []
    skipped = [(t, x.message_id, x.reason) for t, x in d.decisions(Decision.SKIPPED)]
    assert skipped == [(2.25, a.message_id, "hourly_cap"), (2.25, b.message_id, "hourly_cap")]
    assert d.brain.next_wakeup() is None


def test_an_hourly_cap_of_zero_silences_everything() -> None:
    d = Driver(settings_with(permissions={"max_messages_per_hour": 0}))
    d.message(msg("clanker?"), at=0)
    d.advance(100)
    assert d.starts() == [] and d.decisions(Decision.SKIPPED)[0][1].reason == "hourly_cap"


def test_one_trigger_is_answered_once_even_if_delivered_twice() -> None:
    d = Driver()
    m = msg("clanker?")
    d.message(m, at=0)
    d.message(m, at=1)  # a gateway replay
    d.advance(6.25)
    d.finish(Outcome.SENT, at=8)
    d.message(m, at=20)  # and again, after the answer
    d.advance(100)
    assert len(d.starts()) == 1
    dupes = [x for _, x in d.decisions(Decision.SKIPPED) if x.reason == "duplicate"]
    assert [x.message_id for x in dupes] == [m.message_id, m.message_id]


def test_a_stop_word_cancels_the_reply_in_flight_and_the_queue_with_an_ack() -> None:
    d = Driver()
    d.message(msg("clanker write me an essay"), at=0)
    d.advance(6.25)
    ((_, job),) = d.starts()
    queued = msg("also a poem")
    d.message(queued, at=7)
    stop = msg("ok stop", author=BOB)
    actions = d.message(stop, at=8)
    assert actions[0] == CancelGeneration(job_id=job.job_id, reason="stop_requested")
    assert actions[-1] == AcknowledgeStop(
        channel_id=CHANNEL,
        message_id=stop.message_id,
        cancelled_job_id=job.job_id,
        dropped_message_ids=(queued.message_id,),
    )
    assert d.brain.in_flight is None and d.brain.pending == ()
    assert d.brain.next_wakeup() is None
    # The cancelled job's late report changes nothing.
    assert d.brain.on_generation_finished(job.job_id, Outcome.SENT, 9) == []
    d.advance(100)
    assert len(d.starts()) == 1


@pytest.mark.parametrize(
    "text",
    ["stop", "never mind", "Nevermind!", "clanker, stop", f"<@{BOT}> cancel that", "nvm"],
)
def test_stop_words_that_cancel(text: str) -> None:
    d = Driver()
    d.message(msg("clanker hi"), at=0)
    actions = d.message(msg(text, author=BOB), at=1)
    assert any(isinstance(a, AcknowledgeStop) for a in actions)


def test_a_stop_word_with_nothing_to_stop_is_just_a_message() -> None:
    d = Driver()
    stop = msg("stop", author=BOB)
    actions = d.message(stop, at=0)
    assert not any(isinstance(a, AcknowledgeStop) for a in actions)
    assert [x.message_id for _, x in d.decisions(Decision.ADMITTED)] == [stop.message_id]


def test_a_blocked_user_cannot_stop_anything() -> None:
    d = Driver(settings_with(permissions={"blocked_user_ids": [CAROL]}))
    d.message(msg("clanker hi"), at=0)
    actions = d.message(msg("stop", author=CAROL), at=1)
    assert not any(isinstance(a, (AcknowledgeStop, CancelGeneration)) for a in actions)
    d.advance(100)
    assert len(d.starts()) == 1


def test_a_failed_generation_is_retried_twice_with_backoff_then_given_up() -> None:
    d = Driver()
    m = msg("clanker?")
    d.message(m, at=0)
    d.advance(1.25)
    d.finish(Outcome.FAILED, at=10, reason="llm_error")
    d.advance(100)
    d.finish(Outcome.FAILED, at=101)
    d.advance(200)
    d.finish(Outcome.FAILED, at=201)
    d.advance(1000)
    starts = d.starts()
    assert [(t, j.attempt, j.message_ids) for t, j in starts] == [
        (1.25, 1, (m.message_id,)),
        (12.5, 2, (m.message_id,)),  # 2.5 s x attempt 1
        (106.0, 3, (m.message_id,)),  # 2.5 s x attempt 2
    ]
    assert [x.reason for _, x in d.decisions(Decision.RETRYING)] == ["llm_error", "failed"]
    assert [x.reason for _, x in d.decisions(Decision.FAILED)] == ["failed"]


def test_a_retry_takes_along_what_arrived_meanwhile() -> None:
    d = Driver()
    a = msg("clanker?")
    d.message(a, at=0)
    d.advance(6.25)
    b = msg("hello??")
    d.message(b, at=7)
    d.finish(Outcome.FAILED, at=8)
    d.advance(100)
    (_, retry) = d.starts()[1]
    assert retry.message_ids == (a.message_id, b.message_id) and retry.attempt == 2


def test_typing_is_refreshed_while_generating_and_a_stuck_generation_times_out() -> None:
    d = Driver()
    d.message(msg("clanker?"), at=0)
    d.advance(1.25 + 20)
    typing = [t for t, a in d.of_type(ShowTyping)]
    assert typing == [1.25, 9.25, 17.25]
    d.advance(1000)
    ((at, cancel),) = d.of_type(CancelGeneration)
    assert at == 1.25 + GENERATION_TIMEOUT_SECONDS and cancel.reason == "timeout"
    assert d.decisions(Decision.FAILED)[-1][1].reason == "timeout"
    assert d.brain.in_flight is None and d.brain.next_wakeup() is None


def test_skips_and_claims_lost_are_logged_with_their_reason() -> None:
    d = Driver()
    d.message(msg("hm"), at=0)
    d.advance(6.25)
    d.finish(Outcome.SKIPPED, at=7, reason="llm_skip")
    d.message(msg("clanker?"), at=8)
    d.advance(20)
    d.finish(Outcome.ALREADY_ANSWERED, at=21)
    reasons = [x.reason for _, x in d.decisions(Decision.SKIPPED)]
    assert reasons == ["llm_skip", "already_answered"]
    # Neither counts as a send: the next start is not held back by the min gap.
    d.message(msg("clanker??"), at=30)
    d.advance(100)
    assert d.starts()[-1][0] == 31.25


def test_settings_that_block_the_channel_stop_everything_at_once() -> None:
    d = Driver()
    d.message(msg("clanker essay"), at=0)
    d.advance(6.25)
    waiting = msg("and more")
    d.message(waiting, at=7)
    actions = d.settings(settings_with(permissions={"blocked_channel_ids": [CHANNEL]}), at=8)
    assert isinstance(actions[0], CancelGeneration)
    assert actions[0].reason == "settings:channel_blocked"
    assert [x.message_id for _, x in d.decisions(Decision.SKIPPED)] == [waiting.message_id]
    assert d.brain.next_wakeup() is None


def test_a_reply_already_going_out_is_not_cancelled_but_finished_as_sent() -> None:
    d = Driver()
    d.message(msg("clanker essay"), at=0)
    d.advance(6.25)
    [(_, job)] = d.starts()
    assert d.brain.on_send_starting(job.job_id) is True  # the send begins
    waiting = msg("and more")
    d.message(waiting, at=7)
    actions = d.settings(settings_with(permissions={"blocked_channel_ids": [CHANNEL]}), at=8)
    assert not [a for a in actions if isinstance(a, CancelGeneration)]
    assert [x.message_id for _, x in d.decisions(Decision.SKIPPED)] == [waiting.message_id]
    assert d.decisions(Decision.CANCELLED) == []
    d.advance(500)  # past the generation deadline: a send in progress is not timed out
    assert d.decisions(Decision.FAILED) == []
    d.finish(Outcome.SENT, at=501)
    assert [x.reason for _, x in d.decisions(Decision.SENT)] == ["sent"]
    assert d.brain.next_wakeup() is None


def test_a_job_cancelled_before_its_send_sends_nothing() -> None:
    d = Driver()
    d.message(msg("clanker essay"), at=0)
    d.advance(6.25)
    [(_, job)] = d.starts()
    d.settings(settings_with(permissions={"blocked_channel_ids": [CHANNEL]}), at=8)
    assert [x.reason for _, x in d.decisions(Decision.CANCELLED)] == ["settings:channel_blocked"]
    assert d.brain.on_send_starting(job.job_id) is False  # the task must not send


def test_a_shorter_coalesce_window_applies_to_the_open_batch() -> None:
    d = Driver(FIXED_WINDOW)
    d.message(msg("a"), at=0)
    shorter = {"coalesce_window_seconds": 2, "coalesce_grace_seconds": 6}
    d.settings(settings_with(activity=shorter), at=1)  # the window caps the longer grace
    d.advance(100)
    assert d.starts()[0][0] == 2.25


def test_a_newly_blocked_user_leaves_the_queue() -> None:
    d = Driver()
    a, b = msg("hi", author=ALICE), msg("yo", author=BOB)
    d.message(a, at=0)
    d.message(b, at=1)
    d.settings(settings_with(permissions={"blocked_user_ids": [BOB]}), at=2)
    d.advance(100)
    ((_, job),) = d.starts()
    assert job.message_ids == (a.message_id,)


def test_a_deleted_pending_message_is_not_answered() -> None:
    d = Driver()
    m = msg("clanker?")
    d.message(m, at=0)
    actions = d.brain.on_message_deleted(m.message_id, 1)
    assert actions[0].reason == "deleted"  # type: ignore[union-attr]
    assert d.brain.next_wakeup() is None
    d.advance(100)
    assert d.starts() == []


def test_pacing_updates_do_not_forget_this_channels_own_send() -> None:
    d = Driver()
    d.message(msg("clanker?"), at=0)
    d.advance(6.25)
    d.finish(Outcome.SENT, at=10)
    # The keeper's snapshot predates the send it has not recorded yet.
    d.pacing(PacingState(last_send_at=2.0, sends_last_hour=1), at=10.5)
    assert d.brain.pacing == PacingState(last_send_at=10.0, sends_last_hour=2)
    d.message(msg("clanker again"), at=11)
    d.advance(100)
    assert d.starts()[-1][0] == 15.0  # 5 s after the send at 10 (later than its 12.25)


def test_own_messages_are_remembered_not_answered() -> None:
    d = Driver(settings_with(activity={"coalesce_window_seconds": 0}))
    d.message(msg("hey clanker", author=ALICE), at=0)
    own = msg("hey alice", author=BOT, reply_to_author=ALICE)
    assert d.message(own, at=1) == []
    assert d.brain.latest_message_id == own.message_id
    # They shape attention: alice answering the bot is in a conversation with it, bob is not.
    d.message(msg("what's new", author=ALICE), at=2)
    d.message(msg("what's new", author=BOB), at=3)
    admitted = [x.reason for _, x in d.decisions(Decision.ADMITTED)]
    assert admitted == ["addressed", "active_conversation", "ambient"]


def test_refused_messages_are_logged_with_the_reason() -> None:
    d = Driver(settings_with(permissions={"allow_unsolicited_replies": False}))
    m = msg("nice weather")
    d.message(m, at=0)
    ((_, x),) = d.decisions()
    assert (x.decision, x.reason, x.message_id, x.user_id) == (
        Decision.SKIPPED,
        "unsolicited_disabled",
        m.message_id,
        ALICE,
    )


def test_a_message_of_another_channel_is_a_wiring_error() -> None:
    d = Driver()
    with pytest.raises(ValueError, match="ChannelBrain for channel 10 was fed message"):
        d.message(msg("hi", channel_id=99))


def test_actions_and_jobs_survive_the_wire() -> None:
    import msgspec

    from clanker.text import Action

    d = Driver()
    d.message(msg("clanker?"), at=0)
    d.advance(10)
    d.message(msg("stop", author=BOB), at=11)
    encoder = msgspec.msgpack.Encoder()
    decoder = msgspec.msgpack.Decoder(Action)
    for _, action in d.log:
        assert decoder.decode(encoder.encode(action)) == action
    assert {type(a) for _, a in d.log} >= {StartGeneration, ShowTyping, AcknowledgeStop}


def test_decision_metadata_carries_ids_as_strings() -> None:
    d = Driver(Settings())
    d.message(msg("clanker?", message_id=2**62), at=0)
    d.advance(10)
    started = d.decisions(Decision.STARTED)[0][1]
    assert started.metadata() == {
        "decision": "started",
        "reason": "addressed",
        "job_id": 1,
        "message_ids": [str(2**62)],
    }


def test_seeded_history_shapes_attention_but_is_not_marked_answered() -> None:
    asked = msg("clanker?", author=ALICE)
    answer = msg("yep", author=BOT, reply_to_author=ALICE)
    d = Driver()
    d.brain.seed_history([asked, answer])
    assert d.brain.latest_message_id == answer.message_id
    d.message(msg("so what now", author=ALICE), at=0)
    # A seeded message delivered again (e.g. by catch-up) is still admitted once.
    d.message(asked, at=1)
    reasons = [x.reason for _, x in d.decisions(Decision.ADMITTED)]
    assert reasons == ["active_conversation", "addressed"]
