"""The scripting API and the HTTP layer, driven without discord.py (httpx on the real sockets)."""

from __future__ import annotations

import httpx
import pytest
import trio

from clanker.sandbox import demo_world, open_sandbox
from clanker.sandbox.operations import SandboxPermissionError


@pytest.fixture
async def sb():
    async with open_sandbox(demo_world()) as sandbox:
        yield sandbox


@pytest.fixture
async def http(sb):
    headers = {"Authorization": sb.token}
    async with httpx.AsyncClient(base_url=sb.rest_url, headers=headers, timeout=None) as client:
        yield client


async def test_next_bot_message_returns_each_message_once_per_channel(sb):
    world = sb.world
    general, random_channel = world.channel_named("general"), world.channel_named("random")
    first = sb.ops.post_message(world.bot.id, general.id, "one")
    second = sb.ops.post_message(world.bot.id, random_channel.id, "two")
    assert (await sb.next_bot_message(random_channel)).id == second.id
    assert (await sb.next_bot_message()).id == first.id

    async def post_later():
        await trio.sleep(1)
        sb.ops.post_message(world.bot.id, general.id, "three")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(post_later)
        with trio.fail_after(30):
            assert (await sb.next_bot_message()).content == "three"


async def test_members_cannot_edit_each_others_messages(sb):
    world = sb.world
    message = sb.post_message(world.user_named("alice"), world.channel_named("general"), "mine")
    with pytest.raises(SandboxPermissionError, match="cannot edit message"):
        sb.ops.edit_message(message.id, "yours", editor_id=world.user_named("bob").id)


async def test_h2c_upgrade_is_ignored_and_connections_kept_alive(sb, http):
    # libcurl asks to upgrade body-less requests to HTTP/2; the sandbox stays on HTTP/1.1.
    upgrade = {
        "Connection": "Upgrade, HTTP2-Settings",
        "Upgrade": "h2c",
        "HTTP2-Settings": "AAMAAABkAARAAAAAAAIAAAAA",
    }
    responses = [await http.get("/api/v9/users/@me", headers=upgrade) for _ in range(3)]
    assert [(r.status_code, r.http_version) for r in responses] == [(200, "HTTP/1.1")] * 3
    assert responses[0].json()["username"] == "clanker"


async def test_rest_answers_like_discord(sb, http):
    world = sb.world
    general = world.channel_named("general")
    unauthorized = await http.get("/api/v9/users/@me", headers={"Authorization": "bad"})
    assert (unauthorized.status_code, unauthorized.json()["code"]) == (401, 0)
    empty = await http.post(f"/api/v9/channels/{general.id}/messages", json={"content": ""})
    assert (empty.status_code, empty.json()["code"]) == (400, 50006)
    unknown_channel = await http.post("/api/v9/channels/1/messages", json={"content": "x"})
    assert (unknown_channel.status_code, unknown_channel.json()["code"]) == (404, 10003)
    typing = await http.post(f"/api/v9/channels/{general.id}/typing")
    assert typing.status_code == 204 and "content-type" not in typing.headers
    files = {"files[0]": ("pic.png", b"\x89PNG\r\n\x00", "application/octet-stream")}
    upload = await http.post(
        f"/api/v9/channels/{general.id}/messages",
        data={"payload_json": '{"content": "look"}'},
        files=files,
    )
    assert upload.status_code == 200
    [attachment] = upload.json()["attachments"]
    assert (attachment["filename"], attachment["size"], attachment["content_type"]) == (
        "pic.png",
        7,
        "image/png",
    )
    assert world.message(int(upload.json()["id"])).attachments[0].data == b"\x89PNG\r\n\x00"
    assert [c.status for c in sb.rest_calls] == [401, 400, 404, 204, 200]
    assert sb.unknown_routes == []


async def test_gateway_rejects_unsupported_compression(sb):
    port = int(sb.gateway_url.rsplit(":", 1)[1].strip("/"))
    request = (
        "GET /?v=9&encoding=json&compress=zstd-stream HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        await stream.send_all(request.encode())
        with trio.fail_after(30):
            status_line = (await stream.receive_some(4096)).split(b"\r\n")[0]
    assert status_line == b"HTTP/1.1 400 "
    assert len(sb.gateway.rejected) == 1 and "zstd-stream" in sb.gateway.rejected[0]
