"""The Store's long-term memory API: fact rows, their vectors, and hybrid candidate search.

The write *policy* (validation, duplicate merge, supersedes, the per-subject cap) is decided in
`clanker.memory.policy`; these requests only carry out its plan, each in one transaction. An
owner is named by its key: ``user:<id>``, ``guild:<id>`` or ``self`` (`owner_key`). A user
fact learned in a DM carries ``learned_in_dm`` (migration 6); `SearchFacts` leaves those out
unless ``with_dm_facts`` (a DM's own prompt), while `GetFacts` reads every fact (the write
path's duplicate and cap checks need them all). Vectors
are float32 lists of `VECTOR_DIMS` numbers, stored in a ``vec0`` table with the model that
made them; KNN only compares vectors of the asked model.
"""

from __future__ import annotations

import math
import re

import msgspec

from clanker.store.validation import check_id, check_limit
from clanker.wire import Message

VECTOR_DIMS = 384
SCOPES = ("user", "guild", "self")
FACT_TYPES = ("preference", "profile", "relationship", "project", "guidance", "behavioral", "other")
MAX_FACT_CHARS = 400
MAX_SUBJECT_CHARS = 120
MAX_EVIDENCE_CHARS = 240
_OWNER_KEY = re.compile(r"(user|guild):\d{1,19}|self")


def owner_key(scope: str, guild_id: int | None, user_id: int | None) -> str:
    """``user:<id>``, ``guild:<id>`` or ``self``."""
    if scope == "user":
        return f"user:{user_id}"
    return f"guild:{guild_id}" if scope == "guild" else "self"


def check_owner_keys(obj: object, keys: tuple[str, ...]) -> None:
    if not keys:
        raise ValueError(f"{type(obj).__qualname__}.owner_keys must name at least one owner")
    for key in keys:
        if not _OWNER_KEY.fullmatch(key):
            raise ValueError(
                f"{type(obj).__qualname__}.owner_keys: {key!r} is not an owner key "
                "('user:<id>', 'guild:<id>' or 'self')"
            )


def _check_vector(obj: object, vector: tuple[float, ...] | None, model: str) -> None:
    if vector is None:
        return
    name = type(obj).__qualname__
    if len(vector) != VECTOR_DIMS:
        raise ValueError(f"{name}.vector has {len(vector)} numbers; expected {VECTOR_DIMS}")
    if not all(math.isfinite(x) for x in vector):
        raise ValueError(f"{name}.vector has a NaN or infinite number")
    if not model.strip():
        raise ValueError(f"{name}.model must name the embedding model of the vector")


def _check_ids(obj: object, field: str, ids: tuple[int, ...]) -> None:
    for i in ids:
        check_id(obj, field, i)


class PutFact(Message, frozen=True):
    """Insert a checked fact (see `clanker.memory.policy.Insert`), archive ``archive_ids`` of the
    same owner (the superseded fact, cap evictions), and store its vector if given.
    Reply: `FactWritten`; a fact already stored for that owner, subject and ``fact_key`` →
    `StoreRejected`."""

    scope: str
    guild_id: int | None
    user_id: int | None
    subject: str
    fact: str
    fact_key: str
    fact_type: str
    confidence: float
    created_at: str | None = None  # default: now
    evidence_ids: tuple[int, ...] = ()
    evidence_text: str = ""
    channel_id: int | None = None
    supersedes: int | None = None
    archive_ids: tuple[int, ...] = ()
    vector: tuple[float, ...] | None = None
    model: str = ""
    learned_in_dm: bool = False  # a user fact told in a DM: never in a guild's prompt

    def __post_init__(self) -> None:
        if self.learned_in_dm and self.scope != "user":
            raise ValueError("PutFact.learned_in_dm is only for user-scope facts")
        if self.scope not in SCOPES:
            raise ValueError(
                f"PutFact.scope must be one of {', '.join(SCOPES)}, got {self.scope!r}"
            )
        if self.fact_type not in FACT_TYPES:
            raise ValueError(f"PutFact.fact_type {self.fact_type!r} is not one of {FACT_TYPES}")
        check_id(self, "guild_id", self.guild_id, optional=True)
        check_id(self, "user_id", self.user_id, optional=True)
        check_id(self, "channel_id", self.channel_id, optional=True)
        check_id(self, "supersedes", self.supersedes, optional=True)
        _check_ids(self, "evidence_ids", self.evidence_ids)
        _check_ids(self, "archive_ids", self.archive_ids)
        for field, text, cap in (
            ("fact", self.fact, MAX_FACT_CHARS),
            ("subject", self.subject, MAX_SUBJECT_CHARS),
            ("fact_key", self.fact_key, MAX_FACT_CHARS),
        ):
            if not text.strip() or len(text) > cap:
                raise ValueError(f"PutFact.{field} must be 1..{cap} characters, got {len(text)}")
        if len(self.evidence_text) > MAX_EVIDENCE_CHARS:
            raise ValueError(f"PutFact.evidence_text is over {MAX_EVIDENCE_CHARS} characters")
        if not (math.isfinite(self.confidence) and 0.0 <= self.confidence <= 1.0):
            raise ValueError(f"PutFact.confidence must be in 0..1, got {self.confidence}")
        _check_vector(self, self.vector, self.model)


