"""Speculative recognition in the voice brain, on virtual time: the clip is transcribed from the
VAD stop beside the end-of-turn model; the turn uses that transcript when it ends on the same
audio, and a member who speaks on is transcribed again on the whole clip (see room.py)."""

from __future__ import annotations

from collections import deque

import pytest
import trio
import trio.testing

from clanker.runtime import open_runtime
from clanker.voice.brain.actor import GetVoiceBrainStatus, TurnRecord, VoiceBrainStatus
from clanker.voice.models.base import ModelError, Transcript

from .room import ALICE, FRAME, Playout, RoomProvider, StubModels, connect, member_says, room_spec


def near(x: float) -> object:
    return pytest.approx(x, abs=1e-6)


async def one_turn(*, speculative_asr: bool) -> tuple[StubModels, RoomProvider, float, TurnRecord]:
    """Alice says 1 s; the end-of-turn model takes 0.15 s, recognition 0.1 s."""
    models = StubModels(turn_delay=0.15, asr_delay=0.1, transcripts=deque(["what time is it"]))
    provider = RoomProvider(lambda p: "It is noon.")
    playout = Playout()
    spec = room_spec(models, provider, playout, speculative_asr=speculative_asr)
    async with open_runtime(spec) as rt:
        await connect(rt)
        speech_end = await member_says(rt, ALICE, 1.0)
        await trio.sleep(3.0)
        st = await rt.lookup("brain").ask(GetVoiceBrainStatus(), VoiceBrainStatus)
    (turn,) = st.turns
    return models, provider, speech_end, turn


async def test_the_transcript_is_ready_when_the_turn_ends_at_its_first_check(
    autojump_clock: trio.testing.MockClock,
) -> None:
    models, provider, speech_end, turn = await one_turn(speculative_asr=True)
    samples = 55 * FRAME  # 1 s of speech and 0.1 s of decoded silence, all before the check
    # recognition starts with the end-of-turn check at the VAD stop (0.2 s) ...
    assert models.turn_checks == [near(speech_end + 0.2)]
    assert models.transcribed == [(near(speech_end + 0.2), samples)]  # once, not again
    # ... is done at +0.3; the model says "complete" at +0.35: the transcript is there
    assert provider.asked_at == [near(speech_end + 0.35)]
    assert "Alice: what time is it" in provider.prompts[0]
    assert turn.outcome == "spoken" and turn.asr == "speculative"
    assert turn.speech_end_to_decided == near(0.35)
    assert turn.decided_to_transcript == near(0.0)


async def test_without_speculation_the_same_turn_is_later_by_the_recognition_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    models, provider, speech_end, turn = await one_turn(speculative_asr=False)
    assert models.transcribed == [(near(speech_end + 0.35), 55 * FRAME)]
    assert provider.asked_at == [near(speech_end + 0.35 + 0.1)]  # asr_delay later
    assert turn.asr == "fresh"
    assert turn.decided_to_transcript == near(0.1)


async def test_a_member_who_goes_on_gets_a_transcript_of_the_whole_clip(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The first speculation finishes ("what is the") before Alice speaks on: it must not be used.
    models = StubModels(
        complete=0.1, transcripts=deque(["what is the", "what is the capital of France"])
    )
    provider = RoomProvider(lambda p: "Paris.")
    playout = Playout()
    spec = room_spec(models, provider, playout, speculative_asr=True)
    async with open_runtime(spec) as rt:
        await connect(rt)
        # 51 loud chunks + 5 quiet = 56 chunks: 35 VAD frames exactly, so the second part's
        # frames are aligned as member_says assumes
        end1 = await member_says(rt, ALICE, 1.02)
        await trio.sleep_until(end1 + 0.4)  # checked ("not done"), speculated, finished
        assert models.turn_checks == [near(end1 + 0.2)]
        assert models.transcribed == [(near(end1 + 0.2), 56 * FRAME)]
        assert provider.asked_at == []
        models.complete = 0.9
        end2 = await member_says(rt, ALICE, 1.0)
        await trio.sleep(3.0)
        st = await rt.lookup("brain").ask(GetVoiceBrainStatus(), VoiceBrainStatus)
    whole = (56 + 55) * FRAME
    assert models.turn_checks == [near(end1 + 0.2), near(end2 + 0.2)]
    assert models.transcribed == [(near(end1 + 0.2), 56 * FRAME), (near(end2 + 0.2), whole)]
    # decided at +0.23 (the model's 0.03 s), transcript of the whole clip at +0.3
    assert provider.asked_at == [near(end2 + 0.3)]
    assert "Alice: what is the capital of France" in provider.prompts[0]
    (turn,) = st.turns
    assert turn.said == "what is the capital of France" and turn.asr == "speculative"


async def test_audio_after_the_check_gets_a_fresh_transcript_at_the_end_of_turn(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # decoded silence still arriving after the VAD stop: the speculated audio is not the clip
    models = StubModels(transcripts=deque(["what time is it"]))
    provider = RoomProvider(lambda p: "Noon.")
    playout = Playout()
    spec = room_spec(models, provider, playout, speculative_asr=True)
    async with open_runtime(spec) as rt:
        await connect(rt)
        speech_end = await member_says(rt, ALICE, 1.0, trailing_silence=0.3)
        await trio.sleep(3.0)
        st = await rt.lookup("brain").ask(GetVoiceBrainStatus(), VoiceBrainStatus)
    (speculated, fresh) = models.transcribed
    assert speculated[0] == near(speech_end + 0.2)
    # the model says "complete" at +0.23: recognised afresh then, on more audio
    assert fresh[0] == near(speech_end + 0.23) and fresh[1] > speculated[1]
    assert provider.asked_at == [near(speech_end + 0.33)]
    (turn,) = st.turns
    assert turn.said == "what time is it"
    assert turn.asr == "fresh" and turn.decided_to_transcript == near(0.1)


class FailingOnce(StubModels):
    """The first recognition (the speculative one) fails as the model would."""

    async def transcribe(self, pcm: bytes, sample_rate: int, *, prompt: str = "") -> Transcript:
        if not self.transcribed:
            self.transcribed.append((trio.current_time(), len(pcm) // 2))
            await trio.sleep(self.asr_delay)
            raise ModelError("Whisper: inference failed: test")
        return await super().transcribe(pcm, sample_rate, prompt=prompt)


async def test_a_failed_speculation_is_recognised_afresh_at_the_end_of_turn(
    autojump_clock: trio.testing.MockClock,
) -> None:
    models = FailingOnce(turn_delay=0.15, asr_delay=0.1, transcripts=deque(["what time is it"]))
    provider = RoomProvider(lambda p: "Noon.")
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout, speculative_asr=True)) as rt:
        await connect(rt)
        speech_end = await member_says(rt, ALICE, 1.0)
        await trio.sleep(3.0)
        st = await rt.lookup("brain").ask(GetVoiceBrainStatus(), VoiceBrainStatus)
    samples = 55 * FRAME
    # the speculation failed at +0.3; the turn ends at +0.35 and is recognised then
    assert models.transcribed == [
        (near(speech_end + 0.2), samples),
        (near(speech_end + 0.35), samples),
    ]
    assert provider.asked_at == [near(speech_end + 0.45)]
    (turn,) = st.turns
    assert turn.said == "what time is it" and turn.asr == "fresh"
