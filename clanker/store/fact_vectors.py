"""Fact vectors in the Store: exact floats in a plain table, binary codes for big partitions.

Tables (migration 7):

* ``memory_fact_vectors`` — a plain table, one row per fact: ``owner_key``, ``model`` and the
  float32 ``embedding``. Read by primary key (re-scoring, MMR, which model embedded a fact) and
  by ``(owner_key, model)`` (the exact KNN). The ``vec0`` table it replaced (migration 4) could
  only be read back by a full scan (``fact_id IN (…)``) or ~0.3 ms a point lookup, allocated a
  1.5 MB chunk for every owner however few facts it had, and filtered its ``model`` metadata (a
  name longer than vec0's 12 inline bytes) with a row lookup per vector.
* ``memory_vector_partitions`` — per ``(owner_key, model)``: how many vectors it holds and
  whether it is ``coded``.
* ``memory_fact_codes`` — a ``vec0`` table of `clanker.store.vector_codes` codes (``bit[1152]``)
  of the coded partitions' vectors, ``owner_key`` and ``model`` its partition keys, ``active``
  metadata.
* ``memory_vector_codebooks`` — each model's `Codebook`, fitted once, when its first partition
  is coded, from up to `CODEBOOK_SAMPLE` of its vectors.

`nearest` is the KNN of one owner. A partition of at most `EXACT_MAX` vectors — every owner in
practice: a subject keeps at most 120 active facts — is searched exactly: all its active
vectors, cosine in numpy (~1-2 ms at 1,024). A bigger one is *coded* (when a write takes it past
`EXACT_MAX`, or at its first search after migration 7 carried the old vectors over; it keeps its
codes if it shrinks again, and is then searched exactly again): the
``OVERSAMPLE * k`` nearest codes are fetched from ``vec0`` and re-scored with the exact cosine of
their float vectors. That path is approximate; docs/performance.md measures how much of the
exact top k it returns.

Every function here runs inside the caller's transaction when there is one (writes are always in
one); `nearest` opens its own only to code a partition.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from clanker.store.sqlite import Connection, transaction
from clanker.store.vector_codes import Codebook, encode, fit_codebook
from clanker.store.wallclock import utc_now_iso

EXACT_MAX = 1024
"""The largest partition searched exactly; a bigger one is searched through its codes."""

CODEBOOK_SAMPLE = 4096
"""At most this many of a model's vectors (the oldest) fit its codebook."""

OVERSAMPLE = 2
"""The coarse pass fetches this many codes per wanted neighbour, then re-scores them exactly."""

MAX_COARSE = 4096  # sqlite-vec's largest k

Floats = npt.NDArray[np.float32]


def to_blob(vector: Sequence[float] | Floats) -> bytes:
    """A vector as the float32 BLOB stored in ``memory_fact_vectors.embedding``."""
    return np.asarray(vector, dtype=np.float32).tobytes()


def _matrix(blobs: Sequence[bytes]) -> Floats:
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def cosines(matrix: Floats, query: Floats) -> npt.NDArray[np.float64]:
    """Cosine of each row of ``matrix`` with ``query`` (0 for a zero vector)."""
    m = matrix.astype(np.float64)
    q = query.astype(np.float64)
    norms = np.linalg.norm(m, axis=1) * np.linalg.norm(q)
    dots: npt.NDArray[np.float64] = m @ q
    out: npt.NDArray[np.float64] = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)
    return out


# --- partitions, codebooks, codes -------------------------------------------------------------


def partition(conn: Connection, owner: str, model: str) -> tuple[int, bool]:
    """``(vectors, coded)`` of one owner's vectors of one model (``(0, False)`` when none)."""
    row = conn.execute(
        "SELECT vectors, coded FROM memory_vector_partitions WHERE owner_key = ? AND model = ?",
        (owner, model),
    ).fetchone()
    return (0, False) if row is None else (int(row[0]), bool(row[1]))


