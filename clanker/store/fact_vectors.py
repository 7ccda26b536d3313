"""Fact vectors in the Store: exact floats in a plain table, binary codes in ``vec0`` (migration 7).

* ``memory_fact_vectors`` — a plain table, one row per fact: ``model`` and the float32
  ``embedding``. Read by primary key (re-scoring, MMR, which model a fact was embedded with) and
  by owner (the exact KNN of a model without a codebook). The ``vec0`` table it replaces could
  only be read back by a full scan (``fact_id IN (…)``) or ~0.3 ms a point lookup, and allocated
  a 1.5 MB chunk for every owner, however few facts it had.
* ``memory_fact_codes`` — a ``vec0`` table of `clanker.store.vector_codes` codes (``bit[1152]``)
  with ``owner_key`` and ``model`` as partition keys (so KNN reads only that owner's chunks of
  that model; as a metadata column the model name, longer than 12 bytes, cost a row lookup per
  vector) and ``active`` as metadata.
* ``memory_vector_codebooks`` — each model's `Codebook`, fitted once from its first vectors.

`nearest` is the KNN: with a codebook, the ``OVERSAMPLE * k`` nearest codes, re-scored with the
exact cosine of their float vectors; a model without a codebook (fewer than `CODEBOOK_MIN`
vectors in all) is searched exactly, all of its vectors of that owner. The codebook is fitted the
first time the model has `CODEBOOK_MIN` vectors — at a vector write, or at the first search after
migration 7 carried the old vectors over (which also writes their codes).

Every function here runs inside the caller's transaction when there is one (writes are always in
one); `nearest` opens its own only to fit a codebook.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from clanker.store.queries import transaction
from clanker.store.sqlite import Connection
from clanker.store.vector_codes import Codebook, encode, fit_codebook
from clanker.store.wallclock import utc_now_iso

CODEBOOK_MIN = 256
"""Vectors a model needs (over all owners) before it gets a codebook and codes."""

CODEBOOK_SAMPLE = 4096
"""At most this many vectors (the oldest) fit a codebook."""

OVERSAMPLE = 2
"""The coarse pass fetches this many codes per wanted neighbour, then re-scores them exactly."""

MAX_COARSE = 4096  # sqlite-vec's largest k

Floats = npt.NDArray[np.float32]


def to_blob(vector: Sequence[float] | Floats) -> bytes:
    """A vector as the float32 BLOB stored in ``memory_fact_vectors.embedding``."""
    return np.asarray(vector, dtype=np.float32).tobytes()


def _matrix(blobs: Sequence[bytes]) -> Floats:
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)


def cosines(matrix: Floats, query: Floats) -> npt.NDArray[np.float64]:
    """Cosine of each row of ``matrix`` with ``query`` (0 for a zero vector)."""
    m = matrix.astype(np.float64)
    q = query.astype(np.float64)
    norms = np.linalg.norm(m, axis=1) * np.linalg.norm(q)
    dots: npt.NDArray[np.float64] = m @ q
    out: npt.NDArray[np.float64] = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)
    return out


# --- codebooks ------------------------------------------------------------------------------


def codebook(conn: Connection, model: str) -> Codebook | None:
    """The model's stored codebook, or None."""
    row = conn.execute(
        "SELECT centre, scale FROM memory_vector_codebooks WHERE model = ?", (model,)
    ).fetchone()
    return None if row is None else Codebook.from_blobs(row[0], row[1])


def _fit(conn: Connection, model: str) -> Codebook | None:
    """Fit and store the model's codebook and code all its vectors, if it has enough of them."""
    if _count(conn, model) < CODEBOOK_MIN:
        return None
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
    rows = conn.execute(
        "SELECT v.fact_id, mf.owner_key, mf.is_active, v.embedding FROM memory_fact_vectors v "
        "JOIN memory_facts mf ON mf.id = v.fact_id WHERE v.model = ? ORDER BY v.fact_id",
        (model,),
    )
    while batch := rows.fetchmany(4096):
        codes = encode(book, _matrix([r[3] for r in batch]))
        conn.executemany(
            "INSERT INTO memory_fact_codes (fact_id, owner_key, model, active, code) "
            "VALUES (?, ?, ?, ?, vec_bit(?))",
            [(r[0], r[1], model, int(r[2]), c) for r, c in zip(batch, codes, strict=True)],
        )
    return book


