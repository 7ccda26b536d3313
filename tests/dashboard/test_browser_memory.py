"""The Memory view in headless Chromium over the real dashboard, Store and memory service (a stub
embedder): facts written through the Store's `PutFact`, the browser lists them (the DM-learned
one marked), filters by owner, searches, edits one (after a refused edit), archives and
restores, deletes one and purges alice and the guild after typing their keys
(``dashboard/tests/memory_browser.mjs``); then the Store holds only bob's archived fact, every
change is logged, and the memory service no longer recalls the deleted facts.

Never skipped: a missing build, Node or Chromium fails it."""

from __future__ import annotations

import os
from pathlib import Path

import trio

from clanker.memory.service import Recall, Recalled
from clanker.store import ActionRows, ActionsQuery
from clanker.store.facts import FactRows, GetFacts
from tests.dashboard.conftest import Dash
from tests.dashboard.test_browser import CHROMIUM, REPO, prerequisites
from tests.dashboard.test_memory_api import ALICE, BOB, GUILD, put

SCRIPT = REPO / "dashboard" / "tests" / "memory_browser.mjs"


async def test_the_memory_view_lists_edits_archives_deletes_and_purges(
    memory_dash: Dash, tmp_path: Path
) -> None:
    dash = memory_dash
    node, shots = prerequisites(tmp_path)
    otters = await put(dash, "loves otters", at="2026-12-01T10:00:00+00:00")
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
    assert "9 passed, 0 failed" in output, output

    store = dash.rt.lookup("store")
    everyone = (f"user:{ALICE}", f"user:{BOB}", f"guild:{GUILD}")
    rows = await store.ask(GetFacts(owner_keys=everyone, include_archived=True), FactRows)
    assert [(r.id, r.active) for r in rows.rows] == [(chess, False)]
    actions = await store.ask(ActionsQuery(limit=20), ActionRows)
    operator = [(a.kind, a.content) for a in reversed(actions.rows)]
    assert operator == [
        ("operator_memory_edit", f"edited fact {otters} of user:{ALICE}: fact, type"),
        ("operator_memory_archive", f"archived fact {chess} of user:{BOB}"),
        ("operator_memory_archive", f"archived fact {lisbon} of user:{ALICE}"),
        ("operator_memory_unarchive", f"restored fact {lisbon} of user:{ALICE}"),
        ("operator_memory_forget", f"forgot fact {otters} of user:{ALICE}"),
        ("operator_memory_purge", f"purged 1 facts of user:{ALICE}"),
        ("operator_memory_purge", f"purged 1 facts of guild:{GUILD}"),
    ]
    recalled = await dash.rt.lookup("memory").ask(
        Recall(owner_keys=everyone, query="sea otters lisbon sacred", with_dm_facts=True), Recalled
    )
    assert recalled.facts == ()  # the edited, deleted and purged facts are gone from recall too
    assert screenshot_size(shots) > 10_000


def screenshot_size(shots: str) -> int:
    return os.path.getsize(os.path.join(shots, "memory.png"))
