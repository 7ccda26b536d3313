"""Routes: the Initiative & Automations view — every scheduled job and its runs, the operator's
pause / resume / delete (asked of the `Scheduler`, which re-plans at once), the operator's
"check now" (asked of the initiative actor: the gates, and a post when they allow it), the
initiative actor's decisions and the discovery feeds' fetches (both read from the action log).

The shaping is sans-IO in `clanker.automations.view`; these routes only read and ask.
"""

from __future__ import annotations

import contextlib
import logging

import trio
from quart import Response, request
from quart_trio import QuartTrio

from clanker.automations.check_view import (
    OPERATOR_CHECK_KIND,
    InitiativeCheck,
    check_log,
    check_view,
)
from clanker.automations.view import (
    DECISION_KINDS,
    FEED_FETCH_KIND,
    InitiativeDecisions,
    InitiativeFeeds,
    InitiativeJob,
    InitiativeJobs,
    InitiativeRuns,
    Names,
    configured_sources,
    feed_views,
    job_view,
    newest_decisions,
    run_view,
)
from clanker.dashboard.context import ApiContext, ApiProblem, query_id, query_int
from clanker.initiative.actor import INITIATIVE_NAME, Checked, CheckNow
from clanker.runtime import ActorError, AskTimeout, NotRegistered
from clanker.schedule.actor import SCHEDULER_NAME, ChangeJob, JobScheduled, ScheduleRefused
from clanker.store import (
    MAX_LIMIT,
    ActionRow,
    ActionRows,
    ActionsQuery,
    LogAction,
    calendar_now,
    to_iso,
    to_json,
)
from clanker.store.jobs import JOB_STATUSES, GetJobs, GetRuns, JobRow, JobRows, RunRows

log = logging.getLogger("clanker.dashboard")

LISTED_STATUSES = ("active", "paused", "done")  # deleted jobs only on request
NAMES_TIMEOUT = 2.0  # the directory (the guild router) answering slowly leaves names out
SCHEDULER_TIMEOUT = 10.0
DEFAULT_RUNS = 50
DEFAULT_DECISIONS = 50
DONE = {"pause": "paused", "resume": "resumed", "delete": "deleted"}


async def directory_names(ctx: ApiContext) -> Names:
    """Guild and channel names from the directory; none when it cannot answer in time."""
    with trio.move_on_after(NAMES_TIMEOUT):
        try:
            guilds = await ctx.directory.guilds()
        except ActorError:
            return Names()
        return Names(
            guilds={int(g.id): g.name for g in guilds},
            channels={int(c.id): c.name for g in guilds for c in g.channels},
        )
    return Names()


def _statuses_param() -> tuple[str, ...]:
    raw = request.args.get("status")
    if not raw:
        return LISTED_STATUSES
    wanted = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    for status in wanted:
        if status not in JOB_STATUSES:
            raise ApiProblem(
                400,
                f"query parameter 'status' lists {status!r}; use a comma-separated list of "
                f"{', '.join(JOB_STATUSES)}",
            )
    return wanted or LISTED_STATUSES


