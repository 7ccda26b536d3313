"""``GET /api/memory``, ``DELETE /api/memory/facts/<id>`` and ``POST /api/memory/purge``
against the real Store (a SQLite file with FTS5 and sqlite-vec) and the real memory service,
the facts written through the Store's own `PutFact` requests. Edits and archiving:
``test_memory_curation.py``."""

from __future__ import annotations

import pytest

from clanker.store import ActionRows, ActionsQuery
from clanker.store.facts import FactRows, FactWritten, GetFacts, PutFact
from tests.dashboard.conftest import Dash

ALICE, BOB, GUILD = 1001, 1002, 77
PURGE_ALICE = {"user_id": str(ALICE), "confirm": f"user:{ALICE}"}
PURGE_BOB = {"owner": f"user:{BOB}", "confirm": f"user:{BOB}"}


@pytest.fixture
def dash(memory_dash: Dash) -> Dash:
    """These routes ask the memory service: the dashboard with it."""
    return memory_dash


async def put(
    dash: Dash,
    fact: str,
    *,
    scope: str = "user",
    user_id: int | None = ALICE,
    guild_id: int | None = None,
    at: str,
    dm: bool = False,
    fact_type: str = "preference",
    evidence_ids: tuple[int, ...] = (),
    evidence_text: str = "",
    channel_id: int | None = None,
) -> int:
    subject = {"user": str(user_id), "guild": "__lore__", "self": "__self__"}[scope]
    reply = await dash.rt.lookup("store").ask(
        PutFact(
            scope=scope,
            guild_id=guild_id,
            user_id=user_id,
            subject=subject,
            fact=fact,
            fact_key=fact.lower(),
            fact_type=fact_type,
            confidence=0.8,
            created_at=at,
            learned_in_dm=dm,
            evidence_ids=evidence_ids,
            evidence_text=evidence_text,
            channel_id=channel_id,
        ),
        FactWritten,
    )
    return reply.fact_id


async def seed(dash: Dash) -> dict[str, int]:
    return {
        "otters": await put(dash, "loves otters", at="2026-12-01T10:00:00+00:00"),
        "secret": await put(
            dash,
            "is moving to Lisbon",
            at="2026-12-02T10:00:00+00:00",
            dm=True,
            evidence_ids=(9001,),
            evidence_text="alice: I'm moving to Lisbon in May",
        ),
        "bob": await put(dash, "plays chess", user_id=BOB, at="2026-12-03T10:00:00+00:00"),
        "lore": await put(
            dash,
            "the otter emoji is sacred here",
            scope="guild",
            user_id=None,
            guild_id=GUILD,
            at="2026-12-04T10:00:00+00:00",
            fact_type="other",
        ),
        "self": await put(
            dash,
            "was named after a tin robot",
            scope="self",
            user_id=None,
            at="2026-12-05T10:00:00+00:00",
            fact_type="profile",
        ),
    }


async def test_lists_owners_and_facts_newest_first_with_the_dm_mark(dash: Dash) -> None:
    ids = await seed(dash)
    async with dash.client() as c:
        body = (await c.get("/api/memory")).json()
        assert body["search"] is None
        assert body["owners"] == [
            {"owner": "self", "facts": 1},
            {"owner": f"guild:{GUILD}", "facts": 1},
            {"owner": f"user:{BOB}", "facts": 1},
            {"owner": f"user:{ALICE}", "facts": 2},
        ]
        assert [f["id"] for f in body["facts"]] == [
            ids["self"],
            ids["lore"],
            ids["bob"],
            ids["secret"],
            ids["otters"],
        ]
        secret = body["facts"][3]
        assert secret == {
            "id": ids["secret"],
            "owner": f"user:{ALICE}",
            "scope": "user",
            "guild_id": None,
            "user_id": str(ALICE),
            "subject": str(ALICE),
            "fact": "is moving to Lisbon",
            "type": "preference",
            "confidence": 0.8,
            "learned_in_dm": True,
            "active": True,
            "created_at": "2026-12-02T10:00:00.000+00:00",
            "updated_at": secret["updated_at"],
            "evidence_ids": ["9001"],
            "evidence_text": "alice: I'm moving to Lisbon in May",
        }
        assert body["facts"][1]["guild_id"] == str(GUILD)
        assert body["facts"][4]["learned_in_dm"] is False

        alice = (await c.get("/api/memory", params={"owner": f"user:{ALICE}"})).json()
        assert [f["id"] for f in alice["facts"]] == [ids["secret"], ids["otters"]]
        limited = (await c.get("/api/memory", params={"limit": "2"})).json()
        assert [f["id"] for f in limited["facts"]] == [ids["self"], ids["lore"]]


