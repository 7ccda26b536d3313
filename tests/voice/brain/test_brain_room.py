"""The voice brain in a room on virtual time: exact times for a turn, fallback, coalescing,
deferral, barge-in, supersede, skip and a restart (see room.py for what is real)."""

from __future__ import annotations

from collections import deque

import pytest
import trio
import trio.testing

from clanker.runtime import OperatorCrash, open_runtime
from clanker.voice.brain.actor import CutOff, GetVoiceBrainStatus, VoiceBrainStatus
from clanker.voice.brain.control import SetBrainMuted

from .room import ALICE, BOB, Playout, RoomProvider, StubModels, connect, member_says, room_spec


async def first_bot_audio(playout: Playout) -> float:
    """Until the bot's first audio reaches the stand-in clankvox; when it did."""
    with trio.fail_after(10):
        while not playout.audio:
            await playout.changed.wait()
    return playout.audio[0][0]


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
        speech_end = await member_says(rt, ALICE, 1.0)
        assert playout.subscriptions == {str(ALICE): 16_000}
        await trio.sleep(5.0)
        st = await status(rt)
    # The last loud 20 ms chunk (sample 16 000) lies in the VAD frame of samples 15 872-16 384,
    # complete two chunks later: member_says returns that time (speech end for the brain).
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
    assert speech_end - t0 == near(1.04)


async def test_an_incomplete_turn_ends_at_the_silence_fallback(
    autojump_clock: trio.testing.MockClock,
) -> None:
    models = StubModels(complete=0.1, transcripts=deque(["so what I mean is"]))
    provider = RoomProvider(lambda p: "Go on.")
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout)) as rt:
        await connect(rt)
        speech_end = await member_says(rt, ALICE, 1.0)
        await trio.sleep(4.0)
    assert models.turn_checks == [near(speech_end + 0.2)]
    # "not done" from the model: recognition waits for 1.2 s of silence (incomplete_wait)
    assert models.transcribed[0][0] == near(speech_end + 1.2)
    assert provider.asked_at == [near(speech_end + 1.3)]


async def test_two_members_talking_over_each_other_get_one_turn_with_both(
    autojump_clock: trio.testing.MockClock,
) -> None:
    models = StubModels(transcripts=deque(["pizza tonight", "no way, tacos"]))
    provider = RoomProvider(lambda p: "Why not both?")
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout)) as rt:
        await connect(rt)
        ends: dict[int, float] = {}

        async def say(uid: int, after: float, seconds: float) -> None:
            await trio.sleep(after)
            ends[uid] = await member_says(rt, uid, seconds)

        async with trio.open_nursery() as n:
            n.start_soon(say, ALICE, 0.0, 1.0)
            n.start_soon(say, BOB, 0.5, 1.6)
        await trio.sleep(4.0)
    # Alice's transcript came while Bob was still talking: held, then one call for both
    assert len(models.transcribed) == 2
    assert models.transcribed[0][0] == near(ends[ALICE] + 0.23)
    assert len(provider.prompts) == 1
    assert provider.asked_at[0] == near(ends[BOB] + 0.33)
    prompt = provider.prompts[0]
    assert prompt.index("Alice: pizza tonight") < prompt.index("Bob: no way, tacos")


async def test_a_skip_says_nothing_and_frees_the_output(
    autojump_clock: trio.testing.MockClock,
) -> None:
    models = StubModels(transcripts=deque(["bob did you feed the cat"]))
    provider = RoomProvider(lambda p: "[SKIP]")
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout)) as rt:
        await connect(rt)
        await member_says(rt, ALICE, 1.0)
        await trio.sleep(3.0)
        st = await status(rt)
    assert playout.audio == [] and models.spoken == []
    assert [t.outcome for t in st.turns] == ["skipped"]
    assert st.phase == "idle"


LONG = "This is a long answer that goes on. " * 6


async def test_the_reply_target_barges_in_and_the_next_prompt_knows_what_was_heard(
    autojump_clock: trio.testing.MockClock,
) -> None:
    models = StubModels(transcripts=deque(["tell me a story", "stop, wait"]))
    answers = deque([LONG, "Sorry, go ahead."])
    provider = RoomProvider(lambda p: answers.popleft())
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout)) as rt:
        await connect(rt)
        await member_says(rt, ALICE, 1.0)
        first_audio = await first_bot_audio(playout)
        await trio.sleep(1.5)  # past the 1.0 s echo guard
        started = trio.current_time()
        await member_says(rt, ALICE, 0.8)
        await trio.sleep(3.0)
        st = await status(rt)
    # 0.5 s of loud speech = 16 VAD frames = 8 192 samples, complete with the 26th chunk
    assert playout.stops == [near(started + 26 * 0.02)]
    assert st.barge_ins == 1
    assert [t.outcome for t in st.turns] == ["interrupted", "spoken"]
    second = provider.prompts[1]
    assert "You were cut off by Alice" in second
    # heard: 2.02 s of playback at 0.05 s per character = the first sentence (35 characters,
    # 1.75 s) and 5 characters of the next, cut back to a whole word
    assert started + 26 * 0.02 - first_audio == near(2.02)
    assert "They heard only: 'This is a long answer that goes on. This —'" in second
    assert "Alice: stop, wait" in second