def _count(conn: Connection, owner: str, model: str, delta: int) -> int:
    if delta > 0:
        conn.execute(
            "INSERT INTO memory_vector_partitions (owner_key, model, vectors) VALUES (?, ?, ?) "
            "ON CONFLICT (owner_key, model) DO UPDATE SET vectors = vectors + excluded.vectors",
            (owner, model, delta),
        )
    else:
        conn.execute(
            "UPDATE memory_vector_partitions SET vectors = vectors + ? "
            "WHERE owner_key = ? AND model = ?",
            (delta, owner, model),
        )
    return partition(conn, owner, model)[0]


def codebook(conn: Connection, model: str) -> Codebook | None:
    """The model's stored codebook, or None."""
    row = conn.execute(
        "SELECT centre, scale FROM memory_vector_codebooks WHERE model = ?", (model,)
    ).fetchone()
    return None if row is None else Codebook.from_blobs(row[0], row[1])


def _codebook(conn: Connection, model: str) -> Codebook:
    """The model's codebook, fitted now from its oldest vectors if it has none."""
    book = codebook(conn, model)
    if book is not None:
        return book
    sample = conn.execute(
        "SELECT embedding FROM memory_fact_vectors WHERE model = ? ORDER BY fact_id LIMIT ?",
        (model, CODEBOOK_SAMPLE),
    ).fetchall()
    book = fit_codebook(_matrix([r[0] for r in sample]))
    centre, scale = book.to_blobs()
    conn.execute(
        "INSERT INTO memory_vector_codebooks (model, centre, scale, fitted_on, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (model, centre, scale, len(sample), utc_now_iso()),
    )
    return book


def _code_partition(conn: Connection, owner: str, model: str) -> None:
    """Write the codes of every vector of the partition and mark it coded."""
    book = _codebook(conn, model)
    rows = conn.execute(
        "SELECT v.fact_id, mf.is_active, v.embedding FROM memory_fact_vectors v "
        "JOIN memory_facts mf ON mf.id = v.fact_id "
        "WHERE v.owner_key = ? AND v.model = ? ORDER BY v.fact_id",
        (owner, model),
    )
    while batch := rows.fetchmany(4096):  # an uncoded partition has no codes: insert only
        codes = encode(book, _matrix([r[2] for r in batch]))
        conn.executemany(
            "INSERT INTO memory_fact_codes (fact_id, owner_key, model, active, code) "
            "VALUES (?, ?, ?, ?, vec_bit(?))",
            [(r[0], owner, model, int(r[1]), c) for r, c in zip(batch, codes, strict=True)],
        )
    conn.execute(
        "UPDATE memory_vector_partitions SET coded = 1 WHERE owner_key = ? AND model = ?",
        (owner, model),
    )


# --- writes -----------------------------------------------------------------------------------


def put_vector(
    conn: Connection,
    fact_id: int,
    owner: str,
    active: bool,
    model: str,
    vector: Sequence[float],
) -> None:
    """Store (or replace) one fact's vector; code it when its partition is coded, or code the
    whole partition when this vector takes it past `EXACT_MAX`."""
    drop_vectors(conn, (fact_id,))
    conn.execute(
        "INSERT INTO memory_fact_vectors (fact_id, owner_key, model, embedding) "
        "VALUES (?, ?, ?, ?)",
        (fact_id, owner, model, to_blob(vector)),
    )
    vectors = _count(conn, owner, model, 1)
    coded = partition(conn, owner, model)[1]
    if not coded:
        if vectors > EXACT_MAX:
            _code_partition(conn, owner, model)
        return
    (code,) = encode(_codebook(conn, model), np.asarray(vector, dtype=np.float32))
    conn.execute(
        "INSERT INTO memory_fact_codes (fact_id, owner_key, model, active, code) "
        "VALUES (?, ?, ?, ?, vec_bit(?))",
        (fact_id, owner, model, int(active), code),
    )


def drop_vectors(conn: Connection, fact_ids: Iterable[int]) -> None:
    """Delete the facts' vectors and codes (one statement per id: ``vec0`` scans on ``IN``)."""
    ids = sorted(set(fact_ids))
    if not ids:
        return
    rows = conn.execute(
        f"SELECT fact_id, owner_key, model FROM memory_fact_vectors "
        f"WHERE fact_id IN ({_marks(len(ids))})",
        ids,
    ).fetchall()
    for fact_id, owner, model in rows:
        conn.execute("DELETE FROM memory_fact_vectors WHERE fact_id = ?", (fact_id,))
        _count(conn, owner, model, -1)
    conn.executemany("DELETE FROM memory_fact_codes WHERE fact_id = ?", [(i,) for i in ids])