def _job_id(raw: str, what: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 2**63 - 1:
        raise ApiProblem(400, f"{what} must be a job number (a positive integer), got {raw!r}")
    return int(raw)


async def _job(ctx: ApiContext, job_id: int) -> JobRow | None:
    found = await ctx.ask_store(GetJobs(statuses=JOB_STATUSES, job_id=job_id, limit=1), JobRows)
    return found.rows[0] if found.rows else None


async def _all_jobs(ctx: ApiContext, statuses: tuple[str, ...]) -> tuple[JobRow, ...]:
    reply = await ctx.ask_store(GetJobs(statuses=statuses, limit=MAX_LIMIT), JobRows)
    return reply.rows


async def _actions(ctx: ApiContext, kind: str, guild_id: int | None, limit: int) -> list[ActionRow]:
    try:
        query = ActionsQuery(kind=kind, guild_id=guild_id, limit=limit)
    except ValueError as exc:
        raise ApiProblem(400, str(exc)) from None
    return list((await ctx.ask_store(query, ActionRows)).rows)


def _refusal(job: JobRow, action: str) -> str | None:
    """Why ``action`` does not apply to ``job`` as it stands, else None."""
    name = f"job {job.id} ({job.job_key})"
    if job.status == "deleted":
        return f"{name} was deleted already"
    if action == "pause" and job.status != "active":
        return f"{name} is {job.status}: only an active job can be paused"
    if action == "resume" and job.status != "paused":
        return f"{name} is {job.status}: only a paused job can be resumed"
    return None


async def change(ctx: ApiContext, job: JobRow, action: str) -> JobRow:
    """Ask the scheduler to carry out ``action`` (it re-plans its next wake); 409 with its
    reason when it refuses, 503 when it is not running."""
    try:
        scheduler = ctx.runtime.lookup(SCHEDULER_NAME)
        reply = await scheduler.ask(
            ChangeJob(job_key=job.job_key, action=action), timeout=SCHEDULER_TIMEOUT
        )
    except NotRegistered:
        raise ApiProblem(503, "the scheduler is not running; try again shortly") from None
    except ActorError as exc:
        raise ApiProblem(503, f"the scheduler did not answer: {exc}") from None
    if isinstance(reply, ScheduleRefused):
        raise ApiProblem(409, f"the scheduler refused to {action} job {job.id}: {reply.reason}")
    if not isinstance(reply, JobScheduled):
        raise ApiProblem(500, f"the scheduler answered {type(reply).__name__}")
    return reply.job


async def _log_change(ctx: ApiContext, before: JobRow, after: JobRow, action: str) -> None:
    title = job_view(after, Names()).title
    content = f"{DONE[action]} job {after.id} {title!r} ({after.job_key})"
    log.info("dashboard operator: %s", content)
    with contextlib.suppress(ApiProblem, ActorError):
        await ctx.store().ref.tell(
            LogAction(
                kind=f"operator_job_{action}",
                guild_id=after.guild_id,
                channel_id=after.channel_id,
                content=content,
                metadata=to_json(
                    {
                        "job_id": after.id,
                        "job_key": after.job_key,
                        "kind": after.kind,
                        "status_before": before.status,
                        "status": after.status,
                        "next_run_at": after.next_run_at,
                    }
                ),
            )
        )


async def check_now(ctx: ApiContext) -> InitiativeCheck:
    """Ask the initiative actor to run its gates (and a post, if they allow it) for every server
    now; 503 when it is not running or fails, 504 when it does not answer in time (the check
    goes on in the actor). Either way the operator's check is logged."""
    timeout = ctx.config.initiative_check_timeout
    try:
        actor = ctx.runtime.lookup(INITIATIVE_NAME)
    except NotRegistered:
        raise ApiProblem(503, "the initiative actor is not running; try again shortly") from None
    try:
        checked = await actor.ask(CheckNow(), Checked, timeout=timeout)
    except AskTimeout:
        await _log_check(ctx, None, timeout)
        raise ApiProblem(
            504,
            f"the initiative check did not finish within {timeout:g} s; it goes on in the "
            "initiative actor, and its outcome will show in the decisions",
        ) from None
    except ActorError as exc:
        raise ApiProblem(503, f"the initiative actor did not answer: {exc}") from None
    check = check_view(checked.detail, await directory_names(ctx))
    await _log_check(ctx, check, timeout)
    return check


async def _log_check(ctx: ApiContext, check: InitiativeCheck | None, timeout: float) -> None:
    content, metadata = check_log(check, timeout)
    log.info("dashboard operator: %s", content)
    with contextlib.suppress(ApiProblem, ActorError):
        await ctx.store().ref.tell(
            LogAction(kind=OPERATOR_CHECK_KIND, content=content, metadata=to_json(metadata))
        )


def register(app: QuartTrio, ctx: ApiContext) -> None:
    """Add these routes to ``app``."""

    @app.get("/api/initiative/jobs")
    async def jobs() -> Response:
        statuses = _statuses_param()
        rows = await _all_jobs(ctx, statuses)
        names = await directory_names(ctx)
        return ctx.json(
            InitiativeJobs(jobs=[job_view(r, names) for r in rows], now=to_iso(calendar_now()))
        )

    @app.get("/api/initiative/runs")
    async def runs() -> Response:
        raw = request.args.get("job_id")
        job_id = _job_id(raw, "query parameter 'job_id'") if raw else None
        limit = query_int("limit", DEFAULT_RUNS, 1, MAX_LIMIT)
        names = Names()  # runs are named by their jobs' titles, which need no directory
        if job_id is not None:
            job = await _job(ctx, job_id)
            if job is None:
                raise ApiProblem(404, f"no job {job_id}")
            known: dict[int, InitiativeJob] = {job.id: job_view(job, names)}
        else:
            known = {r.id: job_view(r, names) for r in await _all_jobs(ctx, JOB_STATUSES)}
        found = await ctx.ask_store(GetRuns(job_id=job_id, limit=limit), RunRows)
        return ctx.json(
            InitiativeRuns(runs=[run_view(r, known) for r in found.rows], job_id=job_id)
        )

    @app.post("/api/initiative/jobs/<raw_id>/<action>")
    async def change_job(raw_id: str, action: str) -> Response:
        job_id = _job_id(raw_id, "the job id in the path")
        if action not in DONE:
            raise ApiProblem(400, f"the action must be pause, resume or delete, got {action!r}")
        job = await _job(ctx, job_id)
        if job is None:
            raise ApiProblem(404, f"no job {job_id}")
        refused = _refusal(job, action)
        if refused is not None:
            raise ApiProblem(409, refused)
        after = await change(ctx, job, action)
        await _log_change(ctx, job, after, action)
        return ctx.json(job_view(after, await directory_names(ctx)))

    @app.post("/api/initiative/check")
    async def check() -> Response:
        return ctx.json(await check_now(ctx))

    @app.get("/api/initiative/decisions")
    async def decisions() -> Response:
        limit = query_int("limit", DEFAULT_DECISIONS, 1, MAX_LIMIT)
        guild_id = query_id("guild_id")
        wanted = request.args.get("decision") or None
        kinds = [k for k, word in DECISION_KINDS.items() if wanted in (None, word)]
        if not kinds:
            raise ApiProblem(
                400, f"query parameter 'decision' must be post, hold or skip, got {wanted!r}"
            )
        rows = [row for kind in kinds for row in await _actions(ctx, kind, guild_id, limit)]
        names = await directory_names(ctx)
        return ctx.json(
            InitiativeDecisions(decisions=newest_decisions(rows, names, limit), limit=limit)
        )

    @app.get("/api/initiative/feeds")
    async def feeds() -> Response:
        try:
            configured, problem = configured_sources((await ctx.settings.get()).document)
        except ActorError as exc:
            configured, problem = [], f"the settings could not be read: {exc}"
        fetched = await _actions(ctx, FEED_FETCH_KIND, None, MAX_LIMIT)
        names = await directory_names(ctx)
        return ctx.json(
            InitiativeFeeds(
                sources=feed_views(configured, fetched, names),
                fetches_read=len(fetched),
                setting_problem=problem,
            )
        )
