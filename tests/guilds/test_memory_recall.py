"""`recall_section` against a memory actor that answers, is slow or is missing: a reply's
recall never holds it up past `RECALL_TIMEOUT` (exact virtual times)."""

from __future__ import annotations

import logging

import pytest
import trio
import trio.testing

from clanker.guilds.recall import RECALL_TIMEOUT, recall_query, recall_section
from clanker.memory.owners import reply_scope
from clanker.memory.service import Recalled, RecalledFact, RecallForPrompt
from clanker.runtime import Actor, ChildSpec, SupervisorSpec, handles, open_runtime


class FakeMemory(Actor):
    """The far side of the ask: answers each `RecallForPrompt` after ``delay`` seconds."""

    asked: list[RecallForPrompt] = []

    def __init__(self, delay: float) -> None:
        self.delay = delay

    @handles(RecallForPrompt)
    async def recall(self, msg: RecallForPrompt) -> Recalled:
        FakeMemory.asked.append(msg)
        await trio.sleep(self.delay)
        fact = RecalledFact(
            id=1,
            owner_key="user:1",
            subject="1",
            fact="loves otters",
            fact_type="preference",
            confidence=0.7,
            score=0.9,
        )
        return Recalled(facts=(fact,), used_vector=True)


SCOPE = reply_scope(guild_id=7, speaker_id=1, participant_ids=(2,))


async def _section(delay: float) -> tuple[str | None, float]:
    spec = SupervisorSpec(
        children=[ChildSpec("memory", lambda: FakeMemory(delay), register="memory")]
    )
    async with open_runtime(spec) as rt:
        t0 = trio.current_time()
        body = await recall_section(
            lambda: rt.lookup("memory"),
            SCOPE,
            ["tell me", "what do I like?"],
            {1: "alice"},
            channel_id=10,
            job_id=3,
        )
        return body, trio.current_time() - t0


async def test_a_quick_recall_gives_the_section_with_the_rules_owners(
    autojump_clock: trio.testing.MockClock,
) -> None:
    FakeMemory.asked.clear()
    body, took = await _section(0.2)
    assert body is not None and body.endswith("- alice: loves otters")
    assert took == pytest.approx(0.2)
    [asked] = FakeMemory.asked
    assert asked.owner_keys == ("user:1", "user:2", "guild:7", "self")
    assert asked.with_dm_facts is False and asked.query == "tell me what do I like?"


async def test_a_slow_recall_is_dropped_at_the_timeout_and_logged(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="clanker.memory"):
        body, took = await _section(30.0)
    assert body is None
    assert took == pytest.approx(RECALL_TIMEOUT) == pytest.approx(1.5)
    assert "reply job 3: no memory in the prompt" in caplog.text


async def test_no_memory_service_no_section(autojump_clock: trio.testing.MockClock) -> None:
    body = await recall_section(lambda: None, SCOPE, ["hi"], {}, channel_id=None, job_id=1)
    assert body is None


def test_the_query_is_the_batch_latest_kept() -> None:
    assert recall_query(["  a  b ", "", "c"]) == "a b c"
    assert recall_query(["x" * 700, "end"]).endswith("x end")
    assert len(recall_query(["x" * 700, "end"])) == 600
