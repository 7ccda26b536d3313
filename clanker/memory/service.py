"""`MemoryService`: the one actor the rest of the tree asks to remember and recall facts.

Thin: the write policy (`clanker.memory.policy`) and the ranking (`clanker.memory.ranking`) decide;
this actor reads what they need from the Store, embeds through an `Embedder`, and applies the
plan. Writes are handled one at a time (the mailbox is FIFO), so reading a subject's facts and
writing the plan cannot interleave with another write through this service.

* `Remember` → `Remembered` (new, or merged into a duplicate) or `RememberRefused(reason)`.
  The fact is embedded as a ``passage``; if the embedder is busy or fails, the fact is stored
  without a vector; `EmbedPending` (run in the background every ``reembed_every`` = 60 s of
  trio time, at once after a switch of model, or asked) embeds active facts lacking a vector
  of the current model, 32 at a time — which is also how a change of model re-embeds
  everything; then up to 64 stored
  messages of the last 30 days without one (`EmbedMessages`, 8 at a time, newest first).
* `SearchConversation` → `ConversationFound`: stored messages of one guild (or DM) by meaning,
  for ``conversation_search``. That background pass only
  writes vectors, so it may run beside a handler.
* `EditFact` → `FactEdited`, `ArchiveFact` → `FactArchived` (the operator's curation,
  `clanker.memory.curation`), or `FactChangeRefused(reason, problem)`; `Forget` deletes.
* `RecallForPrompt` → `Recalled`: a prompt's memory (`clanker.memory.profile`): guidance,
  the people's fact profiles and the relevant facts.
* Which embedder is in use follows ``memory.embedding`` live, and `EmbeddingStatus` →
  `EmbeddingProgress` says how far the re-embedding is (`clanker.memory.reembed`).
* `Recall` → `Recalled`: hybrid candidates from the Store for the given owners, ranked. The
  query is embedded as a ``query`` (cached 60 s, 256 queries: `QueryVectorCache`); when the
  embedder is busy or fails, the ranking uses the no-vector weights.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import msgspec
import trio

from clanker.memory.cache import QueryVectorCache
from clanker.memory.config import MemoryConfig
from clanker.memory.curation import (
    ArchiveFact,
    EditFact,
    FactArchived,
    FactChangeRefused,
    FactEdited,
)
from clanker.memory.curator import archive_fact, edit_fact
from clanker.memory.model import DEFAULT_CONFIDENCE, Fact, FactDraft, Owner, Scope
from clanker.memory.policy import (
    Insert,
    Merge,
    Mode,
    Rejected,
    check_draft,
    dedupe_key,
    plan_write,
)
from clanker.memory.profile import RELEVANT_FACTS, compose
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
from clanker.memory.ranking import (
    RECENT_CANDIDATES,
    RankingWeights,
    Scored,
    candidate_pool,
    rank,
)
from clanker.memory.reembed import Reembedding
from clanker.memory.rows import fts_expression, key_of, to_candidate, to_fact
from clanker.runtime import Actor, ActorContext, ActorError, ChildSpec, MailboxSpec, handles
from clanker.store import StoreClient, StoreRequestError
from clanker.store.facts import (
    FactCandidate,
    FactRow,
    GetFacts,
    MergeFact,
    PutFact,
    SearchFacts,
    check_owner_keys,
)
from clanker.store.message_vectors import (
    MessageMatches,
    SearchMessages,
)
from clanker.store.validation import check_id
from clanker.wire import Message

__all__ = [
    "MEMORY_NAME",
    "MESSAGES_PER_PASS",
    "MESSAGE_BACKLOG",
    "MESSAGE_BATCH",
    "ConversationFound",
    "ConversationHit",
    "EmbedMessages",
    "EmbedPending",
    "EmbeddedPending",
    "EmbeddingProgress",
    "EmbeddingStatus",
    "Forget",
    "Forgotten",
    "MemoryConfig",
    "MemoryService",
    "Recall",
    "RecallForPrompt",
    "Recalled",
    "RecalledFact",
    "Remember",
    "RememberRefused",
    "Remembered",
    "SearchConversation",
    "memory_child",
]

log = logging.getLogger("clanker.memory")

MEMORY_NAME = "memory"


class Remember(Message, frozen=True):
    """Write one fact through the policy (``mode``: ``strict`` for tool writes, ``minimal`` for
    reflections). Reply: `Remembered` or `RememberRefused`."""

    scope: str
    fact: str
    guild_id: int | None = None
    user_id: int | None = None
    fact_type: str = "other"
    subject: str | None = None
    confidence: float = DEFAULT_CONFIDENCE
    evidence_ids: tuple[int, ...] = ()
    evidence_text: str = ""
    channel_id: int | None = None
    supersedes: int | None = None
    mode: str = "strict"
    # Told in a DM (a user fact only): kept out of every guild prompt. A duplicate told outside
    # a DM makes the stored fact an ordinary one.
    learned_in_dm: bool = False

    def __post_init__(self) -> None:
        if self.learned_in_dm and self.scope != "user":
            raise ValueError("Remember.learned_in_dm is only for user-scope facts")
        for name in ("guild_id", "user_id", "channel_id", "supersedes"):
            check_id(self, name, getattr(self, name), optional=True)
        for i in self.evidence_ids:
            check_id(self, "evidence_ids", i)


class Remembered(Message, frozen=True):
    fact_id: int
    merged: bool
    archived: tuple[int, ...]
    embedded: bool


class RememberRefused(Message, frozen=True):
    """Not written: ``reason`` says why (a tool result can carry it). ``problem``: ``invalid``
    (the policy or the input said no) or ``unavailable`` (the Store did not answer)."""

    reason: str
    problem: str = "invalid"


class Recall(Message, frozen=True):
    """The facts of ``owner_keys`` most relevant to ``query``. Reply: `Recalled`. Facts learned
    in a DM are left out unless ``with_dm_facts`` (see `clanker.memory.owners`)."""

    owner_keys: tuple[str, ...]
    query: str
    channel_id: int | None = None
    limit: int = 10
    with_dm_facts: bool = False

    def __post_init__(self) -> None:
        check_owner_keys(self, self.owner_keys)
        check_id(self, "channel_id", self.channel_id, optional=True)
        if not 1 <= self.limit <= 50:
            raise ValueError(f"Recall.limit must be in 1..50, got {self.limit}")


class RecallForPrompt(Message, frozen=True):
    """What a prompt remembers (`clanker.memory.profile`): the guild's guidance, the fact
    profile of each person in ``owner_keys`` (the speaker first), and the facts of all of them
    relevant to ``query``. Reply: `Recalled` (profile and guidance facts that the ranking did
    not also pick have score 0)."""

    owner_keys: tuple[str, ...]
    query: str
    channel_id: int | None = None
    with_dm_facts: bool = False

    def __post_init__(self) -> None:
        check_owner_keys(self, self.owner_keys)
        check_id(self, "channel_id", self.channel_id, optional=True)


class RecalledFact(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    owner_key: str
    subject: str
    fact: str
    fact_type: str
    confidence: float
    score: float


class Recalled(Message, frozen=True):
    facts: tuple[RecalledFact, ...]
    used_vector: bool
    problem: str | None = None  # set when nothing could be searched (the Store did not answer)


class Forget(Message, frozen=True):
    """Delete facts of one owner for good: ``fact_ids``, or every fact of the owner when
    ``everything``. Ids of another owner are left alone (and not reported). Reply: `Forgotten`
    (``problem`` set when the Store did not answer)."""

    owner_key: str
    fact_ids: tuple[int, ...] = ()
    everything: bool = False

    def __post_init__(self) -> None:
        check_owner_keys(self, (self.owner_key,))
        for i in self.fact_ids:
            check_id(self, "fact_ids", i)
        if not self.fact_ids and not self.everything:
            raise ValueError("Forget needs fact_ids, or everything=True")


class Forgotten(Message, frozen=True):
    fact_ids: tuple[int, ...]
    problem: str | None = None


class SearchConversation(Message, frozen=True):
    """The stored messages of one scope (``guild:<id>`` or ``dm:<channel id>``) nearest in
    meaning to ``query``, optionally one channel's and stored since ``since``; below the
    embedder's similarity floor nothing is returned. Reply: `ConversationFound`."""

    scope_key: str
    query: str
    channel_id: int | None = None
    since: str | None = None
    k: int = 4
    exclude_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not self.query.strip():
            raise ValueError("SearchConversation.query must not be empty")
        if not 1 <= self.k <= 20:
            raise ValueError(f"SearchConversation.k must be in 1..20, got {self.k}")
        check_id(self, "channel_id", self.channel_id, optional=True)