def _count(conn: Connection, model: str) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM memory_fact_vectors WHERE model = ?", (model,)
        ).fetchone()[0]
    )


def ensure_codebook(conn: Connection, model: str) -> Codebook | None:
    """The model's codebook, fitting it now if the model has come to `CODEBOOK_MIN` vectors
    (a write transaction only then: a search of a small store stays a read)."""
    book = codebook(conn, model)
    if book is not None or _count(conn, model) < CODEBOOK_MIN:
        return book
    if conn.in_transaction:
        return _fit(conn, model)
    with transaction(conn):
        return codebook(conn, model) or _fit(conn, model)


# --- writes ---------------------------------------------------------------------------------


def put_vector(
    conn: Connection,
    fact_id: int,
    owner: str,
    active: bool,
    model: str,
    vector: Sequence[float],
) -> None:
    """Store (or replace) one fact's vector, and its code when the model has a codebook."""
    drop_vectors(conn, (fact_id,))
    conn.execute(
        "INSERT INTO memory_fact_vectors (fact_id, model, embedding) VALUES (?, ?, ?)",
        (fact_id, model, to_blob(vector)),
    )
    book = codebook(conn, model)
    if book is None:
        _fit(conn, model)  # codes every vector of the model, this one included, once it can
        return
    (code,) = encode(book, np.asarray(vector, dtype=np.float32))
    conn.execute(
        "INSERT INTO memory_fact_codes (fact_id, owner_key, model, active, code) "
        "VALUES (?, ?, ?, ?, vec_bit(?))",
        (fact_id, owner, model, int(active), code),
    )


def drop_vectors(conn: Connection, fact_ids: Iterable[int]) -> None:
    """Delete the facts' vectors and codes (one statement per id: ``vec0`` scans on ``IN``)."""
    ids = [(i,) for i in sorted(set(fact_ids))]
    conn.executemany("DELETE FROM memory_fact_vectors WHERE fact_id = ?", ids)
    conn.executemany("DELETE FROM memory_fact_codes WHERE fact_id = ?", ids)


def set_active(conn: Connection, fact_ids: Iterable[int], active: bool) -> None:
    """Mark the facts' codes active or archived (KNN reads only active ones)."""
    conn.executemany(
        "UPDATE memory_fact_codes SET active = ? WHERE fact_id = ?",
        [(int(active), i) for i in sorted(set(fact_ids))],
    )


# --- reads ----------------------------------------------------------------------------------


def _marks(n: int) -> str:
    return ", ".join("?" * n)


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
    conn: Connection, owner: str, model: str, query: Sequence[float] | Floats, k: int
) -> list[tuple[int, float]]:
    """The ``k`` active facts of ``owner`` whose ``model`` vectors are nearest ``query``, as
    ``(fact_id, cosine)``, best first (ties: lower id). See the module docstring."""
    q = np.asarray(query, dtype=np.float32)
    book = ensure_codebook(conn, model)
    if book is None:
        rows = conn.execute(
            "SELECT v.fact_id, v.embedding FROM memory_facts mf "
            "JOIN memory_fact_vectors v ON v.fact_id = mf.id "
            "WHERE mf.owner_key = ? AND mf.is_active = 1 AND v.model = ?",
            (owner, model),
        ).fetchall()
    else:
        (code,) = encode(book, q)
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
    ids_all = np.array([int(r[0]) for r in rows])
    cos = cosines(_matrix([r[1] for r in rows]), q)
    order = np.lexsort((ids_all, -cos))[:k]
    return [(int(ids_all[i]), float(cos[i])) for i in order]
