"""The Initiative & Automations view in headless Chromium against the real product in sandbox
wiring (`open_sandbox_app`: the sandbox Discord, the whole tree with its real `Scheduler`, the
guild router as the automations' handler, llmsim as the model's far end).

Jobs are made through the scheduler as the automation tools make them: a daily "weather" task
in #general, an initiative tick, a one-off due two seconds after start (which the scheduler
fires for real: the channel posts and the run ends ``ok``, ``sent``) and one to delete. The
initiative actor's decisions and the feed fetches are logged as it will log them (the contract
in docs/dashboard-api.md). The browser (``dashboard/tests/initiative_browser.mjs``) opens the
tab, reads the weather task's schedule and next fire, pauses and resumes it (checking the API
too), deletes the other, sees the real run, a post with its reason and link, skips with their
gates and the feed sources with what they yielded. Then the operator lists #random for
initiative posts (eagerness 100, through the settings API) and clicks Check now: the real
initiative actor asks the model (llmsim, `scripted_brain`'s initiative answer) and posts in
#random; the result says ``post``, the new decision row shows its reason, and the sandbox chat
shows the message. (The actor's own 10-minute tick is paused first, so it cannot race the
click.) Then the Python side checks the Store, the sandbox's #random and the operator actions
in the log.

Never skipped: a missing build, Node or Chromium fails it."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trio

from clanker.schedule.rules import Daily, Interval, Once
from clanker.store import ActionRows, ActionsQuery, calendar_now
from clanker.store.jobs import JOB_STATUSES, GetJobs, GetRuns, JobRows, RunRows
from tests.dashboard.test_browser import CHROMIUM, REPO, prerequisites
from tests.dashboard.test_initiative_api import (
    decisions,
    fetches,
    log_all,
    schedule,
    weather_payload,
)
from tests.dashboard.wiring import pause_initiative_tick, wired_sandbox

SCRIPT = REPO / "dashboard" / "tests" / "initiative_browser.mjs"


async def test_the_initiative_view_shows_jobs_runs_decisions_and_feeds(tmp_path: Path) -> None:
    node, shots = prerequisites(tmp_path)
    async with wired_sandbox(tmp_path / "clanker.db") as wired:
        rt, world = wired.rt, wired.sandbox.world
        general = world.channel_named("general")
        random_ = world.channel_named("random")
        guild = general.guild_id
        assert guild is not None
        alice = world.user_named("alice").id
        payload = weather_payload() | {"created_by": alice}
        weather = await schedule(
            rt,
            "automation:1",
            Daily(hour=9, tz="Europe/Paris"),
            payload=payload,
            guild_id=guild,
            channel_id=general.id,
            created_by=alice,
        )
        now = calendar_now().replace(microsecond=0)
        await schedule(
            rt,
            f"initiative:guild:{guild}",
            Interval(every_seconds=1800.0, anchor=now + timedelta(minutes=20)),
            kind="initiative",
            payload={"guild_id": str(guild)},
            guild_id=guild,
            title="initiative tick",
        )
        morning = payload | {"title": "good morning", "instruction": "say good morning to all"}
        soon = await schedule(
            rt,
            "automation:2",
            Once(at=calendar_now() + timedelta(seconds=2)),
            payload=morning,
            guild_id=guild,
            channel_id=general.id,
            created_by=alice,
        )
        old = payload | {"title": "old reminder", "instruction": "remind us of the meetup"}
        doomed = await schedule(
            rt,
            "automation:3",
            Once(at=datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)),
            payload=old,
            guild_id=guild,
            channel_id=general.id,
            created_by=alice,
        )
        await pause_initiative_tick(rt)
        store = wired.store()
        await log_all(store, decisions(guild, general.id))
        await log_all(store, fetches(guild))
        env = {
            **os.environ,
            "DASHBOARD_URL": wired.url,
            "DASHBOARD_TOKEN": wired.token,
            "SCREENSHOT_DIR": shots,
            "CHROMIUM": CHROMIUM,
            "WEATHER_JOB": str(weather.id),
            "DOOMED_JOB": str(doomed.id),
            "MORNING_JOB": str(soon.id),
            "RANDOM_CHANNEL": str(random_.id),
        }
        done = await trio.run_process(
            [node, str(SCRIPT)],
            cwd=REPO / "dashboard",
            env=env,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
        output = done.stdout.decode() + done.stderr.decode()
        assert done.returncode == 0, f"browser steps failed:\n{output}"
        assert "9 passed, 0 failed" in output, output

        ref = rt.lookup("store")
        every = await ref.ask(GetJobs(statuses=JOB_STATUSES), JobRows)
        status = {r.id: r.status for r in every.rows}
        assert (status[weather.id], status[doomed.id], status[soon.id]) == (
            "active",
            "deleted",
            "done",
        )
        runs = await ref.ask(GetRuns(job_id=soon.id), RunRows)
        assert [(r.outcome, r.detail) for r in runs.rows] == [("ok", "sent")]
        posted = [m.content for m in world.messages.values() if m.channel_id == general.id]
        assert any(m.startswith("clanker here: got it") for m in posted), posted
        logged = await ref.ask(ActionsQuery(limit=200), ActionRows)
        operator = [
            (a.kind, a.content) for a in reversed(logged.rows) if a.kind.startswith("operator_job")
        ]
        assert operator == [
            ("operator_job_pause", f"paused job {weather.id} 'weather' (automation:1)"),
            ("operator_job_resume", f"resumed job {weather.id} 'weather' (automation:1)"),
            ("operator_job_delete", f"deleted job {doomed.id} 'old reminder' (automation:3)"),
        ]
        checks = [a.content for a in logged.rows if a.kind == "operator_initiative_check"]
        assert checks == [f"checked initiative now: {guild}: post"]
        [post] = [m for m in world.history(random_.id) if m.author_id == world.bot.id]
        assert post.content == "clanker here, on my own: hello #random!"
        posts = await ref.ask(ActionsQuery(kind="initiative_post", limit=10), ActionRows)
        assert [(r.channel_id, r.message_id) for r in posts.rows] == [
            (random_.id, post.id),
            (general.id, 5551234),  # the seeded one
        ]
    assert screenshot_size(shots) > 10_000


def screenshot_size(shots: str) -> int:
    return os.path.getsize(os.path.join(shots, "initiative.png"))
