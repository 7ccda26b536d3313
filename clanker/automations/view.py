"""The dashboard's Initiative & Automations view, shaped without I/O (docs/dashboard-api.md).

The routes (`clanker.dashboard.routes_initiative`) read the Store and the directory; this
module turns what they read into what the browser is sent: every scheduled job with its
schedule in plain words and its next fire in the schedule's own zone, the runs of jobs, the
initiative actor's decisions from the action log (``initiative_post``, ``initiative_hold``,
``initiative_skip``) and the discovery feeds' fetches (``feed_fetch``) per configured source.

Discord ids travel as strings (a snowflake does not fit a JavaScript number). The shapes are
msgspec Structs, re-exported by `clanker.dashboard.shapes` and mirrored in
``dashboard/src/api/types.ts``. Nothing here imports trio or touches the Store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import msgspec

from clanker.automations.policy import KIND as AUTOMATION_KIND
from clanker.automations.policy import AutomationError, decode_payload, describe, local_time
from clanker.feeds.sources import SourceError, parse_weighted_source
from clanker.schedule.rules import ScheduleError, decode_schedule
from clanker.store.jobs import JobRow, RunRow
from clanker.store.messages import ActionRow

DECISION_KINDS: dict[str, Literal["post", "hold", "skip"]] = {
    "initiative_post": "post",
    "initiative_hold": "hold",
    "initiative_skip": "skip",
}
"""The initiative actor's action kinds, and the word the view uses for each."""
FEED_FETCH_KIND = "feed_fetch"
SUMMARY_CHARS = 200  # a payload that is not an automation's is shown this long at most


@dataclass(frozen=True)
class Names:
    """What the directory calls guilds and channels (id -> name); unknown ids have no name."""

    guilds: Mapping[int, str] = field(default_factory=dict)
    channels: Mapping[int, str] = field(default_factory=dict)

    def guild(self, guild_id: int | None) -> str | None:
        """The guild's name, None when unknown."""
        return None if guild_id is None else self.guilds.get(guild_id)

    def channel(self, channel_id: int | None) -> str | None:
        """The channel's name, None when unknown."""
        return None if channel_id is None else self.channels.get(channel_id)


def _id(value: int | None) -> str | None:
    return None if value is None else str(value)


class _Shape(msgspec.Struct, frozen=True, kw_only=True):
    pass


# -- jobs and runs --------------------------------------------------------------------------------


class InitiativeJob(_Shape, frozen=True):
    """A scheduled job. ``schedule_text``: the schedule in plain words ("every day at 09:00
    (Europe/Paris)"), ``schedule`` the stored JSON; ``next_run_local``: the next fire in the
    schedule's own zone. ``task``: an automation's instruction, else a summary of the payload.
    ``schedule_problem``: why the stored schedule cannot be read (the scheduler pauses such a
    job), else None."""

    id: int
    job_key: str
    kind: str
    status: str  # active | paused | done | deleted
    title: str
    task: str
    schedule_text: str
    schedule: dict[str, Any]
    schedule_problem: str | None
    next_run_at: str | None
    next_run_local: str | None
    last_run_at: str | None
    catch_up: str
    missed: int
    guild_id: str | None
    guild_name: str | None
    channel_id: str | None
    channel_name: str | None
    created_by: str | None
    created_by_name: str | None
    created_at: str
    updated_at: str


class InitiativeJobs(_Shape, frozen=True):
    """``GET /api/initiative/jobs``: soonest next fire first (none last); ``now`` is the
    server's calendar time, for "in 5 min"."""

    jobs: list[InitiativeJob]
    now: str


class InitiativeRun(_Shape, frozen=True):
    """One fire of a job: ``outcome`` ``running`` until its handler reports."""

    id: int
    job_id: int
    job_key: str
    title: str
    kind: str | None
    scheduled_for: str
    started_at: str
    finished_at: str | None
    outcome: str  # running | ok | failed | interrupted
    detail: str
    late_seconds: float


class InitiativeRuns(_Shape, frozen=True):
    """``GET /api/initiative/runs``: newest first."""

    runs: list[InitiativeRun]
    job_id: int | None