class ConversationHit(msgspec.Struct, frozen=True, kw_only=True):
    message_id: int
    channel_id: int
    author_id: int
    author_name: str
    created_at: str
    content: str
    similarity: float


class ConversationFound(Message, frozen=True):
    hits: tuple[ConversationHit, ...]
    problem: str | None = None  # set when nothing could be searched


class MemoryService(Reembedding, Actor):
    """See the module docstring."""

    # Recalls for prompts and tool calls, and tool writes: room for a busy moment (callers bound
    # their asks with a timeout and go on without memory).
    mailbox = MailboxSpec(capacity=256)

    def __init__(self, config: MemoryConfig) -> None:
        self.config = config
        self._init_embeddings(config)
        self.query_cache = QueryVectorCache()

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx
        self.store = StoreClient(ctx.lookup(self.config.store), timeout=self.config.timeout)
        self._start_embeddings(ctx)

    async def on_stop(self) -> None:
        await self._stop_embeddings()

    @handles(SearchConversation)
    async def search_conversation(self, msg: SearchConversation) -> ConversationFound:
        vectors = await self._query_vector(msg.query)
        if vectors is None:
            return ConversationFound(hits=(), problem="the embedder is busy; try again")
        try:
            found = await self.store.ref.ask(
                SearchMessages(
                    scope_key=msg.scope_key,
                    vector=vectors[0],
                    model=self.embedder.model,
                    k=min(50, msg.k + len(msg.exclude_ids)),
                    channel_id=msg.channel_id,
                    since=msg.since,
                ),
                MessageMatches,
                timeout=self.config.timeout,
            )
        except (ActorError, StoreRequestError) as exc:
            return ConversationFound(hits=(), problem=f"the Store did not answer: {exc}")
        floor = self.embedder.similarity_floor
        hits = [
            ConversationHit(
                message_id=x.row.message_id,
                channel_id=x.row.channel_id,
                author_id=x.row.author_id,
                author_name=x.row.author_name,
                created_at=x.row.created_at,
                content=x.row.content,
                similarity=round(1.0 - x.distance, 4),
            )
            for x in found.matches
            if x.row.message_id not in msg.exclude_ids and 1.0 - x.distance >= floor
        ]
        return ConversationFound(hits=tuple(hits[: msg.k]))

    async def _query_vector(self, query: str) -> list[tuple[float, ...]] | None:
        if not query.strip():
            return None
        model = self.embedder.model
        cached = self.query_cache.get(model, query, trio.current_time())
        if cached is not None:
            return [cached]
        vectors = await self._vectors([query], "query")
        if vectors is not None:
            self.query_cache.put(model, query, vectors[0], trio.current_time())
        return vectors

    @handles(Remember)
    async def remember(self, msg: Remember) -> Remembered | RememberRefused:
        # A Store that does not answer (restarting, stalled) is an answer, not a crash: this
        # actor stays up, and the caller (a tool call) is told to try later.
        try:
            return await self._remember(msg)
        except (ActorError, StoreRequestError) as exc:
            log.warning("memory: Remember failed, the Store did not answer: %s", exc)
            return RememberRefused(
                reason=f"not remembered: memory's store did not answer ({exc}); try again later",
                problem="unavailable",
            )

    async def _remember(self, msg: Remember) -> Remembered | RememberRefused:
        if msg.mode not in ("strict", "minimal"):
            return RememberRefused(reason=f"unknown mode {msg.mode!r}; use strict or minimal")
        mode: Mode = "strict" if msg.mode == "strict" else "minimal"
        try:
            owner = Owner(_scope(msg.scope), guild_id=msg.guild_id, user_id=msg.user_id)
        except ValueError as exc:
            return RememberRefused(reason=str(exc))
        draft = check_draft(
            FactDraft(
                owner,
                msg.fact,
                fact_type=msg.fact_type,
                subject=msg.subject,
                confidence=msg.confidence,
                evidence_ids=msg.evidence_ids,
                evidence_text=msg.evidence_text,
                channel_id=msg.channel_id,
                supersedes=msg.supersedes,
            ),
            mode,
        )
        if isinstance(draft, Rejected):
            return RememberRefused(reason=draft.reason)
        key = key_of(owner)
        rows = await self.store.get_facts(
            GetFacts(owner_keys=(key,), subject=draft.subject, include_archived=True, limit=1000)
        )
        existing = [to_fact(r) for r in rows]
        if draft.supersedes is not None and all(f.id != draft.supersedes for f in existing):
            extra = await self.store.get_facts(
                GetFacts(owner_keys=(key,), fact_ids=(draft.supersedes,), include_archived=True)
            )
            existing += [to_fact(r) for r in extra]
        plan = plan_write(draft, existing, self.config.now(), mode)
        if isinstance(plan, Rejected):
            return RememberRefused(reason=plan.reason)
        if isinstance(plan, Merge):
            try:
                merged = await self.store.merge_fact(
                    MergeFact(
                        fact_id=plan.fact_id,
                        confidence=plan.confidence,
                        evidence_ids=plan.evidence_ids,
                        archive_ids=plan.archive,
                        clear_dm=not msg.learned_in_dm,
                    )
                )
            except StoreRequestError as exc:
                return RememberRefused(reason=exc.rejected.problem)
            return Remembered(
                fact_id=merged.fact_id, merged=True, archived=merged.archived, embedded=False
            )
        assert isinstance(plan, Insert)
        d = plan.draft
        vectors = await self._vectors([d.fact], "passage")
        try:
            written = await self.store.put_fact(
                PutFact(
                    scope=owner.scope,
                    guild_id=owner.guild_id,
                    user_id=owner.user_id,
                    subject=d.subject,
                    fact=d.fact,
                    fact_key=dedupe_key(d.fact),
                    fact_type=d.fact_type,
                    confidence=d.confidence,
                    evidence_ids=d.evidence_ids,
                    evidence_text=d.evidence_text,
                    channel_id=d.channel_id,
                    supersedes=d.supersedes,
                    archive_ids=plan.archive,
                    vector=None if vectors is None else vectors[0],
                    model=self.embedder.model if vectors is not None else "",
                    learned_in_dm=msg.learned_in_dm,
                )
            )
        except StoreRequestError as exc:
            return RememberRefused(reason=exc.rejected.problem)
        return Remembered(
            fact_id=written.fact_id,
            merged=False,
            archived=written.archived,
            embedded=vectors is not None,
        )

    @handles(Forget)
    async def forget(self, msg: Forget) -> Forgotten:
        gone: list[int] = []
        try:
            while True:  # a page at a time (the Store reads at most 1,000 rows per request)
                rows = await self.store.get_facts(
                    GetFacts(
                        owner_keys=(msg.owner_key,),
                        fact_ids=() if msg.everything else msg.fact_ids,
                        include_archived=True,
                        limit=1000,
                    )
                )
                ids = sorted(r.id for r in rows)
                if ids:
                    await self.store.delete_facts(ids)
                    gone += ids
                if not msg.everything or len(ids) < 1000:
                    break
        except (ActorError, StoreRequestError) as exc:
            log.warning("memory: Forget failed, the Store did not answer: %s", exc)
            return Forgotten(fact_ids=tuple(sorted(gone)), problem=str(exc))
        log.info("memory: forgot %d facts of %s", len(gone), msg.owner_key)
        return Forgotten(fact_ids=tuple(sorted(gone)))

    @handles(EditFact)
    async def edit(self, msg: EditFact) -> FactEdited | FactChangeRefused:
        # The operator's edit (`clanker.memory.curator`): the policy checks it, a new text is
        # re-embedded.
        return await edit_fact(self.store, self._vectors, self.embedder.model, msg)

    @handles(ArchiveFact)
    async def archive(self, msg: ArchiveFact) -> FactArchived | FactChangeRefused:
        return await archive_fact(self.store, msg)

    @handles(Recall)
    async def recall(self, msg: Recall) -> Recalled:
        try:
            return await self._recall(msg)
        except (ActorError, StoreRequestError) as exc:
            log.warning("memory: Recall failed, the Store did not answer: %s", exc)
            return Recalled(facts=(), used_vector=False, problem=str(exc))

    async def _recall(self, msg: Recall) -> Recalled:
        ranked, used_vector = await self._ranked(msg)
        return Recalled(
            facts=tuple(_recalled(s.fact, s.score) for s in ranked), used_vector=used_vector
        )

    @handles(RecallForPrompt)
    async def recall_for_prompt(self, msg: RecallForPrompt) -> Recalled:
        try:
            return await self._for_prompt(msg)
        except (ActorError, StoreRequestError) as exc:
            log.warning("memory: RecallForPrompt failed, the Store did not answer: %s", exc)
            return Recalled(facts=(), used_vector=False, problem=str(exc))

    async def _for_prompt(self, msg: RecallForPrompt) -> Recalled:
        """`clanker.memory.profile.compose` over what the Store and the ranking give."""

        def visible(rows: Sequence[FactRow]) -> list[Fact]:
            return [
                to_fact(r) for r in rows if r.active and (msg.with_dm_facts or not r.learned_in_dm)
            ]

        people = [k for k in msg.owner_keys if k.startswith("user:")]
        guilds = tuple(k for k in msg.owner_keys if k.startswith("guild:"))
        guidance = (
            visible(await self.store.get_facts(GetFacts(owner_keys=guilds, limit=200)))
            if guilds
            else []
        )
        profiles = [
            visible(await self.store.get_facts(GetFacts(owner_keys=(key,), limit=100)))
            for key in people
        ]
        ranked, used_vector = await self._ranked(
            Recall(
                owner_keys=msg.owner_keys,
                query=msg.query or " ",
                channel_id=msg.channel_id,
                limit=RELEVANT_FACTS,
                with_dm_facts=msg.with_dm_facts,
            )
        )
        scores = {s.fact.id: s.score for s in ranked}
        facts = compose(
            guidance=guidance,
            primary=profiles[0] if profiles else [],
            relevant=[s.fact for s in ranked],
            others=profiles[1:],
        )
        return Recalled(
            facts=tuple(_recalled(f, scores.get(f.id, 0.0)) for f in facts), used_vector=used_vector
        )

    async def _ranked(self, msg: Recall) -> tuple[list[Scored], bool]:
        vectors = await self._query_vector(msg.query)
        vector = None if vectors is None else vectors[0]
        found = await self.store.search_facts(recall_search(msg, vector, self.embedder.model))
        ranked = rank_recall(
            found,
            msg,
            now=self.config.now(),
            has_query_vector=vector is not None,
            weights=self.weights,
        )
        return ranked, vectors is not None


