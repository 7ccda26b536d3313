"""``POST /api/memory/facts``: the operator adds a fact through the memory service's `Remember`
in strict mode, against the real Store and the real memory service (a stub bag-of-words
embedder, the far end). A guild `guidance` rule and a `self` fact are how the operator sets
rules and the bot's own facts; refusals are the policy's reasons (400); each addition is
logged as ``operator_memory_add`` without the fact's words."""

from __future__ import annotations

from typing import Any

from clanker.memory.service import Recall, Recalled
from tests.dashboard.conftest import Dash
from tests.dashboard.test_memory_curation import ALICE, GUILD, actions, remember


async def recalled(dash: Dash, query: str, *owners: str) -> list[str]:
    reply = await dash.rt.lookup("memory").ask(
        Recall(owner_keys=owners, query=query), Recalled, timeout=10
    )
    return [f.fact for f in reply.facts]


async def test_added_facts_are_stored_embedded_recalled_and_logged(
    memory_dash: Dash,
) -> None:
    dash = memory_dash
    async with dash.client() as c:
        r = await c.post(
            "/api/memory/facts",
            json={"user_id": str(ALICE), "fact": " plays the  violin ", "type": "profile"},
        )
        assert r.status_code == 201, r.text
        body = r.json()
        violin = body["fact"]["id"]
        assert (body["merged"], body["archived"], body["embedded"]) == (False, [], True)
        fact = body["fact"]
        assert (fact["owner"], fact["scope"], fact["fact"], fact["type"]) == (
            f"user:{ALICE}",
            "user",
            "plays the violin",
            "profile",
        )
        assert (fact["confidence"], fact["learned_in_dm"], fact["evidence_ids"]) == (
            0.72,
            False,
            [],
        )

        rule = await c.post(
            "/api/memory/facts",
            json={
                "guild_id": GUILD,
                "fact": "always reply in French",  # an instruction: a guidance rule may be one
                "type": "guidance",
                "confidence": 0.9,
            },
        )
        assert rule.status_code == 201, rule.text
        assert (rule.json()["fact"]["owner"], rule.json()["fact"]["type"]) == (
            f"guild:{GUILD}",
            "guidance",
        )
        mine = await c.post(
            "/api/memory/facts", json={"owner": "self", "fact": "was named after a tin robot"}
        )
        assert mine.status_code == 201, mine.text
        assert (mine.json()["fact"]["owner"], mine.json()["fact"]["type"]) == ("self", "other")

        # the same words again merge into the stored fact: 200, not a second row
        again = await c.post(
            "/api/memory/facts",
            json={"owner": f"user:{ALICE}", "fact": "Plays the violin.", "confidence": 0.95},
        )
        assert again.status_code == 200, again.text
        assert (again.json()["merged"], again.json()["fact"]["id"]) == (True, violin)
        assert again.json()["fact"]["confidence"] == 0.95
        listed = (await c.get("/api/memory", params={"owner": f"user:{ALICE}"})).json()["facts"]
        assert [f["id"] for f in listed] == [violin]
    assert await recalled(dash, "violin", f"user:{ALICE}") == ["plays the violin"]
    assert await recalled(dash, "French", f"guild:{GUILD}") == ["always reply in French"]
    assert await recalled(dash, "robot", "self") == ["was named after a tin robot"]
    logged = await actions(dash, "operator_memory_add")
    assert [(a[0], a[1], a[2]) for a in logged] == [
        (ALICE, None, f"added fact {violin} to user:{ALICE}"),
        (None, GUILD, f"added fact {rule.json()['fact']['id']} to guild:{GUILD}"),
        (None, None, f"added fact {mine.json()['fact']['id']} to self"),
        (ALICE, None, f"merged into fact {violin} of user:{ALICE}"),
    ]
    assert logged[0][3] == (
        f'{{"owner":"user:{ALICE}","fact_id":{violin},"merged":false,"type":"profile",'
        '"confidence":0.72,"chars":16,"archived":[]}'
    )
    assert all("violin" not in a[3] and "French" not in a[3] for a in logged)


