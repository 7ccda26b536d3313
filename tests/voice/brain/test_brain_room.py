"""The voice brain in a room on virtual time: exact times for a turn, fallback, coalescing,
deferral, barge-in, supersede, skip and a restart (see room.py for what is real)."""

from __future__ import annotations

from collections import deque

import pytest
import trio
import trio.testing

from clanker.runtime import open_runtime
from clanker.voice.brain.actor import GetVoiceBrainStatus, VoiceBrainStatus

from .room import ALICE, BOB, Playout, RoomProvider, StubModels, connect, member_says, room_spec


def near(x: float) -> object:
    return pytest.approx(x, abs=1e-6)


async def status(rt) -> VoiceBrainStatus:  # type: ignore[no-untyped-def]
    return await rt.lookup("brain").ask(GetVoiceBrainStatus(), VoiceBrainStatus)


async def test_a_question_is_answered_with_exact_stage_times(
    autojump_clock: trio.testing.MockClock,
) -> None:
    models = StubModels(transcripts=deque(["what time is it"]))
    provider = RoomProvider(lambda p: "It is noon. Time for lunch!", delay=0.2, gap=0.05)
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout)) as rt:
        await connect(rt)
        t0 = trio.current_time()
        ended = await member_says(rt, ALICE, 1.0)
        assert playout.subscriptions == {str(ALICE): 16_000}
        await trio.sleep(5.0)
        st = await status(rt)
    # The last loud 20 ms chunk (sample 16 000) lies in the VAD frame of samples 15 872-16 384,
    # complete two chunks later (+40 ms): that is where speech ends for the brain.
    speech_end = ended + 0.04
    # VAD stop 0.2 s, then the 30 ms model check, then 0.1 s recognition
    assert models.turn_checks == [near(speech_end + 0.2)]
    assert models.transcribed[0][0] == near(speech_end + 0.23)
    assert provider.asked_at == [near(speech_end + 0.33)]
    assert "Alice: what time is it" in provider.prompts[0]
    # first sentence after the first two words (0.2 s + 2 gaps), synthesis 0.05 s
    first_audio = playout.audio[0][0]
    assert first_audio == near(speech_end + 0.33 + 0.2 + 0.1 + 0.05)
    assert [t for _, t in models.spoken] == ["It is noon.", "Time for lunch!"]
    (turn,) = st.turns
    assert turn.outcome == "spoken"
    assert turn.speech_end_to_decided == near(0.23)
    assert turn.decided_to_transcript == near(0.1)
    assert turn.speech_end_to_first_audio == near(first_audio - speech_end)
    assert st.phase == "idle"
    assert t0 < ended
