"""``POST /api/memory/reflect`` and ``GET /api/memory/journal`` against the real Store, memory
service and reflector (the model is the tree tests' stand-in Llm, the far end), over HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clanker.dashboard.config import DashboardConfig
from clanker.memory.reflector import reflector_child
from clanker.memory.service import MemoryConfig, memory_child
from clanker.runtime import ChildSpec
from clanker.store import ActionRows, ActionsQuery, StoreMessage, to_iso
from clanker.store.facts import FactRows, GetFacts
from tests.dashboard.conftest import Dash, _running
from tests.guilds import tree
from tests.memory.test_service import BagOfWords

GUILD, CHANNEL, ALICE = 77, 5, 1001


@pytest.fixture
async def reflect_dash(tmp_path: Path, dash_config: DashboardConfig) -> AsyncIterator[Dash]:
    world = tree.World()

    def answer(n: int) -> str:
        text = world.requests[-1].messages[0].parts[0].text  # type: ignore[union-attr]
        said = [line for line in text.splitlines() if "I grow tomatoes" in line]
        if not said:
            return json.dumps({"facts": []})
        mid = said[0].split("message:")[1].split("]")[0]
        return json.dumps(
            {
                "facts": [
                    {
                        "subject": "person",
                        "person_id": str(ALICE),
                        "fact": "grows tomatoes",
                        "type": "project",
                        "confidence": 0.8,
                        "evidence": [mid],
                        "supersedes": None,
                    }
                ]
            }
        )

    world.answer = answer
    extra = (
        ChildSpec("llm", lambda: tree.TestLlm(world), register="llm"),
        memory_child(MemoryConfig(embedder=BagOfWords(), reembed_every=None)),
        reflector_child(),
    )
    async with _running(tmp_path, dash_config, extra) as running:
        yield running


async def test_reflect_now_writes_the_facts_and_is_logged(reflect_dash: Dash) -> None:
    dash = reflect_dash
    await dash.rt.lookup("store").ask(
        StoreMessage(
            message_id=4242,
            guild_id=GUILD,
            channel_id=CHANNEL,
            author_id=ALICE,
            author_name="alice",
            content="I grow tomatoes on the balcony",
            created_at=to_iso(datetime.now(UTC)),
        )
    )
    async with dash.client() as c:
        r = await c.post(
            "/api/memory/reflect", json={"guild_id": str(GUILD), "channel_id": CHANNEL}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["outcome"] == "done" and len(body["fact_ids"]) == 1
        again = (
            await c.post("/api/memory/reflect", json={"guild_id": GUILD, "channel_id": CHANNEL})
        ).json()
        assert again["outcome"] == "nothing" and "nothing new" in again["detail"]

        today = datetime.now(UTC).date().isoformat()
        day = (await c.get("/api/memory/journal", params={"guild_id": GUILD, "day": today})).json()
        assert (day["day"], day["timezone"], day["truncated"]) == (today, "UTC", False)
        [line] = day["lines"]
        assert line.endswith(
            f"| alice ({ALICE}) | [guild:{GUILD} channel:{CHANNEL} message:4242] "
            "I grow tomatoes on the balcony"
        )

        for bad, problem in [
            ({"guild_id": "x"}, "guild_id"),
            ({"guild_id": GUILD, "channel_id": CHANNEL, "day": today}, "not both"),
            ({"guild_id": GUILD, "day": "yesterday"}, "YYYY-MM-DD"),
        ]:
            r = await c.post("/api/memory/reflect", json=bad)
            assert r.status_code == 400 and problem in r.json()["error"], (bad, r.text)
        r = await c.get("/api/memory/journal")
        assert r.status_code == 400 and "guild_id" in r.json()["error"]
        r = await c.get("/api/memory/journal", params={"guild_id": GUILD, "day": "12/07"})
        assert r.status_code == 400 and "YYYY-MM-DD" in r.json()["error"]

    facts = await dash.rt.lookup("store").ask(GetFacts(owner_keys=(f"user:{ALICE}",)), FactRows)
    assert [(f.fact, f.evidence_ids) for f in facts.rows] == [("grows tomatoes", (4242,))]
    logged = await dash.rt.lookup("store").ask(
        ActionsQuery(kind="operator_memory_reflect"), ActionRows
    )
    assert [a.content for a in reversed(logged.rows)] == [
        f"reflect now on channel {CHANNEL} of guild {GUILD}: done",
        f"reflect now on channel {CHANNEL} of guild {GUILD}: nothing",
    ]