async def test_search_is_an_fts5_match_over_every_owner_or_one(dash: Dash) -> None:
    ids = await seed(dash)
    async with dash.client() as c:
        found = (await c.get("/api/memory", params={"q": "Otters"})).json()
        assert found["search"] == "fts5"
        assert [f["id"] for f in found["facts"]] == [ids["otters"]]
        found = (await c.get("/api/memory", params={"q": "lisbon chess"})).json()
        assert [f["id"] for f in found["facts"]] == [ids["bob"], ids["secret"]]  # DM facts too
        mine = await c.get("/api/memory", params={"q": "lisbon chess", "owner": "user:1001"})
        assert [f["id"] for f in mine.json()["facts"]] == [ids["secret"]]
        none = (await c.get("/api/memory", params={"q": "violin"})).json()
        assert none["facts"] == [] and len(none["owners"]) == 4


async def test_an_empty_memory_lists_nothing(dash: Dash) -> None:
    async with dash.client() as c:
        assert (await c.get("/api/memory")).json() == {"owners": [], "facts": [], "search": None}
        empty = (await c.get("/api/memory", params={"q": "otters"})).json()
        assert empty == {"owners": [], "facts": [], "search": "fts5"}
        missing = await c.delete("/api/memory/facts/5")
        assert missing.status_code == 404
        assert missing.json()["error"] == "no fact 5: it does not exist (or was forgotten)"


async def test_bad_parameters_are_400_naming_the_field(dash: Dash) -> None:
    async with dash.client() as c:
        for params, expected in [
            ({"owner": "alice"}, "query parameter 'owner' must be an owner key"),
            ({"owner": "user:abc"}, "query parameter 'owner' must be an owner key"),
            ({"q": "x" * 201}, "query parameter 'q' is 201 characters; at most 200"),
            ({"q": "the and of"}, "query parameter 'q' has no word to search for"),
            ({"limit": "0"}, "query parameter 'limit' must be in 1..1000, got 0"),
            ({"limit": "many"}, "query parameter 'limit' must be an integer"),
        ]:
            r = await c.get("/api/memory", params=params)
            assert r.status_code == 400, (params, r.text)
            assert r.json()["error"].startswith(expected), (params, r.json())
        for raw in ("abc", "0", "-3", "1.5"):
            r = await c.delete(f"/api/memory/facts/{raw}")
            assert r.status_code == 400, raw
            assert r.json()["error"] == f"the fact id must be a positive integer, got {raw!r}"


async def test_forget_deletes_for_good_and_is_logged_without_the_words(dash: Dash) -> None:
    ids = await seed(dash)
    store = dash.rt.lookup("store")
    async with dash.client() as c:
        r = await c.delete(f"/api/memory/facts/{ids['secret']}")
        assert r.status_code == 200, r.text
        assert r.json() == {"id": ids["secret"], "owner": f"user:{ALICE}"}
        again = await c.delete(f"/api/memory/facts/{ids['secret']}")
        assert again.status_code == 404
        left = (await c.get("/api/memory", params={"owner": f"user:{ALICE}"})).json()
        assert [f["id"] for f in left["facts"]] == [ids["otters"]]
        assert (await c.get("/api/memory", params={"q": "lisbon"})).json()["facts"] == []
        r = await c.delete(f"/api/memory/facts/{ids['lore']}")
        assert r.json() == {"id": ids["lore"], "owner": f"guild:{GUILD}"}
    rows = await store.ask(
        GetFacts(owner_keys=(f"user:{ALICE}", f"guild:{GUILD}"), include_archived=True), FactRows
    )
    assert [r.id for r in rows.rows] == [ids["otters"]]
    actions = await store.ask(ActionsQuery(kind="operator_memory_forget", limit=10), ActionRows)
    logged = sorted(actions.rows, key=lambda a: a.id)
    assert [(a.user_id, a.guild_id, a.content) for a in logged] == [
        (ALICE, None, f"forgot fact {ids['secret']} of user:{ALICE}"),
        (None, GUILD, f"forgot fact {ids['lore']} of guild:{GUILD}"),
    ]
    assert all("Lisbon" not in a.metadata and "otter" not in a.metadata for a in logged)


