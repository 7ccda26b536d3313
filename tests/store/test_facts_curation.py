"""The operator's curation requests on the Store: `UpdateFact` (text, key, type, confidence in
place; the FTS5 row follows; the vector replaced or dropped), `SetFactActive` (the row and its
vector's KNN flag together) and `GetFacts(only_archived=True)`, on a real SQLite file with
sqlite-vec."""

from __future__ import annotations

import re

import pytest

from clanker.store import RowsChanged, StoreRejected
from clanker.store.fact_queries import get_facts, search_facts, set_fact_active, update_fact
from clanker.store.facts import GetFacts, SearchFacts, SetFactActive, UpdateFact
from clanker.store.sqlite import Connection

from .test_facts import MODEL, user_fact, vec, written


def _one(conn: Connection, fact_id: int) -> tuple[str, str, float, str | None, bool]:
    (row,) = get_facts(
        conn, GetFacts(owner_keys=("user:42",), fact_ids=(fact_id,), include_archived=True)
    ).rows
    return row.fact, row.fact_type, row.confidence, row.model, row.active


def _knn(conn: Connection, weights: tuple[int, float]) -> list[tuple[int, float | None]]:
    """The KNN hits and their cosines."""
    found = search_facts(
        conn, SearchFacts(owner_keys=("user:42",), vector=vec(weights), model=MODEL, recent=0)
    )
    return [(c.row.id, None if c.cosine is None else round(c.cosine, 3)) for c in found.candidates]


def _fts(conn: Connection, word: str) -> list[int]:
    found = search_facts(conn, SearchFacts(owner_keys=("user:42",), fts_query=word, recent=0))
    return [c.row.id for c in found.candidates]


def test_an_update_changes_the_text_its_words_and_its_vector(conn: Connection) -> None:
    a = written(conn, user_fact("plays the violin", vector=vec((0, 1.0)), model=MODEL)).fact_id
    done = update_fact(
        conn,
        UpdateFact(
            fact_id=a,
            fact="plays the cello",
            fact_key="plays the cello",
            fact_type="profile",
            confidence=0.9,
            vector=vec((1, 1.0)),
            model=MODEL,
        ),
    )
    assert done == RowsChanged(count=1)
    assert _one(conn, a) == ("plays the cello", "profile", 0.9, MODEL, True)
    assert (_fts(conn, "cello"), _fts(conn, "violin")) == ([a], [])
    assert (_knn(conn, (1, 1.0)), _knn(conn, (0, 1.0))) == ([(a, 1.0)], [(a, 0.0)])
    # a new text without a new vector drops the old one: it no longer says what the fact says
    update_fact(
        conn,
        UpdateFact(
            fact_id=a,
            fact="plays the flute",
            fact_key="plays the flute",
            fact_type="profile",
            confidence=0.9,
            drop_vector=True,
        ),
    )
    assert _one(conn, a)[3] is None
    assert conn.execute("SELECT count(*) FROM memory_fact_vectors").fetchone()[0] == 0
    assert update_fact(
        conn,
        UpdateFact(fact_id=999, fact="x y z", fact_key="x y z", fact_type="other", confidence=0.5),
    ) == RowsChanged(count=0)


def test_an_update_onto_another_facts_text_is_rejected(conn: Connection) -> None:
    a = written(conn, user_fact("likes chess")).fact_id
    written(conn, user_fact("likes tea"))
    refused = update_fact(
        conn,
        UpdateFact(
            fact_id=a, fact="likes tea", fact_key="likes tea", fact_type="other", confidence=0.5
        ),
    )
    assert isinstance(refused, StoreRejected) and "UNIQUE" in refused.problem
    assert _one(conn, a)[0] == "likes chess"  # the transaction rolled back


def test_archiving_hides_the_fact_from_knn_and_restoring_brings_it_back(
    conn: Connection,
) -> None:
    a = written(conn, user_fact("likes chess", vector=vec((0, 1.0)), model=MODEL)).fact_id
    b = written(conn, user_fact("likes tea")).fact_id
    assert set_fact_active(conn, SetFactActive(fact_id=a, active=False)) == RowsChanged(count=1)
    assert set_fact_active(conn, SetFactActive(fact_id=a, active=False)) == RowsChanged(count=0)
    assert (_knn(conn, (0, 1.0)), _fts(conn, "chess"), _one(conn, a)[4]) == ([], [], False)
    archived = get_facts(conn, GetFacts(owner_keys=("user:42",), only_archived=True)).rows
    assert [r.id for r in archived] == [a]
    active = get_facts(conn, GetFacts(owner_keys=("user:42",))).rows
    assert [r.id for r in active] == [b]
    assert set_fact_active(conn, SetFactActive(fact_id=a, active=True)) == RowsChanged(count=1)
    assert (_knn(conn, (0, 1.0)), _fts(conn, "chess")) == ([(a, 1.0)], [a])
    assert set_fact_active(conn, SetFactActive(fact_id=999, active=True)) == RowsChanged(count=0)


def test_the_requests_check_their_fields() -> None:
    with pytest.raises(ValueError, match=re.escape("UpdateFact.fact_type 'rule'")):
        UpdateFact(fact_id=1, fact="abc", fact_key="abc", fact_type="rule", confidence=0.5)
    with pytest.raises(
        ValueError, match=re.escape("UpdateFact.confidence must be in 0..1, got 1.5")
    ):
        UpdateFact(fact_id=1, fact="abc", fact_key="abc", fact_type="other", confidence=1.5)
    with pytest.raises(
        ValueError, match=re.escape("UpdateFact.fact must be 1..400 characters, got 0")
    ):
        UpdateFact(fact_id=1, fact="", fact_key="abc", fact_type="other", confidence=0.5)
    with pytest.raises(ValueError, match="fact_id"):
        SetFactActive(fact_id=-1, active=True)
