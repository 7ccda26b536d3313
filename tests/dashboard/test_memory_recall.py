"""``GET /api/memory/recall`` (the bot's own ranking) and ``GET /api/memory/facts/<id>/evidence``
against the real Store and the real memory service (a stub bag-of-words embedder, the far
end), facts written with `Remember` as the bot writes them and messages with `StoreMessage`.
The search's order and scores are the service's `Recall` over the owners it names."""

from __future__ import annotations

from typing import Any

import pytest

from clanker.dashboard import routes_memory_recall
from clanker.memory.owners import reply_scope
from clanker.memory.service import Recall, Recalled
from clanker.store import MarkMessageDeleted, RowsChanged, StoreMessage
from tests.dashboard.conftest import Dash
from tests.dashboard.test_memory_curation import ALICE, BOB, GUILD, OTHER, remember

CAROL = 1003
GENERAL, ELSEWHERE, DM_CHANNEL = 700, 800, 900


async def said(
    dash: Dash,
    message_id: int,
    author_id: int,
    text: str,
    *,
    at: str,
    guild_id: int | None = GUILD,
    channel_id: int = GENERAL,
) -> None:
    names = {ALICE: "alice", BOB: "bob", CAROL: "carol"}
    await dash.rt.lookup("store").ask(
        StoreMessage(
            message_id=message_id,
            guild_id=guild_id,
            channel_id=channel_id,
            author_id=author_id,
            author_name=names[author_id],
            content=text,
            created_at=at,
        ),
        RowsChanged,
    )


async def seed(dash: Dash) -> dict[str, int]:
    """Facts of alice (one learned in a DM), bob, carol, two guilds and the bot; alice and bob
    speak in GUILD (bob last), carol only in OTHER."""
    ids = {
        "otters": await remember(dash, "loves the sea otter at the zoo", user_id=ALICE),
        "lisbon": await remember(
            dash, "is moving to Lisbon with her otter", user_id=ALICE, learned_in_dm=True
        ),
        "bob": await remember(dash, "keeps a pet otter named Pip", user_id=BOB),
        "carol": await remember(dash, "studies the river otter", user_id=CAROL),
        "lore": await remember(dash, "the otter emoji is sacred", scope="guild", guild_id=GUILD),
        "other": await remember(dash, "the otter emoji is cursed", scope="guild", guild_id=OTHER),
        "self": await remember(dash, "was drawn as an otter once", scope="self"),
        "tea": await remember(dash, "drinks green tea", user_id=BOB),
    }
    await said(dash, 11, ALICE, "hi", at="2026-12-01T10:00:00+00:00")
    await said(dash, 12, BOB, "hello", at="2026-12-01T10:05:00+00:00")
    await said(dash, 13, CAROL, "hey", at="2026-12-01T10:06:00+00:00", guild_id=OTHER)
    return ids


async def direct(dash: Dash, query: str, owners: tuple[str, ...], **kw: Any) -> Recalled:
    return await dash.rt.lookup("memory").ask(
        Recall(owner_keys=owners, query=query, **kw), Recalled, timeout=10
    )


def ranked(body: dict[str, Any]) -> list[tuple[int, float]]:
    return [(f["id"], f["score"]) for f in body["facts"]]


def same_ranking(body: dict[str, Any], recalled: Recalled) -> bool:
    """The API's facts in the service's order, with its scores (rounded to 4 places)."""
    ours = ranked(body)
    theirs = [(f.id, f.score) for f in recalled.facts]
    return [i for i, _ in ours] == [i for i, _ in theirs] and all(
        abs(a - b) < 1e-3 for (_, a), (_, b) in zip(ours, theirs, strict=True)
    )


