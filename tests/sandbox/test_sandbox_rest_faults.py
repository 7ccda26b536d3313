"""REST fault injection makes discord.py-self fail or retry exactly as it would against Discord."""

from __future__ import annotations

import discord
import httpx
import pytest
import trio

from clanker.sandbox import demo_world, open_sandbox

SEND = "POST /channels/{channel_id}/messages"


def _attempts(sandbox):
    return [call.status for call in sandbox.rest_calls if call.route == SEND]


async def _general(client, sandbox):
    return client.get_channel(sandbox.world.channel_named("general").id)


async def test_500_raises_discord_server_error_without_retry(connect, sandbox, call_aio):
    async with connect() as client:
        channel = await _general(client, sandbox)
        sandbox.fail_route(SEND, 500)
        with pytest.raises(discord.DiscordServerError) as raised:
            await call_aio(channel.send, "doomed")
        assert raised.value.status == 500
        assert sandbox.bot_messages() == []
        await call_aio(channel.send, "fine now")
    assert _attempts(sandbox) == [500, 200]
    assert [m.content for m in sandbox.bot_messages()] == ["fine now"]


async def test_502_is_retried_after_a_backoff(connect, sandbox, call_aio):
    async with connect() as client:
        channel = await _general(client, sandbox)
        sandbox.fail_route(SEND, 502)
        start = trio.current_time()
        await call_aio(channel.send, "eventually")
        # discord.py sleeps 1 + 2 * attempt seconds after a 502 (1 s after the first).
        assert trio.current_time() - start >= 1
    assert _attempts(sandbox) == [502, 200]
    assert [m.content for m in sandbox.bot_messages()] == ["eventually"]


async def test_error_after_retries_raises_discord_server_error(connect, sandbox, call_aio):
    async with connect() as client:
        channel = await _general(client, sandbox)
        # Rules are consumed in order: one 502 (retried), then a 500 (not retried).
        sandbox.fail_route(SEND, 502)
        sandbox.fail_route(SEND, 500)
        with pytest.raises(discord.DiscordServerError) as raised:
            await call_aio(channel.send, "never")
        assert raised.value.status == 500
    assert _attempts(sandbox) == [502, 500]
    assert sandbox.bot_messages() == []


async def test_429_retry_after_is_honoured(connect, sandbox, call_aio):
    async with connect() as client:
        channel = await _general(client, sandbox)
        sandbox.fail_route(SEND, 429, retry_after=0.75)
        start = trio.current_time()
        await call_aio(channel.send, "patiently")
        assert trio.current_time() - start >= 0.75
    assert _attempts(sandbox) == [429, 200]


@pytest.mark.parametrize(
    ("status", "error"),
    [(403, discord.Forbidden), (404, discord.NotFound), (400, discord.HTTPException)],
)
async def test_client_errors_map_to_discord_exceptions(connect, sandbox, call_aio, status, error):
    async with connect() as client:
        channel = await _general(client, sandbox)
        sandbox.fail_route(SEND, status)
        with pytest.raises(error) as raised:
            await call_aio(channel.send, "nope")
        assert raised.value.status == status
    assert _attempts(sandbox) == [status]


async def test_delayed_route_answers_late(connect, sandbox, call_aio):
    async with connect() as client:
        channel = await _general(client, sandbox)
        sandbox.delay_route(SEND, 0.75, times=1)
        start = trio.current_time()
        await call_aio(channel.send, "slow")
        assert trio.current_time() - start >= 0.75
    assert [m.content for m in sandbox.bot_messages()] == ["slow"]


async def test_wrong_token_fails_login(connect, sandbox):
    with pytest.raises(ExceptionGroup) as raised:
        async with connect(token="not-the-token"):
            pass  # pragma: no cover - login must fail before the block runs
    assert raised.group_contains(discord.LoginFailure)
    assert [call.status for call in sandbox.rest_calls] == [401]


async def test_fault_on_unknown_route_name_is_rejected_with_the_route_list(sandbox):
    with pytest.raises(
        ValueError, match=r"(?s)unknown sandbox REST route 'POST /channel/x'.*GET /users/@me"
    ):
        sandbox.fail_route("POST /channel/x", 500)


async def test_unknown_routes_answer_discord_404_and_are_recorded():
    async with open_sandbox(demo_world()) as sb:
        headers = {"Authorization": sb.token}
        async with httpx.AsyncClient(base_url=sb.rest_url, timeout=None) as http:
            missing = await http.get("/api/v9/guilds/1/roles", headers=headers)
            wrong_method = await http.put("/api/v9/users/@me", headers=headers)
            known = await http.get("/api/v9/users/@me", headers=headers)
        assert missing.status_code == 404 and wrong_method.status_code == 404
        assert missing.json() == {"message": "404: Not Found", "code": 0}
        assert missing.headers["content-type"] == "application/json"
        assert known.headers["content-type"] == "application/json"
        assert [(c.method, c.path) for c in sb.unknown_routes] == [
            ("GET", "/api/v9/guilds/1/roles"),
            ("PUT", "/api/v9/users/@me"),
        ]
