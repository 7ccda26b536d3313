"""The JSON API against the real Hypercorn server: auth, health, tree, actions, settings (CAS,
validation), costs, operator crash, and the errors bad input gets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
import trio

from clanker.dashboard import DashboardAddress, DashboardConfig, GetAddress
from clanker.dashboard.auth import SESSION_COOKIE
from clanker.runtime import events as ev
from clanker.runtime import open_runtime
from clanker.store import LogAction, to_iso, to_json
from tests.dashboard.conftest import Dash, Echo, make_tree

GUILD = 1_100_000_000_000_000_001
CHANNEL = 1_200_000_000_000_000_001
OTHER_CHANNEL = 1_200_000_000_000_000_002


async def test_every_api_route_requires_the_token(dash: Dash) -> None:
    routes = [
        ("GET", "/api/health"),
        ("GET", "/api/tree"),
        ("GET", "/api/actions"),
        ("GET", "/api/actions/stream"),
        ("GET", "/api/runtime/events"),
        ("GET", "/api/settings"),
        ("PUT", "/api/settings"),
        ("GET", "/api/costs"),
        ("GET", "/api/guilds"),
        ("GET", "/api/sandbox"),
        ("POST", "/api/sandbox/messages"),
        ("GET", "/api/voice"),
        ("POST", "/api/actors/crash"),
        ("GET", "/api/no-such-route"),
    ]
    async with (
        dash.client(auth=False) as anon,
        dash.client(
            auth=False, headers={"Authorization": "Bearer wrong-token-wrong-token"}
        ) as wrong,
    ):
        for method, path in routes:
            for client in (anon, wrong):
                r = await client.request(method, path)
                assert r.status_code == 401, (method, path, r.status_code)
                assert "dashboard token" in r.json()["error"]
    async with dash.client(auth=False, headers={"X-Dashboard-Token": dash.token}) as via_header:
        assert (await via_header.get("/api/health")).status_code == 200


async def test_login_exchanges_the_token_for_an_httponly_strict_cookie(dash: Dash) -> None:
    async with dash.client(auth=False) as browser:
        assert (await browser.get("/api/auth/session")).json() == {
            "authenticated": False,
            "method": None,
        }
        refused = await browser.post("/api/auth/session", json={"token": "not-it"})
        assert refused.status_code == 401 and refused.json()["error"] == "wrong dashboard token"
        assert SESSION_COOKIE not in browser.cookies

        r = await browser.post("/api/auth/session", json={"token": dash.token})
        assert r.status_code == 200
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # plain HTTP on loopback (see secure_cookies)
        assert dash.token not in cookie
        assert (await browser.get("/api/health")).status_code == 200
        assert (await browser.get("/api/auth/session")).json()["method"] == "cookie"

        session = browser.cookies[SESSION_COOKIE]
        assert (await browser.delete("/api/auth/session")).status_code == 200
        # The server forgot the session: replaying the old cookie no longer works.
        async with dash.client(auth=False, cookies={SESSION_COOKIE: session}) as replay:
            assert (await replay.get("/api/health")).status_code == 401


async def test_failed_logins_are_rate_limited_per_address(dash: Dash) -> None:
    async with dash.client(auth=False) as browser:
        for _ in range(5):
            r = await browser.post("/api/auth/session", json={"token": "not-it"})
            assert r.status_code == 401
        # Locked out, even with the right token, until the first failure is a minute old.
        r = await browser.post("/api/auth/session", json={"token": dash.token})
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 59
        assert r.json()["error"].startswith("too many wrong tokens from ")
        # The token in a header still works: the throttle guards only the login exchange.
        async with dash.client(auth=False, headers={"X-Dashboard-Token": dash.token}) as api:
            assert (await api.get("/api/health")).status_code == 200


async def test_mutating_routes_refuse_cross_site_requests(dash: Dash) -> None:
    async with dash.client(auth=False) as browser:
        await browser.post("/api/auth/session", json={"token": dash.token})
        attempts = [
            {"Origin": "https://evil.example"},
            {"Origin": "null"},
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site"},
        ]
        for headers in attempts:
            r = await browser.put(
                "/api/settings", json={"expected_version": 0, "patch": {}}, headers=headers
            )
            assert r.status_code == 403, headers
            assert "cross-site PUT refused" in r.json()["error"]
            login = await browser.post(
                "/api/auth/session", json={"token": dash.token}, headers=headers
            )
            assert login.status_code == 403
        same = await browser.put(
            "/api/settings",
            json={"expected_version": 0, "patch": {}},
            headers={"Origin": dash.url, "Sec-Fetch-Site": "same-origin"},
        )
        assert same.status_code == 200
        # Reading is not state-changing: a cross-site GET is only judged by its credentials.
        assert (await browser.get("/api/health", headers=attempts[0])).status_code == 200
    assert (await dash.rt.lookup("store").ask(_get_settings())).version == 1


def _get_settings() -> msgspec.Struct:
    from clanker.store import GetSetting

    return GetSetting(key="runtime_settings")


async def test_health_and_tree(dash: Dash) -> None:
    async with dash.client() as c:
        health = (await c.get("/api/health")).json()
        assert health["ok"] is True and health["sandbox"] is False
        assert health["operator_crash"] is True and health["version"]
        tree = (await c.get("/api/tree")).json()
    assert tree["path"] == "root"
    names = [n["name"] for n in tree["children"]]
    assert names == ["telemetry", "store", "worker", "stubborn", "dashboard"]
    store = tree["children"][1]
    assert store["status"] == "running"
    assert store["mailbox"]["capacity"] == 256 and store["mailbox"]["overflow"] == "block"
    telemetry = tree["children"][0]
    assert telemetry["mailbox"]["overflow"] == "drop_oldest"


async def _log(dash: Dash, n: int, **fields: object) -> None:
    for i in range(n):
        await dash.store().log_action(LogAction(content=f"#{i}", **fields))  # type: ignore[arg-type]


async def test_actions_are_paged_and_filtered_with_ids_as_strings(dash: Dash) -> None:
    await _log(dash, 3, kind="sent_reply", guild_id=GUILD, channel_id=CHANNEL, message_id=2**62)
    await _log(dash, 2, kind="llm_call", guild_id=GUILD, channel_id=OTHER_CHANNEL)
    await _log(dash, 1, kind="reply_admission", metadata=to_json({"decision": "skipped"}))
    async with dash.client() as c:
        page = (await c.get("/api/actions", params={"limit": 4})).json()
        assert [a["kind"] for a in page["actions"]] == [
            "reply_admission",
            "llm_call",
            "llm_call",
            "sent_reply",
        ]
        assert page["next_offset"] == 4
        rest = (await c.get("/api/actions", params={"limit": 4, "offset": 4})).json()
        assert len(rest["actions"]) == 2 and rest["next_offset"] is None
        assert page["actions"][0]["metadata"] == {"decision": "skipped"}

        by_kind = (await c.get("/api/actions", params={"kind": "sent_reply"})).json()["actions"]
        assert len(by_kind) == 3
        assert by_kind[0]["guild_id"] == str(GUILD)
        assert by_kind[0]["message_id"] == str(2**62)  # exact: no float rounding
        by_channel = (
            await c.get("/api/actions", params={"channel_id": str(OTHER_CHANNEL)})
        ).json()["actions"]
        assert {a["kind"] for a in by_channel} == {"llm_call"}
        by_guild = (await c.get("/api/actions", params={"guild_id": str(GUILD)})).json()
        assert len(by_guild["actions"]) == 5
        future = to_iso(datetime.now(UTC) + timedelta(days=1))
        assert (await c.get("/api/actions", params={"since": future})).json()["actions"] == []


async def test_bad_action_queries_say_what_was_wrong(dash: Dash) -> None:
    async with dash.client() as c:
        cases = {
            "limit=0": "'limit' must be in 1..1000, got 0",
            "limit=abc": "'limit' must be an integer, got 'abc'",
            "offset=-1": "'offset' must be in 0..1000000000, got -1",
            "guild_id=12x": "query parameter 'guild_id' must be a Discord id",
            "kind=Not-A-Kind": "is not an action kind",
            "since=yesterday": "must be an ISO 8601 timestamp with a timezone",
        }
        for query, message in cases.items():
            r = await c.get(f"/api/actions?{query}")
            assert r.status_code == 400, query
            assert message in r.json()["error"], (query, r.json())


async def test_settings_read_validate_and_compare_and_swap(dash: Dash) -> None:
    async with dash.client() as c:
        first = (await c.get("/api/settings")).json()
        assert first["version"] == 0
        assert first["document"]["identity"]["bot_name"] == "clanker"
        assert first["schema"]["$defs"]["Identity"]["properties"]["bot_name"]["maxLength"] == 32

        bad = await c.put(
            "/api/settings",
            json={
                "expected_version": 0,
                "patch": {
                    "identity": {"bot_name": ""},
                    "activity": {"reply_eagerness": 101, "min_seconds_between_messages": "5"},
                    "reply_generation": {"provider": "nobody"},
                    "permissions": {"blocked_user_ids": ["123", "abc"], "surprise": 1},
                },
            },
        )
        assert bad.status_code == 422
        errors = {e["path"]: e["message"] for e in bad.json()["errors"]}
        assert errors == {
            "identity.bot_name": "must not be empty",
            "activity.reply_eagerness": "must be at most 100, got 101",
            "activity.min_seconds_between_messages": "must be a number, got a string",
            "permissions.blocked_user_ids[1]": "must match the pattern ^[0-9]{1,20}$",
            "permissions.surprise": "is not a known setting (known here: allow_replies, "
            "blocked_user_ids, max_messages_per_hour)",
            "reply_generation.provider": "must be one of 'anthropic', 'openai', 'xai'",
        }
        assert bad.json()["error"] == "6 invalid settings; nothing was saved"
        assert (await c.get("/api/settings")).json()["version"] == 0

        saved = await c.put(
            "/api/settings",
            json={"expected_version": 0, "patch": {"identity": {"bot_name": "Clanky"}}},
        )
        assert saved.status_code == 200 and saved.json()["version"] == 1
        assert saved.json()["document"]["identity"]["bot_name"] == "Clanky"
        assert saved.json()["document"]["activity"]["reply_eagerness"] == 20

        stale = await c.put(
            "/api/settings",
            json={"expected_version": 0, "patch": {"activity": {"reply_eagerness": 50}}},
        )
        assert stale.status_code == 409
        body = stale.json()
        assert "changed since version 0 (now version 1)" in body["error"]
        assert body["current"]["version"] == 1
        assert body["current"]["document"]["identity"]["bot_name"] == "Clanky"

        # null in a merge patch resets a field to its default
        reset = await c.put(
            "/api/settings",
            json={"expected_version": 1, "patch": {"identity": {"bot_name": None}}},
        )
        assert reset.json()["version"] == 2
        assert reset.json()["document"]["identity"]["bot_name"] == "clanker"


async def test_settings_writes_race_and_exactly_one_wins(dash: Dash) -> None:
    results: list[int] = []

    async def write(name: str) -> None:
        async with dash.client() as c:
            r = await c.put(
                "/api/settings",
                json={"expected_version": 0, "patch": {"identity": {"bot_name": name}}},
            )
            results.append(r.status_code)

    async with trio.open_nursery() as nursery:
        for i in range(5):
            nursery.start_soon(write, f"writer{i}")
    assert sorted(results) == [200, 409, 409, 409, 409]


async def test_bad_request_bodies_get_a_4xx_naming_the_problem(dash: Dash) -> None:
    async with dash.client() as c:
        not_json = await c.put(
            "/api/settings", content=b"{nope", headers={"Content-Type": "application/json"}
        )
        assert not_json.status_code == 400
        assert "not valid JSON" in not_json.json()["error"]
        wrong_type = await c.put("/api/settings", json={"expected_version": "1", "patch": {}})
        assert wrong_type.status_code == 400
        assert wrong_type.json()["error"] == (
            "invalid request body: Expected `int`, got `str` - at `$.expected_version`"
        )
        missing = await c.put("/api/settings", json={"patch": {}})
        assert "missing required field `expected_version`" in missing.json()["error"]
        form = await c.put("/api/settings", data={"expected_version": "0"})
        assert form.status_code == 415
        assert "Content-Type: application/json" in form.json()["error"]
        huge = await c.put(
            "/api/settings",
            json={"expected_version": 0, "patch": {"x": "a" * 70_000}},
        )
        assert huge.status_code == 413
        assert "larger than 65536 bytes" in huge.json()["error"]
        negative = await c.put("/api/settings", json={"expected_version": -1, "patch": {}})
        assert negative.status_code == 400
        unknown = await c.get("/api/nothing/here")
        assert unknown.status_code == 404
        assert unknown.json()["error"] == "no such endpoint: GET /api/nothing/here"
        wrong_method = await c.delete("/api/settings")
        assert wrong_method.status_code == 405
        assert "DELETE is not allowed on /api/settings; use " in wrong_method.json()["error"]
        unknown_post = await c.post("/api/nothing", json={})
        assert unknown_post.status_code == 404
        assert unknown_post.json()["error"] == "no such endpoint: POST /api/nothing"
        no_sandbox = await c.get("/api/sandbox")
        assert no_sandbox.status_code == 404 and "not in sandbox mode" in no_sandbox.json()["error"]
        bad_guild = await c.get("/api/guilds/abc/channels")
        assert bad_guild.status_code == 400
        assert "the guild id in the path must be a Discord id" in bad_guild.json()["error"]
        assert (await c.get("/api/guilds")).json() == []
        assert (await c.get("/api/guilds/123/channels")).status_code == 404


async def test_costs_per_day_and_per_model(dash: Dash) -> None:
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    today, yesterday = now, now - timedelta(days=1)
    calls = [
        (today, "anthropic", "claude-sonnet-4-6", 0.25, 1000, 100),
        (today, "anthropic", "claude-sonnet-4-6", 0.25, 1000, 100),
        (today, "openai", "gpt-5-mini", 0.5, 10, 1),
        (yesterday, "openai", "gpt-5-mini", 0.125, 20, 2),
        (now - timedelta(days=30), "openai", "gpt-5-mini", 9.0, 1, 1),  # outside 14 days
    ]
    for at, provider, model, cost, tin, tout in calls:
        meta = {"provider": provider, "model": model, "input_tokens": tin, "output_tokens": tout}
        await dash.store().log_action(
            LogAction(kind="llm_call", metadata=to_json(meta), usd_cost=cost, created_at=to_iso(at))
        )
    await dash.store().log_action(LogAction(kind="sent_reply", created_at=to_iso(today)))
    async with dash.client() as c:
        summary = (await c.get("/api/costs")).json()
        week = (await c.get("/api/costs", params={"days": 7})).json()
        bad = await c.get("/api/costs", params={"days": 0})
    assert bad.status_code == 400
    assert len(summary["days"]) == 14 and len(week["days"]) == 7
    assert summary["days"][-1]["day"] == today.date().isoformat()
    last, before = summary["days"][-1], summary["days"][-2]
    assert (last["usd_cost"], last["calls"], last["input_tokens"]) == (1.0, 3, 2010)
    assert [(m["model"], m["usd_cost"]) for m in last["models"]] == [
        ("claude-sonnet-4-6", 0.5),
        ("gpt-5-mini", 0.5),
    ]
    assert (before["usd_cost"], before["calls"]) == (0.125, 1)
    assert sum(d["usd_cost"] for d in summary["days"][:-2]) == 0
    assert [(m["provider"], m["model"], m["calls"], m["usd_cost"]) for m in summary["models"]] == [
        ("openai", "gpt-5-mini", 2, 0.625),
        ("anthropic", "claude-sonnet-4-6", 2, 0.5),
    ]
    assert summary["kinds"] == [
        {"kind": "llm_call", "count": 4, "usd_cost": 1.125},
        {"kind": "sent_reply", "count": 1, "usd_cost": 0},
    ]
    assert summary["total_usd"] == 1.125


async def test_operator_crash_restarts_any_actor_that_crashes(dash: Dash) -> None:
    async with dash.client() as c, dash.rt.events.subscribe() as events:
        r = await c.post("/api/actors/crash", json={"path": "root/worker"})
        assert r.status_code == 202
        assert "OperatorRequestedCrash" in r.json()["error"]
        with trio.fail_after(30):
            async for event in events:
                if isinstance(event, ev.ActorRestarted) and event.path == "root/worker":
                    break
        node = dash.rt.snapshot().find("root/worker")
        assert node is not None and node.restarts == 1 and node.status == "running"
        refused = await c.post("/api/actors/crash", json={"path": "root/stubborn"})
        assert refused.status_code == 409
        assert "handled the crash request without crashing" in refused.json()["error"]
        sup = await c.post("/api/actors/crash", json={"path": "root"})
        assert sup.status_code == 404 and "is a supervisor" in sup.json()["error"]
        missing = await c.post("/api/actors/crash", json={"path": "root/ghost"})
        assert missing.status_code == 404 and "has no child 'ghost'" in missing.json()["error"]
    assert dash.rt.snapshot().find("root/stubborn").restarts == 0  # type: ignore[union-attr]


async def test_a_taken_port_leaves_the_dashboard_idle_not_crashing(tmp_path: Path) -> None:
    taken = trio.socket.socket()
    await taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    announced: list[str] = []
    config = DashboardConfig(port=port, graceful_timeout=5.0)
    spec, _ = make_tree(tmp_path / "clanker.db", config, {}, announced)
    with taken:
        async with open_runtime(spec) as rt:
            address = await rt.lookup("dashboard").ask(GetAddress(), DashboardAddress)
            assert address.url == ""
            assert address.error is not None
            assert f"cannot listen on 127.0.0.1:{port}" in address.error
            node = rt.snapshot().find("root/dashboard")
            assert node is not None and (node.status, node.restarts) == ("running", 0)
            # The rest of the tree is unaffected.
            assert await rt.lookup("worker").ask(Echo(text="hi"), Echo) == Echo(text="hi")
    assert announced == []


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 (cert file, key file)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "clanker test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certfile, keyfile


async def test_the_dashboard_serves_https_itself_with_secure_cookies(tmp_path: Path) -> None:
    import ssl

    import httpx

    certfile, keyfile = self_signed(tmp_path)
    config = DashboardConfig(port=0, certfile=certfile, keyfile=keyfile, graceful_timeout=5.0)
    spec, parts = make_tree(tmp_path / "c.db", config, {}, [])
    async with open_runtime(spec) as rt:
        address = await rt.lookup("dashboard").ask(GetAddress(), DashboardAddress)
        assert address.url.startswith("https://127.0.0.1:"), address.url
        trusted = ssl.create_default_context(cafile=str(certfile))
        async with httpx.AsyncClient(base_url=address.url, verify=trusted, timeout=30) as c:
            r = await c.post("/api/auth/session", json={"token": parts.token})
            assert r.status_code == 200
            cookie = r.headers["set-cookie"]
            assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
            assert (await c.get("/api/health")).status_code == 200
        # Plain HTTP to the same port gets no dashboard, and a client that does not trust the
        # certificate refuses it.
        plain = address.url.replace("https://", "http://")
        async with httpx.AsyncClient(timeout=30) as c:
            try:
                answered = await c.get(plain + "/api/health")
            except httpx.HTTPError:
                pass  # the TLS server drops a plain request: what it should do
            else:
                assert answered.status_code != 200, "the dashboard answered over plain HTTP"
            with pytest.raises(httpx.ConnectError):
                await c.get(address.url + "/api/health")
