"""OutputState: phases from queued audio and clankvox telemetry; what a barge-in heard."""

from __future__ import annotations

import pytest

from clanker.voice.brain.output import OutputState, Phase


def test_phases_through_one_reply() -> None:
    out = OutputState(stale_after=1.6)
    assert out.phase(0.0) is Phase.IDLE
    out.reply_started(1, 0.0)
    assert out.phase(0.1) is Phase.RESPONSE_PENDING
    assert out.busy(0.1)
    out.audio_queued(1, "Hello there.", 24_000, 24_000, 0.5)  # 1 s of speech
    assert out.phase(0.6) is Phase.SPEAKING_LIVE
    out.reply_made(1, 0.7)
    out.tts_state(True, 0.52)
    assert out.phase(0.9) is Phase.SPEAKING_BUFFERED
    assert out.next_change(0.9) == pytest.approx(0.9 + 0.6 + 0.05)
    out.buffer_depth(24_000, 1.0)  # clankvox: half a second still held (48 kHz)
    assert out.played_samples(1.0) == 24_000
    assert out.phase(1.4) is Phase.SPEAKING_BUFFERED
    out.tts_state(False, 1.5)
    assert out.phase(1.5) is Phase.IDLE
    assert not out.busy(1.5) and out.busy(1.5, music_playing=True)


def test_a_skipped_reply_frees_the_output() -> None:
    out = OutputState()
    out.reply_started(3, 0.0)
    out.reply_made(3, 0.4)
    assert out.phase(0.4) is Phase.IDLE


def test_stale_telemetry_does_not_hold_the_output_forever() -> None:
    out = OutputState(stale_after=1.6)
    out.reply_started(1, 0.0)
    out.audio_queued(1, "A long answer.", 48_000 * 10, 48_000, 0.0)
    out.reply_made(1, 0.0)
    out.tts_state(True, 0.0)
    out.buffer_depth(48_000 * 9, 1.0)
    # clankvox went silent (died): with no reports the estimate plays it out at 10 s, and
    # buffered-but-stale telemetry no longer counts after that
    assert out.phase(9.0) is Phase.SPEAKING_BUFFERED
    assert out.phase(11.5) is Phase.IDLE


def test_barge_in_reports_what_was_heard() -> None:
    out = OutputState()
    out.reply_started(1, 0.0)
    out.audio_queued(1, "First sentence here.", 48_000, 48_000, 0.2)  # 1 s
    out.audio_queued(1, "Second one is much longer indeed.", 96_000, 48_000, 0.4)  # 2 s
    # no telemetry yet: estimate from the first audio
    assert out.heard_text(1.2) == "First sentence here."
    reply_id, seconds, heard = out.stopped(2.2)  # 2.0 s played: half of the second
    assert reply_id == 1
    assert seconds == pytest.approx(2.0)
    assert heard == "First sentence here. Second one is —"
    assert out.phase(2.2) is Phase.IDLE
    assert out.stopped(2.3) == (None, 0.0, "")


def test_audio_of_an_old_reply_is_ignored() -> None:
    out = OutputState()
    out.reply_started(1, 0.0)
    out.reply_started(2, 0.1)
    out.audio_queued(1, "old", 48_000, 48_000, 0.2)
    assert out.phase(0.3) is Phase.RESPONSE_PENDING
