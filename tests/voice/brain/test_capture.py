"""CaptureDesk: promotion, end of turn (VAD stop + model + fallback), max-duration banking."""

from __future__ import annotations

import pytest

from clanker.voice.brain.capture import (
    CaptureConfig,
    CaptureDesk,
    CheckTurn,
    Dropped,
    DropReason,
    EndReason,
    Finalized,
    Promoted,
    SpeculationStale,
)

FRAME = 512  # samples per VAD frame at 16 kHz = 32 ms
CHUNK = b"\x01\x00" * FRAME


def feed(desk: CaptureDesk, user: int, start: float, frames: int, p: float) -> list[object]:
    """`frames` VAD frames of probability `p`, one per 32 ms from `start`."""
    out: list[object] = []
    for i in range(frames):
        out += desk.audio(user, start + (i + 1) * 0.032, CHUNK, [p])
    return out


def test_provisional_capture_is_promoted_by_speech_and_silence_asks_the_model() -> None:
    desk = CaptureDesk()
    assert desk.start(7, 0.0) == []
    assert desk.speaking() == set()
    out = feed(desk, 7, 0.0, 6, 0.9)  # 192 ms of speech: not yet 200 ms
    assert out == []
    out = feed(desk, 7, 0.192, 1, 0.9)
    assert out == [Promoted(user_id=7, started_at=0.0)]
    assert desk.speaking() == {7}
    feed(desk, 7, 0.224, 20, 0.95)  # to 0.864 s
    last = 0.224 + 20 * 0.032
    assert desk.next_deadline() == pytest.approx(last + 0.2)
    assert desk.tick(last + 0.19) == []
    (check,) = desk.tick(last + 0.2)
    assert isinstance(check, CheckTurn) and check.user_id == 7
    assert len(check.pcm) == 27 * FRAME * 2
    (done,) = desk.turn_checked(7, check.check_id, 0.93, last + 0.236)
    assert isinstance(done, Finalized)
    assert done.reason is EndReason.TURN_COMPLETE
    assert done.ended_at == pytest.approx(last)
    assert done.decided_at == pytest.approx(last + 0.236)
    assert done.speech_seconds == pytest.approx(27 * 0.032)
    assert not done.banked
    assert desk.speaking() == set()


def test_incomplete_turn_waits_then_the_fallback_ends_it() -> None:
    desk = CaptureDesk(CaptureConfig(incomplete_wait=1.2))
    feed(desk, 1, 0.0, 20, 0.9)
    last = 0.64
    (check,) = desk.tick(last + 0.2)
    assert isinstance(check, CheckTurn)
    assert desk.turn_checked(1, check.check_id, 0.04, last + 0.24) == []
    assert desk.tick(last + 0.5) == []  # the same silence is not checked twice
    assert desk.next_deadline() == pytest.approx(last + 1.2)
    (done,) = desk.tick(last + 1.2)
    assert isinstance(done, Finalized) and done.reason is EndReason.SILENCE


def test_speech_resuming_during_the_check_makes_its_answer_stale() -> None:
    desk = CaptureDesk()
    feed(desk, 1, 0.0, 20, 0.9)
    (check,) = desk.tick(0.84)
    feed(desk, 1, 0.84, 5, 0.9)  # talking again
    assert desk.turn_checked(1, check.check_id, 0.99, 1.0) == []
    assert desk.speaking() == {1}
    last = 0.84 + 5 * 0.032
    (check2,) = desk.tick(last + 0.2)
    assert isinstance(check2, CheckTurn) and check2.check_id != check.check_id


def test_a_slow_model_is_not_waited_for_beyond_its_timeout() -> None:
    desk = CaptureDesk(CaptureConfig(check_timeout=0.5, incomplete_wait=1.2))
    feed(desk, 1, 0.0, 20, 0.9)
    (check,) = desk.tick(0.84)
    assert desk.next_deadline() == pytest.approx(1.34)
    assert desk.tick(1.34) == []
    # its late answer is ignored; the fallback still ends the turn
    assert desk.turn_checked(1, check.check_id, 0.99, 1.4) == []
    (done,) = desk.tick(0.64 + 1.2)
    assert isinstance(done, Finalized) and done.reason is EndReason.SILENCE


def test_noise_without_speech_is_dropped_unheard() -> None:
    desk = CaptureDesk(CaptureConfig(provisional_abort=1.0))
    desk.start(3, 0.0)
    out = feed(desk, 3, 0.0, 31, 0.1)
    assert out == []
    (drop,) = feed(desk, 3, 0.992, 1, 0.1)
    assert drop == Dropped(user_id=3, capture_id=1, reason=DropReason.NO_SPEECH, promoted=False)
    assert desk.capture(3) is None


def test_stream_end_of_a_provisional_capture_drops_it_and_of_a_promoted_one_finalizes() -> None:
    desk = CaptureDesk()
    feed(desk, 1, 0.0, 3, 0.9)
    feed(desk, 2, 0.0, 12, 0.9)
    (a,) = desk.stream_end(1, 0.5)
    (b,) = desk.stream_end(2, 0.5)
    assert isinstance(a, Dropped) and a.reason is DropReason.NO_SPEECH
    assert isinstance(b, Finalized) and b.reason is EndReason.STREAM_END
    assert desk.stream_end(2, 0.6) == []


