"""``GET /api/memory/reflections``: the reflection runs from the action log, each a
``memory_reflection`` action in the shape the reflector logs it (its cost in the metadata's
``usd_cost_of_call``, the action's own 0), inserted here with `LogAction` (the reflector's own
action is read the same way in ``tests/memory/test_reflector.py``), newest first, with the
facts each wrote as the Store holds them now, against the real Store and memory service."""

from __future__ import annotations

from typing import Any

from clanker.store import ActionLogged, LogAction, to_json
from tests.dashboard.conftest import Dash
from tests.dashboard.test_memory_curation import ALICE, GUILD, OTHER, remember

GENERAL = 700


async def logged_run(
    dash: Dash, meta: dict[str, Any], *, guild_id: int = GUILD, channel_id: int | None = GENERAL
) -> int:
    reply = await dash.rt.lookup("store").ask(
        LogAction(
            kind="memory_reflection",
            guild_id=guild_id,
            channel_id=channel_id,
            content=f"{meta.get('run')} reflection: {meta.get('outcome')}",
            metadata=to_json(meta),
        ),
        ActionLogged,
    )
    return reply.id


def micro(fact_ids: list[int], **kw: Any) -> dict[str, Any]:
    return {
        "run": "micro",
        "trigger": "quiet",
        "from": "2026-12-01T09:00:00.000+00:00",
        "to": "2026-12-01T09:40:00.000+00:00",
        "messages": 14,
        "outcome": "done",
        "fact_ids": fact_ids,
        "written": len(fact_ids),
        "merged": 0,
        "refused": 1,
        "model": "claude-haiku-4-5",
        "usd_cost_of_call": 0.0031,
        "problems": ["refused: not remembered: it reads as a secret"],
        "last_message_id": 31,
        "last_stored_at": "2026-12-01T09:40:00.000+00:00",
        **kw,
    }


async def test_runs_are_listed_newest_first_with_the_facts_they_wrote(memory_dash: Dash) -> None:
    dash = memory_dash
    otters = await remember(dash, "loves otters")
    lore = await remember(dash, "the otter emoji is sacred", scope="guild", guild_id=GUILD)
    gone = await remember(dash, "drinks green tea")
    first = await logged_run(dash, micro([otters, gone]))
    daily = await logged_run(
        dash,
        {
            "run": "daily",
            "trigger": "schedule",
            "day": "2026-11-30",
            "from": "2026-11-30T00:00:00.000+00:00",
            "to": "2026-12-01T00:00:00.000+00:00",
            "messages": 0,
            "outcome": "empty",
            "fact_ids": [],
            "written": 0,
            "merged": 0,
            "refused": 0,
            "model": "claude-haiku-4-5",
            "usd_cost_of_call": 0.0,
            "parts": 0,
            "parts_skipped": 0,
            "problems": [],
        },
        channel_id=None,
    )
    failed = await logged_run(
        dash,
        micro([], outcome="failed", error="the model did not answer", trigger="pressure"),
        guild_id=OTHER,
    )
    merged = await logged_run(dash, micro([lore], written=0, merged=1, trigger="manual"))
    await dash.rt.lookup("store").ask(LogAction(kind="llm_call", guild_id=GUILD), ActionLogged)
    async with dash.client() as c:
        assert (await c.delete(f"/api/memory/facts/{gone}")).status_code == 200
        r = await c.get("/api/memory/reflections")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["limit"] == 50
        runs = body["runs"]
        assert [run["id"] for run in runs] == [merged, failed, daily, first]
        oldest = runs[3]
        assert {k: v for k, v in oldest.items() if k not in ("at", "content")} == {
            "id": first,
            "guild_id": str(GUILD),
            "guild_name": None,
            "channel_id": str(GENERAL),
            "channel_name": None,
            "run": "micro",
            "trigger": "quiet",
            "day": None,
            "window_from": "2026-12-01T09:00:00.000+00:00",
            "window_to": "2026-12-01T09:40:00.000+00:00",
            "messages": 14,
            "outcome": "done",
            "error": None,
            "written": 2,
            "merged": 0,
            "refused": 1,
            "model": "claude-haiku-4-5",
            "usd_cost": 0.0031,
            "problems": ["refused: not remembered: it reads as a secret"],
            "parts": 0,
            "parts_skipped": 0,
            "facts": [
                {"id": otters, "owner": f"user:{ALICE}", "fact": "loves otters", "active": True},
                {"id": gone, "owner": None, "fact": None, "active": None},  # forgotten since
            ],
            "metadata_problem": None,
        }
        assert (runs[2]["run"], runs[2]["day"], runs[2]["channel_id"], runs[2]["outcome"]) == (
            "daily",
            "2026-11-30",
            None,
            "empty",
        )
        assert (runs[1]["outcome"], runs[1]["error"], runs[1]["guild_id"]) == (
            "failed",
            "the model did not answer",
            str(OTHER),
        )
        assert runs[0]["facts"] == [
            {
                "id": lore,
                "owner": f"guild:{GUILD}",
                "fact": "the otter emoji is sacred",
                "active": True,
            }
        ]

        only = (await c.get("/api/memory/reflections", params={"guild_id": str(OTHER)})).json()
        assert [run["id"] for run in only["runs"]] == [failed]
        two = (await c.get("/api/memory/reflections", params={"limit": "2"})).json()
        assert [run["id"] for run in two["runs"]] == [merged, failed]


async def test_no_runs_and_bad_parameters(memory_dash: Dash) -> None:
    async with memory_dash.client() as c:
        assert (await c.get("/api/memory/reflections")).json() == {"runs": [], "limit": 50}
        for params, expected in [
            ({"limit": "0"}, "query parameter 'limit' must be in 1..1000, got 0"),
            ({"limit": "lots"}, "query parameter 'limit' must be an integer, got 'lots'"),
            ({"guild_id": "general"}, "query parameter 'guild_id' must be a Discord id"),
        ]:
            r = await c.get("/api/memory/reflections", params=params)
            assert r.status_code == 400, (params, r.text)
            assert r.json()["error"].startswith(expected), (params, r.json())
    async with memory_dash.client(auth=False) as anonymous:
        assert (await anonymous.get("/api/memory/reflections")).status_code == 401
