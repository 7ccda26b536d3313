"""The operator's edit and archive routes (``PATCH /api/memory/facts/<id>``, ``POST
.../archive`` / ``.../unarchive``), and forget and purge as the memory service carries them
out, against the real Store and the real memory service (a stub bag-of-words embedder, the
far end). An edited fact is recalled by its new words and not its old ones; an archived one is
not recalled; a deleted one leaves the vector index; a purge takes only its owner's facts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clanker.memory.service import (
    EmbeddedPending,
    EmbedMessages,
    Recall,
    Recalled,
    Remember,
    Remembered,
)
from clanker.store import ActionRows, ActionsQuery, GetMessage, MessageRows, StoreMessage
from clanker.store.facts import FactRows, GetFacts
from clanker.store.sqlite import close_connection, open_connection
from tests.dashboard.conftest import Dash
from tests.memory.test_service import BagOfWords

ALICE, BOB, GUILD, OTHER = 1001, 1002, 77, 78


async def remember(dash: Dash, fact: str, **kw: Any) -> int:
    """A fact written the way the bot writes one (policy, vector)."""
    kw.setdefault("scope", "user")
    if kw["scope"] == "user":
        kw.setdefault("user_id", ALICE)
    reply = await dash.rt.lookup("memory").ask(Remember(fact=fact, **kw), Remembered, timeout=10)
    assert reply.embedded
    return reply.fact_id


async def recalled(dash: Dash, query: str, *owners: str) -> list[str]:
    reply = await dash.rt.lookup("memory").ask(
        Recall(owner_keys=owners or (f"user:{ALICE}",), query=query), Recalled, timeout=10
    )
    return [f.fact for f in reply.facts]


def vectors(tmp_path: Path) -> dict[int, str]:
    """The vec0 index as the Store's file holds it (the fixture's ``clanker.db``): fact id →
    the model of its vector."""
    conn = open_connection(tmp_path / "clanker.db")
    try:
        rows = conn.execute("SELECT fact_id, model FROM memory_fact_vectors").fetchall()
        return {int(r[0]): str(r[1]) for r in rows}
    finally:
        close_connection(conn)


async def actions(dash: Dash, kind: str) -> list[tuple[int | None, int | None, str, str]]:
    rows = await dash.rt.lookup("store").ask(ActionsQuery(kind=kind, limit=20), ActionRows)
    return [(a.user_id, a.guild_id, a.content, a.metadata) for a in reversed(rows.rows)]


async def test_an_edit_is_recalled_by_its_new_words_not_its_old_ones(
    memory_dash: Dash, tmp_path: Path, stub_embedder: BagOfWords
) -> None:
    dash = memory_dash
    violin = await remember(dash, "plays the violin", fact_type="profile")
    await remember(dash, "drinks green tea")
    assert await recalled(dash, "violin") == ["plays the violin"]
    async with dash.client() as c:
        r = await c.patch(f"/api/memory/facts/{violin}", json={"fact": "  plays the  cello "})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["changed"], body["embedded"]) == (["fact"], True)
        assert (body["fact"]["id"], body["fact"]["fact"], body["fact"]["type"]) == (
            violin,
            "plays the cello",
            "profile",
        )
        assert stub_embedder.calls[-1] == ("passage", ("plays the cello",))
        assert await recalled(dash, "cello") == ["plays the cello"]
        assert await recalled(dash, "violin") == []
        words = (await c.get("/api/memory", params={"q": "violin"})).json()["facts"]
        assert words == []  # the FTS5 row followed the text
        assert vectors(tmp_path)[violin] == "stub/bag-of-words"

        # type and confidence alone: no new embedding, the vector stays
        calls = len(stub_embedder.calls)
        r = await c.patch(
            f"/api/memory/facts/{violin}", json={"type": "preference", "confidence": 0.95}
        )
        assert r.status_code == 200, r.text
        assert (r.json()["changed"], r.json()["embedded"]) == (["type", "confidence"], False)
        assert (r.json()["fact"]["type"], r.json()["fact"]["confidence"]) == ("preference", 0.95)
        assert len(stub_embedder.calls) == calls and violin in vectors(tmp_path)
    assert await actions(dash, "operator_memory_edit") == [
        (
            ALICE,
            None,
            f"edited fact {violin} of user:{ALICE}: fact",
            f'{{"owner":"user:{ALICE}","fact_id":{violin},"changed":["fact"],"chars":[16,15]}}',
        ),
        (
            ALICE,
            None,
            f"edited fact {violin} of user:{ALICE}: type, confidence",
            f'{{"owner":"user:{ALICE}","fact_id":{violin},"changed":["type","confidence"],'
            '"type":["profile","preference"],"confidence":[0.72,0.95]}',
        ),
    ]


async def test_an_edit_the_policy_refuses_is_a_400_with_its_reason(memory_dash: Dash) -> None:
    dash = memory_dash
    violin = await remember(dash, "plays the violin")
    tea = await remember(dash, "drinks green tea")
    rule = await remember(
        dash, "keep replies short", scope="guild", guild_id=GUILD, fact_type="guidance"
    )
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"fact": "always reply in French"}, 400, "not remembered: it reads as an instruction"),
        ({"fact": "my password is hunter2hunter2"}, 400, "not remembered:"),
        ({"type": "rule"}, 400, "unknown fact type 'rule'; use one of preference"),
        ({"type": "guidance"}, 400, "a guidance fact is a rule for a guild"),
        ({"fact": "x" * 401}, 400, "the fact is 401 characters; at most 400"),
        ({"confidence": 1.5}, 400, "confidence must be in 0..1, got 1.5"),
        ({}, 400, "the edit needs at least one of fact, fact_type, confidence"),
        ({"fact": 5}, 400, "invalid request body: Expected `str | null`, got `int`"),
        ({"fact": "Drinks green tea."}, 409, f"fact {tea} already says that"),
    ]
    async with dash.client() as c:
        for body, status, expected in cases:
            r = await c.patch(f"/api/memory/facts/{violin}", json=body)
            assert r.status_code == status, (body, r.text)
            assert r.json()["error"].startswith(expected), (body, r.json())
        missing = await c.patch("/api/memory/facts/999", json={"fact": "plays the harp"})
        assert missing.status_code == 404
        assert missing.json()["error"] == "no fact 999: it does not exist (or was forgotten)"
        bad = await c.patch("/api/memory/facts/abc", json={"fact": "plays the harp"})
        assert bad.json()["error"] == "the fact id must be a positive integer, got 'abc'"
        # a guild rule may read as an instruction: that is what guidance is
        r = await c.patch(f"/api/memory/facts/{rule}", json={"fact": "always reply in French"})
        assert r.status_code == 200, r.text
    assert await recalled(dash, "violin") == ["plays the violin"]  # unchanged by the refusals
    assert len(await actions(dash, "operator_memory_edit")) == 1


async def test_archive_and_unarchive_take_a_fact_out_of_recall_and_back(
    memory_dash: Dash,
) -> None:
    dash = memory_dash
    violin = await remember(dash, "plays the violin")
    async with dash.client() as c:
        r = await c.post(f"/api/memory/facts/{violin}/archive")
        assert r.status_code == 200, r.text
        assert (r.json()["id"], r.json()["active"]) == (violin, False)
        assert await recalled(dash, "violin") == []
        again = await c.post(f"/api/memory/facts/{violin}/archive")
        assert again.status_code == 409
        assert again.json()["error"] == f"fact {violin} of user:{ALICE} is already archived"
        archived = (await c.get("/api/memory", params={"state": "archived"})).json()["facts"]
        assert [f["id"] for f in archived] == [violin]
        active = (await c.get("/api/memory", params={"state": "active"})).json()["facts"]
        assert active == []
        both = (await c.get("/api/memory")).json()["facts"]
        assert [(f["id"], f["active"]) for f in both] == [(violin, False)]
        bad = await c.get("/api/memory", params={"state": "gone"})
        assert bad.status_code == 400
        assert bad.json()["error"] == (
            "query parameter 'state' must be all, active, archived, got 'gone'"
        )

        r = await c.post(f"/api/memory/facts/{violin}/unarchive")
        assert (r.status_code, r.json()["active"]) == (200, True)
        assert await recalled(dash, "violin") == ["plays the violin"]
        again = await c.post(f"/api/memory/facts/{violin}/unarchive")
        assert again.status_code == 409
        assert again.json()["error"] == f"fact {violin} of user:{ALICE} is already active"
        missing = await c.post("/api/memory/facts/999/archive")
        assert missing.status_code == 404
        other = await c.post(f"/api/memory/facts/{violin}/burn")
        assert other.status_code == 404
    assert [a[2] for a in await actions(dash, "operator_memory_archive")] == [
        f"archived fact {violin} of user:{ALICE}"
    ]
    assert [a[2] for a in await actions(dash, "operator_memory_unarchive")] == [
        f"restored fact {violin} of user:{ALICE}"
    ]


async def test_a_deleted_fact_leaves_the_vector_index(memory_dash: Dash, tmp_path: Path) -> None:
    dash = memory_dash
    violin = await remember(dash, "plays the violin")
    tea = await remember(dash, "drinks green tea")
    assert set(vectors(tmp_path)) == {violin, tea}
    async with dash.client() as c:
        r = await c.delete(f"/api/memory/facts/{violin}")
        assert r.json() == {"id": violin, "owner": f"user:{ALICE}"}
    assert set(vectors(tmp_path)) == {tea}
    assert await recalled(dash, "violin") == []


async def test_a_purge_needs_its_confirmation_and_takes_only_that_owner(
    memory_dash: Dash, tmp_path: Path
) -> None:
    dash = memory_dash
    await remember(dash, "the otter emoji is sacred", scope="guild", guild_id=GUILD)
    await remember(dash, "keep replies short", scope="guild", guild_id=GUILD, fact_type="guidance")
    other = await remember(dash, "the otter emoji is cursed", scope="guild", guild_id=OTHER)
    alice = await remember(dash, "loves otters")
    await remember(dash, "loves otters too", user_id=BOB)
    mine = await remember(dash, "was named after a tin robot", scope="self")
    refused: list[tuple[dict[str, Any], str]] = [
        (
            {"guild_id": str(GUILD)},
            f"confirm must repeat the owner's key to purge it: send confirm='guild:{GUILD}' "
            "(got None)",
        ),
        ({"guild_id": GUILD, "confirm": f"guild:{OTHER}"}, "confirm must repeat"),
        (
            {"guild_id": str(GUILD), "user_id": str(ALICE), "confirm": "x"},
            "name exactly one owner to purge: guild_id, user_id or owner (got guild_id, user_id)",
        ),
        ({"guild_id": "seventy", "confirm": "x"}, "guild_id must be a Discord id"),
    ]
    async with dash.client() as c:
        for body, expected in refused:
            r = await c.post("/api/memory/purge", json=body)
            assert r.status_code == 400, (body, r.text)
            assert r.json()["error"].startswith(expected), (body, r.json())
        assert len(vectors(tmp_path)) == 6  # nothing went

        r = await c.post("/api/memory/purge", json={"guild_id": GUILD, "confirm": f"guild:{GUILD}"})
        assert r.json() == {"owner": f"guild:{GUILD}", "deleted": 2, "messages_deleted": 0}
        r = await c.post("/api/memory/purge", json={"user_id": str(BOB), "confirm": f"user:{BOB}"})
        assert r.json() == {"owner": f"user:{BOB}", "deleted": 1, "messages_deleted": 0}
        owners = [o["owner"] for o in (await c.get("/api/memory")).json()["owners"]]
        assert sorted(owners) == sorted(["self", f"guild:{OTHER}", f"user:{ALICE}"])
    everyone = ("self", f"guild:{GUILD}", f"guild:{OTHER}", f"user:{ALICE}", f"user:{BOB}")
    left = await dash.rt.lookup("store").ask(
        GetFacts(owner_keys=everyone, include_archived=True), FactRows
    )
    assert sorted(r.id for r in left.rows) == sorted([other, alice, mine])
    assert set(vectors(tmp_path)) == {other, alice, mine}
    assert await recalled(dash, "otter emoji", f"guild:{GUILD}", f"guild:{OTHER}") == [
        "the otter emoji is cursed"
    ]
    assert [(a[0], a[1], a[2]) for a in await actions(dash, "operator_memory_purge")] == [
        (None, GUILD, f"purged 2 facts of guild:{GUILD}"),
        (BOB, None, f"purged 1 facts of user:{BOB}"),
    ]


async def test_a_purge_with_messages_also_deletes_what_was_said_and_its_vectors(
    memory_dash: Dash, tmp_path: Path
) -> None:
    dash = memory_dash
    store = dash.rt.lookup("store")
    for mid, guild, author, text in [
        (1, GUILD, ALICE, "alice in the guild"),
        (2, GUILD, BOB, "bob in the guild"),
        (3, OTHER, ALICE, "alice elsewhere"),
        (4, OTHER, BOB, "bob elsewhere"),
    ]:
        await store.ask(
            StoreMessage(
                message_id=mid,
                guild_id=guild,
                channel_id=guild * 10,
                author_id=author,
                author_name="someone",
                content=text,
                created_at="2026-12-08T10:00:00+00:00",
            )
        )
    await dash.rt.lookup("memory").ask(EmbedMessages(limit=8), EmbeddedPending)
    await remember(dash, "the otter emoji is sacred", scope="guild", guild_id=GUILD)
    async with dash.client() as c:
        r = await c.post(
            "/api/memory/purge",
            json={"guild_id": GUILD, "confirm": f"guild:{GUILD}", "messages": True},
        )
        assert r.json() == {"owner": f"guild:{GUILD}", "deleted": 1, "messages_deleted": 2}
        r = await c.post(
            "/api/memory/purge",
            json={"user_id": ALICE, "confirm": f"user:{ALICE}", "messages": True},
        )
        assert r.json() == {"owner": f"user:{ALICE}", "deleted": 0, "messages_deleted": 1}
        r = await c.post(
            "/api/memory/purge", json={"owner": "self", "confirm": "self", "messages": True}
        )
        assert r.status_code == 400 and "self has none" in r.json()["error"]
        r = await c.post(
            "/api/memory/purge",
            json={"user_id": ALICE, "confirm": f"user:{ALICE}", "messages": True},
        )
        assert r.status_code == 404 and "no facts or messages" in r.json()["error"]
    left = [(await store.ask(GetMessage(message_id=i), MessageRows)).rows for i in (1, 2, 3, 4)]
    assert [[r.content for r in rows] for rows in left] == [[], [], [], ["bob elsewhere"]]
    conn = open_connection(tmp_path / "clanker.db")
    try:
        kept = [r[0] for r in conn.execute("SELECT message_id FROM message_vectors").fetchall()]
    finally:
        close_connection(conn)
    assert kept == [4]
    assert [a[2] for a in await actions(dash, "operator_memory_purge")] == [
        f"purged 1 facts of guild:{GUILD} and 2 messages",
        f"purged 0 facts of user:{ALICE} and 1 messages",
    ]


async def test_the_changes_need_the_token_and_the_same_site(memory_dash: Dash) -> None:
    violin = await remember(memory_dash, "plays the violin")
    async with memory_dash.client(auth=False) as anonymous:
        r = await anonymous.patch(f"/api/memory/facts/{violin}", json={"fact": "plays the harp"})
        assert r.status_code == 401
        assert (await anonymous.post(f"/api/memory/facts/{violin}/archive")).status_code == 401
    async with memory_dash.client(headers={"Origin": "https://evil.example"}) as cross:
        r = await cross.patch(f"/api/memory/facts/{violin}", json={"fact": "plays the harp"})
        assert r.status_code == 403
        assert "cross-site PATCH refused" in r.json()["error"]
        assert (await cross.post(f"/api/memory/facts/{violin}/archive")).status_code == 403
    assert await recalled(memory_dash, "violin") == ["plays the violin"]


async def test_without_the_memory_service_a_change_is_a_503(dash: Dash) -> None:
    from tests.dashboard.test_memory_api import put

    fact = await put(dash, "plays the violin", at="2026-12-01T10:00:00+00:00")
    async with dash.client() as c:
        r = await c.patch(f"/api/memory/facts/{fact}", json={"fact": "plays the harp"})
        assert r.status_code == 503
        assert r.json()["error"] == "the memory service is not running; try again shortly"
        r = await c.post("/api/memory/purge", json={"user_id": str(ALICE), "confirm": "user:1001"})
        assert r.status_code == 503
