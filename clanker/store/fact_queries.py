"""The SQL behind the Store's memory requests (`clanker.store.facts`).

Blocking functions of a connection, like `clanker.store.queries`; registered in ``QUERIES``
there. Writes run in one ``BEGIN IMMEDIATE`` transaction each. Archiving is scoped: an id of
another owner in ``archive_ids`` is left alone (and not reported as archived).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
import numpy as np
import pysqlite3.dbapi2 as sqlite3

from clanker.store import fact_vectors as fv
from clanker.store import facts as f
from clanker.store import messages as m
from clanker.store.sqlite import Connection, transaction
from clanker.store.wallclock import normalize_iso, utc_now_iso

_COLUMNS = (
    "id, scope, guild_id, user_id, subject, fact, fact_type, confidence, evidence_ids, "
    "evidence_text, channel_id, supersedes, is_active, created_at, updated_at, learned_in_dm"
)
_IDS = msgspec.json.Decoder(tuple[int, ...])
_json = msgspec.json.Encoder()


def _row(r: Sequence[Any], model: str | None) -> f.FactRow:
    return f.FactRow(
        id=r[0],
        scope=r[1],
        guild_id=r[2],
        user_id=r[3],
        subject=r[4],
        fact=r[5],
        fact_type=r[6],
        confidence=r[7],
        evidence_ids=_IDS.decode(r[8]),
        evidence_text=r[9],
        channel_id=r[10],
        supersedes=r[11],
        active=bool(r[12]),
        created_at=r[13],
        updated_at=r[14],
        model=model,
        learned_in_dm=bool(r[15]),
    )


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _archive(conn: Connection, owner: str, ids: Iterable[int], now: str) -> tuple[int, ...]:
    wanted = sorted(set(ids))
    if not wanted:
        return ()
    rows = conn.execute(
        f"SELECT id FROM memory_facts WHERE owner_key = ? AND is_active = 1 "
        f"AND id IN ({_marks(len(wanted))}) ORDER BY id",
        (owner, *wanted),
    ).fetchall()
    done = tuple(int(r[0]) for r in rows)
    for i in done:
        conn.execute("UPDATE memory_facts SET is_active = 0, updated_at = ? WHERE id = ?", (now, i))
    fv.set_active(conn, done, False)
    return done


def put_fact(conn: Connection, req: f.PutFact) -> f.FactWritten | m.StoreRejected:
    """Insert one fact, archive what the plan says, store its vector."""
    owner = f.owner_key(req.scope, req.guild_id, req.user_id)
    now = utc_now_iso()
    created = now if req.created_at is None else normalize_iso(req.created_at, "created_at")
    try:
        with transaction(conn):
            cur = conn.execute(
                """
                INSERT INTO memory_facts (scope, guild_id, user_id, owner_key, subject, fact,
                    fact_key, fact_type, confidence, evidence_ids, evidence_text, channel_id,
                    supersedes, created_at, updated_at, learned_in_dm)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                (
                    req.scope,
                    req.guild_id,
                    req.user_id,
                    owner,
                    req.subject,
                    req.fact,
                    req.fact_key,
                    req.fact_type,
                    req.confidence,
                    _json.encode(req.evidence_ids).decode(),
                    req.evidence_text,
                    req.channel_id,
                    req.supersedes,
                    created,
                    created,
                    int(req.learned_in_dm),
                ),
            )
            fact_id = int(cur.lastrowid or 0)
            archived = _archive(conn, owner, req.archive_ids, now)
            if req.vector is not None:
                fv.put_vector(conn, fact_id, owner, True, req.model, req.vector)
    except sqlite3.IntegrityError as exc:
        return m.StoreRejected(request="PutFact", problem=f"the fact cannot be stored: {exc}")
    return f.FactWritten(fact_id=fact_id, archived=archived)