def _schedule_json(text: str) -> dict[str, Any]:
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _summary(payload: str) -> str:
    text = payload if payload not in ("", "{}") else ""
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def job_view(job: JobRow, names: Names) -> InitiativeJob:
    """The browser's view of a stored job."""
    schedule_text, problem, next_local = "", None, None
    try:
        schedule = decode_schedule(job.schedule)
    except ScheduleError as exc:
        problem = str(exc)
    else:
        schedule_text = describe(schedule)
        if job.next_run_at is not None:
            next_local = local_time(datetime.fromisoformat(job.next_run_at), schedule)
    title, task, by_name = job.title, _summary(job.payload), None
    if job.kind == AUTOMATION_KIND:
        try:
            payload = decode_payload(job.payload)
        except AutomationError:
            pass  # shown as its raw summary
        else:
            title = title or payload.title
            task = payload.instruction
            by_name = payload.created_by_name or None
    return InitiativeJob(
        id=job.id,
        job_key=job.job_key,
        kind=job.kind,
        status=job.status,
        title=title or job.job_key,
        task=task,
        schedule_text=schedule_text,
        schedule=_schedule_json(job.schedule),
        schedule_problem=problem,
        next_run_at=job.next_run_at,
        next_run_local=next_local,
        last_run_at=job.last_run_at,
        catch_up=job.catch_up,
        missed=job.missed,
        guild_id=_id(job.guild_id),
        guild_name=names.guild(job.guild_id),
        channel_id=_id(job.channel_id),
        channel_name=names.channel(job.channel_id),
        created_by=_id(job.created_by),
        created_by_name=by_name,
        created_at=job.created_at,
        updated_at=job.updated_at,
    )


def run_view(run: RunRow, jobs: Mapping[int, InitiativeJob]) -> InitiativeRun:
    """The browser's view of a run; ``jobs`` (by id) name it, when its job is among them."""
    job = jobs.get(run.job_id)
    return InitiativeRun(
        id=run.id,
        job_id=run.job_id,
        job_key=run.job_key,
        title=job.title if job is not None else run.job_key,
        kind=job.kind if job is not None else None,
        scheduled_for=run.scheduled_for,
        started_at=run.started_at,
        finished_at=run.finished_at,
        outcome=run.outcome or "running",
        detail=run.detail,
        late_seconds=run.late_seconds,
    )


# -- the initiative actor's decisions -------------------------------------------------------------


class InitiativeDecision(_Shape, frozen=True):
    """A post clanker made on its own, a thought it held back, or a skip and the gate that
    stopped it. ``message_id`` and ``jump_url``: the post (posts only); ``reply_to``: the
    message it answered, if any; ``metadata``: the logged object as it was."""

    id: int
    kind: str
    decision: Literal["post", "hold", "skip"]
    created_at: str
    guild_id: str | None
    guild_name: str | None
    channel_id: str | None
    channel_name: str | None
    message_id: str | None
    jump_url: str | None
    content: str
    reason: str
    gate: str | None
    source: str | None
    source_url: str | None
    reply_to: str | None
    media: str | None
    metadata: dict[str, Any]


class InitiativeDecisions(_Shape, frozen=True):
    """``GET /api/initiative/decisions``: newest first."""

    decisions: list[InitiativeDecision]
    limit: int


def metadata_of(row: ActionRow) -> dict[str, Any]:
    """The row's logged metadata object ({} when it is not a JSON object)."""
    try:
        value = msgspec.json.decode(row.metadata)
    except msgspec.DecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _text(meta: Mapping[str, Any], key: str) -> str | None:
    value = meta.get(key)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        return str(value) or None
    return None


def _count(meta: Mapping[str, Any], key: str) -> int:
    value = meta.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def jump_url(guild_id: int | None, channel_id: int | None, message_id: int | None) -> str | None:
    """The Discord link of a message (``@me`` for a DM), None without its ids."""
    if channel_id is None or message_id is None:
        return None
    where = "@me" if guild_id is None else str(guild_id)
    return f"https://discord.com/channels/{where}/{channel_id}/{message_id}"


def decision_view(row: ActionRow, names: Names) -> InitiativeDecision:
    """The browser's view of an initiative action; ValueError for another kind."""
    decision = DECISION_KINDS.get(row.kind)
    if decision is None:
        raise ValueError(f"action {row.id} is a {row.kind!r}, not an initiative decision")
    meta = metadata_of(row)
    posted = decision == "post"
    return InitiativeDecision(
        id=row.id,
        kind=row.kind,
        decision=decision,
        created_at=row.created_at,
        guild_id=_id(row.guild_id),
        guild_name=names.guild(row.guild_id),
        channel_id=_id(row.channel_id),
        channel_name=names.channel(row.channel_id),
        message_id=_id(row.message_id) if posted else None,
        jump_url=jump_url(row.guild_id, row.channel_id, row.message_id) if posted else None,
        content=row.content,
        reason=_text(meta, "reason") or "",
        gate=_text(meta, "gate"),
        source=_text(meta, "source"),
        source_url=_text(meta, "source_url"),
        reply_to=_text(meta, "reply_to"),
        media=_text(meta, "media"),
        metadata=meta,
    )


def newest_decisions(
    rows: Iterable[ActionRow], names: Names, limit: int
) -> list[InitiativeDecision]:
    """The ``limit`` newest of ``rows`` (read per kind, so possibly overlapping), newest first."""
    unique = {r.id: r for r in rows if r.kind in DECISION_KINDS}
    newest = sorted(unique.values(), key=lambda r: r.id, reverse=True)[:limit]
    return [decision_view(r, names) for r in newest]


