"""`Scheduler`: the one place every timed job fires from (docs/scheduler.md).

Jobs live in the Store (`clanker.store.jobs`): a key, a kind, a schedule, a payload and a
catch-up rule. The scheduler sleeps on trio's clock until the soonest job's next fire (as
read from `calendar_now`, which follows trio's MockClock in tests), then for each due job asks
`plan_due` what to do, claims the run in the Store (a compare-and-swap on the job's next fire,
and one run per fire), and tells the handler registered for the job's kind `RunDue`. The
handler tells `RunDone` when it is finished; a run not reported within ``run_timeout`` is
recorded failed.

What a fresh incarnation knows: everything is in the Store. Its first act marks the runs an
earlier incarnation left open ``interrupted`` (they are not run again: a run may have posted
before the crash), then it takes up the jobs where the Store has them; fires missed while it
was down follow each job's catch-up rule.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import trio

from clanker.runtime import Actor, ActorContext, ActorError, ChildSpec, NotRegistered, handles
from clanker.schedule.rules import (
    DEFAULT_GRACE,
    CatchUp,
    ScheduleError,
    decode_schedule,
    next_fire,
    plan_due,
)
from clanker.store import STORE_NAME, StoreRejected, calendar_now, to_iso
from clanker.store.jobs import (
    ClaimRun,
    FinishRun,
    GetJobs,
    InterruptRuns,
    JobRow,
    JobRows,
    JobWritten,
    PutJob,
    RunClaimed,
    SetJobStatus,
)
from clanker.store.messages import RowsChanged
from clanker.wire import Message

log = logging.getLogger("clanker.schedule")

SCHEDULER_NAME = "scheduler"
MAX_SLEEP = 60.0  # seconds: the calendar is read again at least this often (clock changes)


class RunDue(Message, frozen=True):
    """Told to a kind's handler: run the job's fire ``scheduled_for`` now (``late_seconds``
    after it). Tell the scheduler `RunDone` with ``run_id`` when finished."""

    run_id: int
    job_key: str
    kind: str
    scheduled_for: str
    payload: str
    late_seconds: float = 0.0
    missed: int = 0  # fires skipped before this one (catch-up)
    guild_id: int | None = None
    channel_id: int | None = None


class RunDone(Message, frozen=True):
    """Told to the scheduler by a handler: how run ``run_id`` ended."""

    run_id: int
    ok: bool = True
    detail: str = ""


class ScheduleJob(Message, frozen=True):
    """Create or replace a job. Reply: `JobScheduled`, or `ScheduleRefused` with the reason."""

    job_key: str
    kind: str
    schedule: str  # JSON of a `clanker.schedule.rules` schedule
    payload: str = "{}"
    catch_up: str = "skip"
    max_late_seconds: float = 21_600.0
    guild_id: int | None = None
    channel_id: int | None = None
    created_by: int | None = None
    title: str = ""


class ChangeJob(Message, frozen=True):
    """Pause, resume or delete a job (``action``). Reply: `JobScheduled` or `ScheduleRefused`."""

    job_key: str
    action: str  # pause | resume | delete


class JobScheduled(Message, frozen=True):
    job: JobRow


class ScheduleRefused(Message, frozen=True):
    reason: str


class ListJobs(Message, frozen=True):
    """Reply: `JobRows` (active and paused, soonest first)."""

    kind: str | None = None
    guild_id: int | None = None


class _Wake(Message, frozen=True):
    pass


@dataclass(frozen=True)
class SchedulerConfig:
    """``handlers``: job kind -> the registered name of the actor that runs it."""

    handlers: Mapping[str, str] = field(default_factory=dict)
    store: str = STORE_NAME
    grace: float = DEFAULT_GRACE
    run_timeout: float = 600.0
    claims_per_wake: int = 32


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


class Scheduler(Actor):
    def __init__(self, config: SchedulerConfig | None = None) -> None:
        self.config = config or SchedulerConfig()
        self._open: dict[int, float] = {}  # run id -> trio time its report is due by
        self._rearm = trio.Event()
        self._handled = trio.Event()

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx
        self.store = ctx.lookup(self.config.store)
        prefix = f"scheduler {ctx.path} #"
        self.claimer = f"{prefix}{ctx.incarnation}"
        done = await self.store.ask(
            InterruptRuns(claimer_prefix=prefix, claimer=self.claimer), RowsChanged
        )
        if done.count:
            log.warning("scheduler: %d runs were open at a restart; not run again", done.count)
        ctx.start_soon(self._timer)

    # -- the timer ------------------------------------------------------------------------------

    async def _timer(self) -> None:
        while True:
            self._rearm = trio.Event()
            delay = await self._next_delay()
            with trio.move_on_after(min(delay, MAX_SLEEP)) as scope:
                await self._rearm.wait()
            if scope.cancelled_caught and delay <= MAX_SLEEP:
                self._handled = trio.Event()
                await self.ctx.ref.tell(_Wake())
                await self._handled.wait()

    async def _next_delay(self) -> float:
        """Seconds until the soonest active job fires or an open run's report is due."""
        soonest = await self.store.ask(GetJobs(statuses=("active",), limit=1), JobRows)
        delays = [t - trio.current_time() for t in self._open.values()]
        if soonest.rows and soonest.rows[0].next_run_at is not None:
            fire = _parse(soonest.rows[0].next_run_at)
            delays.append((fire - calendar_now()).total_seconds())
        return max(0.0, min(delays, default=math.inf))

    def _changed(self) -> None:
        self._rearm.set()

    @handles(_Wake)
    async def wake(self, msg: _Wake) -> None:
        try:
            await self._expire_reports()
            await self._fire_due()
        finally:
            self._handled.set()

    async def _expire_reports(self) -> None:
        now = trio.current_time()
        for run_id, due in list(self._open.items()):
            if due <= now:
                del self._open[run_id]
                detail = f"no RunDone within {self.config.run_timeout:g} s"
                await self.store.ask(FinishRun(run_id=run_id, outcome="failed", detail=detail))
                log.warning("scheduler: run %d failed: %s", run_id, detail)

    async def _fire_due(self) -> None:
        now = calendar_now()
        due = await self.store.ask(
            GetJobs(statuses=("active",), limit=self.config.claims_per_wake), JobRows
        )
        for job in due.rows:
            if job.next_run_at is None or _parse(job.next_run_at) > now:
                break  # soonest first: the rest are later
            await self._fire(job, now)
        if any(j.next_run_at is not None and _parse(j.next_run_at) <= now for j in due.rows):
            self._changed()  # more than one wake's worth were due

    async def _fire(self, job: JobRow, now: datetime) -> None:
        assert job.next_run_at is not None
        try:
            schedule = decode_schedule(job.schedule)
        except ScheduleError as exc:
            log.error("scheduler: job %s has a bad schedule (%s); paused", job.job_key, exc)
            await self.store.ask(SetJobStatus(job_key=job.job_key, status="paused"))
            return
        plan = plan_due(
            schedule,
            _parse(job.next_run_at),
            now,
            catch_up=CatchUp(job.catch_up),
            grace=self.config.grace,
            max_late=job.max_late_seconds,
        )
        if plan is None:
            return
        claim = await self.store.ask(
            ClaimRun(
                job_id=job.id,
                expected_next_run_at=job.next_run_at,
                next_run_at=None if plan.next_fire is None else to_iso(plan.next_fire),
                claimer=self.claimer,
                scheduled_for=None if plan.run_for is None else to_iso(plan.run_for),
                missed=plan.missed,
                late_seconds=plan.late_seconds,
            ),
            RunClaimed,
        )
        if plan.missed:
            log.info(
                "scheduler: job %s missed %d fires (%s)", job.job_key, plan.missed, job.catch_up
            )
        if claim.run_id is None or plan.run_for is None:
            return
        await self._tell_handler(job, claim.run_id, plan.run_for, plan.late_seconds, plan.missed)

    async def _tell_handler(
        self, job: JobRow, run_id: int, fire: datetime, late: float, missed: int
    ) -> None:
        handler = self.config.handlers.get(job.kind)
        due = RunDue(
            run_id=run_id,
            job_key=job.job_key,
            kind=job.kind,
            scheduled_for=to_iso(fire),
            payload=job.payload,
            late_seconds=round(late, 3),
            missed=missed,
            guild_id=job.guild_id,
            channel_id=job.channel_id,
        )
        problem: str | None = None
        if handler is None:
            problem = f"no handler runs jobs of kind {job.kind!r}"
        else:
            try:
                await self.ctx.lookup(handler).tell(due)
            except (NotRegistered, ActorError) as exc:
                problem = f"its handler {handler!r} is not running: {exc}"
        if problem is not None:
            await self.store.ask(FinishRun(run_id=run_id, outcome="failed", detail=problem))
            log.warning("scheduler: run %d of %s failed: %s", run_id, job.job_key, problem)
            return
        self._open[run_id] = trio.current_time() + self.config.run_timeout

    # -- requests -------------------------------------------------------------------------------

    @handles(RunDone)
    async def run_done(self, msg: RunDone) -> None:
        self._open.pop(msg.run_id, None)
        outcome = "ok" if msg.ok else "failed"
        await self.store.ask(FinishRun(run_id=msg.run_id, outcome=outcome, detail=msg.detail))
        self._changed()

    @handles(ScheduleJob)
    async def schedule_job(self, msg: ScheduleJob) -> JobScheduled | ScheduleRefused:
        try:
            schedule = decode_schedule(msg.schedule)
            catch_up = CatchUp(msg.catch_up)
        except (ScheduleError, ValueError) as exc:
            return ScheduleRefused(reason=str(exc))
        first = next_fire(schedule, calendar_now())
        if first is None:
            return ScheduleRefused(reason="that schedule has no fire still to come")
        try:
            put = PutJob(
                job_key=msg.job_key,
                kind=msg.kind,
                schedule=msg.schedule,
                next_run_at=to_iso(first),
                payload=msg.payload,
                catch_up=catch_up.value,
                max_late_seconds=msg.max_late_seconds,
                guild_id=msg.guild_id,
                channel_id=msg.channel_id,
                created_by=msg.created_by,
                title=msg.title,
            )
        except ValueError as exc:
            return ScheduleRefused(reason=str(exc))
        written = await self.store.ask(put, JobWritten)
        self._changed()
        return JobScheduled(job=written.job)

    @handles(ChangeJob)
    async def change_job(self, msg: ChangeJob) -> JobScheduled | ScheduleRefused:
        statuses = {"pause": "paused", "resume": "active", "delete": "deleted"}
        if msg.action not in statuses:
            return ScheduleRefused(reason=f"action must be pause, resume or delete: {msg.action!r}")
        nxt: str | None = None
        if msg.action == "resume":
            found = await self.store.ask(
                GetJobs(statuses=("active", "paused"), job_key=msg.job_key, limit=1), JobRows
            )
            if not found.rows:
                return ScheduleRefused(reason=f"no job {msg.job_key!r}")
            fire = next_fire(decode_schedule(found.rows[0].schedule), calendar_now())
            nxt = None if fire is None else to_iso(fire)
        reply = await self.store.ask(
            SetJobStatus(job_key=msg.job_key, status=statuses[msg.action], next_run_at=nxt)
        )
        if isinstance(reply, StoreRejected):
            return ScheduleRefused(reason=reply.problem)
        assert isinstance(reply, JobWritten)
        self._changed()
        return JobScheduled(job=reply.job)

    @handles(ListJobs)
    async def list_jobs(self, msg: ListJobs) -> JobRows:
        reply = await self.store.ask(GetJobs(kind=msg.kind, guild_id=msg.guild_id), JobRows)
        assert isinstance(reply, JobRows)
        return reply


def scheduler_child(config: SchedulerConfig | None = None) -> ChildSpec:
    """The scheduler, registered as `SCHEDULER_NAME`."""
    return ChildSpec(SCHEDULER_NAME, lambda: Scheduler(config), register=SCHEDULER_NAME)