async def test_another_member_is_deferred_until_the_bot_is_done(
    autojump_clock: trio.testing.MockClock,
) -> None:
    models = StubModels(
        transcripts=deque(["tell me a story", "what about me"]), tts_seconds_per_char=0.015
    )
    answers = deque([LONG, "You are next, Bob."])
    provider = RoomProvider(lambda p: answers.popleft())
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout)) as rt:
        await connect(rt)
        await member_says(rt, ALICE, 1.0)
        await first_bot_audio(playout)
        await trio.sleep(1.2)
        await member_says(rt, BOB, 0.8)  # not the reply's target: no barge-in
        await trio.sleep(6.0)
        st = await status(rt)
    assert playout.stops == []
    assert len(provider.asked_at) == 2
    # Bob's turn waited for the playback to drain (clankvox's idle), then went in
    assert provider.asked_at[1] == near(playout.idle_at[0])
    assert "Bob: what about me" in provider.prompts[1]
    assert [t.outcome for t in st.turns] == ["spoken", "spoken"]


async def test_more_from_the_same_speaker_supersedes_a_pending_reply(
    autojump_clock: trio.testing.MockClock,
) -> None:
    models = StubModels(transcripts=deque(["what is the capital", "of France"]))
    provider = RoomProvider(lambda p: "Paris.", delay=1.5)
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout)) as rt:
        await connect(rt)
        await member_says(rt, ALICE, 1.0)
        await trio.sleep(0.6)  # the first reply is still being generated
        await member_says(rt, ALICE, 0.6)
        await trio.sleep(4.0)
        st = await status(rt)
    assert len(provider.prompts) == 2
    assert "Alice: what is the capital\nAlice: of France" in provider.prompts[1]
    assert [t.outcome for t in st.turns] == ["superseded", "spoken"]
    assert [t for _, t in models.spoken] == ["Paris."]


async def test_a_crashed_brain_comes_back_listening(
    autojump_clock: trio.testing.MockClock,
) -> None:
    models = StubModels(transcripts=deque(["hello", "are you back"]))
    provider = RoomProvider(lambda p: "Yes.")
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout)) as rt:
        await connect(rt)
        await member_says(rt, ALICE, 1.0)
        await trio.sleep(2.0)
        await rt.lookup("brain").tell(OperatorCrash())
        await trio.sleep(1.0)
        st = await status(rt)
        assert st.turns == [] and st.listening == []  # a fresh incarnation
        await member_says(rt, ALICE, 1.0)
        await trio.sleep(2.0)
        st = await status(rt)
    assert len(provider.prompts) == 2
    assert [t.outcome for t in st.turns] == ["spoken"]
    assert st.listening == [ALICE]


async def test_it_leaves_when_the_call_goes_quiet_and_at_the_longest(
    autojump_clock: trio.testing.MockClock,
) -> None:
    models = StubModels(transcripts=deque(["hi"]))
    provider = RoomProvider(lambda p: "Hello.")
    playout = Playout()
    leaves: list[float] = []
    spec = room_spec(models, provider, playout, leaves, idle_leave=30.0, max_duration=600.0)
    async with open_runtime(spec) as rt:
        await connect(rt)
        t0 = trio.current_time()
        await member_says(rt, ALICE, 1.0)
        with trio.fail_after(10):
            while not playout.idle_at:
                await playout.changed.wait()
        last_audio = playout.audio[-1][0]  # the bot's last activity: its audio queued
        await trio.sleep(40.0)
    assert leaves == [near(last_audio + 30.0)]
    assert t0 < last_audio

    leaves.clear()
    spec = room_spec(models, provider, playout, leaves, idle_leave=None, max_duration=600.0)
    async with open_runtime(spec) as rt:
        start = trio.current_time()
        await trio.sleep(700.0)
    assert leaves == [near(start + 600.0)]