def merge_fact(conn: Connection, req: f.MergeFact) -> f.FactWritten | m.StoreRejected:
    """Update a duplicate's confidence and evidence, reactivate it, archive the rest."""
    now = utc_now_iso()
    with transaction(conn):
        row = conn.execute(
            "SELECT owner_key FROM memory_facts WHERE id = ?", (req.fact_id,)
        ).fetchone()
        if row is None:
            return m.StoreRejected(request="MergeFact", problem=f"no fact {req.fact_id}")
        owner = str(row[0])
        conn.execute(
            "UPDATE memory_facts SET confidence = ?, evidence_ids = ?, is_active = 1, "
            "updated_at = ?, learned_in_dm = CASE WHEN ? THEN 0 ELSE learned_in_dm END "
            "WHERE id = ?",
            (
                req.confidence,
                _json.encode(req.evidence_ids).decode(),
                now,
                int(req.clear_dm),
                req.fact_id,
            ),
        )
        fv.set_active(conn, (req.fact_id,), True)
        archived = _archive(conn, owner, (i for i in req.archive_ids if i != req.fact_id), now)
    return f.FactWritten(fact_id=req.fact_id, archived=archived)


def put_fact_vector(conn: Connection, req: f.PutFactVector) -> m.RowsChanged:
    """Store or replace one fact's vector."""
    with transaction(conn):
        row = conn.execute(
            "SELECT owner_key, is_active FROM memory_facts WHERE id = ?", (req.fact_id,)
        ).fetchone()
        if row is None:
            return m.RowsChanged(count=0)
        fv.put_vector(conn, req.fact_id, str(row[0]), bool(row[1]), req.model, req.vector)
    return m.RowsChanged(count=1)


def update_fact(conn: Connection, req: f.UpdateFact) -> m.RowsChanged | m.StoreRejected:
    """Edit one fact's text, key, type and confidence; replace or drop its vector."""
    try:
        with transaction(conn):
            row = conn.execute(
                "SELECT owner_key, is_active FROM memory_facts WHERE id = ?", (req.fact_id,)
            ).fetchone()
            if row is None:
                return m.RowsChanged(count=0)
            conn.execute(
                "UPDATE memory_facts SET fact = ?, fact_key = ?, fact_type = ?, confidence = ?, "
                "updated_at = ? WHERE id = ?",
                (
                    req.fact,
                    req.fact_key,
                    req.fact_type,
                    req.confidence,
                    utc_now_iso(),
                    req.fact_id,
                ),
            )
            if req.vector is not None:
                fv.put_vector(conn, req.fact_id, str(row[0]), bool(row[1]), req.model, req.vector)
            elif req.drop_vector:
                fv.drop_vectors(conn, (req.fact_id,))
    except sqlite3.IntegrityError as exc:
        return m.StoreRejected(request="UpdateFact", problem=f"the fact cannot be stored: {exc}")
    return m.RowsChanged(count=1)


def set_fact_active(conn: Connection, req: f.SetFactActive) -> m.RowsChanged:
    """Archive or restore one fact and its vector."""
    with transaction(conn):
        cur = conn.execute(
            "UPDATE memory_facts SET is_active = ?, updated_at = ? WHERE id = ? AND is_active = ?",
            (int(req.active), utc_now_iso(), req.fact_id, int(not req.active)),
        )
        if cur.rowcount:
            fv.set_active(conn, (req.fact_id,), req.active)
    return m.RowsChanged(count=cur.rowcount)


def delete_facts(conn: Connection, req: f.DeleteFacts) -> m.RowsChanged:
    """Delete facts and their vectors."""
    ids = sorted(set(req.fact_ids))
    if not ids:
        return m.RowsChanged(count=0)
    with transaction(conn):
        fv.drop_vectors(conn, ids)
        cur = conn.execute(f"DELETE FROM memory_facts WHERE id IN ({_marks(len(ids))})", ids)
    return m.RowsChanged(count=cur.rowcount)


