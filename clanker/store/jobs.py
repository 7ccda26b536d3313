"""The Store's scheduler API: scheduled jobs and their runs (docs/scheduler.md).

A job is keyed by ``job_key`` (unique, the caller's name for it: ``automation:12``,
``initiative:guild:5``). Its schedule and payload are JSON text; *when* it fires and what a
missed fire means are decided in `clanker.schedule.rules`, and these requests carry the
decision out. A run is one fire of a job, claimed once: ``(job_id, scheduled_for)`` is unique,
and the claim moves the job's ``next_run_at`` in the same transaction only if it still holds
the value the claimer read (compare-and-swap), so two schedulers (or a restarted one) can
neither run one fire twice nor lose the job's place.
"""

from __future__ import annotations

import re

import msgspec

from clanker.store.validation import check_id, check_json, check_limit, check_time
from clanker.wire import Message

JOB_STATUSES = ("active", "paused", "done", "deleted")
RUN_OUTCOMES = ("ok", "failed", "interrupted")
CATCH_UPS = ("skip", "once")
MAX_KEY_CHARS = 120
MAX_DETAIL_CHARS = 2000


_JOB_KIND = re.compile(r"[a-z][a-z0-9_]{0,63}")


def _check_kind(obj: object, kind: str) -> None:
    if not _JOB_KIND.fullmatch(kind):
        raise ValueError(
            f"{type(obj).__qualname__}.kind {kind!r} is not a job kind: use lower_snake_case, "
            "starting with a letter, at most 64 characters (e.g. 'automation')"
        )


def _check_key(obj: object, key: str) -> None:
    if not key.strip() or len(key) > MAX_KEY_CHARS:
        raise ValueError(
            f"{type(obj).__qualname__}.job_key must be 1-{MAX_KEY_CHARS} characters, got {key!r}"
        )


class PutJob(Message, frozen=True):
    """Create the job ``job_key``, or replace its definition (it becomes ``active`` again, with
    ``next_run_at``). ``kind`` names who runs it (the handler the scheduler tells).
    Reply: `JobWritten`."""

    job_key: str
    kind: str
    schedule: str  # JSON (clanker.schedule.rules.encode_schedule)
    next_run_at: str | None  # the first fire; None: nothing to run (stored as done)
    payload: str = "{}"
    catch_up: str = "skip"
    max_late_seconds: float = 21_600.0
    guild_id: int | None = None
    channel_id: int | None = None
    created_by: int | None = None
    title: str = ""

    def __post_init__(self) -> None:
        _check_key(self, self.job_key)
        _check_kind(self, self.kind)
        check_json(self, "schedule", self.schedule, object_only=True)
        check_json(self, "payload", self.payload, object_only=True)
        check_time(self, "next_run_at", self.next_run_at)
        if self.catch_up not in CATCH_UPS:
            raise ValueError(f"PutJob.catch_up must be one of {CATCH_UPS}, got {self.catch_up!r}")
        if not 0 <= self.max_late_seconds <= 7 * 86_400:
            raise ValueError(
                f"PutJob.max_late_seconds must be 0-604800, got {self.max_late_seconds}"
            )
        check_id(self, "guild_id", self.guild_id, optional=True)
        check_id(self, "channel_id", self.channel_id, optional=True)
        check_id(self, "created_by", self.created_by, optional=True)


