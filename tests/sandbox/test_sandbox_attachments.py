"""Attachments the way Discord has them: a member's image reaches the real client with its
id, size, type and dimensions, and a signed CDN link the sandbox serves until it expires."""

from __future__ import annotations

import discord
import httpx
import pytest

from clanker.sandbox import demo_world
from clanker.sandbox.world import World
from tests.vision.images import png


async def test_member_image_reaches_the_client_with_a_working_cdn_link(connect, sandbox, call_aio):
    world = sandbox.world
    alice, general = world.user_named("alice"), world.channel_named("general")
    data = png(64, 48)
    async with connect() as client:
        posted = sandbox.post_message(alice, general, "look", attachments=[("cat.png", data)])
        await client.wait_until(lambda: len(client.messages()) == 1)
        [got] = client.messages()
        [a] = got.attachments
        [stored] = posted.attachments
        assert (a.id, a.filename, a.size, a.content_type) == (
            stored.id,
            "cat.png",
            len(data),
            "image/png",
        )
        assert (a.width, a.height) == (64, 48)
        assert a.url.startswith(f"{sandbox.rest_url}/attachments/{general.id}/{a.id}/cat.png?ex=")
        assert {"ex", "is", "hm"} <= set(httpx.URL(a.url).params.keys())
        assert await call_aio(a.read) == data
        # The links expire: the old one is gone, a fresh fetch of the message has a new one.
        sandbox.expire_attachment_links()
        with pytest.raises(discord.NotFound):
            await call_aio(a.read)
        channel = client.get_channel(general.id)
        again = await call_aio(channel.fetch_message, posted.id)
        assert again.attachments[0].url != a.url
        assert await call_aio(again.attachments[0].read) == data


async def test_the_cdn_refuses_forged_and_unknown_links() -> None:
    from clanker.sandbox import open_sandbox

    async with open_sandbox(demo_world(), voice=False) as sb:
        alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
        posted = sb.post_message(alice, general, "", attachments=[("a.txt", b"hello")])
        [a] = posted.attachments
        assert (a.content_type, a.width) == ("text/plain", None)
        from clanker.sandbox import payloads

        url = payloads.attachment(sb.world, posted, a)["url"]
        async with httpx.AsyncClient() as http:
            ok = await http.get(url)
            assert (ok.status_code, ok.content, ok.headers["content-type"]) == (
                200,
                b"hello",
                "text/plain",
            )
            forged = await http.get(str(url).replace("hm=", "hm=0"))
            unsigned = await http.get(str(url).split("?")[0])
            renamed = await http.get(str(url).replace("/a.txt?", "/b.txt?"))
            unknown = await http.get(f"{sb.rest_url}/attachments/{general.id}/1/a.txt")
        for response in (forged, unsigned, renamed, unknown):
            assert (response.status_code, response.text) == (
                404,
                "This content is no longer available.",
            )
        # Not REST: no token needed, nothing recorded as an unknown route.
        assert sb.unknown_routes == [] and len(sb.cdn_requests) == 5


def test_links_past_their_expiry_are_gone() -> None:
    from clanker.sandbox import cdn
    from clanker.sandbox.http_server import HttpRequest

    world = World()
    guild = world.add_guild("g")
    channel = world.add_channel(guild.id, "c")
    message = world.create_message(
        channel.id, world.bot.id, "", attachments=[("x.png", "image/png", png(8, 8))]
    )
    [a] = message.attachments
    assert (a.width, a.height) == (8, 8)
    url = cdn.signed_url("", world.cdn_secret, channel.id, a, issued_s=1000)
    path, query = url.split("?")
    params = dict(p.split("=") for p in query.strip("&").split("&"))
    request = HttpRequest("GET", path, params, {})
    find = world.attachments_by_id()
    assert int(params["ex"], 16) == 1000 + cdn.LINK_LIFETIME_SECONDS
    assert cdn.serve(request, secret=world.cdn_secret, find=find, now_s=1000).status == 200
    late = cdn.serve(
        request, secret=world.cdn_secret, find=find, now_s=1000 + cdn.LINK_LIFETIME_SECONDS
    )
    assert late.status == 404