def get_facts(conn: Connection, req: f.GetFacts) -> f.FactRows:
    """Facts of the owners, newest update first."""
    where = [f"owner_key IN ({_marks(len(req.owner_keys))})"]
    args: list[Any] = list(req.owner_keys)
    if req.subject is not None:
        where.append("subject = ?")
        args.append(req.subject)
    if req.fact_ids:
        where.append(f"id IN ({_marks(len(req.fact_ids))})")
        args += req.fact_ids
    if req.only_archived:
        where.append("is_active = 0")
    elif not req.include_archived:
        where.append("is_active = 1")
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM memory_facts WHERE {' AND '.join(where)} "
        "ORDER BY updated_at DESC, id DESC LIMIT ?",
        (*args, req.limit),
    ).fetchall()
    models = fv.vector_models(conn, [int(r[0]) for r in rows])
    return f.FactRows(rows=tuple(_row(r, models.get(int(r[0]))) for r in rows))


def facts_without_vector(conn: Connection, req: f.FactsWithoutVector) -> f.FactRows:
    """Active facts lacking a vector of ``req.model``, oldest first."""
    rows = conn.execute(
        f"""
        SELECT {_COLUMNS} FROM memory_facts mf WHERE mf.is_active = 1 AND NOT EXISTS (
            SELECT 1 FROM memory_fact_vectors v WHERE v.fact_id = mf.id AND v.model = ?)
        ORDER BY mf.id LIMIT ?
        """,
        (req.model, req.limit),
    ).fetchall()
    models = fv.vector_models(conn, [int(r[0]) for r in rows])
    return f.FactRows(rows=tuple(_row(r, models.get(int(r[0]))) for r in rows))


def count_fact_vectors(conn: Connection, req: f.CountFactVectors) -> f.FactVectorCount:
    """Active facts, and those of them with a vector of ``req.model`` (the same test as
    `facts_without_vector`, so the two always agree)."""
    row = conn.execute(
        """
        SELECT COUNT(*), COALESCE(SUM(EXISTS (
            SELECT 1 FROM memory_fact_vectors v WHERE v.fact_id = mf.id AND v.model = ?)), 0)
        FROM memory_facts mf WHERE mf.is_active = 1
        """,
        (req.model,),
    ).fetchone()
    return f.FactVectorCount(active=int(row[0]), embedded=int(row[1]))


