"""Memory in voice answers, in the voice room on virtual time: the answer's prompt carries what
is remembered about the speaker, recalled with the guild's scope; a memory that is slow is given
up at exactly `VOICE_RECALL_TIMEOUT` (0.5 s) and the answer goes on without it."""

from __future__ import annotations

from collections import deque

import pytest
import trio
import trio.testing

from clanker.memory.service import Recalled, RecalledFact, RecallForPrompt
from clanker.runtime import Actor, ChildSpec, handles, open_runtime
from clanker.voice.brain.actor import VOICE_RECALL_TIMEOUT

from .room import ALICE, GUILD, Playout, RoomProvider, StubModels, connect, member_says, room_spec


class Memory(Actor):
    """The far side: answers each `RecallForPrompt` after ``delay`` s with one fact of alice's."""

    def __init__(self, delay: float, asked: list[tuple[float, RecallForPrompt]]) -> None:
        self.delay, self.asked = delay, asked

    @handles(RecallForPrompt)
    async def recall(self, msg: RecallForPrompt) -> Recalled:
        self.asked.append((trio.current_time(), msg))
        await trio.sleep(self.delay)
        fact = RecalledFact(
            id=1,
            owner_key=f"user:{ALICE}",
            subject=str(ALICE),
            fact="loves otters",
            fact_type="preference",
            confidence=0.7,
            score=0.8,
        )
        return Recalled(facts=(fact,), used_vector=True)


async def _answer(delay: float) -> tuple[RoomProvider, list[tuple[float, RecallForPrompt]], float]:
    models = StubModels(transcripts=deque(["what animal do I like"]))
    provider = RoomProvider(lambda p: "Otters, I think.", delay=0.2, gap=0.05)
    asked: list[tuple[float, RecallForPrompt]] = []
    spec = room_spec(models, provider, Playout(), memory="memory")
    spec.children.append(ChildSpec("memory", lambda: Memory(delay, asked), register="memory"))
    async with open_runtime(spec) as rt:
        await connect(rt)
        speech_end = await member_says(rt, ALICE, 1.0)
        await trio.sleep(5.0)
    return provider, asked, speech_end


async def test_a_voice_answer_hears_what_is_remembered_about_the_speaker(
    autojump_clock: trio.testing.MockClock,
) -> None:
    provider, asked, speech_end = await _answer(0.1)
    [(at, recall)] = asked
    assert recall.owner_keys == (f"user:{ALICE}", f"guild:{GUILD}", "self")
    assert recall.with_dm_facts is False and recall.query == "what animal do I like"
    assert at == pytest.approx(speech_end + 0.33)  # once the turn is recognised
    assert provider.asked_at == [pytest.approx(speech_end + 0.43)]  # the model after the recall
    prompt = provider.prompts[0]
    assert "What you remember" in prompt and "- Alice: loves otters" in prompt


async def test_a_slow_memory_is_given_up_and_the_answer_goes_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    provider, asked, speech_end = await _answer(30.0)
    assert len(asked) == 1
    assert VOICE_RECALL_TIMEOUT == 0.5
    assert provider.asked_at == [pytest.approx(speech_end + 0.33 + 0.5)]
    assert "What you remember" not in provider.prompts[0]
