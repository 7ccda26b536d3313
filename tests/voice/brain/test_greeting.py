"""The join greeting on virtual time: a fresh brain in a call it has just joined asks the model
for a short hello with the synthetic join event; it may skip; a restarted brain (after a crash,
then clankvox reconnecting) does not greet again; off when the setting says so."""

from __future__ import annotations

from collections import deque

import pytest
import trio
import trio.testing

from clanker.runtime import OperatorCrash, open_runtime
from clanker.voice.brain.actor import GetVoiceBrainStatus, VoiceBrainStatus
from clanker.voice.brain.prompt import JOIN_EVENT
from clanker.voice.events import Ready

from .room import ALICE, Playout, RoomProvider, StubModels, connect, member_says, room_spec


def near(x: float) -> object:
    return pytest.approx(x, abs=1e-6)


async def status(rt) -> VoiceBrainStatus:  # type: ignore[no-untyped-def]
    return await rt.lookup("brain").ask(GetVoiceBrainStatus(), VoiceBrainStatus)


async def test_a_fresh_brain_greets_once_the_call_is_up(
    autojump_clock: trio.testing.MockClock,
) -> None:
    models = StubModels()
    provider = RoomProvider(lambda p: "Hi all.", delay=0.2, gap=0.05)
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout, join_greeting=True)) as rt:
        await trio.sleep(1.0)
        assert provider.prompts == []  # not before clankvox is ready in the call
        t0 = trio.current_time()
        await connect(rt)  # clankvox answers `connect` with `ready`
        await trio.sleep(3.0)
        st = await status(rt)
    assert provider.asked_at == [near(t0)]
    assert JOIN_EVENT in provider.prompts[0]
    # "Hi " at 0.2 s, "all." at 0.25 s, the stream ends at 0.3 s (the sentence is complete
    # only then: no space after it yet), synthesis 0.05 s
    assert models.spoken == [(near(t0 + 0.35), "Hi all.")]
    assert playout.audio[0][0] == near(t0 + 0.35)
    (turn,) = st.turns
    assert (turn.outcome, turn.said, turn.speakers) == ("spoken", JOIN_EVENT, ["clanker"])
    assert turn.speech_end_to_first_audio == near(0.35)


async def test_the_model_may_join_quietly(autojump_clock: trio.testing.MockClock) -> None:
    models = StubModels(transcripts=deque(["hello there"]))
    answers = deque(["[SKIP]", "Hello Alice."])
    provider = RoomProvider(lambda p: answers.popleft())
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout, join_greeting=True)) as rt:
        await connect(rt)
        await trio.sleep(2.0)
        assert playout.audio == []
        await member_says(rt, ALICE, 1.0)  # the output is free: she is answered
        await trio.sleep(3.0)
        st = await status(rt)
    assert [t.outcome for t in st.turns] == ["skipped", "spoken"]
    assert JOIN_EVENT not in provider.prompts[1]
    assert "Alice: hello there" in provider.prompts[1]


async def test_a_restarted_brain_does_not_greet_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    models = StubModels()
    provider = RoomProvider(lambda p: "Hi all.")
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout, join_greeting=True)) as rt:
        await connect(rt)
        await trio.sleep(2.0)
        assert len(provider.prompts) == 1 and len(models.spoken) == 1
        await rt.lookup("brain").tell(OperatorCrash())
        await trio.sleep(1.0)
        await rt.lookup("link").tell(Ready())  # clankvox reconnects: still mid-call
        await trio.sleep(3.0)
        st = await status(rt)
    assert len(provider.prompts) == 1  # the greeting was asked for once
    assert len(models.spoken) == 1
    assert st.turns == []  # a fresh incarnation, and it did not greet


async def test_no_greeting_when_it_is_off(autojump_clock: trio.testing.MockClock) -> None:
    models = StubModels()
    provider = RoomProvider(lambda p: "Hi all.")
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout, join_greeting=False)) as rt:
        await connect(rt)
        await trio.sleep(3.0)
    assert provider.prompts == [] and playout.audio == []
