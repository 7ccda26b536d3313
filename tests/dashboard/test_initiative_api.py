"""The Initiative & Automations routes (``/api/initiative/...``) on a real Hypercorn server in a
real runtime: the real Store (SQLite in ``tmp_path``), the real `Scheduler` (jobs created,
paused, resumed and deleted through it; a fire it runs itself), guild and channel names from a
sandbox world's directory, and the feed sources from a settings document that lists them
(`ModelSettingsSource` over the Store with a model that has ``initiative.feed_sources``).
The initiative actor's decisions and the feed fetches are written as it will write them, with
`LogAction` (the contract in docs/dashboard-api.md)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec
import pytest
import trio

from clanker.automations.policy import Payload
from clanker.dashboard import (
    TELEMETRY_NAME,
    DashboardAddress,
    DashboardConfig,
    DashboardParts,
    GetAddress,
    ModelSettingsSource,
    WorldDirectory,
    dashboard_children,
)
from clanker.runtime import Runtime, SupervisorSpec, open_runtime
from clanker.sandbox import ChannelKind, World
from clanker.schedule.actor import (
    SCHEDULER_NAME,
    JobScheduled,
    ListJobs,
    ScheduleJob,
    SchedulerConfig,
    scheduler_child,
)
from clanker.schedule.rules import Daily, Interval, Once, encode_schedule
from clanker.store import (
    ActionRows,
    ActionsQuery,
    LogAction,
    StoreClient,
    calendar_now,
    store_child,
    to_iso,
    to_json,
)
from clanker.store.jobs import (
    ClaimRun,
    FinishRun,
    JobRow,
    JobRows,
    JobWritten,
    PutJob,
    RunClaimed,
)
from tests.dashboard.conftest import TIMEOUT, Dash

ALICE = 1001


class InitiativeSection(msgspec.Struct, frozen=True, kw_only=True):
    feed_sources: tuple[str, ...] = (
        "r/Python",
        "hn:top",
        "https://blog.example/feed.xml",
        "youtube:@otters",
    )


class FeedSettingsDoc(msgspec.Struct, frozen=True, kw_only=True):
    """A settings document with ``initiative.feed_sources`` (clanker's own model may not have
    it yet: the route reads it from whatever document the settings seam gives)."""

    initiative: InitiativeSection = msgspec.field(default_factory=InitiativeSection)


@dataclass
class Initiative:
    rt: Runtime
    parts: DashboardParts
    url: str
    world: World
    guild: int
    news: int
    general: int

    def client(self, *, auth: bool = True, **kwargs: Any) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.parts.token}"} if auth else {}
        headers.update(kwargs.pop("headers", {}))
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=TIMEOUT, **kwargs)

    def store(self) -> StoreClient:
        return StoreClient(self.rt.lookup("store"))


@pytest.fixture
async def init(tmp_path: Path) -> AsyncIterator[Initiative]:
    world = World()
    guild = world.add_guild("Otter Club")
    news = world.add_channel(guild.id, "news")
    general = world.add_channel(guild.id, "general")
    world.add_channel(guild.id, "Lounge", ChannelKind.VOICE)

    def settings(rt: Runtime) -> ModelSettingsSource:
        return ModelSettingsSource(lambda: StoreClient(rt.lookup("store")), FeedSettingsDoc)

    parts = dashboard_children(
        DashboardConfig(port=0, graceful_timeout=5.0),
        environ={},
        announce=lambda line: None,
        directory=WorldDirectory(world),
        settings=settings,
    )
    spec = SupervisorSpec(
        children=[
            parts.telemetry,
            store_child(tmp_path / "clanker.db", action_listener=TELEMETRY_NAME),
            scheduler_child(SchedulerConfig()),  # no handlers: a fire fails, saying so
            parts.dashboard,
        ]
    )
    async with open_runtime(spec) as rt:
        address = await rt.lookup("dashboard").ask(GetAddress(), DashboardAddress)
        yield Initiative(rt, parts, address.url, world, guild.id, news.id, general.id)


# -- seeding, shared with the browser test ---------------------------------------------------------


async def schedule(
    rt: Runtime,
    key: str,
    sched: Daily | Interval | Once,
    *,
    kind: str = "automation",
    payload: dict[str, Any] | None = None,
    guild_id: int | None = None,
    channel_id: int | None = None,
    created_by: int | None = None,
    title: str = "",
) -> JobRow:
    """A job made through the scheduler (as the automation tools make them)."""
    reply = await rt.lookup(SCHEDULER_NAME).ask(
        ScheduleJob(
            job_key=key,
            kind=kind,
            schedule=encode_schedule(sched),
            payload=to_json(payload or {}),
            catch_up="once" if kind == "automation" else "skip",
            guild_id=guild_id,
            channel_id=channel_id,
            created_by=created_by,
            title=title,
        )
    )
    assert isinstance(reply, JobScheduled), reply
    return reply.job


def weather_payload() -> dict[str, Any]:
    return msgspec.to_builtins(  # type: ignore[no-any-return]
        Payload(
            title="weather",
            instruction="post a two-line weather summary for Paris",
            created_by=ALICE,
            created_by_name="alice",
            schedule_text="every day at 09:00 (Europe/Paris)",
            tz="Europe/Paris",
        )
    )


def decisions(guild: int, channel: int) -> list[LogAction]:
    """One of each decision, oldest first, as the initiative actor logs them."""
    return [
        LogAction(
            kind="initiative_skip",
            guild_id=guild,
            metadata=to_json({"gate": "daily_budget", "reason": "3 of 3 posts today"}),
        ),
        LogAction(
            kind="initiative_hold",
            guild_id=guild,
            channel_id=channel,
            content="maybe ask who is going to the otter sanctuary",
            metadata=to_json({"reason": "the room is busy; later"}),
        ),
        LogAction(
            kind="initiative_post",
            guild_id=guild,
            channel_id=channel,
            message_id=5551234,
            content="Otters hold hands while they sleep: https://otters.example/hands",
            metadata=to_json(
                {
                    "reason": "a fresh story the channel will like",
                    "source_url": "https://otters.example/hands",
                    "source": "reddit r/otters",
                    "reply_to": "4440001",
                    "media": None,
                }
            ),
        ),
        LogAction(
            kind="initiative_skip",
            guild_id=guild,
            channel_id=channel,
            metadata=to_json({"gate": "min_gap", "reason": "posted 12 min ago (gap 60 min)"}),
        ),
    ]


def fetches(guild: int) -> list[LogAction]:
    """Feed fetches, oldest first: r/python twice (then failing), Hacker News, and a source no
    longer configured."""

    def fetch(label: str, source: str, kind: str, items: int, fresh: int, new: int, error=None):  # type: ignore[no-untyped-def]
        meta = {"source": source, "kind": kind, "items": items, "fresh": fresh, "new": new}
        return LogAction(
            kind="feed_fetch",
            guild_id=guild,
            content=label,
            metadata=to_json(meta | {"error": error}),
        )

    return [
        fetch("reddit r/python", "r/python", "reddit", 25, 9, 4),
        fetch("reddit r/rust", "r/rust", "reddit", 25, 3, 3),
        fetch("hacker news top", "hn:top", "hackernews", 30, 30, 12),
        fetch("reddit r/python", "reddit:python", "reddit", 0, 0, 0, "r/python answered 429"),
    ]


async def log_all(store: StoreClient, actions: list[LogAction]) -> list[int]:
    return [(await store.log_action(a)).id for a in actions]


# -- jobs ------------------------------------------------------------------------------------------


async def test_jobs_are_listed_with_the_schedule_in_words_names_and_the_task(
    init: Initiative,
) -> None:
    rt = init.rt
    weather = await schedule(
        rt,
        "automation:1",
        Daily(hour=9, minute=0, tz="Europe/Paris"),
        payload=weather_payload(),
        guild_id=init.guild,
        channel_id=init.news,
        created_by=ALICE,
    )
    tick = await schedule(
        rt,
        f"initiative:guild:{init.guild}",
        Interval(every_seconds=1800.0, anchor=datetime(2026, 1, 1, tzinfo=UTC)),
        kind="initiative",
        payload={"guild_id": str(init.guild)},
        guild_id=init.guild,
        title="initiative tick",
    )
    soon = calendar_now().replace(microsecond=0) + timedelta(hours=2)
    once = await schedule(
        rt, "reminder", Once(at=soon), kind="reminder", channel_id=424242, title="remind"
    )
    gone = await schedule(rt, "gone", Once(at=soon), kind="reminder", title="gone")
    async with init.client() as c:
        assert (await c.post(f"/api/initiative/jobs/{gone.id}/delete")).status_code == 200
        body = (await c.get("/api/initiative/jobs")).json()
        every = (await c.get("/api/initiative/jobs", params={"status": "deleted"})).json()
    jobs = {j["id"]: j for j in body["jobs"]}
    assert set(jobs) == {weather.id, tick.id, once.id}  # the deleted one only on request
    assert [j["id"] for j in every["jobs"]] == [gone.id]
    fires = [j["next_run_at"] for j in body["jobs"]]
    assert fires == sorted(fires)  # soonest first
    assert datetime.fromisoformat(body["now"]) <= datetime.fromisoformat(fires[0])

    got = jobs[weather.id]
    assert got == {
        "id": weather.id,
        "job_key": "automation:1",
        "kind": "automation",
        "status": "active",
        "title": "weather",
        "task": "post a two-line weather summary for Paris",
        "schedule_text": "every day at 09:00 (Europe/Paris)",
        "schedule": {"type": "daily", "hour": 9, "minute": 0, "tz": "Europe/Paris"},
        "schedule_problem": None,
        "next_run_at": weather.next_run_at,
        "next_run_local": got["next_run_local"],
        "last_run_at": None,
        "catch_up": "once",
        "missed": 0,
        "guild_id": str(init.guild),
        "guild_name": "Otter Club",
        "channel_id": str(init.news),
        "channel_name": "news",
        "created_by": str(ALICE),
        "created_by_name": "alice",
        "created_at": weather.created_at,
        "updated_at": weather.updated_at,
    }
    assert weather.next_run_at is not None
    paris = datetime.fromisoformat(weather.next_run_at).astimezone(ZoneInfo("Europe/Paris"))
    assert (paris.hour, paris.minute) == (9, 0)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d 09:00 CES?T", got["next_run_local"])

    assert (jobs[tick.id]["title"], jobs[tick.id]["schedule_text"]) == (
        "initiative tick",
        "every 30 minute(s)",
    )
    assert jobs[tick.id]["task"] == json.dumps({"guild_id": str(init.guild)}, separators=(",", ":"))
    assert jobs[tick.id]["channel_name"] is None and jobs[tick.id]["guild_name"] == "Otter Club"
    assert (
        jobs[once.id]["schedule_text"] == f"once, on {soon.strftime('%Y-%m-%d at %H:%M')} (+0000)"
    )
    assert jobs[once.id]["next_run_local"] == soon.strftime("%Y-%m-%d %H:%M UTC")
    # A channel the directory does not know keeps its id and has no name.
    assert (jobs[once.id]["channel_id"], jobs[once.id]["channel_name"]) == ("424242", None)


async def test_a_bad_status_filter_is_400_naming_it(init: Initiative) -> None:
    async with init.client() as c:
        r = await c.get("/api/initiative/jobs", params={"status": "active,sleeping"})
    assert r.status_code == 400
    assert r.json()["error"] == (
        "query parameter 'status' lists 'sleeping'; use a comma-separated list of "
        "active, paused, done, deleted"
    )


async def test_pause_resume_and_delete_go_through_the_scheduler(init: Initiative) -> None:
    rt = init.rt
    job = await schedule(
        rt,
        "automation:1",
        Daily(hour=9, tz="Europe/Paris"),
        payload=weather_payload(),
        guild_id=init.guild,
        channel_id=init.news,
    )
    base = f"/api/initiative/jobs/{job.id}"
    listed = rt.lookup(SCHEDULER_NAME)
    async with init.client() as c:
        paused = await c.post(f"{base}/pause")
        assert paused.status_code == 200
        assert (paused.json()["status"], paused.json()["channel_name"]) == ("paused", "news")
        [row] = (await listed.ask(ListJobs(), JobRows)).rows
        assert row.status == "paused"  # the scheduler's own answer
        again = await c.post(f"{base}/pause")
        assert (again.status_code, again.json()["error"]) == (
            409,
            f"job {job.id} (automation:1) is paused: only an active job can be paused",
        )
        resumed = await c.post(f"{base}/resume")
        assert resumed.status_code == 200 and resumed.json()["status"] == "active"
        assert resumed.json()["next_run_at"] == job.next_run_at  # the next 09:00 from now
        twice = await c.post(f"{base}/resume")
        assert (twice.status_code, twice.json()["error"]) == (
            409,
            f"job {job.id} (automation:1) is active: only a paused job can be resumed",
        )
        deleted = await c.post(f"{base}/delete")
        assert deleted.status_code == 200 and deleted.json()["status"] == "deleted"
        assert (await listed.ask(ListJobs(), JobRows)).rows == ()
        for action in ("delete", "resume", "pause"):
            late = await c.post(f"{base}/{action}")
            assert (late.status_code, late.json()["error"]) == (
                409,
                f"job {job.id} (automation:1) was deleted already",
            )
        jobs = (await c.get("/api/initiative/jobs")).json()["jobs"]
        assert jobs == []

    logged = await init.rt.lookup("store").ask(ActionsQuery(limit=10), ActionRows)
    operator = [(a.kind, a.channel_id, a.content) for a in reversed(logged.rows)]
    assert operator == [
        ("operator_job_pause", init.news, f"paused job {job.id} 'weather' (automation:1)"),
        ("operator_job_resume", init.news, f"resumed job {job.id} 'weather' (automation:1)"),
        ("operator_job_delete", init.news, f"deleted job {job.id} 'weather' (automation:1)"),
    ]
    meta = json.loads(logged.rows[0].metadata)
    assert (meta["status_before"], meta["status"], meta["kind"]) == (
        "active",
        "deleted",
        "automation",
    )


async def test_a_paused_one_off_resumed_after_its_time_is_done_and_never_ran(
    init: Initiative,
) -> None:
    at = calendar_now() + timedelta(seconds=3.0)
    job = await schedule(init.rt, "soon", Once(at=at), kind="nobody", title="soon")
    async with init.client() as c:
        assert (await c.post(f"/api/initiative/jobs/{job.id}/pause")).status_code == 200
        # The fire's time passes while it is paused (a wall-clock wait: the real scheduler).
        await trio.sleep((at - calendar_now()).total_seconds() + 0.1)
        resumed = (await c.post(f"/api/initiative/jobs/{job.id}/resume")).json()
        assert (resumed["status"], resumed["next_run_at"]) == ("done", None)
        assert (await c.get("/api/initiative/runs")).json()["runs"] == []


async def test_bad_job_requests_are_refused_naming_the_problem(init: Initiative) -> None:
    job = await schedule(init.rt, "k", Daily(hour=9), kind="nobody")
    async with init.client() as c:
        for path, status, error in [
            ("/api/initiative/jobs/999/pause", 404, "no job 999"),
            (
                f"/api/initiative/jobs/{job.id}/snooze",
                400,
                "the action must be pause, resume or delete, got 'snooze'",
            ),
            (
                "/api/initiative/jobs/abc/pause",
                400,
                "the job id in the path must be a job number (a positive integer), got 'abc'",
            ),
            (
                "/api/initiative/jobs/0/pause",
                400,
                "the job id in the path must be a job number (a positive integer), got '0'",
            ),
        ]:
            r = await c.post(path)
            assert (r.status_code, r.json()["error"]) == (status, error), path
        wrong_method = await c.get(f"/api/initiative/jobs/{job.id}/pause")
        assert (wrong_method.status_code, wrong_method.json()["error"]) == (
            404,
            f"no such endpoint: GET /api/initiative/jobs/{job.id}/pause",
        )
    async with init.client(auth=False) as anonymous:
        r = await anonymous.post(f"/api/initiative/jobs/{job.id}/pause")
        assert r.status_code == 401
        assert (await anonymous.get("/api/initiative/jobs")).status_code == 401
    async with init.client(headers={"Origin": "https://evil.example"}) as cross:
        r = await cross.post(f"/api/initiative/jobs/{job.id}/delete")
        assert r.status_code == 403
    [row] = (await init.rt.lookup(SCHEDULER_NAME).ask(ListJobs(), JobRows)).rows
    assert row.status == "active"  # nothing refused changed it


# -- runs ------------------------------------------------------------------------------------------


async def seed_runs(store: StoreClient) -> tuple[JobRow, list[int]]:
    """A job far in the future whose history holds an on-time, a late and an interrupted run
    (claimed and finished as the scheduler does)."""
    week = calendar_now().replace(microsecond=0) + timedelta(days=7)
    put = await store.ref.ask(
        PutJob(
            job_key="automation:9",
            kind="automation",
            schedule=encode_schedule(Daily(hour=9)),
            next_run_at=to_iso(week),
            payload=to_json(weather_payload()),
        ),
        JobWritten,
    )
    ids = []
    at = week
    for n, (fire, late, outcome, detail) in enumerate(
        [
            ("2026-12-05T09:00:00+00:00", 0.4, "ok", "sent"),
            ("2026-12-06T09:00:00+00:00", 5400.0, "ok", "skipped: nothing new"),
            ("2026-12-07T09:00:00+00:00", 1.0, "interrupted", "the scheduler restarted"),
        ]
    ):
        nxt = week + timedelta(days=n + 1)
        claim = await store.ref.ask(
            ClaimRun(
                job_id=put.job.id,
                expected_next_run_at=to_iso(at),
                next_run_at=to_iso(nxt),
                claimer="scheduler root/scheduler #1",
                scheduled_for=fire,
                late_seconds=late,
            ),
            RunClaimed,
        )
        assert claim.run_id is not None
        await store.ref.ask(FinishRun(run_id=claim.run_id, outcome=outcome, detail=detail))
        ids.append(claim.run_id)
        at = nxt
    return put.job, ids


async def test_runs_newest_first_with_outcome_detail_and_lateness(init: Initiative) -> None:
    job, (on_time, late, interrupted) = await seed_runs(init.store())
    fire = calendar_now() + timedelta(seconds=1.5)
    orphan = await schedule(init.rt, "nobody:1", Once(at=fire), kind="nobody", title="orphan")
    async with init.client() as c:
        with trio.fail_after(TIMEOUT):  # the scheduler fires it itself, and fails it: no handler
            while True:
                runs = (await c.get("/api/initiative/runs")).json()["runs"]
                if runs and runs[0]["job_id"] == orphan.id and runs[0]["outcome"] != "running":
                    break
                await trio.sleep(0.05)
        assert runs[0] == {
            "id": runs[0]["id"],
            "job_id": orphan.id,
            "job_key": "nobody:1",
            "title": "orphan",
            "kind": "nobody",
            "scheduled_for": to_iso(fire),
            "started_at": runs[0]["started_at"],
            "finished_at": runs[0]["finished_at"],
            "outcome": "failed",
            "detail": "no handler runs jobs of kind 'nobody'",
            "late_seconds": runs[0]["late_seconds"],
        }
        assert 0 <= runs[0]["late_seconds"] < 60
        assert [r["id"] for r in runs[1:]] == [interrupted, late, on_time]
        assert {r["title"] for r in runs[1:]} == {"weather"}
        assert (runs[2]["outcome"], runs[2]["detail"], runs[2]["late_seconds"]) == (
            "ok",
            "skipped: nothing new",
            5400.0,
        )
        assert runs[2]["scheduled_for"] == "2026-12-06T09:00:00.000+00:00"
        one = (await c.get("/api/initiative/runs", params={"job_id": job.id, "limit": 2})).json()
        assert one["job_id"] == job.id
        assert [r["id"] for r in one["runs"]] == [interrupted, late]
        jobs = (await c.get("/api/initiative/jobs", params={"status": "done"})).json()["jobs"]
        assert [j["id"] for j in jobs] == [orphan.id]  # a one-off that has fired is done
        for params, status, error in [
            ({"job_id": "999"}, 404, "no job 999"),
            (
                {"job_id": "x"},
                400,
                "query parameter 'job_id' must be a job number (a positive integer), got 'x'",
            ),
            ({"limit": "0"}, 400, "query parameter 'limit' must be in 1..1000, got 0"),
        ]:
            r = await c.get("/api/initiative/runs", params=params)
            assert (r.status_code, r.json()["error"]) == (status, error)


# -- decisions and feeds ---------------------------------------------------------------------------


async def test_decisions_newest_first_with_reason_gate_and_the_post(init: Initiative) -> None:
    store = init.store()
    await store.log_action(LogAction(kind="reply_decision", content="admitted: addressed"))
    skip_1, hold, post, skip_2 = await log_all(store, decisions(init.guild, init.news))
    async with init.client() as c:
        body = (await c.get("/api/initiative/decisions")).json()
        assert body["limit"] == 50
        got = body["decisions"]
        assert [d["id"] for d in got] == [skip_2, post, hold, skip_1]
        assert got[1] == {
            "id": post,
            "kind": "initiative_post",
            "decision": "post",
            "created_at": got[1]["created_at"],
            "guild_id": str(init.guild),
            "guild_name": "Otter Club",
            "channel_id": str(init.news),
            "channel_name": "news",
            "message_id": "5551234",
            "jump_url": f"https://discord.com/channels/{init.guild}/{init.news}/5551234",
            "content": "Otters hold hands while they sleep: https://otters.example/hands",
            "reason": "a fresh story the channel will like",
            "gate": None,
            "source": "reddit r/otters",
            "source_url": "https://otters.example/hands",
            "reply_to": "4440001",
            "media": None,
            "metadata": {
                "reason": "a fresh story the channel will like",
                "source_url": "https://otters.example/hands",
                "source": "reddit r/otters",
                "reply_to": "4440001",
                "media": None,
            },
        }
        assert (got[2]["decision"], got[2]["content"], got[2]["reason"]) == (
            "hold",
            "maybe ask who is going to the otter sanctuary",
            "the room is busy; later",
        )
        assert (got[3]["gate"], got[3]["reason"], got[3]["channel_id"]) == (
            "daily_budget",
            "3 of 3 posts today",
            None,
        )
        assert got[3]["message_id"] is None and got[3]["jump_url"] is None
        skips = (await c.get("/api/initiative/decisions", params={"decision": "skip"})).json()
        assert [d["id"] for d in skips["decisions"]] == [skip_2, skip_1]
        two = (await c.get("/api/initiative/decisions", params={"limit": "2"})).json()
        assert [d["id"] for d in two["decisions"]] == [skip_2, post]
        other = await c.get("/api/initiative/decisions", params={"guild_id": "77"})
        assert other.json()["decisions"] == []
        bad = await c.get("/api/initiative/decisions", params={"decision": "ponder"})
        assert (bad.status_code, bad.json()["error"]) == (
            400,
            "query parameter 'decision' must be post, hold or skip, got 'ponder'",
        )


async def test_a_post_replying_with_an_integer_id_and_odd_metadata_still_shows(
    init: Initiative,
) -> None:
    store = init.store()
    await store.log_action(
        LogAction(
            kind="initiative_post",
            channel_id=init.general,
            message_id=99,
            content="hi",
            metadata=to_json({"reply_to": 4440002, "reason": 7, "media": "gif:otters"}),
        )
    )
    async with init.client() as c:
        [d] = (await c.get("/api/initiative/decisions")).json()["decisions"]
    assert (d["reply_to"], d["reason"], d["media"]) == ("4440002", "7", "gif:otters")
    assert d["jump_url"] == f"https://discord.com/channels/@me/{init.general}/99"
    assert d["channel_name"] == "general" and d["guild_name"] is None


async def test_feed_sources_with_their_last_fetch_and_totals(init: Initiative) -> None:
    await log_all(init.store(), fetches(init.guild))
    async with init.client() as c:
        body = (await c.get("/api/initiative/feeds")).json()
    assert (body["fetches_read"], body["setting_problem"]) == (4, None)
    sources = body["sources"]
    assert [(s["source"], s["key"], s["configured"]) for s in sources] == [
        ("r/Python", "reddit:python", True),
        ("hn:top", "hackernews:top", True),
        ("https://blog.example/feed.xml", "rss:https://blog.example/feed.xml", True),
        ("youtube:@otters", "youtube:@otters", True),
        ("r/rust", "reddit:rust", False),
    ]
    python = sources[0]
    assert {k: python[k] for k in ("kind", "label", "problem", "fetches", "failed")} == {
        "kind": "reddit",
        "label": "reddit r/python",
        "problem": None,
        "fetches": 2,
        "failed": 1,
    }
    assert (python["items"], python["fresh"], python["new"]) == (25, 9, 4)
    assert python["last"] == {
        "id": python["last"]["id"],
        "at": python["last"]["at"],
        "guild_id": str(init.guild),
        "guild_name": "Otter Club",
        "items": 0,
        "fresh": 0,
        "new": 0,
        "error": "r/python answered 429",
    }
    hn = sources[1]
    assert (hn["fetches"], hn["new"], hn["last"]["error"], hn["label"]) == (
        1,
        12,
        None,
        "hacker news top",
    )
    never = sources[2]
    assert (never["fetches"], never["last"], never["label"], never["kind"]) == (
        0,
        None,
        "https://blog.example/feed.xml",
        "rss",
    )
    assert sources[3]["problem"] is not None and "@" in sources[3]["problem"]
    assert (sources[4]["last"]["new"], sources[4]["label"]) == (3, "reddit r/rust")


# -- without a scheduler, or a feed setting -------------------------------------------------------


async def test_without_a_scheduler_changes_are_503_and_no_setting_is_no_sources(
    dash: Dash,
) -> None:
    nine = encode_schedule(Daily(hour=9))
    future = to_iso(calendar_now() + timedelta(days=1))
    put = await dash.rt.lookup("store").ask(
        PutJob(job_key="x", kind="automation", schedule=nine, next_run_at=future), JobWritten
    )
    await log_all(dash.store(), fetches(77)[:1])
    async with dash.client() as c:
        r = await c.post(f"/api/initiative/jobs/{put.job.id}/pause")
        assert (r.status_code, r.json()["error"]) == (
            503,
            "the scheduler is not running; try again shortly",
        )
        jobs = (await c.get("/api/initiative/jobs")).json()["jobs"]
        assert [(j["status"], j["guild_name"]) for j in jobs] == [("active", None)]
        feeds = (await c.get("/api/initiative/feeds")).json()
    # The placeholder settings have no initiative.feed_sources: none configured, and the
    # source seen in the log is still shown.
    assert [(s["key"], s["configured"]) for s in feeds["sources"]] == [("reddit:python", False)]
    assert feeds["setting_problem"] is None
    logged = await dash.rt.lookup("store").ask(ActionsQuery(kind="operator_job_pause"), ActionRows)
    assert logged == ActionRows(rows=())


async def test_check_now_without_the_initiative_actor_is_a_503_and_needs_the_token(
    dash: Dash,
) -> None:
    async with dash.client() as c:
        r = await c.post("/api/initiative/check", json={})
        assert (r.status_code, r.json()["error"]) == (
            503,
            "the initiative actor is not running; try again shortly",
        )
        wrong_method = await c.get("/api/initiative/check")
        assert (wrong_method.status_code, wrong_method.json()["error"]) == (
            404,
            "no such endpoint: GET /api/initiative/check",
        )
    async with dash.client(auth=False) as anonymous:
        assert (await anonymous.post("/api/initiative/check")).status_code == 401
    async with dash.client(headers={"Origin": "https://evil.example"}) as cross:
        assert (await cross.post("/api/initiative/check")).status_code == 403
    # nothing was checked, so nothing is logged
    logged = await dash.rt.lookup("store").ask(
        ActionsQuery(kind="operator_initiative_check"), ActionRows
    )
    assert logged == ActionRows(rows=())
