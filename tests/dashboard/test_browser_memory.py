"""The Memory view in headless Chromium over the real dashboard, Store and memory service (a stub
embedder): facts written through the Store's `PutFact` (one with evidence messages: stored,
deleted, unknown), messages with `StoreMessage`, two reflection runs logged with `LogAction`;
the browser lists the facts (the DM-learned one marked), filters by owner, searches as the bot
recalls (the scores the API's Recall gives, over everyone and over a server) and by words,
expands a fact's evidence, edits one (after a refused edit), archives and restores, deletes
one and purges alice and the guild after typing their keys, adds a guild guidance rule and a
bot's own fact (and sees a refused one's reason), and lists the reflection runs
(``dashboard/tests/memory_browser.mjs``); then the Store holds bob's archived fact and the two
added ones, every change is logged, and the memory service no longer recalls the deleted
facts.

Never skipped: a missing build, Node or Chromium fails it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import trio

from clanker.memory.service import Recall, Recalled
from clanker.store import (
    ActionLogged,
    ActionRows,
    ActionsQuery,
    LogAction,
    MarkMessageDeleted,
    RowsChanged,
    StoreMessage,
    to_json,
)
from clanker.store.facts import FactRows, GetFacts
from tests.dashboard.conftest import Dash
from tests.dashboard.test_browser import CHROMIUM, REPO, prerequisites
from tests.dashboard.test_memory_api import ALICE, BOB, GUILD, put

SCRIPT = REPO / "dashboard" / "tests" / "memory_browser.mjs"


CHANNEL = 700


async def said(dash: Dash, message_id: int, author_id: int, name: str, text: str, at: str) -> None:
    await dash.rt.lookup("store").ask(
        StoreMessage(
            message_id=message_id,
            guild_id=GUILD,
            channel_id=CHANNEL,
            author_id=author_id,
            author_name=name,
            content=text,
            created_at=at,
        ),
        RowsChanged,
    )


async def reflected(dash: Dash, meta: dict[str, Any], channel_id: int | None) -> None:
    await dash.rt.lookup("store").ask(
        LogAction(
            kind="memory_reflection",
            guild_id=GUILD,
            channel_id=channel_id,
            content=f"{meta['run']} reflection: {meta['outcome']}",
            metadata=to_json(meta),  # the cost is in it (usd_cost_of_call), as the reflector logs
        ),
        ActionLogged,
    )


async def test_the_memory_view_searches_shows_evidence_edits_adds_and_lists_reflections(
    memory_dash: Dash, tmp_path: Path
) -> None:
    dash = memory_dash
    node, shots = prerequisites(tmp_path)
    await said(dash, 5001, ALICE, "alice", "I love otters so much", "2026-12-01T09:59:00+00:00")
    await said(dash, 5002, BOB, "bob", "alice loves otters", "2026-12-01T09:59:30+00:00")
    await dash.rt.lookup("store").ask(MarkMessageDeleted(message_id=5002), RowsChanged)
    otters = await put(
        dash,
        "loves otters",
        at="2026-12-01T10:00:00+00:00",
        evidence_ids=(5001, 5002, 5003),  # 5003 was never stored
        evidence_text="alice: I love otters so much",
        channel_id=CHANNEL,
    )
    lisbon = await put(dash, "is moving to Lisbon", at="2026-12-02T10:00:00+00:00", dm=True)
    await put(
        dash,
        "the otter emoji is sacred here",
        scope="guild",
        user_id=None,
        guild_id=GUILD,
        at="2026-12-03T10:00:00+00:00",
        fact_type="other",
    )
    chess = await put(dash, "plays chess", user_id=BOB, at="2026-12-04T10:00:00+00:00")
    await reflected(
        dash,
        {
            "run": "micro",
            "trigger": "quiet",
            "from": "2026-12-01T09:00:00.000+00:00",
            "to": "2026-12-01T09:40:00.000+00:00",
            "messages": 14,
            "outcome": "done",
            "fact_ids": [otters, chess],
            "written": 2,
            "merged": 0,
            "refused": 1,
            "model": "claude-haiku-4-5",
            "usd_cost_of_call": 0.0031,
            "problems": ["refused: not remembered: it reads as a secret"],
        },
        CHANNEL,
    )
    await reflected(
        dash,
        {
            "run": "daily",
            "trigger": "schedule",
            "day": "2026-11-30",
            "messages": 40,
            "outcome": "failed",
            "error": "the model did not answer",
            "fact_ids": [],
            "written": 0,
            "merged": 0,
            "refused": 0,
            "model": "claude-haiku-4-5",
            "usd_cost_of_call": 0.0,
            "parts": 2,
            "parts_skipped": 0,
            "problems": [],
        },
        None,
    )
    env = {
        **os.environ,
        "DASHBOARD_URL": dash.url,
        "DASHBOARD_TOKEN": dash.token,
        "SCREENSHOT_DIR": shots,
        "CHROMIUM": CHROMIUM,
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
    assert "14 passed, 0 failed" in output, output

    store = dash.rt.lookup("store")
    everyone = (f"user:{ALICE}", f"user:{BOB}", f"guild:{GUILD}")
    rows = await store.ask(
        GetFacts(owner_keys=(*everyone, "self"), include_archived=True), FactRows
    )
    left = [(r.fact, r.fact_type, r.active) for r in rows.rows]
    assert left == [
        ("was named after a tin robot", "profile", True),
        ("always reply in French", "guidance", True),
        ("plays chess", "preference", False),
    ]
    rule, mine = rows.rows[1].id, rows.rows[0].id
    actions = await store.ask(ActionsQuery(limit=30), ActionRows)
    operator = [
        (a.kind, a.content) for a in reversed(actions.rows) if a.kind.startswith("operator_")
    ]
    assert operator == [
        ("operator_memory_edit", f"edited fact {otters} of user:{ALICE}: fact, type"),
        ("operator_memory_archive", f"archived fact {chess} of user:{BOB}"),
        ("operator_memory_archive", f"archived fact {lisbon} of user:{ALICE}"),
        ("operator_memory_unarchive", f"restored fact {lisbon} of user:{ALICE}"),
        ("operator_memory_forget", f"forgot fact {otters} of user:{ALICE}"),
        ("operator_memory_purge", f"purged 1 facts of user:{ALICE}"),
        ("operator_memory_purge", f"purged 1 facts of guild:{GUILD}"),
        ("operator_memory_add", f"added fact {rule} to guild:{GUILD}"),
        ("operator_memory_add", f"added fact {mine} to self"),
    ]
    recalled = await dash.rt.lookup("memory").ask(
        Recall(owner_keys=everyone, query="sea otters lisbon sacred", with_dm_facts=True), Recalled
    )
    assert recalled.facts == ()  # the edited, deleted and purged facts are gone from recall too
    assert screenshot_size(shots) > 10_000


def screenshot_size(shots: str) -> int:
    return min(
        os.path.getsize(os.path.join(shots, f"{name}.png"))
        for name in (
            "memory",
            "memory-recall",
            "memory-evidence",
            "memory-reflections",
            "memory-journal",
        )
    )
