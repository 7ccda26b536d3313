"""Migration 6: user facts learned in a DM are marked, and a search leaves them out unless it
asks for them (a DM's own prompt) — through KNN, FTS5 and the recent facts alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from clanker.store.fact_queries import get_facts, merge_fact, search_facts
from clanker.store.facts import FactCandidates, GetFacts, MergeFact, PutFact, SearchFacts
from clanker.store.migrations import MIGRATIONS, migrate, schema_version
from clanker.store.sqlite import Connection, close_connection, open_connection

from .test_facts import MODEL, lore, user_fact, vec, written


def test_a_v5_file_with_facts_migrates_to_v6_and_its_facts_are_not_dm_ones(
    db_path: Path,
) -> None:
    conn = open_connection(db_path)
    try:
        migrate(conn, db_path, MIGRATIONS[:5])
        conn.execute(
            "INSERT INTO memory_facts (scope, user_id, owner_key, subject, fact, fact_key, "
            "fact_type, confidence, created_at, updated_at) VALUES ('user', 42, 'user:42', "
            "'42', 'likes tea', 'likes tea', 'preference', 0.7, '2026-01-01T00:00:00+00:00', "
            "'2026-01-01T00:00:00+00:00')"
        )
        assert migrate(conn, db_path, MIGRATIONS[:6]) == (5, 6)
        assert schema_version(conn) >= 6
        [row] = get_facts(conn, GetFacts(owner_keys=("user:42",))).rows
        assert row.fact == "likes tea" and row.learned_in_dm is False
        # the database itself refuses a DM mark on a guild's lore
        with pytest.raises(Exception, match="CHECK"):
            conn.execute("UPDATE memory_facts SET learned_in_dm = 1, scope = 'guild'")
    finally:
        close_connection(conn)


def test_dm_facts_stay_out_of_a_search_unless_it_asks_for_them(conn: Connection) -> None:
    public = written(conn, user_fact("likes chess openings", vector=vec((0, 1.0)), model=MODEL))
    private = written(
        conn,
        user_fact(
            "plays chess with her therapist", vector=vec((0, 1.0)), model=MODEL, learned_in_dm=True
        ),
    )
    club = written(conn, lore("the chess club meets on fridays"))

    def found(with_dm: bool, **kw: object) -> set[int]:
        reply = search_facts(
            conn,
            SearchFacts(owner_keys=("user:42", "guild:7"), with_dm_facts=with_dm, **kw),  # type: ignore[arg-type]
        )
        assert isinstance(reply, FactCandidates)
        return {c.row.id for c in reply.candidates}

    by_vector = {"vector": vec((0, 1.0)), "model": MODEL, "recent": 0}
    by_words = {"fts_query": '"chess"', "recent": 0}
    by_recency = {"recent": 10}
    for how in (by_vector, by_words, by_recency):
        assert private.fact_id not in found(False, **how), how
        assert private.fact_id in found(True, **how), how
        assert public.fact_id in found(False, **how), how
    assert found(False, **by_recency) == {public.fact_id, club.fact_id}
    # the read of every fact (the write path's) sees it, marked
    rows = get_facts(conn, GetFacts(owner_keys=("user:42",))).rows
    assert {r.id: r.learned_in_dm for r in rows} == {public.fact_id: False, private.fact_id: True}


def test_a_dm_fact_said_again_outside_a_dm_becomes_an_ordinary_one(conn: Connection) -> None:
    fact = written(conn, user_fact("has a cat named miso", learned_in_dm=True))
    merge_fact(conn, MergeFact(fact_id=fact.fact_id, confidence=0.72, clear_dm=False))
    [row] = get_facts(conn, GetFacts(owner_keys=("user:42",))).rows
    assert row.learned_in_dm is True
    merge_fact(conn, MergeFact(fact_id=fact.fact_id, confidence=0.8, clear_dm=True))
    [row] = get_facts(conn, GetFacts(owner_keys=("user:42",))).rows
    assert row.learned_in_dm is False and row.confidence == 0.8


def test_only_a_user_fact_can_be_marked_as_learned_in_a_dm() -> None:
    with pytest.raises(ValueError, match="only for user-scope facts"):
        PutFact(
            scope="guild",
            guild_id=7,
            user_id=None,
            subject="__lore__",
            fact="x y z",
            fact_key="x y z",
            fact_type="other",
            confidence=0.5,
            learned_in_dm=True,
        )