def test_max_duration_cuts_and_banks() -> None:
    desk = CaptureDesk(CaptureConfig(max_duration=2.0))
    out = feed(desk, 1, 0.0, 63, 0.9)  # 2.016 s
    finals = [a for a in out if isinstance(a, Finalized)]
    assert len(finals) == 1
    assert finals[0].reason is EndReason.MAX_DURATION and finals[0].banked
    assert finals[0].decided_at == pytest.approx(63 * 0.032)
    assert desk.capture(1) is None


def test_a_short_promoted_clip_is_dropped_as_too_short() -> None:
    desk = CaptureDesk(CaptureConfig(min_clip=0.3))
    feed(desk, 1, 0.0, 8, 0.9)  # 256 ms
    (drop,) = desk.tick(0.256 + 1.2)
    assert isinstance(drop, Dropped) and drop.reason is DropReason.TOO_SHORT


def test_bad_input_is_refused_by_name() -> None:
    desk = CaptureDesk()
    with pytest.raises(ValueError, match="odd byte count"):
        desk.audio(1, 0.0, b"\x00", [])
    with pytest.raises(ValueError, match="vad_stop"):
        CaptureConfig(vad_stop=0)
    with pytest.raises(ValueError, match="incomplete_wait"):
        CaptureConfig(vad_stop=1.0, incomplete_wait=0.5)


# -- speculative recognition -------------------------------------------------------------------


def test_without_speculation_nothing_is_asked_to_be_transcribed_early() -> None:
    desk = CaptureDesk()
    feed(desk, 1, 0.0, 20, 0.9)
    (check,) = desk.tick(0.84)
    assert isinstance(check, CheckTurn) and not check.speculate
    (done,) = desk.turn_checked(1, check.check_id, 0.9, 0.87)
    assert isinstance(done, Finalized) and not done.speculative


def test_a_turn_ended_at_its_first_check_is_the_speculated_audio() -> None:
    desk = CaptureDesk(speculate=True)
    feed(desk, 1, 0.0, 20, 0.9)
    (check,) = desk.tick(0.84)
    assert isinstance(check, CheckTurn)
    assert check.speculate and check.capture_id == 1
    assert len(check.pcm) == 20 * FRAME * 2
    (done,) = desk.turn_checked(1, check.check_id, 0.9, 0.87)
    assert isinstance(done, Finalized)
    assert done.speculative and done.capture_id == check.capture_id and done.pcm == check.pcm


def test_the_silence_fallback_with_no_audio_since_the_check_uses_the_speculation() -> None:
    desk = CaptureDesk(CaptureConfig(incomplete_wait=1.2), speculate=True)
    feed(desk, 1, 0.0, 20, 0.9)
    (check,) = desk.tick(0.84)
    assert desk.turn_checked(1, check.check_id, 0.1, 0.87) == []  # "not done yet"
    (done,) = desk.tick(0.64 + 1.2)  # Discord sent nothing meanwhile
    assert isinstance(done, Finalized) and done.reason is EndReason.SILENCE
    assert done.speculative and done.pcm == check.pcm


def test_audio_after_the_check_makes_the_speculation_stale_and_the_clip_is_fresh() -> None:
    desk = CaptureDesk(CaptureConfig(incomplete_wait=1.2), speculate=True)
    feed(desk, 1, 0.0, 20, 0.9)
    (check,) = desk.tick(0.84)
    assert desk.turn_checked(1, check.check_id, 0.1, 0.87) == []
    stale = feed(desk, 1, 0.9, 2, 0.1)  # decoded silence: more samples, no speech
    assert stale == [SpeculationStale(user_id=1, capture_id=1, samples=20 * FRAME)]
    (done,) = desk.tick(0.64 + 1.2)
    assert isinstance(done, Finalized)
    assert not done.speculative and len(done.pcm) == 22 * FRAME * 2


def test_a_member_who_goes_on_is_speculated_again_on_the_whole_clip() -> None:
    desk = CaptureDesk(speculate=True)
    feed(desk, 1, 0.0, 20, 0.9)
    (first,) = desk.tick(0.84)
    assert desk.turn_checked(1, first.check_id, 0.1, 0.87) == []
    out = feed(desk, 1, 0.9, 10, 0.9)  # talking again
    assert out[0] == SpeculationStale(user_id=1, capture_id=1, samples=20 * FRAME)
    assert len(out) == 1  # stale once, not once per chunk
    last = 0.9 + 10 * 0.032
    (second,) = desk.tick(last + 0.2)
    assert isinstance(second, CheckTurn) and second.speculate
    assert len(second.pcm) == 30 * FRAME * 2
    (done,) = desk.turn_checked(1, second.check_id, 0.9, last + 0.23)
    assert isinstance(done, Finalized)
    assert done.speculative and done.pcm == second.pcm != first.pcm


def test_a_max_duration_cut_after_a_check_is_not_the_speculated_audio() -> None:
    desk = CaptureDesk(CaptureConfig(max_duration=2.0), speculate=True)
    feed(desk, 1, 0.0, 40, 0.9)
    (check,) = desk.tick(1.28 + 0.2)
    assert isinstance(check, CheckTurn) and check.speculate
    out = feed(desk, 1, 1.5, 23, 0.9)  # speech resumes, to 2.016 s of audio
    assert isinstance(out[0], SpeculationStale)
    (cut,) = [a for a in out if isinstance(a, Finalized)]
    assert cut.banked and not cut.speculative