class MergeFact(Message, frozen=True):
    """Apply a `clanker.memory.policy.Merge`: set the fact's confidence and evidence, make it
    active, stamp ``updated_at``, archive ``archive_ids`` of the same owner. Reply:
    `FactWritten`; an unknown ``fact_id`` → `StoreRejected`."""

    fact_id: int
    confidence: float
    evidence_ids: tuple[int, ...] = ()
    archive_ids: tuple[int, ...] = ()
    # Said again outside a DM: the fact is no longer a DM-only one (``learned_in_dm`` cleared).
    clear_dm: bool = False

    def __post_init__(self) -> None:
        check_id(self, "fact_id", self.fact_id)
        _check_ids(self, "evidence_ids", self.evidence_ids)
        _check_ids(self, "archive_ids", self.archive_ids)
        if not (math.isfinite(self.confidence) and 0.0 <= self.confidence <= 1.0):
            raise ValueError(f"MergeFact.confidence must be in 0..1, got {self.confidence}")


class FactWritten(Message, frozen=True):
    """Reply: the fact written (new or merged) and the ids actually archived."""

    fact_id: int
    archived: tuple[int, ...]


class PutFactVector(Message, frozen=True):
    """Store (or replace) a fact's vector and the model that made it. Reply: `RowsChanged`
    (0 if the fact is unknown)."""

    fact_id: int
    model: str
    vector: tuple[float, ...]

    def __post_init__(self) -> None:
        check_id(self, "fact_id", self.fact_id)
        _check_vector(self, self.vector, self.model)


class DeleteFacts(Message, frozen=True):
    """Delete facts and their vectors for good (forget requests, purges). Reply: `RowsChanged`."""

    fact_ids: tuple[int, ...]

    def __post_init__(self) -> None:
        _check_ids(self, "fact_ids", self.fact_ids)


class UpdateFact(Message, frozen=True):
    """Edit a stored fact in place (the operator's edit, checked by `clanker.memory.curation`):
    its text, ``fact_key``, type and confidence, ``updated_at`` stamped, the FTS5 row following
    the text. ``vector`` replaces the fact's vector; without one, ``drop_vector`` deletes the old
    vector (the text changed, so it no longer says what the fact says; the re-embedding pass
    makes a new one). Reply: `RowsChanged` (0 for an unknown id); a text another fact of the
    same owner and subject already says → `StoreRejected`."""

    fact_id: int
    fact: str
    fact_key: str
    fact_type: str
    confidence: float
    vector: tuple[float, ...] | None = None
    model: str = ""
    drop_vector: bool = False

    def __post_init__(self) -> None:
        check_id(self, "fact_id", self.fact_id)
        if self.fact_type not in FACT_TYPES:
            raise ValueError(f"UpdateFact.fact_type {self.fact_type!r} is not one of {FACT_TYPES}")
        for field, text in (("fact", self.fact), ("fact_key", self.fact_key)):
            if not text.strip() or len(text) > MAX_FACT_CHARS:
                raise ValueError(
                    f"UpdateFact.{field} must be 1..{MAX_FACT_CHARS} characters, got {len(text)}"
                )
        if not (math.isfinite(self.confidence) and 0.0 <= self.confidence <= 1.0):
            raise ValueError(f"UpdateFact.confidence must be in 0..1, got {self.confidence}")
        _check_vector(self, self.vector, self.model)


class SetFactActive(Message, frozen=True):
    """Archive (``active=False``) or restore one fact: its row's ``is_active`` and its vector's
    ``active`` flag (so KNN follows), ``updated_at`` stamped. Reply: `RowsChanged` (0 when the
    id is unknown or the fact already is so)."""

    fact_id: int
    active: bool

    def __post_init__(self) -> None:
        check_id(self, "fact_id", self.fact_id)