def search_facts(conn: Connection, req: f.SearchFacts) -> f.FactCandidates:
    """KNN per owner + FTS5 + recent, merged by id (see `SearchFacts`)."""
    owners = list(req.owner_keys)
    dm = int(req.with_dm_facts)
    cosine: dict[int, float] = {}
    bm25: dict[int, float] = {}
    order: list[int] = []
    query = None if req.vector is None else np.asarray(req.vector, dtype=np.float32)
    if query is not None:
        for owner in owners:
            hits = fv.nearest(conn, owner, req.model, query, req.k, with_dm_facts=bool(dm))
            for fact_id, cos in hits:
                cosine[fact_id] = cos
                order.append(fact_id)
    if req.fts_query.strip():
        try:
            hits = conn.execute(
                # MATCH first, once (materialised), then the owner filter: joined directly, the
                # planner probed the FTS index per fact row (5.8 s at 10k facts).
                f"""
                WITH hits AS MATERIALIZED (
                    SELECT rowid AS id, bm25(memory_facts_fts) AS score FROM memory_facts_fts
                    WHERE memory_facts_fts MATCH ?)
                SELECT h.id, h.score FROM hits h JOIN memory_facts mf ON mf.id = h.id
                WHERE mf.is_active = 1 AND mf.owner_key IN ({_marks(len(owners))})
                AND (? OR mf.learned_in_dm = 0)
                ORDER BY h.score LIMIT ?
                """,
                (req.fts_query, *owners, dm, req.k),
            ).fetchall()
        except sqlite3.OperationalError:
            hits = []  # a malformed FTS5 expression: no lexical candidates
        for fact_id, score in hits:
            bm25[int(fact_id)] = float(score)
            order.append(int(fact_id))
    if req.recent:
        for (fact_id,) in conn.execute(
            f"SELECT id FROM memory_facts WHERE owner_key IN ({_marks(len(owners))}) "
            "AND is_active = 1 AND (? OR learned_in_dm = 0) "
            "ORDER BY updated_at DESC, id DESC LIMIT ?",
            (*owners, dm, req.recent),
        ).fetchall():
            order.append(int(fact_id))
    ids = list(dict.fromkeys(order))
    if not ids:
        return f.FactCandidates(candidates=())
    # A coded KNN partition holds DM facts too (codes carry no such mark): they are dropped here.
    rows = {
        int(r[0]): r
        for r in conn.execute(
            f"SELECT {_COLUMNS} FROM memory_facts WHERE id IN ({_marks(len(ids))}) "
            "AND (? OR learned_in_dm = 0)",
            (*ids, dm),
        ).fetchall()
    }
    ids = [i for i in ids if i in rows]
    if not ids:
        return f.FactCandidates(candidates=())
    vectors = fv.read_vectors(conn, ids)
    out = []
    for i in ids:
        found = vectors.get(i)
        # Only a vector of the asked model is compared (and handed on for MMR).
        usable = found[1] if found is not None and found[0] == req.model else None
        similarity = None
        if usable is not None and query is not None:
            similarity = cosine[i] if i in cosine else float(fv.cosines(usable[None, :], query)[0])
        out.append(
            f.FactCandidate(
                row=_row(rows[i], None if found is None else found[0]),
                cosine=similarity,
                bm25=bm25.get(i),
                vector=None if usable is None or query is None else tuple(usable.tolist()),
            )
        )
    return f.FactCandidates(candidates=tuple(out))


def fact_owners(conn: Connection, req: f.FactOwners) -> f.FactOwnerCounts:
    """Owners with facts, the most recently updated first."""
    rows = conn.execute(
        "SELECT owner_key, COUNT(*) FROM memory_facts GROUP BY owner_key "
        "ORDER BY MAX(updated_at) DESC, owner_key LIMIT ?",
        (req.limit,),
    ).fetchall()
    return f.FactOwnerCounts(
        owners=tuple(f.FactOwnerCount(owner_key=str(r[0]), facts=int(r[1])) for r in rows)
    )


def guild_people(conn: Connection, req: f.GuildPeople) -> f.FactOwnerCounts:
    """Authors of the guild's stored messages who own user facts, the latest speaker first."""
    rows = conn.execute(
        """
        WITH people AS (
            SELECT author_id, MAX(created_at) AS last_seen FROM messages
            WHERE guild_id = ? GROUP BY author_id)
        SELECT 'user:' || p.author_id, COUNT(*) FROM people p
        JOIN memory_facts mf ON mf.owner_key = 'user:' || p.author_id
        GROUP BY p.author_id ORDER BY MAX(p.last_seen) DESC, p.author_id LIMIT ?
        """,
        (req.guild_id, req.limit),
    ).fetchall()
    return f.FactOwnerCounts(
        owners=tuple(f.FactOwnerCount(owner_key=str(r[0]), facts=int(r[1])) for r in rows)
    )


FACT_QUERIES: dict[type, Any] = {
    f.PutFact: put_fact,
    f.MergeFact: merge_fact,
    f.PutFactVector: put_fact_vector,
    f.DeleteFacts: delete_facts,
    f.UpdateFact: update_fact,
    f.SetFactActive: set_fact_active,
    f.GetFacts: get_facts,
    f.SearchFacts: search_facts,
    f.FactsWithoutVector: facts_without_vector,
    f.CountFactVectors: count_fact_vectors,
    f.FactOwners: fact_owners,
    f.GuildPeople: guild_people,
}
"""Which function answers which memory request (merged into ``QUERIES``)."""
