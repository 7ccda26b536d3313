"""The Memory view in headless Chromium over the real dashboard and Store: facts written through
the Store's `PutFact`, the browser lists them (the DM-learned one marked), filters by owner,
searches, forgets one and purges alice's remaining facts (``dashboard/tests/memory_browser.mjs``);
then the Store holds only the guild's fact, and both are logged (``operator_memory_forget``,
``operator_memory_purge``).

Never skipped: a missing build, Node or Chromium fails it."""

from __future__ import annotations

import os
from pathlib import Path

import trio

from clanker.store import ActionRows, ActionsQuery
from clanker.store.facts import FactRows, GetFacts
from tests.dashboard.conftest import Dash
from tests.dashboard.test_browser import CHROMIUM, REPO, prerequisites
from tests.dashboard.test_memory_api import ALICE, GUILD, put

SCRIPT = REPO / "dashboard" / "tests" / "memory_browser.mjs"


async def test_the_memory_view_lists_searches_and_forgets(dash: Dash, tmp_path: Path) -> None:
    node, shots = prerequisites(tmp_path)
    otters = await put(dash, "loves otters", at="2026-12-01T10:00:00+00:00")
    lisbon = await put(dash, "is moving to Lisbon", at="2026-12-02T10:00:00+00:00", dm=True)
    lore = await put(
        dash,
        "the otter emoji is sacred here",
        scope="guild",
        user_id=None,
        guild_id=GUILD,
        at="2026-12-03T10:00:00+00:00",
        fact_type="other",
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
    assert "6 passed, 0 failed" in output, output

    store = dash.rt.lookup("store")
    rows = await store.ask(
        GetFacts(owner_keys=(f"user:{ALICE}", f"guild:{GUILD}"), include_archived=True), FactRows
    )
    assert [r.id for r in rows.rows] == [lore]  # otters forgotten, then lisbon purged
    actions = await store.ask(ActionsQuery(limit=10), ActionRows)
    operator = [(a.kind, a.user_id, a.content) for a in reversed(actions.rows)]
    assert operator == [
        ("operator_memory_forget", ALICE, f"forgot fact {otters} of user:{ALICE}"),
        ("operator_memory_purge", ALICE, f"purged 1 facts of user:{ALICE}"),
    ]
    assert lisbon not in {r.id for r in rows.rows}
    assert screenshot_size(shots) > 10_000


def screenshot_size(shots: str) -> int:
    return os.path.getsize(os.path.join(shots, "memory.png"))