def _recalled(fact: Fact, score: float) -> RecalledFact:
    return RecalledFact(
        id=fact.id,
        owner_key=key_of(fact.owner),
        subject=fact.subject,
        fact=fact.fact,
        fact_type=fact.fact_type,
        confidence=fact.confidence,
        score=score,
    )


def recall_search(msg: Recall, vector: tuple[float, ...] | None, model: str) -> SearchFacts:
    """The Store search behind a `Recall`: KNN (when there is a query vector), FTS5 on the
    query's content words and the recent facts, `candidate_pool` of each."""
    return SearchFacts(
        owner_keys=msg.owner_keys,
        fts_query=fts_expression(msg.query),
        vector=vector,
        model=model if vector is not None else "",
        k=candidate_pool(msg.limit),
        recent=RECENT_CANDIDATES,
        with_dm_facts=msg.with_dm_facts,
    )


def rank_recall(
    found: Sequence[FactCandidate],
    msg: Recall,
    *,
    now: float,
    has_query_vector: bool,
    weights: RankingWeights,
) -> list[Scored]:
    """A recall's candidates ranked as the reply sees them (`clanker.memory.ranking.rank`).
    With `recall_search`, what the service does between embedding the query and replying; the
    memory benchmark calls both so that it measures the same ranking."""
    return rank(
        [to_candidate(c) for c in found],
        msg.query,
        now=now,
        channel_id=msg.channel_id,
        has_query_vector=has_query_vector,
        limit=msg.limit,
        weights=weights,
    )


def _scope(text: str) -> Scope:
    if text == "user":
        return "user"
    if text == "guild":
        return "guild"
    if text == "self":
        return "self"
    raise ValueError(f"scope must be user, guild or self, got {text!r}")


def memory_child(config: MemoryConfig, name: str = MEMORY_NAME) -> ChildSpec:
    """The memory service as a supervised child registered as ``name``."""
    return ChildSpec(
        name,
        lambda: MemoryService(config),
        register=name,
        mailbox=MemoryService.mailbox,  # the lambda hides the class's own spec from the slot
    )
