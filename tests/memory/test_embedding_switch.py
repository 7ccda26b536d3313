"""Switching memory's embedding model live, on virtual time: the real settings actor and memory
service over an inline Store (SQLite + sqlite-vec), the local model a stub bag of words, and
OpenAI's side the embeddings sim in memory behind the real `openai` SDK (no socket, so a
MockClock gives exact times: `mock_clock`, conftest). After the switch the background pass
re-embeds every fact, the progress says how far it is, and recall keeps working meanwhile."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from clanker.memory.choice import build_embedder
from clanker.memory.service import (
    EmbeddingProgress,
    EmbeddingStatus,
    MemoryConfig,
    Recall,
    Recalled,
    Remember,
    Remembered,
    memory_child,
)
from clanker.runtime import OperatorCrash, Runtime, SupervisorSpec, open_runtime
from clanker.settings import CurrentSettings, GetSettings, SettingsUpdated, UpdateSettings
from clanker.settings.actor import settings_child
from clanker.store import store_child
from clanker.store.facts import FactCandidates, FactRows, GetFacts, SearchFacts
from clanker.toolsims.embeddings import IN_MEMORY_URL, EmbeddingSim, sim_vector

from .test_service import NOW, BagOfWords

KEY = "sk-switch-test-key-0001"
OPENAI = "openai/text-embedding-3-small"
STUB = "stub/bag-of-words"
ENV = {"OPENAI_API_KEY": KEY, "CLANKER_OPENAI_EMBEDDINGS_BASE_URL": f"{IN_MEMORY_URL}/v1"}
_PETS = """otter badger heron beaver raven vole stoat newt lynx marten weasel ferret hedgehog
puffin gecko iguana python cobra falcon kestrel osprey condor walrus narwhal dolphin porpoise
octopus squid lobster shrimp salmon trout pike perch carp minnow wombat koala dingo emu"""
PETS = _PETS.split()  # 40 words, one per fact


@dataclass
class Tree:
    rt: Runtime
    sim: EmbeddingSim
    local: BagOfWords


# pytest-trio puts a test on the MockClock only when the test itself names the clock fixture.
@pytest.fixture
async def tree(tmp_path: Path, mock_clock: trio.testing.MockClock) -> AsyncIterator[Tree]:
    sim = EmbeddingSim(api_key=KEY)
    local = BagOfWords()
    config = MemoryConfig(
        embedder=local,
        now=lambda: NOW + trio.current_time(),
        env=ENV,
        build=partial(build_embedder, transport=sim.transport()),
    )
    spec = SupervisorSpec(
        children=[
            store_child(tmp_path / "m.db", inline=True),
            settings_child(),
            memory_child(config),
        ]
    )
    async with open_runtime(spec) as rt:
        yield Tree(rt, sim, local)


async def configure(rt: Runtime, patch: dict[str, Any]) -> None:
    ref = rt.lookup("settings")
    current = await ref.ask(GetSettings(), CurrentSettings)
    reply = await ref.ask(UpdateSettings(patch=json.dumps(patch), expected_version=current.version))
    assert isinstance(reply, SettingsUpdated), reply


async def progress(rt: Runtime) -> EmbeddingProgress:
    reply: EmbeddingProgress = await rt.lookup("memory").ask(
        EmbeddingStatus(), EmbeddingProgress, timeout=5
    )
    return reply


def shown(p: EmbeddingProgress) -> tuple[object, ...]:
    return (p.provider, p.model, p.label, p.embedded, p.active, p.running)


async def remember_many(rt: Runtime, count: int) -> list[int]:
    ids = []
    for n in range(count):
        reply = await rt.lookup("memory").ask(
            Remember(scope="user", user_id=42, fact=f"keeps a pet {PETS[n]}"), timeout=5
        )
        assert isinstance(reply, Remembered) and reply.embedded
        ids.append(reply.fact_id)
    return ids


async def models(rt: Runtime) -> dict[int, str | None]:
    rows = await rt.lookup("store").ask(GetFacts(owner_keys=("user:42",), limit=1000), FactRows)
    return {r.id: r.model for r in rows.rows}


async def recall(rt: Runtime, query: str) -> Recalled:
    reply: Recalled = await rt.lookup("memory").ask(
        Recall(owner_keys=("user:42",), query=query, limit=3), Recalled, timeout=5
    )
    return reply


async def test_switching_to_openai_re_embeds_every_fact_in_the_background(
    tree: Tree, mock_clock: trio.testing.MockClock
) -> None:
    rt, sim = tree.rt, tree.sim
    ids = await remember_many(rt, 40)
    assert shown(await progress(rt)) == ("local", STUB, "stub", 40, 40, False)

    # The pass's first batch answers at once, its second after 5 s: progress shows the middle.
    sim.slow(0.0)
    sim.slow(5.0)
    await trio.sleep_until(10.0)
    await configure(rt, {"memory": {"embedding": {"provider": "openai"}}})
    await trio.sleep_until(12.0)
    during = await progress(rt)
    assert shown(during) == ("openai", OPENAI, "text-embedding-3-small", 32, 40, True)
    assert during.last_error is None and during.setting_problem is None
    stored = await models(rt)
    assert [stored[i] for i in ids] == [OPENAI] * 32 + [STUB] * 8  # oldest first

    # Recall works meanwhile: the query has the new model's vector; a fact already re-embedded
    # is found by it, one still waiting by its words (the no-vector weights).
    embedded = await recall(rt, "who keeps a pet otter?")
    assert embedded.used_vector and embedded.facts[0].id == ids[0]
    waiting = await recall(rt, "who keeps a pet dingo?")
    assert waiting.used_vector and waiting.facts[0].id == ids[38]

    await trio.sleep_until(15.5)  # the second batch was answered at 15 s
    done = await progress(rt)
    assert shown(done) == ("openai", OPENAI, "text-embedding-3-small", 40, 40, False)
    assert done.complete
    assert set((await models(rt)).values()) == {OPENAI}
    # Each pass batch was one request of 32 and 8 plain texts at exact times; the two recall
    # queries went at 12 s; the next background pass (60 s after this one) has nothing to do.
    await trio.sleep_until(80.0)
    asked = [(r.at, len(r.inputs)) for r in sim.requests]
    assert asked == [(10.0, 32), (10.0, 8), (12.0, 1), (12.0, 1)]
    assert sim.requests[0].inputs[0] == "keeps a pet otter"
    # the vectors are the sim's (the SDK's base64, decoded), not the stub's
    otter = tuple(sim_vector("keeps a pet otter", 1536, 384))
    found = await rt.lookup("store").ask(
        SearchFacts(owner_keys=("user:42",), vector=otter, model=OPENAI, k=1, recent=0),
        FactCandidates,
    )
    [nearest] = found.candidates
    assert nearest.row.id == ids[0] and nearest.vector == pytest.approx(otter, abs=1e-6)

    # And back to local: the stub re-embeds everything at once, at the switch.
    await trio.sleep_until(100.0)
    passages_before = len([c for c in tree.local.calls if c[0] == "passage"])
    await configure(rt, {"memory": {"embedding": {"provider": "local"}}})
    await trio.sleep_until(100.5)
    assert shown(await progress(rt)) == ("local", STUB, "stub", 40, 40, False)
    passages = [c for c in tree.local.calls if c[0] == "passage"][passages_before:]
    assert [len(texts) for _, texts in passages] == [32, 8]
    assert len(sim.requests) == 4


async def test_a_change_that_does_not_touch_the_model_rebuilds_nothing(
    tree: Tree, mock_clock: trio.testing.MockClock
) -> None:
    rt = tree.rt
    await remember_many(rt, 2)
    await configure(rt, {"memory": {"embedding": {"model": "text-embedding-3-large"}}})
    await configure(rt, {"persona": {"flavor": "a quiet regular"}})
    await trio.sleep_until(61.0)  # a background pass came and found nothing
    assert shown(await progress(rt)) == ("local", STUB, "stub", 2, 2, False)
    assert tree.sim.requests == []


async def test_a_choice_that_cannot_be_built_keeps_the_model_and_says_why(
    tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    config = MemoryConfig(embedder=BagOfWords(), env={}, now=lambda: NOW + trio.current_time())
    spec = SupervisorSpec(
        children=[
            store_child(tmp_path / "m.db", inline=True),
            settings_child(),
            memory_child(config),
        ]
    )
    async with open_runtime(spec) as rt:
        await remember_many(rt, 1)
        await configure(rt, {"memory": {"embedding": {"provider": "openai"}}})
        stuck = await progress(rt)
        assert shown(stuck) == ("local", STUB, "stub", 1, 1, False)
        assert stuck.setting_problem == (
            "memory.embedding.provider is 'openai' but $OPENAI_API_KEY is not set: export the "
            "OpenAI API key as OPENAI_API_KEY, or set memory.embedding.provider back to 'local'"
        )
        # memory goes on with the model it has
        assert [f.fact for f in (await recall(rt, "otter")).facts] == ["keeps a pet otter"]
        await configure(rt, {"memory": {"embedding": {"provider": "local"}}})
        assert (await progress(rt)).setting_problem is None


async def test_a_failing_cloud_model_leaves_facts_waiting_with_the_error_shown(
    tree: Tree, mock_clock: trio.testing.MockClock
) -> None:
    rt, sim = tree.rt, tree.sim
    await remember_many(rt, 3)
    sim.fail(500)
    await trio.sleep_until(10.0)
    await configure(rt, {"memory": {"embedding": {"provider": "openai"}}})
    await trio.sleep_until(11.0)
    failed = await progress(rt)
    assert shown(failed) == ("openai", OPENAI, "text-embedding-3-small", 0, 3, False)
    assert failed.last_error == (
        "openai text-embedding-3-small: HTTP 500 server_error: The server had an error while "
        "processing your request. Sorry about that! (the server failed; the background pass "
        "tries again)"
    )
    # a recall still answers, by words, while nothing has the new model's vector
    assert (await recall(rt, "who keeps a badger?")).facts[0].fact == "keeps a pet badger"
    # the next pass, 60 s after the failed one, succeeds and clears the error
    await trio.sleep_until(70.5)
    healed = await progress(rt)
    assert shown(healed) == ("openai", OPENAI, "text-embedding-3-small", 3, 3, False)
    assert healed.last_error is None
    assert [(r.at, r.status) for r in sim.requests if len(r.inputs) == 3] == [
        (10.0, 500),
        (70.0, 200),
    ]


async def test_a_fresh_incarnation_uses_the_current_setting_and_follows_a_restarted_settings_actor(
    tree: Tree, mock_clock: trio.testing.MockClock
) -> None:
    rt = tree.rt
    await remember_many(rt, 2)
    await configure(rt, {"memory": {"embedding": {"provider": "openai"}}})
    await trio.sleep_until(5.0)
    assert (await progress(rt)).model == OPENAI
    await rt.lookup("memory").tell(OperatorCrash(reason="test"))
    await trio.sleep_until(10.0)  # restarted (backoff 1 s); it starts on the local model
    again = await progress(rt)
    assert shown(again) == ("openai", OPENAI, "text-embedding-3-small", 2, 2, False)
    # The settings actor restarts and forgets its subscribers: memory subscribes again, so the
    # next change still reaches it.
    await rt.lookup("settings").tell(OperatorCrash(reason="test"))
    await trio.sleep_until(20.0)
    await configure(rt, {"memory": {"embedding": {"provider": "local"}}})
    await trio.sleep_until(21.0)
    assert shown(await progress(rt)) == ("local", STUB, "stub", 2, 2, False)


async def test_the_local_model_is_warmed_only_when_the_settings_choose_it(
    tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    sim = EmbeddingSim(api_key=KEY)
    local = BagOfWords()
    config = MemoryConfig(
        embedder=local,
        warm_up=True,
        env=ENV,
        build=partial(build_embedder, transport=sim.transport()),
        now=lambda: NOW + trio.current_time(),
    )
    spec = SupervisorSpec(
        children=[
            store_child(tmp_path / "m.db", inline=True),
            settings_child(),
            memory_child(config),
        ]
    )
    warmed = ("query", ("warm up",))
    async with open_runtime(spec) as rt:
        await trio.sleep_until(1.0)
        assert local.calls == [warmed]  # the settings say local: warmed at start
        await configure(rt, {"memory": {"embedding": {"provider": "openai"}}})
        await rt.lookup("memory").tell(OperatorCrash(reason="test"))
        await trio.sleep_until(10.0)
        # the fresh incarnation learnt openai from the settings before warming anything
        assert (await progress(rt)).model == OPENAI
        assert local.calls == [warmed]
        assert [r.inputs for r in sim.requests] == []  # nor is a cloud model warmed
