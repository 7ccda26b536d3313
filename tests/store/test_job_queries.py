"""The scheduler's Store requests (`clanker.store.jobs`) against a real SQLite file."""

from __future__ import annotations

import pytest

from clanker.store import job_queries as jq
from clanker.store.jobs import (
    ClaimRun,
    FinishRun,
    GetJobs,
    GetRuns,
    InterruptRuns,
    PutJob,
    SetJobStatus,
)
from clanker.store.messages import StoreRejected
from clanker.store.sqlite import Connection

NINE = '{"type": "daily", "hour": 9, "minute": 0, "tz": "UTC"}'
D1, D2, D3 = (
    "2026-12-05T09:00:00.000+00:00",
    "2026-12-06T09:00:00.000+00:00",
    ("2026-12-07T09:00:00.000+00:00"),
)


def put(conn: Connection, key: str = "automation:1", nxt: str | None = D1):  # type: ignore[no-untyped-def]
    return jq.put_job(conn, PutJob(job_key=key, kind="automation", schedule=NINE, next_run_at=nxt))


def claim(  # type: ignore[no-untyped-def]
    conn: Connection, job_id: int, at: str, nxt: str | None, who: str, fire: str | None, missed=0
):
    return jq.claim_run(
        conn,
        ClaimRun(
            job_id=job_id,
            expected_next_run_at=at,
            next_run_at=nxt,
            claimer=who,
            scheduled_for=fire,
            missed=missed,
        ),
    )


def test_a_fire_is_claimed_once_and_the_job_moves_on(conn: Connection) -> None:
    job = put(conn).job
    assert (job.status, job.next_run_at, job.missed) == ("active", D1, 0)
    claim = ClaimRun(
        job_id=job.id, expected_next_run_at=D1, next_run_at=D2, claimer="s #1", scheduled_for=D1
    )
    first = jq.claim_run(conn, claim)
    assert first.moved and first.run_id is not None
    # The same claim again (a second scheduler, or a restarted one that read the old row):
    # the job is no longer at D1, so nothing moves and no second run is recorded.
    assert jq.claim_run(conn, claim).moved is False
    [row] = jq.get_jobs(conn, GetJobs()).rows
    assert (row.next_run_at, row.last_run_at) == (D2, D1)
    [run] = jq.get_runs(conn, GetRuns(job_id=job.id)).rows
    assert (run.scheduled_for, run.claimed_by, run.finished_at) == (D1, "s #1", None)
    assert jq.finish_run(conn, FinishRun(run_id=run.id, outcome="ok", detail="posted")).count == 1
    assert jq.finish_run(conn, FinishRun(run_id=run.id, outcome="failed")).count == 0  # once
    [run] = jq.get_runs(conn, GetRuns()).rows
    assert (run.outcome, run.detail) == ("ok", "posted")


def test_a_fire_that_has_a_run_is_not_run_twice_even_if_the_job_is_put_back(
    conn: Connection,
) -> None:
    job = put(conn).job
    jq.claim_run(
        conn,
        ClaimRun(
            job_id=job.id, expected_next_run_at=D1, next_run_at=D2, claimer="a", scheduled_for=D1
        ),
    )
    put(conn, nxt=D1)  # redefined with its next fire at D1 again
    again = jq.claim_run(
        conn,
        ClaimRun(
            job_id=job.id, expected_next_run_at=D1, next_run_at=D2, claimer="b", scheduled_for=D1
        ),
    )
    assert again.moved and again.run_id is None
    assert len(jq.get_runs(conn, GetRuns()).rows) == 1


def test_skips_count_and_the_last_fire_makes_the_job_done(conn: Connection) -> None:
    job = put(conn).job
    skip = jq.claim_run(
        conn,
        ClaimRun(job_id=job.id, expected_next_run_at=D1, next_run_at=D3, claimer="a", missed=2),
    )
    assert skip.moved and skip.run_id is None
    jq.claim_run(
        conn,
        ClaimRun(
            job_id=job.id, expected_next_run_at=D3, next_run_at=None, claimer="a", scheduled_for=D3
        ),
    )
    [row] = jq.get_jobs(conn, GetJobs(statuses=("done",))).rows
    assert (row.missed, row.next_run_at, row.last_run_at) == (2, None, D3)
    assert jq.get_jobs(conn, GetJobs()).rows == ()