async def test_forget_needs_the_token_and_refuses_cross_site(dash: Dash) -> None:
    ids = await seed(dash)
    async with dash.client(auth=False) as anonymous:
        r = await anonymous.delete(f"/api/memory/facts/{ids['otters']}")
        assert r.status_code == 401
        assert (await anonymous.get("/api/memory")).status_code == 401
    async with dash.client(headers={"Origin": "https://evil.example"}) as cross:
        r = await cross.delete(f"/api/memory/facts/{ids['otters']}")
        assert r.status_code == 403
        assert "cross-site DELETE refused" in r.json()["error"]
    async with dash.client(headers={"Sec-Fetch-Site": "cross-site"}) as cross:
        assert (await cross.delete(f"/api/memory/facts/{ids['otters']}")).status_code == 403
    rows = await dash.rt.lookup("store").ask(
        GetFacts(owner_keys=(f"user:{ALICE}",), fact_ids=(ids["otters"],)), FactRows
    )
    assert len(rows.rows) == 1  # still there


async def test_purge_forgets_every_fact_of_one_owner_and_is_logged(dash: Dash) -> None:
    ids = await seed(dash)
    store = dash.rt.lookup("store")
    async with dash.client() as c:
        r = await c.post("/api/memory/purge", json=PURGE_ALICE)
        assert r.status_code == 200, r.text
        assert r.json() == {
            "owner": f"user:{ALICE}",
            "deleted": 2,
            "messages_deleted": 0,
        }  # the DM fact too
        again = await c.post("/api/memory/purge", json=PURGE_ALICE)
        assert again.status_code == 404
        assert again.json()["error"] == f"user:{ALICE} has no facts to forget"
        bad = await c.post("/api/memory/purge", json={"owner": "everyone", "confirm": "everyone"})
        assert bad.status_code == 400
        assert bad.json()["error"].startswith("owner must be an owner key")
        missing = await c.post("/api/memory/purge", json={})
        assert missing.status_code == 400
        assert missing.json()["error"] == (
            "name exactly one owner to purge: guild_id, user_id or owner (got none)"
        )
        body = (await c.get("/api/memory")).json()
        assert [o["owner"] for o in body["owners"]] == ["self", f"guild:{GUILD}", f"user:{BOB}"]
        assert sorted(f["id"] for f in body["facts"]) == sorted(
            [ids["self"], ids["lore"], ids["bob"]]
        )
    async with dash.client(headers={"Origin": "https://evil.example"}) as cross:
        r = await cross.post("/api/memory/purge", json=PURGE_BOB)
        assert r.status_code == 403
    gone = await store.ask(GetFacts(owner_keys=(f"user:{ALICE}",), include_archived=True), FactRows)
    assert gone.rows == ()
    actions = await store.ask(ActionsQuery(kind="operator_memory_purge", limit=10), ActionRows)
    assert [(a.user_id, a.guild_id, a.content) for a in actions.rows] == [
        (ALICE, None, f"purged 2 facts of user:{ALICE}")
    ]


async def test_archived_facts_are_listed_and_counted_but_not_searched(dash: Dash) -> None:
    old = await put(dash, "plays the violin", at="2026-12-01T10:00:00+00:00")
    reply = await dash.rt.lookup("store").ask(
        PutFact(
            scope="user",
            guild_id=None,
            user_id=ALICE,
            subject=str(ALICE),
            fact="plays the cello now",
            fact_key="plays the cello now",
            fact_type="preference",
            confidence=0.8,
            created_at="2026-12-02T10:00:00+00:00",
            supersedes=old,
            archive_ids=(old,),
        ),
        FactWritten,
    )
    assert reply.archived == (old,)
    async with dash.client() as c:
        body = (await c.get("/api/memory")).json()
        assert body["owners"] == [{"owner": f"user:{ALICE}", "facts": 2}]
        # archiving stamps the old fact's updated_at now: it is the newest update
        assert [(f["id"], f["active"]) for f in body["facts"]] == [
            (old, False),
            (reply.fact_id, True),
        ]
        found = (await c.get("/api/memory", params={"q": "violin plays"})).json()
        assert [f["id"] for f in found["facts"]] == [reply.fact_id]
        assert (
            await c.delete(f"/api/memory/facts/{old}")
        ).status_code == 200  # archived: forgettable
