"""The `Scheduler` actor on virtual time with the real Store (SQLite in ``tmp_path``): exact
fire times over days, a crash between fires and one during a run, fires missed while the
process was down (each catch-up rule), pause and resume, and refusals. The job kind's handler
is the far end here (a recorder), since no product feature schedules jobs yet."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trio
import trio.testing

from clanker.runtime import (
    Actor,
    ActorCrashed,
    ChildSpec,
    OperatorCrash,
    Runtime,
    Strategy,
    SupervisorSpec,
    handles,
    open_runtime,
)
from clanker.schedule.actor import (
    SCHEDULER_NAME,
    ChangeJob,
    JobScheduled,
    ListJobs,
    RunDone,
    RunDue,
    ScheduleJob,
    SchedulerConfig,
    ScheduleRefused,
    scheduler_child,
)
from clanker.schedule.rules import Daily, Interval, Once, encode_schedule
from clanker.store import pin_calendar, store_child
from clanker.store.jobs import GetRuns, JobRows, RunRows

DAILY_9 = encode_schedule(Daily(hour=9, tz="UTC"))
START = datetime(2026, 12, 5, 8, 59, tzinfo=UTC)  # a minute before the first fire
DAY = 86_400.0


class Handler(Actor):
    """The far end: runs the jobs of kind ``automation`` by recording them; reports done
    unless told to hold (then the run stays open)."""

    def __init__(self, seen: list[tuple[float, RunDue]], hold: list[bool]) -> None:
        self.seen, self.hold = seen, hold

    @handles(RunDue)
    async def due(self, msg: RunDue) -> None:
        self.seen.append((trio.current_time(), msg))
        if not self.hold[0]:
            await self.ctx.lookup(SCHEDULER_NAME).tell(RunDone(run_id=msg.run_id, detail="done"))

    async def on_start(self, ctx):  # type: ignore[no-untyped-def]
        self.ctx = ctx


@asynccontextmanager
async def tree(
    db: Path,
    seen: list[tuple[float, RunDue]],
    hold: list[bool] | None = None,
    *,
    at: datetime = START,
    **config: object,
) -> AsyncIterator[Runtime]:
    """The Store, the scheduler and the handler, with the calendar at ``at`` when they start."""
    hold = hold if hold is not None else [False]
    pin_calendar(at)
    spec = SupervisorSpec(
        Strategy.ONE_FOR_ONE,
        [
            store_child(db, inline=True),
            scheduler_child(SchedulerConfig(handlers={"automation": "handler"}, **config)),  # type: ignore[arg-type]
            ChildSpec("handler", lambda: Handler(seen, hold), register="handler"),
        ],
        intensity=50,
        period=1.0,
    )
    async with open_runtime(spec) as rt:
        yield rt
        await rt.shutdown()


async def schedule(rt: Runtime, key: str = "automation:1", **fields: object) -> JobScheduled:
    msg = ScheduleJob(job_key=key, kind="automation", **{"schedule": DAILY_9, **fields})  # type: ignore[arg-type]
    reply = await rt.lookup(SCHEDULER_NAME).ask(msg)
    assert isinstance(reply, JobScheduled), reply
    return reply


async def runs(rt: Runtime) -> list[tuple[str, str | None]]:
    rows = await rt.lookup("store").ask(GetRuns(), RunRows)
    return [(r.scheduled_for, r.outcome) for r in reversed(rows.rows)]


async def crash(rt: Runtime) -> None:
    with pytest.raises(ActorCrashed):
        await rt.lookup(SCHEDULER_NAME).ask(OperatorCrash(reason="test"))
    await trio.sleep(0.01)


def near(x: float) -> object:
    return pytest.approx(x, abs=1e-3)


async def test_a_daily_job_fires_at_its_times_and_a_crash_between_fires_changes_nothing(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    seen: list[tuple[float, RunDue]] = []
    async with tree(tmp_path / "s.db", seen) as rt:
        t0 = trio.current_time()
        job = (await schedule(rt)).job
        assert job.next_run_at == "2026-12-05T09:00:00.000+00:00"
        await trio.sleep(120)
        await crash(rt)  # between the first and the second fire
        await trio.sleep(3 * DAY)
        done = await runs(rt)
    assert [t - t0 for t, _ in seen] == [
        near(60),
        near(60 + DAY),
        near(60 + 2 * DAY),
        near(60 + 3 * DAY),
    ]
    assert [d.scheduled_for[:10] for _, d in seen] == [
        "2026-12-05",
        "2026-12-06",
        "2026-12-07",
        "2026-12-08",
    ]
    assert all(d.late_seconds < 0.01 and d.missed == 0 for _, d in seen)
    assert [o for _, o in done] == ["ok"] * 4


async def test_a_run_open_at_a_crash_is_interrupted_and_not_run_again(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    seen: list[tuple[float, RunDue]] = []
    hold = [True]  # the handler never reports the first run
    async with tree(tmp_path / "s.db", seen, hold) as rt:
        t0 = trio.current_time()
        await schedule(rt)
        await trio.sleep(100)
        await crash(rt)
        hold[0] = False
        await trio.sleep(DAY)
        done = await runs(rt)
    assert [t - t0 for t, _ in seen] == [near(60), near(60 + DAY)]
    assert done == [
        ("2026-12-05T09:00:00.000+00:00", "interrupted"),
        ("2026-12-06T09:00:00.000+00:00", "ok"),
    ]


async def test_a_run_never_reported_fails_after_the_timeout(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    seen: list[tuple[float, RunDue]] = []
    async with tree(tmp_path / "s.db", seen, [True], run_timeout=300.0) as rt:
        await schedule(rt)
        await trio.sleep(60 + 299)
        assert await runs(rt) == [("2026-12-05T09:00:00.000+00:00", None)]
        await trio.sleep(2)
        rows = await rt.lookup("store").ask(GetRuns(), RunRows)
    assert [(r.outcome, r.detail) for r in rows.rows] == [("failed", "no RunDone within 300 s")]


async def test_fires_missed_while_down_follow_each_jobs_catch_up_rule(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    db = tmp_path / "s.db"
    seen: list[tuple[float, RunDue]] = []
    async with tree(db, seen, at=datetime(2026, 12, 5, 8, 0, tzinfo=UTC)) as rt:
        await schedule(rt, "skipper", catch_up="skip")
        await schedule(rt, "catcher", catch_up="once")
    # Down from 08:00 until 10:30 the next day: two 09:00 fires missed.
    async with tree(db, seen, at=datetime(2026, 12, 6, 10, 30, tzinfo=UTC)) as rt:
        back = trio.current_time()
        await trio.sleep(1)
        jobs = await rt.lookup(SCHEDULER_NAME).ask(ListJobs(), JobRows)
        done = await runs(rt)
    [(at, due)] = seen
    assert at == near(back) and due.job_key == "catcher"
    assert (due.scheduled_for, due.late_seconds, due.missed) == (
        "2026-12-06T09:00:00.000+00:00",
        5400.0,
        1,
    )
    assert done == [("2026-12-06T09:00:00.000+00:00", "ok")]
    by_key = {j.job_key: (j.next_run_at, j.missed) for j in jobs.rows}
    assert by_key == {
        "skipper": ("2026-12-07T09:00:00.000+00:00", 2),
        "catcher": ("2026-12-07T09:00:00.000+00:00", 1),
    }


async def test_pause_resume_delete_and_refusals(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    seen: list[tuple[float, RunDue]] = []
    async with tree(tmp_path / "s.db", seen) as rt:
        t0 = trio.current_time()
        s = rt.lookup(SCHEDULER_NAME)
        every = encode_schedule(Interval(every_seconds=3600, anchor=START))
        await schedule(rt, "hourly", schedule=every)  # 09:59, 10:59, ...
        paused = await s.ask(ChangeJob(job_key="hourly", action="pause"))
        assert isinstance(paused, JobScheduled) and paused.job.status == "paused"
        await trio.sleep(90 * 60)  # paused through 09:59
        assert seen == []
        resumed = await s.ask(ChangeJob(job_key="hourly", action="resume"))
        assert isinstance(resumed, JobScheduled)
        assert resumed.job.next_run_at == "2026-12-05T10:59:00.000+00:00"
        await trio.sleep(3600)
        await s.ask(ChangeJob(job_key="hourly", action="delete"))
        await trio.sleep(5 * 3600)
        refusals = [
            await s.ask(ScheduleJob(job_key="x", kind="automation", schedule='{"type": "weekly"}')),
            await s.ask(
                ScheduleJob(
                    job_key="x",
                    kind="automation",
                    schedule=encode_schedule(Once(at=datetime(2026, 1, 1, tzinfo=UTC))),
                )
            ),
            await s.ask(
                ScheduleJob(job_key="x", kind="automation", schedule=DAILY_9, catch_up="all")
            ),
            await s.ask(ChangeJob(job_key="nope", action="pause")),
            await s.ask(ChangeJob(job_key="hourly", action="snooze")),
        ]
    assert [t - t0 for t, _ in seen] == [near(2 * 3600)]  # only 10:59, while resumed
    assert all(isinstance(r, ScheduleRefused) for r in refusals), refusals
    reasons = [r.reason for r in refusals]  # type: ignore[union-attr]
    assert reasons[0].startswith("not a schedule")
    assert reasons[1] == "that schedule has no fire still to come"
    assert "'all'" in reasons[2]
    assert reasons[3] == "no job 'nope'"
    assert reasons[4] == "action must be pause, resume or delete: 'snooze'"


async def test_a_job_whose_kind_has_no_handler_fails_its_run_with_the_reason(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    seen: list[tuple[float, RunDue]] = []
    async with tree(tmp_path / "s.db", seen) as rt:
        msg = ScheduleJob(job_key="r", kind="reflection", schedule=DAILY_9)
        assert isinstance(await rt.lookup(SCHEDULER_NAME).ask(msg), JobScheduled)
        await trio.sleep(61)
        rows = await rt.lookup("store").ask(GetRuns(), RunRows)
    assert seen == []
    assert [(r.outcome, r.detail) for r in rows.rows] == [
        ("failed", "no handler runs jobs of kind 'reflection'")
    ]