class GetFacts(Message, frozen=True):
    """Facts of some owners (optionally one subject, or by id), newest update first; active
    ones only, archived ones too (``include_archived``), or archived ones only
    (``only_archived``). Reply: `FactRows`."""

    owner_keys: tuple[str, ...]
    subject: str | None = None
    fact_ids: tuple[int, ...] = ()
    include_archived: bool = False
    limit: int = 200
    only_archived: bool = False

    def __post_init__(self) -> None:
        check_owner_keys(self, self.owner_keys)
        _check_ids(self, "fact_ids", self.fact_ids)
        check_limit(self, self.limit)


class FactsWithoutVector(Message, frozen=True):
    """Active facts with no vector of ``model`` (none, or another model's), oldest first:
    what a re-embedding pass works through. Reply: `FactRows`."""

    model: str
    limit: int = 32

    def __post_init__(self) -> None:
        if not self.model.strip():
            raise ValueError("FactsWithoutVector.model must name an embedding model")
        check_limit(self, self.limit)


class CountFactVectors(Message, frozen=True):
    """How many facts are active, and how many of those have a vector of ``model``: a
    re-embedding's progress. Reply: `FactVectorCount`."""

    model: str

    def __post_init__(self) -> None:
        if not self.model.strip():
            raise ValueError("CountFactVectors.model must name an embedding model")


class FactVectorCount(Message, frozen=True):
    """Reply: ``active`` facts, ``embedded`` of them with a vector of the asked model."""

    active: int
    embedded: int


class FactRow(msgspec.Struct, frozen=True, kw_only=True):
    """A stored fact as read back (``model``: of its vector, None without one)."""

    id: int
    scope: str
    guild_id: int | None
    user_id: int | None
    subject: str
    fact: str
    fact_type: str
    confidence: float
    evidence_ids: tuple[int, ...]
    evidence_text: str
    channel_id: int | None
    supersedes: int | None
    active: bool
    created_at: str
    updated_at: str
    model: str | None = None
    learned_in_dm: bool = False


class FactRows(Message, frozen=True):
    """Reply: fact rows."""

    rows: tuple[FactRow, ...]


class SearchFacts(Message, frozen=True):
    """Hybrid candidates among the active facts of ``owner_keys``: the ``k`` nearest vectors of
    ``model`` per owner (if ``vector``), the ``k`` best FTS5 matches of ``fts_query`` (an FTS5
    expression, e.g. ``"chess" OR "openings"``; empty: none) and the ``recent`` latest-updated.
    Reply: `FactCandidates`, each candidate once, with its cosine (when it has a vector of
    ``model`` and a query vector was given) and bm25 (when it matched). Facts learned in a DM
    are left out unless ``with_dm_facts`` (only a DM's own prompt or tool may ask for them)."""

    owner_keys: tuple[str, ...]
    fts_query: str = ""
    vector: tuple[float, ...] | None = None
    model: str = ""
    k: int = 60
    recent: int = 24
    with_dm_facts: bool = False

    def __post_init__(self) -> None:
        check_owner_keys(self, self.owner_keys)
        _check_vector(self, self.vector, self.model)
        check_limit(self, self.k)
        if not 0 <= self.recent <= 1000:
            raise ValueError(f"SearchFacts.recent must be in 0..1000, got {self.recent}")


class FactCandidate(msgspec.Struct, frozen=True, kw_only=True):
    row: FactRow
    cosine: float | None
    bm25: float | None
    vector: tuple[float, ...] | None


class FactCandidates(Message, frozen=True):
    """Reply: the candidates, in no particular order (the ranking orders them)."""

    candidates: tuple[FactCandidate, ...]


class FactOwners(Message, frozen=True):
    """Every owner that has facts (active or archived), the most recently updated first, with
    how many it has: what the operator's Memory view filters by. Reply: `FactOwnerCounts`."""

    limit: int = 200

    def __post_init__(self) -> None:
        check_limit(self, self.limit)


class FactOwnerCount(msgspec.Struct, frozen=True, kw_only=True):
    owner_key: str
    facts: int


class FactOwnerCounts(Message, frozen=True):
    """Reply: the owners and their fact counts."""

    owners: tuple[FactOwnerCount, ...]


class GuildPeople(Message, frozen=True):
    """The people seen in a guild who have facts: the authors of its stored messages whose
    user key owns at least one fact (active or archived), the latest speaker first, with how
    many facts each has. The people a reply there could name (the dashboard searches "as in
    that server" over them). Reply: `FactOwnerCounts`."""

    guild_id: int
    limit: int = 200

    def __post_init__(self) -> None:
        check_id(self, "guild_id", self.guild_id)
        check_limit(self, self.limit)