class JobRow(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    job_key: str
    kind: str
    schedule: str
    payload: str
    catch_up: str
    max_late_seconds: float
    status: str
    next_run_at: str | None
    last_run_at: str | None
    missed: int  # fires skipped (missed beyond the catch-up rule), all time
    guild_id: int | None
    channel_id: int | None
    created_by: int | None
    title: str
    created_at: str
    updated_at: str


class JobWritten(Message, frozen=True):
    """Reply: the job as stored."""

    job: JobRow


class GetJobs(Message, frozen=True):
    """Jobs by status (default: active and paused), optionally of one ``kind``, guild, key or
    row id (``job_id``: the number the dashboard names a job by); by ``next_run_at`` (soonest
    first, none last). Reply: `JobRows`."""

    statuses: tuple[str, ...] = ("active", "paused")
    kind: str | None = None
    guild_id: int | None = None
    job_key: str | None = None
    limit: int = 500
    job_id: int | None = None

    def __post_init__(self) -> None:
        for status in self.statuses:
            if status not in JOB_STATUSES:
                raise ValueError(f"GetJobs.statuses: {status!r} is not one of {JOB_STATUSES}")
        if self.kind is not None:
            _check_kind(self, self.kind)
        check_id(self, "guild_id", self.guild_id, optional=True)
        if self.job_key is not None:
            _check_key(self, self.job_key)
        check_limit(self, self.limit)
        if self.job_id is not None and self.job_id < 1:
            raise ValueError(f"GetJobs.job_id must be a positive row id, got {self.job_id}")


class JobRows(Message, frozen=True):
    rows: tuple[JobRow, ...]


class SetJobStatus(Message, frozen=True):
    """Pause, resume (``active``, with the next fire from now), or delete ``job_key``.
    Reply: `JobWritten`; an unknown key → `StoreRejected`."""

    job_key: str
    status: str
    next_run_at: str | None = None  # for ``active``: the next fire

    def __post_init__(self) -> None:
        _check_key(self, self.job_key)
        if self.status not in ("active", "paused", "deleted"):
            raise ValueError(
                f"SetJobStatus.status must be active, paused or deleted, got {self.status!r}"
            )
        check_time(self, "next_run_at", self.next_run_at)


class ClaimRun(Message, frozen=True):
    """Move job ``job_id`` from the fire it was at (``expected_next_run_at``, as read) to
    ``next_run_at`` (None: done), adding ``missed`` skipped fires, and, when ``scheduled_for``
    is given, record the run of that fire as claimed by ``claimer``. Nothing happens when the
    job is no longer active at ``expected_next_run_at`` (someone else moved it) or that fire
    already has a run. Reply: `RunClaimed`."""

    job_id: int
    expected_next_run_at: str
    next_run_at: str | None
    claimer: str
    scheduled_for: str | None = None
    missed: int = 0
    late_seconds: float = 0.0

    def __post_init__(self) -> None:
        check_time(self, "expected_next_run_at", self.expected_next_run_at)
        check_time(self, "next_run_at", self.next_run_at)
        check_time(self, "scheduled_for", self.scheduled_for)
        if not self.claimer.strip():
            raise ValueError("ClaimRun.claimer must name who claims the run")
        if self.missed < 0:
            raise ValueError(f"ClaimRun.missed must be >= 0, got {self.missed}")


class RunClaimed(Message, frozen=True):
    """Reply: ``moved`` when the job was moved on; ``run_id`` when a run was recorded."""

    moved: bool
    run_id: int | None = None


class FinishRun(Message, frozen=True):
    """Record how run ``run_id`` ended (once: a finished run is not changed). Reply:
    `RowsChanged` (0 when it had finished already or does not exist)."""

    run_id: int
    outcome: str
    detail: str = ""

    def __post_init__(self) -> None:
        if self.outcome not in RUN_OUTCOMES:
            raise ValueError(f"FinishRun.outcome must be one of {RUN_OUTCOMES}")


class InterruptRuns(Message, frozen=True):
    """A restarted scheduler's first act: the runs still open that an earlier incarnation of
    it claimed (``claimed_by`` starts with ``claimer_prefix`` and is not ``claimer``) end as
    ``interrupted``; they are not run again. Reply: `RowsChanged`."""

    claimer_prefix: str
    claimer: str

    def __post_init__(self) -> None:
        if not self.claimer_prefix or not self.claimer.startswith(self.claimer_prefix):
            raise ValueError("InterruptRuns.claimer must start with its claimer_prefix")


class GetRuns(Message, frozen=True):
    """The newest runs (of one job, or of all). Reply: `RunRows`, newest first."""

    job_id: int | None = None
    limit: int = 100

    def __post_init__(self) -> None:
        check_limit(self, self.limit)


class RunRow(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    job_id: int
    job_key: str
    scheduled_for: str
    claimed_by: str
    started_at: str
    finished_at: str | None
    outcome: str | None
    detail: str
    late_seconds: float


class RunRows(Message, frozen=True):
    rows: tuple[RunRow, ...]
