"""The SQL behind the Store's scheduler requests (`clanker.store.jobs`).

Blocking functions of a connection, like `clanker.store.queries`; registered in ``QUERIES``
there. Each write is one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pysqlite3.dbapi2 as sqlite3

from clanker.store import jobs as j
from clanker.store import messages as m
from clanker.store.queries import _iso, transaction
from clanker.store.sqlite import Connection
from clanker.store.wallclock import normalize_iso, utc_now_iso

_JOB_COLUMNS = (
    "id, job_key, kind, schedule, payload, catch_up, max_late_seconds, status, next_run_at, "
    "last_run_at, missed, guild_id, channel_id, created_by, title, created_at, updated_at"
)
_RUN_COLUMNS = (
    "r.id, r.job_id, s.job_key, r.scheduled_for, r.claimed_by, r.started_at, r.finished_at, "
    "r.outcome, r.detail, r.late_seconds"
)


def _job(r: Sequence[Any]) -> j.JobRow:
    return j.JobRow(
        id=r[0],
        job_key=r[1],
        kind=r[2],
        schedule=r[3],
        payload=r[4],
        catch_up=r[5],
        max_late_seconds=r[6],
        status=r[7],
        next_run_at=r[8],
        last_run_at=r[9],
        missed=r[10],
        guild_id=r[11],
        channel_id=r[12],
        created_by=r[13],
        title=r[14],
        created_at=r[15],
        updated_at=r[16],
    )


def _get_job(conn: Connection, key: str) -> j.JobRow | None:
    row = conn.execute(
        f"SELECT {_JOB_COLUMNS} FROM scheduled_jobs WHERE job_key = ?", (key,)
    ).fetchone()
    return None if row is None else _job(row)


def put_job(conn: Connection, req: j.PutJob) -> j.JobWritten:
    now = utc_now_iso()
    nxt = _iso(req.next_run_at, "next_run_at")
    with transaction(conn):
        conn.execute(
            """
            INSERT INTO scheduled_jobs (job_key, kind, schedule, payload, catch_up,
                max_late_seconds, status, next_run_at, guild_id, channel_id, created_by, title,
                created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (job_key) DO UPDATE SET
                kind = excluded.kind, schedule = excluded.schedule, payload = excluded.payload,
                catch_up = excluded.catch_up, max_late_seconds = excluded.max_late_seconds,
                status = excluded.status, next_run_at = excluded.next_run_at,
                guild_id = excluded.guild_id, channel_id = excluded.channel_id,
                created_by = excluded.created_by, title = excluded.title,
                updated_at = excluded.updated_at
            """,
            (
                req.job_key,
                req.kind,
                req.schedule,
                req.payload,
                req.catch_up,
                req.max_late_seconds,
                "active" if nxt is not None else "done",
                nxt,
                req.guild_id,
                req.channel_id,
                req.created_by,
                req.title,
                now,
                now,
            ),
        )
        job = _get_job(conn, req.job_key)
    assert job is not None
    return j.JobWritten(job=job)


def get_jobs(conn: Connection, req: j.GetJobs) -> j.JobRows:
    where = [f"status IN ({','.join('?' * len(req.statuses))})"]
    args: list[Any] = list(req.statuses)
    filters = (
        ("kind", req.kind),
        ("guild_id", req.guild_id),
        ("job_key", req.job_key),
        ("id", req.job_id),
    )
    for column, value in filters:
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    rows = conn.execute(
        f"SELECT {_JOB_COLUMNS} FROM scheduled_jobs WHERE {' AND '.join(where)} "
        "ORDER BY next_run_at IS NULL, next_run_at, id LIMIT ?",
        (*args, req.limit),
    ).fetchall()
    return j.JobRows(rows=tuple(_job(r) for r in rows))


def set_job_status(conn: Connection, req: j.SetJobStatus) -> j.JobWritten | m.StoreRejected:
    nxt = _iso(req.next_run_at, "next_run_at")
    with transaction(conn):
        job = _get_job(conn, req.job_key)
        if job is None or job.status == "deleted":
            return m.StoreRejected(request="SetJobStatus", problem=f"no job {req.job_key!r}")
        if req.status == "active" and nxt is None:
            status, keep = "done", None  # nothing left to fire
        else:
            status, keep = req.status, nxt if req.status == "active" else job.next_run_at
        conn.execute(
            "UPDATE scheduled_jobs SET status = ?, next_run_at = ?, updated_at = ? WHERE id = ?",
            (status, keep, utc_now_iso(), job.id),
        )
        written = _get_job(conn, req.job_key)
    assert written is not None
    return j.JobWritten(job=written)


def claim_run(conn: Connection, req: j.ClaimRun) -> j.RunClaimed:
    now = utc_now_iso()
    expected = normalize_iso(req.expected_next_run_at, "expected_next_run_at")
    nxt = _iso(req.next_run_at, "next_run_at")
    fire = _iso(req.scheduled_for, "scheduled_for")
    with transaction(conn):
        moved = conn.execute(
            """
            UPDATE scheduled_jobs
            SET next_run_at = ?, missed = missed + ?, updated_at = ?,
                last_run_at = COALESCE(?, last_run_at),
                status = CASE WHEN ? IS NULL THEN 'done' ELSE status END
            WHERE id = ? AND status = 'active' AND next_run_at = ?
            """,
            (nxt, req.missed, now, fire, nxt, req.job_id, expected),
        ).rowcount
        if not moved:
            return j.RunClaimed(moved=False)
        if fire is None:
            return j.RunClaimed(moved=True)
        try:
            cur = conn.execute(
                """
                INSERT INTO job_runs (job_id, scheduled_for, claimed_by, started_at, late_seconds)
                VALUES (?, ?, ?, ?, ?)
                """,
                (req.job_id, fire, req.claimer, now, req.late_seconds),
            )
        except sqlite3.IntegrityError:
            return j.RunClaimed(moved=True)  # that fire has a run already: not twice
    return j.RunClaimed(moved=True, run_id=cur.lastrowid)


def finish_run(conn: Connection, req: j.FinishRun) -> m.RowsChanged:
    with transaction(conn):
        count = conn.execute(
            "UPDATE job_runs SET finished_at = ?, outcome = ?, detail = ? "
            "WHERE id = ? AND finished_at IS NULL",
            (utc_now_iso(), req.outcome, req.detail[: j.MAX_DETAIL_CHARS], req.run_id),
        ).rowcount
    return m.RowsChanged(count=count)


def interrupt_runs(conn: Connection, req: j.InterruptRuns) -> m.RowsChanged:
    with transaction(conn):
        count = conn.execute(
            """
            UPDATE job_runs SET finished_at = ?, outcome = 'interrupted',
                detail = 'the scheduler restarted while it ran; not run again'
            WHERE finished_at IS NULL AND substr(claimed_by, 1, length(?)) = ?
              AND claimed_by != ?
            """,
            (utc_now_iso(), req.claimer_prefix, req.claimer_prefix, req.claimer),
        ).rowcount
    return m.RowsChanged(count=count)


def get_runs(conn: Connection, req: j.GetRuns) -> j.RunRows:
    where, args = ("WHERE r.job_id = ?", (req.job_id,)) if req.job_id is not None else ("", ())
    rows = conn.execute(
        f"SELECT {_RUN_COLUMNS} FROM job_runs r JOIN scheduled_jobs s ON s.id = r.job_id "
        f"{where} ORDER BY r.id DESC LIMIT ?",
        (*args, req.limit),
    ).fetchall()
    return j.RunRows(
        rows=tuple(
            j.RunRow(
                id=r[0],
                job_id=r[1],
                job_key=r[2],
                scheduled_for=r[3],
                claimed_by=r[4],
                started_at=r[5],
                finished_at=r[6],
                outcome=r[7],
                detail=r[8],
                late_seconds=r[9],
            )
            for r in rows
        )
    )


JOB_QUERIES: dict[type, Any] = {
    j.PutJob: put_job,
    j.GetJobs: get_jobs,
    j.SetJobStatus: set_job_status,
    j.ClaimRun: claim_run,
    j.FinishRun: finish_run,
    j.InterruptRuns: interrupt_runs,
    j.GetRuns: get_runs,
}
"""Which function answers which scheduler request (merged into ``QUERIES``)."""
