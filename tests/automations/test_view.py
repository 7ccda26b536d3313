"""The Initiative & Automations view's shaping without trio (`clanker.automations.view`): what
the browser sees of stored jobs, runs, the initiative actor's decisions and feed fetches,
including rows that do not read as they should."""

from __future__ import annotations

import pytest

from clanker.automations.view import (
    Names,
    configured_sources,
    decision_view,
    feed_views,
    job_view,
    jump_url,
    newest_decisions,
    run_view,
)
from clanker.store.jobs import JobRow, RunRow
from clanker.store.messages import ActionRow

AT = "2026-12-05T08:00:00.000+00:00"
NAMES = Names(guilds={5: "Otter Club"}, channels={6: "news"})


def job(**fields: object) -> JobRow:
    base: dict[str, object] = {
        "id": 3,
        "job_key": "automation:3",
        "kind": "automation",
        "schedule": '{"type": "daily", "hour": 9, "minute": 30, "tz": "Asia/Tokyo"}',
        "payload": '{"title": "news", "instruction": "post the news", "created_by": 7}',
        "catch_up": "once",
        "max_late_seconds": 21600.0,
        "status": "active",
        "next_run_at": "2026-12-06T00:30:00.000+00:00",
        "last_run_at": None,
        "missed": 2,
        "guild_id": 5,
        "channel_id": 6,
        "created_by": 7,
        "title": "",
        "created_at": AT,
        "updated_at": AT,
    }
    return JobRow(**(base | fields))  # type: ignore[arg-type]


def action(kind: str, metadata: str = "{}", **fields: object) -> ActionRow:
    base: dict[str, object] = {
        "id": 1,
        "guild_id": None,
        "channel_id": None,
        "message_id": None,
        "user_id": None,
        "content": "",
        "usd_cost": 0.0,
        "created_at": AT,
    }
    return ActionRow(kind=kind, metadata=metadata, **(base | fields))  # type: ignore[arg-type]


def test_an_automation_shows_its_task_words_and_local_next_fire() -> None:
    view = job_view(job(), NAMES)
    assert (view.title, view.task, view.created_by_name) == ("news", "post the news", None)
    assert view.schedule_text == "every day at 09:30 (Asia/Tokyo)"
    assert view.next_run_local == "2026-12-06 09:30 JST"
    assert (view.guild_name, view.channel_name, view.missed) == ("Otter Club", "news", 2)
    assert view.schedule == {"type": "daily", "hour": 9, "minute": 30, "tz": "Asia/Tokyo"}


def test_an_unreadable_schedule_or_payload_is_shown_with_the_problem() -> None:
    bad = job(schedule='{"type": "daily", "hour": 25}', payload='{"oops": 1}', title="")
    view = job_view(bad, Names())
    assert view.schedule_problem == "not a schedule: daily: hour must be 0-23, got 25"
    assert (view.schedule_text, view.next_run_local) == ("", None)
    assert (view.title, view.task) == ("automation:3", '{"oops": 1}')  # the raw payload
    assert (view.guild_name, view.channel_name) == (None, None)
    long = job(kind="initiative", payload='{"text": "' + "x" * 300 + '"}')
    assert len(job_view(long, NAMES).task) == 200 and job_view(long, NAMES).task.endswith("…")
    assert job_view(job(kind="initiative", payload="{}"), NAMES).task == ""


def test_a_run_is_named_by_its_job_and_running_until_it_reports() -> None:
    run = RunRow(
        id=9,
        job_id=3,
        job_key="automation:3",
        scheduled_for=AT,
        claimed_by="scheduler root/scheduler #1",
        started_at=AT,
        finished_at=None,
        outcome=None,
        detail="",
        late_seconds=0.2,
    )
    named = run_view(run, {3: job_view(job(), NAMES)})
    assert (named.title, named.kind, named.outcome) == ("news", "automation", "running")
    orphan = run_view(run, {})
    assert (orphan.title, orphan.kind) == ("automation:3", None)


def test_decisions_read_their_metadata_defensively() -> None:
    post = action(
        "initiative_post",
        '{"reason": "fresh", "reply_to": 12, "source_url": null}',
        id=4,
        guild_id=5,
        channel_id=6,
        message_id=70,
    )
    view = decision_view(post, NAMES)
    assert (view.decision, view.reason, view.reply_to, view.source_url) == (
        "post",
        "fresh",
        "12",
        None,
    )
    assert view.jump_url == "https://discord.com/channels/5/6/70"
    hold = decision_view(action("initiative_hold", "[1, 2]", message_id=70), NAMES)
    assert (hold.reason, hold.metadata, hold.message_id, hold.jump_url) == ("", {}, None, None)
    with pytest.raises(ValueError, match="action 1 is a 'reply_decision', not an initiative"):
        decision_view(action("reply_decision"), NAMES)
    rows = [
        action("initiative_skip", id=2),
        post,
        action("initiative_skip", id=2),
        action("x", id=9),
    ]
    assert [d.id for d in newest_decisions(rows, NAMES, 5)] == [4, 2]
    assert jump_url(None, 6, None) is None


def test_the_feed_setting_is_read_defensively() -> None:
    assert configured_sources({}) == ([], None)
    assert configured_sources({"initiative": "on"}) == ([], None)
    assert configured_sources({"initiative": {}}) == ([], None)
    assert configured_sources({"initiative": {"feed_sources": ("hn:top",)}}) == (["hn:top"], None)
    assert configured_sources({"initiative": {"feed_sources": "hn:top"}}) == (
        [],
        "initiative.feed_sources must be a list of sources, got str",
    )


def test_feed_sources_match_fetches_by_key_whatever_the_spelling() -> None:
    fetch = action(
        "feed_fetch",
        '{"source": "reddit:python", "kind": "reddit", "items": 5, "fresh": 2, "new": 1, '
        '"error": ""}',
        id=8,
        guild_id=5,
        content="",
    )
    views = feed_views(["/r/Python/", 42, "r/Python 2"], [fetch, action("llm_call")], NAMES)
    assert [(v.source, v.key, v.problem) for v in views] == [
        ("/r/Python/", "reddit:python", None),  # the same source twice is listed once
        ("42", "42", "not a source spec string"),
    ]
    assert views[0].last is not None and views[0].last.error is None  # "" is no error
    assert (views[0].fetches, views[0].new, views[0].label) == (1, 1, "/r/Python/")
    assert views[0].last.guild_name == "Otter Club"