async def test_another_member_naming_the_bot_cuts_it_off(
    autojump_clock: trio.testing.MockClock,
) -> None:
    models = StubModels(
        transcripts=deque(["tell me a story", "clanker, stop for a second"]),
        tts_seconds_per_char=0.03,
    )
    answers = deque([LONG, "Sure, Bob."])
    provider = RoomProvider(lambda p: answers.popleft())
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout)) as rt:
        await connect(rt)
        await member_says(rt, ALICE, 1.0)
        await first_bot_audio(playout)
        await trio.sleep(1.2)
        end = await member_says(rt, BOB, 1.0)  # not the reply's target: no acoustic barge-in
        await trio.sleep(4.0)
        st = await status(rt)
    # his transcript names the bot: the wake word cuts in when it arrives (end + 0.23 + 0.1)
    assert playout.stops == [near(end + 0.33)]
    assert [t.outcome for t in st.turns] == ["interrupted", "spoken"]
    assert "You were cut off by Bob" in provider.prompts[1]
    assert "Bob: clanker, stop for a second" in provider.prompts[1]


async def test_the_operator_cuts_the_bot_off_generation_and_all(
    autojump_clock: trio.testing.MockClock,
) -> None:
    models = StubModels(transcripts=deque(["tell me a story", "go on"]))
    answers = deque([LONG, "Where was I."])
    provider = RoomProvider(lambda p: answers.popleft(), gap=0.2)  # still generating
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout)) as rt:
        await connect(rt)
        await member_says(rt, ALICE, 1.0)
        await first_bot_audio(playout)
        cut_at = trio.current_time() + 0.5
        await trio.sleep(0.5)
        await rt.lookup("brain").tell(CutOff())
        await trio.sleep(3.0)
        spoken_after = [t for t, _ in models.spoken if t > cut_at + 1e-6]
        await member_says(rt, ALICE, 0.6)
        await trio.sleep(3.0)
        st = await status(rt)
    assert playout.stops == [near(cut_at)]
    assert spoken_after == []  # nothing more was synthesised: the generation was cancelled
    assert [t.outcome for t in st.turns] == ["interrupted", "spoken"]
    assert "You were cut off by the operator" in provider.prompts[1]


async def test_a_long_answer_is_queued_at_most_four_seconds_ahead(
    autojump_clock: trio.testing.MockClock,
) -> None:
    models = StubModels(transcripts=deque(["tell me a story"]), tts_seconds_per_char=0.05)
    provider = RoomProvider(lambda p: LONG, gap=0.0)  # all of it at once: 10.8 s of speech
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout)) as rt:
        await connect(rt)
        await member_says(rt, ALICE, 1.0)
        await trio.sleep(20.0)
        st = await status(rt)
    sentence = len("This is a long answer that goes on.") * 0.05  # 1.75 s per chunk
    # 4 s ahead, plus the sentence that was let through, plus one 20 ms playout tick (the
    # stand-in drains in whole ticks); without the limit all 10.8 s would be queued at once
    assert playout.max_buffered <= (4.0 + sentence + 0.02) * 48_000
    assert [t.outcome for t in st.turns] == ["spoken"]
    assert len(models.spoken) == 6  # every sentence was said, none dropped


async def test_a_muted_brain_hears_says_nothing_and_stays_muted_after_a_crash(
    autojump_clock: trio.testing.MockClock,
) -> None:
    models = StubModels(transcripts=deque(["tell me a story", "still there", "hello?", "talk"]))
    answers = deque([LONG, "I can talk again."])
    provider = RoomProvider(lambda p: answers.popleft(), gap=0.2)
    playout = Playout()
    muted = [False]  # what the session stand-in keeps (the guild session, in the product)
    spec = room_spec(models, provider, playout, leaves=[], muted=muted)
    async with open_runtime(spec) as rt:
        await connect(rt)
        await member_says(rt, ALICE, 1.0)
        await first_bot_audio(playout)
        await trio.sleep(0.5)
        muted_at = trio.current_time()
        muted[0] = True
        await rt.lookup("brain").tell(SetBrainMuted(muted=True))
        await trio.sleep(3.0)
        spoken_after = [t for t, _ in models.spoken if t > muted_at + 1e-6]
        await member_says(rt, ALICE, 1.0)  # heard, not answered
        await trio.sleep(3.0)
        assert (await status(rt)).muted
        await rt.lookup("brain").tell(OperatorCrash())
        await trio.sleep(1.0)
        assert (await status(rt)).muted  # the fresh incarnation asked the session
        await member_says(rt, ALICE, 1.0)
        await trio.sleep(3.0)
        asked_while_muted = len(provider.prompts)
        muted[0] = False
        await rt.lookup("brain").tell(SetBrainMuted(muted=False))
        await member_says(rt, ALICE, 1.0)
        await trio.sleep(3.0)
        st = await status(rt)
    assert playout.stops == [near(muted_at)]  # cut off at the mute
    assert spoken_after == []
    assert asked_while_muted == 1  # only the story: the two turns while muted asked nothing
    assert len(models.transcribed) == 4  # every turn was heard and recognised
    assert not st.muted and [t.outcome for t in st.turns] == ["spoken"]
    assert "Alice: talk" in provider.prompts[1]