# -- discovery feeds ------------------------------------------------------------------------------


class FeedFetchView(_Shape, frozen=True):
    """One fetch of a source: entries read (``items``), fresh enough (``fresh``), never seen
    before (``new``), and the error if it failed."""

    id: int
    at: str
    guild_id: str | None
    guild_name: str | None
    items: int
    fresh: int
    new: int
    error: str | None


class FeedSourceView(_Shape, frozen=True):
    """A discovery source: ``configured`` when it is in ``initiative.feed_sources`` (else it
    was fetched earlier and is no longer listed); ``problem`` when its spec does not read;
    totals over the fetches read; ``last`` the newest fetch, None if never fetched."""

    source: str
    key: str
    kind: str | None
    label: str
    configured: bool
    problem: str | None
    fetches: int
    failed: int
    items: int
    fresh: int
    new: int
    last: FeedFetchView | None


class InitiativeFeeds(_Shape, frozen=True):
    """``GET /api/initiative/feeds``: the configured sources in their order, then the ones only
    seen in the log (newest fetch first). ``fetches_read``: the ``feed_fetch`` rows the totals
    count (the newest ones, at most the Store's page limit); ``setting_problem``: why
    ``initiative.feed_sources`` could not be read, else None."""

    sources: list[FeedSourceView]
    fetches_read: int
    setting_problem: str | None


def configured_sources(document: Mapping[str, Any]) -> tuple[list[object], str | None]:
    """``initiative.feed_sources`` of a settings document, read defensively: a missing
    section or setting is an empty list; anything but a list is a problem."""
    section = document.get("initiative")
    if not isinstance(section, Mapping):
        return [], None
    value = section.get("feed_sources")
    if value is None:
        return [], None
    if not isinstance(value, list | tuple):
        return [], f"initiative.feed_sources must be a list of sources, got {type(value).__name__}"
    return list(value), None


@dataclass
class _Tally:
    source: str
    key: str
    kind: str | None
    label: str
    configured: bool
    problem: str | None = None
    fetches: int = 0
    failed: int = 0
    items: int = 0
    fresh: int = 0
    new: int = 0
    last: FeedFetchView | None = None

    def add(self, fetch: FeedFetchView, label: str) -> None:
        self.fetches += 1
        self.failed += fetch.error is not None
        self.items += fetch.items
        self.fresh += fetch.fresh
        self.new += fetch.new
        if self.last is None or fetch.id > self.last.id:
            self.last = fetch
            if label:
                self.label = label  # what the newest fetch called it

    def view(self) -> FeedSourceView:
        return FeedSourceView(
            source=self.source,
            key=self.key,
            kind=self.kind,
            label=self.label or self.source,
            configured=self.configured,
            problem=self.problem,
            fetches=self.fetches,
            failed=self.failed,
            items=self.items,
            fresh=self.fresh,
            new=self.new,
            last=self.last,
        )


def _key(spec: str) -> tuple[str, str | None, str, str | None]:
    """(key, kind, label, problem) of a source spec."""
    try:
        source = parse_weighted_source(spec)
    except (SourceError, ValueError) as exc:
        return spec.strip(), None, "", str(exc)
    return source.key, source.kind, source.label, None


def feed_views(
    configured: Sequence[object], fetches: Iterable[ActionRow], names: Names
) -> list[FeedSourceView]:
    """Each configured source (in order) with its fetches, then the sources only the log has."""
    tallies: dict[str, _Tally] = {}
    for entry in configured:
        if not isinstance(entry, str):
            text = msgspec.json.encode(entry).decode()
            tallies[text] = _Tally(text, text, None, "", True, "not a source spec string")
            continue
        key, kind, label, problem = _key(entry)
        tallies.setdefault(key, _Tally(entry, key, kind, label, True, problem))
    seen: list[_Tally] = []
    for row in fetches:
        if row.kind != FEED_FETCH_KIND:
            continue
        meta = metadata_of(row)
        spec = _text(meta, "source") or row.content
        key, kind, label, _ = _key(spec)
        tally = tallies.get(key)
        if tally is None:
            tally = tallies[key] = _Tally(spec, key, kind or _text(meta, "kind"), "", False)
            seen.append(tally)
        error = meta.get("error")
        fetch = FeedFetchView(
            id=row.id,
            at=row.created_at,
            guild_id=_id(row.guild_id),
            guild_name=names.guild(row.guild_id),
            items=_count(meta, "items"),
            fresh=_count(meta, "fresh"),
            new=_count(meta, "new"),
            error=None if error is None or error == "" else str(error),
        )
        tally.add(fetch, row.content or label)
    listed = [t for t in tallies.values() if t.configured]
    unlisted = sorted(seen, key=lambda t: t.last.id if t.last else 0, reverse=True)
    return [t.view() for t in (*listed, *unlisted)]