def set_active(conn: Connection, fact_ids: Iterable[int], active: bool) -> None:
    """Mark the facts' codes active or archived (the coded KNN reads only active ones; the exact
    one reads ``memory_facts.is_active``)."""
    conn.executemany(
        "UPDATE memory_fact_codes SET active = ? WHERE fact_id = ?",
        [(int(active), i) for i in sorted(set(fact_ids))],
    )


# --- reads ------------------------------------------------------------------------------------


def vector_models(conn: Connection, fact_ids: Sequence[int]) -> dict[int, str]:
    """The model of each fact's vector (facts without one are left out)."""
    if not fact_ids:
        return {}
    marks = _marks(len(fact_ids))
    rows = conn.execute(
        f"SELECT fact_id, model FROM memory_fact_vectors WHERE fact_id IN ({marks})",
        list(fact_ids),
    ).fetchall()
    return {int(r[0]): str(r[1]) for r in rows}


def read_vectors(conn: Connection, fact_ids: Sequence[int]) -> dict[int, tuple[str, Floats]]:
    """Each fact's model and float vector (facts without one are left out)."""
    if not fact_ids:
        return {}
    rows = conn.execute(
        f"SELECT fact_id, model, embedding FROM memory_fact_vectors "
        f"WHERE fact_id IN ({_marks(len(fact_ids))})",
        list(fact_ids),
    ).fetchall()
    return {int(r[0]): (str(r[1]), np.frombuffer(r[2], dtype=np.float32)) for r in rows}


def nearest(
    conn: Connection,
    owner: str,
    model: str,
    query: Sequence[float] | Floats,
    k: int,
    *,
    with_dm_facts: bool = True,
) -> list[tuple[int, float]]:
    """The ``k`` active facts of ``owner`` whose ``model`` vectors are nearest ``query``, as
    ``(fact_id, cosine)``, best first (ties: lower id). See the module docstring. Without
    ``with_dm_facts`` the exact search leaves out facts learned in a DM; the coded one cannot
    (its codes carry no such mark), so the caller drops them when it reads the rows."""
    q = np.asarray(query, dtype=np.float32)
    vectors, coded = partition(conn, owner, model)
    if vectors == 0:
        return []
    if vectors <= EXACT_MAX:  # a coded partition that shrank back is searched exactly too
        rows = conn.execute(
            "SELECT v.fact_id, v.embedding FROM memory_fact_vectors v "
            "JOIN memory_facts mf ON mf.id = v.fact_id "
            "WHERE v.owner_key = ? AND v.model = ? AND mf.is_active = 1 "
            "AND (? OR mf.learned_in_dm = 0)",
            (owner, model, int(with_dm_facts)),
        ).fetchall()
    else:
        if not coded and conn.in_transaction:  # carried over by migration 7, not searched since
            _code_partition(conn, owner, model)
        elif not coded:
            with transaction(conn):
                _code_partition(conn, owner, model)
        (code,) = encode(_codebook(conn, model), q)
        ids = [
            int(r[0])
            for r in conn.execute(
                "SELECT fact_id FROM memory_fact_codes WHERE code MATCH vec_bit(?) AND k = ? "
                "AND owner_key = ? AND model = ? AND active = 1",
                (code, min(MAX_COARSE, OVERSAMPLE * k), owner, model),
            ).fetchall()
        ]
        rows = (
            conn.execute(
                f"SELECT fact_id, embedding FROM memory_fact_vectors "
                f"WHERE fact_id IN ({_marks(len(ids))})",
                ids,
            ).fetchall()
            if ids
            else []
        )
    if not rows:
        return []
    found = np.array([int(r[0]) for r in rows])
    cos = cosines(_matrix([r[1] for r in rows]), q)
    order = np.lexsort((found, -cos))[:k]
    return [(int(found[i]), float(cos[i])) for i in order]