def test_pause_resume_delete(conn: Connection) -> None:
    put(conn)
    paused = jq.set_job_status(conn, SetJobStatus(job_key="automation:1", status="paused"))
    assert not isinstance(paused, StoreRejected) and paused.job.status == "paused"
    assert paused.job.next_run_at == D1  # kept while paused
    resumed = jq.set_job_status(
        conn, SetJobStatus(job_key="automation:1", status="active", next_run_at=D2)
    )
    assert not isinstance(resumed, StoreRejected)
    assert (resumed.job.status, resumed.job.next_run_at) == ("active", D2)
    jq.set_job_status(conn, SetJobStatus(job_key="automation:1", status="deleted"))
    gone = jq.set_job_status(conn, SetJobStatus(job_key="automation:1", status="paused"))
    assert gone == StoreRejected(request="SetJobStatus", problem="no job 'automation:1'")


def test_a_job_is_found_by_its_row_id_in_any_status(conn: Connection) -> None:
    a, b = put(conn, "a").job, put(conn, "b").job
    jq.set_job_status(conn, SetJobStatus(job_key="b", status="deleted"))
    every = ("active", "paused", "done", "deleted")
    [found] = jq.get_jobs(conn, GetJobs(statuses=every, job_id=b.id)).rows
    assert (found.job_key, found.status) == ("b", "deleted")
    assert jq.get_jobs(conn, GetJobs(job_id=b.id)).rows == ()  # not active or paused
    assert [r.job_key for r in jq.get_jobs(conn, GetJobs(job_id=a.id)).rows] == ["a"]
    assert jq.get_jobs(conn, GetJobs(statuses=every, job_id=b.id + 100)).rows == ()


def test_a_restart_interrupts_only_its_earlier_incarnations_open_runs(conn: Connection) -> None:
    a, b = put(conn, "a").job, put(conn, "b").job
    for job, claimer in ((a, "scheduler root/s #1"), (b, "other #1")):
        jq.claim_run(
            conn,
            ClaimRun(
                job_id=job.id,
                expected_next_run_at=D1,
                next_run_at=D2,
                claimer=claimer,
                scheduled_for=D1,
            ),
        )
    done = jq.interrupt_runs(
        conn, InterruptRuns(claimer_prefix="scheduler root/s #", claimer="scheduler root/s #2")
    )
    assert done.count == 1
    outcomes = {r.job_key: r.outcome for r in jq.get_runs(conn, GetRuns()).rows}
    assert outcomes == {"a": "interrupted", "b": None}


@pytest.mark.parametrize(
    ("build", "problem"),
    [
        (lambda: PutJob(job_key="", kind="x", schedule=NINE, next_run_at=D1), "job_key must be"),
        (
            lambda: PutJob(job_key="k", kind="Bad Kind", schedule=NINE, next_run_at=D1),
            "not a job kind",
        ),
        (lambda: PutJob(job_key="k", kind="x", schedule="[]", next_run_at=D1), "JSON object"),
        (lambda: PutJob(job_key="k", kind="x", schedule=NINE, next_run_at="noon"), "next_run_at"),
        (
            lambda: PutJob(job_key="k", kind="x", schedule=NINE, next_run_at=D1, catch_up="all"),
            "catch_up",
        ),
        (lambda: SetJobStatus(job_key="k", status="done"), "active, paused or deleted"),
        (lambda: GetJobs(job_id=0), "GetJobs.job_id must be a positive row id, got 0"),
        (lambda: FinishRun(run_id=1, outcome="great"), "outcome"),
    ],
)
def test_bad_requests_name_the_field(build: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        build()  # type: ignore[operator]