async def test_a_search_is_the_services_recall_with_its_scores(memory_dash: Dash) -> None:
    dash = memory_dash
    ids = await seed(dash)
    async with dash.client() as c:
        r = await c.get("/api/memory/recall", params={"q": "otter", "owner": f"user:{ALICE}"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["q"], body["scope"], body["owners"], body["used_vector"], body["limit"]) == (
            "otter",
            "owner",
            [f"user:{ALICE}"],
            True,
            20,
        )
        assert {f["id"] for f in body["facts"]} == {ids["otters"], ids["lisbon"]}
        mine = await direct(dash, "otter", (f"user:{ALICE}",), limit=20, with_dm_facts=True)
        assert same_ranking(body, mine)
        assert all(0 < f["score"] <= 1 for f in body["facts"])
        scores = [f["score"] for f in body["facts"]]
        assert scores == sorted(scores, reverse=True)
        lisbon = next(f for f in body["facts"] if f["id"] == ids["lisbon"])
        assert (lisbon["learned_in_dm"], lisbon["owner"], lisbon["fact"]) == (
            True,
            f"user:{ALICE}",
            "is moving to Lisbon with her otter",
        )

        # every owner, as the list's "everyone"
        everyone = (await c.get("/api/memory/recall", params={"q": "otter", "limit": 50})).json()
        assert everyone["scope"] == "everyone"
        assert len(everyone["owners"]) == 6  # three people, two guilds, the bot
        assert ids["tea"] not in {f["id"] for f in everyone["facts"]}  # the gate: no otter
        all_owners = tuple(everyone["owners"])
        assert same_ranking(
            everyone, await direct(dash, "otter", all_owners, limit=50, with_dm_facts=True)
        )
        none = (await c.get("/api/memory/recall", params={"q": "violin"})).json()
        assert none["facts"] == []


async def test_a_guild_search_covers_its_lore_the_bot_and_the_people_seen_there(
    memory_dash: Dash,
) -> None:
    dash = memory_dash
    ids = await seed(dash)
    async with dash.client() as c:
        r = await c.get("/api/memory/recall", params={"q": "otter", "owner": f"guild:{GUILD}"})
        body = r.json()
        assert body["scope"] == "guild"
        # bob spoke last, then alice; carol was only seen in the other guild
        assert body["owners"] == [f"guild:{GUILD}", "self", f"user:{BOB}", f"user:{ALICE}"]
        found = {f["id"] for f in body["facts"]}
        assert {ids["lore"], ids["self"], ids["bob"], ids["otters"], ids["lisbon"]} <= found
        assert not found & {ids["carol"], ids["other"]}  # never another guild's lore
        # a reply there with alice speaking and bob around names the same owners, DM facts
        # aside; the operator's search includes them (marked)
        scope = reply_scope(guild_id=GUILD, speaker_id=ALICE, participant_ids=(BOB,))
        assert set(scope.owner_keys) == set(body["owners"]) and not scope.with_dm_facts
        reply = await direct(dash, "otter", scope.owner_keys, limit=20)
        assert ids["lisbon"] not in {f.id for f in reply.facts}
        assert {f.id for f in reply.facts} == found - {ids["lisbon"]}
        empty = (
            await c.get("/api/memory/recall", params={"q": "otter", "owner": "guild:4242"})
        ).json()
        assert empty["owners"] == ["guild:4242", "self"]
        assert [f["id"] for f in empty["facts"]] == [ids["self"]]


async def test_bad_search_parameters_are_400_naming_the_field(memory_dash: Dash) -> None:
    async with memory_dash.client() as c:
        for params, expected in [
            ({}, "query parameter 'q' is required: the words to search for"),
            ({"q": "   "}, "query parameter 'q' is required"),
            ({"q": "x" * 201}, "query parameter 'q' is 201 characters; at most 200"),
            ({"q": "otters", "owner": "alice"}, "query parameter 'owner' must be an owner key"),
            ({"q": "otters", "limit": "51"}, "query parameter 'limit' must be in 1..50, got 51"),
            ({"q": "otters", "limit": "x"}, "query parameter 'limit' must be an integer"),
        ]:
            r = await c.get("/api/memory/recall", params=params)
            assert r.status_code == 400, (params, r.text)
            assert r.json()["error"].startswith(expected), (params, r.json())
        # nothing remembered: an empty answer, not an error
        r = await c.get("/api/memory/recall", params={"q": "otters"})
        assert r.json() == {
            "q": "otters",
            "scope": "everyone",
            "owners": [],
            "owners_left_out": 0,
            "facts": [],
            "used_vector": False,
            "limit": 20,
        }


async def test_a_search_needs_the_memory_service_and_the_token(dash: Dash) -> None:
    from tests.dashboard.test_memory_api import put

    await put(dash, "loves otters", at="2026-12-01T10:00:00+00:00")
    async with dash.client() as c:
        r = await c.get("/api/memory/recall", params={"q": "otters"})
        assert r.status_code == 503
        assert r.json()["error"] == "the memory service is not running; try again shortly"
    async with dash.client(auth=False) as anonymous:
        assert (await anonymous.get("/api/memory/recall", params={"q": "x"})).status_code == 401
        assert (await anonymous.get("/api/memory/facts/1/evidence")).status_code == 401


async def test_evidence_shows_each_message_or_that_it_is_gone(memory_dash: Dash) -> None:
    dash = memory_dash
    await said(dash, 21, ALICE, "I really love otters", at="2026-12-01T10:00:00+00:00")
    await said(dash, 22, BOB, "alice loves otters, she said", at="2026-12-01T10:01:00+00:00")
    await said(
        dash,
        23,
        ALICE,
        "psst",
        at="2026-12-01T10:02:00+00:00",
        guild_id=None,
        channel_id=DM_CHANNEL,
    )
    await dash.rt.lookup("store").ask(MarkMessageDeleted(message_id=22), RowsChanged)
    otters = await remember(
        dash,
        "loves otters",
        evidence_ids=(21, 22, 99, 23),
        evidence_text="alice: I really love otters",
        channel_id=GENERAL,
    )
    plain = await remember(dash, "drinks green tea")
    async with dash.client() as c:
        listed = (await c.get("/api/memory", params={"owner": f"user:{ALICE}"})).json()["facts"]
        shown = {f["id"]: (f["evidence_ids"], f["evidence_text"]) for f in listed}
        assert shown == {
            otters: (["21", "22", "99", "23"], "alice: I really love otters"),
            plain: ([], ""),
        }
        r = await c.get(f"/api/memory/facts/{otters}/evidence")
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["fact_id"], body["owner"], body["evidence_text"], body["channel_id"]) == (
            otters,
            f"user:{ALICE}",
            "alice: I really love otters",
            str(GENERAL),
        )
        messages = body["messages"]
        assert [(m["id"], m["status"]) for m in messages] == [
            ("21", "stored"),
            ("22", "deleted"),
            ("99", "unknown"),
            ("23", "stored"),
        ]
        first = messages[0]
        assert first == {
            "id": "21",
            "status": "stored",
            "guild_id": str(GUILD),
            "guild_name": None,  # the test tree has no directory
            "channel_id": str(GENERAL),
            "channel_name": None,
            "author_id": str(ALICE),
            "author_name": "alice",
            "is_bot": False,
            "content": "I really love otters",
            "created_at": "2026-12-01T10:00:00.000+00:00",
            "jump_url": f"https://discord.com/channels/{GUILD}/{GENERAL}/21",
        }
        assert (messages[1]["author_name"], messages[1]["content"]) == (
            "bob",
            "alice loves otters, she said",
        )
        assert messages[2]["author_name"] is None and messages[2]["content"] is None
        assert messages[3]["guild_id"] is None and "/@me/" in messages[3]["jump_url"]

        none = (await c.get(f"/api/memory/facts/{plain}/evidence")).json()
        assert (none["messages"], none["evidence_text"], none["channel_id"]) == ([], "", None)
        missing = await c.get("/api/memory/facts/999/evidence")
        assert missing.status_code == 404
        assert missing.json()["error"] == "no fact 999: it does not exist (or was forgotten)"
        bad = await c.get("/api/memory/facts/x1/evidence")
        assert bad.status_code == 400
        assert bad.json()["error"] == "the fact id must be a positive integer, got 'x1'"


async def test_a_search_covers_at_most_the_owner_cap_and_says_how_many_it_left_out(
    memory_dash: Dash, monkeypatch: pytest.MonkeyPatch
) -> None:
    dash = memory_dash
    await seed(dash)
    monkeypatch.setattr(routes_memory_recall, "MAX_SEARCH_OWNERS", 3)
    async with dash.client() as c:
        everyone = (await c.get("/api/memory/recall", params={"q": "otter"})).json()
        listed = [o["owner"] for o in (await c.get("/api/memory")).json()["owners"]]
        # the most recently updated owners first, as the owner filter lists them
        assert (everyone["owners"], everyone["owners_left_out"]) == (listed[:3], 3)
        assert {f["owner"] for f in everyone["facts"]} <= set(listed[:3])
        guild = await c.get("/api/memory/recall", params={"q": "otter", "owner": f"guild:{GUILD}"})
        assert (guild.json()["owners"], guild.json()["owners_left_out"]) == (
            [f"guild:{GUILD}", "self", f"user:{BOB}"],  # bob spoke last; alice left out
            1,
        )
