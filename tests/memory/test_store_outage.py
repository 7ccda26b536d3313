"""The memory service outlives a Store that does not answer (restarting, stalled): recalls say
so, writes are refused with the reason, background re-embedding pauses — no crash (a crash here
once escalated to the root supervisor in the chaos run). Virtual time, exact."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from clanker.memory.service import (
    EmbeddedPending,
    EmbedPending,
    MemoryConfig,
    Recall,
    Recalled,
    Remember,
    RememberRefused,
    memory_child,
)
from clanker.runtime import Actor, ChildSpec, SupervisorSpec, handles, open_runtime
from clanker.store.facts import FactsWithoutVector, GetFacts, SearchFacts

from .test_service import NOW, BagOfWords


class Silent(Actor):
    """A Store that takes memory's requests and never answers."""

    @handles(GetFacts)
    async def get(self, msg: GetFacts) -> None:
        await trio.sleep_forever()

    @handles(SearchFacts)
    async def search(self, msg: SearchFacts) -> None:
        await trio.sleep_forever()

    @handles(FactsWithoutVector)
    async def pending(self, msg: FactsWithoutVector) -> None:
        await trio.sleep_forever()


async def test_a_silent_store_gives_answers_not_crashes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    config = MemoryConfig(embedder=BagOfWords(), timeout=2.0, reembed_every=60.0, now=lambda: NOW)
    spec = SupervisorSpec(
        children=[
            ChildSpec("store", Silent, register="store"),
            memory_child(config),
        ],
        intensity=0,  # any crash would stop the tree
    )
    async with open_runtime(spec) as rt:
        memory = rt.lookup("memory")
        t0 = trio.current_time()
        recalled = await memory.ask(
            Recall(owner_keys=("user:1",), query="otters"), Recalled, timeout=30
        )
        assert trio.current_time() - t0 == pytest.approx(2.0)
        assert recalled.facts == () and recalled.problem is not None
        assert "did not answer SearchFacts" in recalled.problem
        refused = await memory.ask(
            Remember(scope="user", user_id=1, fact="loves otters"), timeout=30
        )
        assert isinstance(refused, RememberRefused)
        assert refused.reason.startswith("not remembered: memory's store did not answer")
        assert await memory.ask(EmbedPending(), EmbeddedPending, timeout=30) == EmbeddedPending(
            count=0
        )
        await trio.sleep(130)  # two background re-embedding passes, each timing out
        node = rt.snapshot().find(memory.path)
        assert node is not None and node.incarnation == 1