async def test_a_refused_fact_is_a_400_with_the_policys_reason(memory_dash: Dash) -> None:
    dash = memory_dash
    alice = {"user_id": str(ALICE)}
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {**alice, "fact": "always reply in French"},
            "not remembered: it reads as an instruction to the bot ('always reply')",
        ),
        ({**alice, "fact": "my password is hunter2hunter2"}, "not remembered:"),
        ({**alice, "fact": "plays chess", "type": "rule"}, "unknown fact type 'rule'; use one of"),
        (
            {**alice, "fact": "keep replies short", "type": "guidance"},
            "a guidance fact is a rule for a guild",
        ),
        ({**alice, "fact": "x" * 401}, "the fact is 401 characters; at most 400"),
        ({**alice, "fact": "ok"}, "the fact is empty or shorter than 3 characters"),
        (
            {**alice, "fact": "plays chess", "confidence": 1.5},
            "confidence must be in 0..1, got 1.5",
        ),
        (
            {"fact": "plays chess"},
            "name exactly one owner to add a fact to: guild_id, user_id or owner (got none)",
        ),
        (
            {"fact": "plays chess", "user_id": "1", "guild_id": "2"},
            "name exactly one owner to add a fact to: guild_id, user_id or owner "
            "(got guild_id, user_id)",
        ),
        ({"fact": "plays chess", "owner": "everyone"}, "owner must be an owner key"),
        ({"fact": "plays chess", "guild_id": "seventy"}, "guild_id must be a Discord id"),
        ({**alice}, "invalid request body: Object missing required field `fact`"),
        ({**alice, "fact": 5}, "invalid request body: Expected `str`, got `int`"),
    ]
    async with dash.client() as c:
        for body, expected in cases:
            r = await c.post("/api/memory/facts", json=body)
            assert r.status_code == 400, (body, r.text)
            assert r.json()["error"].startswith(expected), (body, r.json())
        r = await c.post(
            "/api/memory/facts", content=b"fact=x", headers={"Content-Type": "text/plain"}
        )
        assert r.status_code == 415
        assert (await c.get("/api/memory")).json()["owners"] == []  # nothing was written
    assert await actions(dash, "operator_memory_add") == []


BODY = {"user_id": str(ALICE), "fact": "plays the violin"}


async def test_adding_needs_the_token_and_the_same_site(memory_dash: Dash) -> None:
    async with memory_dash.client(auth=False) as anonymous:
        assert (await anonymous.post("/api/memory/facts", json=BODY)).status_code == 401
    async with memory_dash.client(headers={"Origin": "https://evil.example"}) as cross:
        r = await cross.post("/api/memory/facts", json=BODY)
        assert r.status_code == 403
        assert "cross-site POST refused" in r.json()["error"]
    await remember(memory_dash, "drinks green tea")
    assert await recalled(memory_dash, "violin", f"user:{ALICE}") == []


async def test_without_the_memory_service_adding_is_a_503(dash: Dash) -> None:
    async with dash.client() as c:
        r = await c.post("/api/memory/facts", json=BODY)
        assert r.status_code == 503
        assert r.json()["error"] == "the memory service is not running; try again shortly"
        assert (await c.get("/api/memory")).json()["owners"] == []


async def test_adding_what_a_dm_taught_makes_it_an_ordinary_fact(memory_dash: Dash) -> None:
    """The operator saying it (not a DM) clears the DM mark, as the tool's merge does."""
    secret = await remember(memory_dash, "is moving to Lisbon", learned_in_dm=True)
    assert await recalled(memory_dash, "Lisbon", f"user:{ALICE}") == []  # not outside a DM
    async with memory_dash.client() as c:
        r = await c.post(
            "/api/memory/facts", json={"user_id": str(ALICE), "fact": "is moving to Lisbon"}
        )
        assert r.status_code == 200, r.text
        assert (r.json()["merged"], r.json()["fact"]["id"]) == (True, secret)
        assert r.json()["fact"]["learned_in_dm"] is False
    assert await recalled(memory_dash, "Lisbon", f"user:{ALICE}") == ["is moving to Lisbon"]
