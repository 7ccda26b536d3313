"""clanker.discord.offline: pointing discord.py-self elsewhere, and back."""

from __future__ import annotations

import discord.utils
import pytest
import trio
import trio_asyncio
import trio_asyncio._base
from discord.gateway import DiscordWebSocket
from discord.http import Route

from clanker.discord.offline import apply_offline_patches, is_discord_url, static_headers

DISCORD_REST, DISCORD_GATEWAY = "https://discord.com", "wss://gateway.discord.gg/"


@pytest.fixture
def restore_discord_defaults():
    yield
    apply_offline_patches(rest_url=DISCORD_REST, gateway_url=DISCORD_GATEWAY)


def test_patches_point_the_library_at_the_given_urls(restore_discord_defaults):
    assert apply_offline_patches(
        rest_url="http://127.0.0.1:1234/", gateway_url="ws://127.0.0.1:5678/"
    )
    assert Route.BASE == "http://127.0.0.1:1234/api/v9"
    assert Route("GET", "/users/@me").url == "http://127.0.0.1:1234/api/v9/users/@me"
    assert str(DiscordWebSocket.DEFAULT_GATEWAY) == "ws://127.0.0.1:5678/"
    # Idempotent, and re-pointable (each test's sandbox has its own ports).
    assert apply_offline_patches(
        rest_url="http://127.0.0.1:1234", gateway_url="ws://127.0.0.1:5678/"
    )
    assert Route.BASE == "http://127.0.0.1:1234/api/v9"
    apply_offline_patches(rest_url="http://localhost:9", gateway_url="ws://localhost:10/")
    assert Route.BASE == "http://localhost:9/api/v9"


def test_discord_urls_leave_or_restore_the_defaults(restore_discord_defaults):
    original_default = discord.utils.Headers.__dict__["default"]
    apply_offline_patches(rest_url="http://127.0.0.1:1", gateway_url="ws://127.0.0.1:2/")
    assert discord.utils.Headers.__dict__["default"] is not original_default
    assert apply_offline_patches(rest_url=DISCORD_REST, gateway_url=DISCORD_GATEWAY) is False
    assert Route.BASE == "https://discord.com/api/v9"
    assert str(DiscordWebSocket.DEFAULT_GATEWAY) == DISCORD_GATEWAY
    assert discord.utils.Headers.__dict__["default"] is original_default


def test_mixed_or_malformed_urls_are_rejected():
    with pytest.raises(ValueError, match="must both be Discord's or both point elsewhere"):
        apply_offline_patches(rest_url=DISCORD_REST, gateway_url="ws://127.0.0.1:2/")
    with pytest.raises(
        ValueError, match=r"gateway_url 'http://127.0.0.1:2/' must use one of the schemes ws, wss"
    ):
        apply_offline_patches(rest_url="http://127.0.0.1:1", gateway_url="http://127.0.0.1:2/")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://discord.com/api", True),
        ("wss://gateway.discord.gg/", True),
        ("https://canary.discord.com", True),
        ("http://127.0.0.1:80", False),
        ("https://notdiscord.com", False),
    ],
)
def test_is_discord_url(url, expected):
    assert is_discord_url(url) is expected


async def test_static_headers_need_no_network(restore_discord_defaults):
    apply_offline_patches(rest_url="http://127.0.0.1:1", gateway_url="ws://127.0.0.1:2/")
    headers = static_headers()
    assert (
        headers.super_properties["client_build_number"]
        == discord.utils.Headers.FALLBACK_BUILD_NUMBER
    )
    assert headers.user_agent.startswith("Mozilla/5.0")
    assert headers.gateway_properties["gateway_connect_reasons"] == "AppSkeleton"
    async with trio_asyncio.open_loop():
        fetched = await trio_asyncio.aio_as_trio(discord.utils.Headers.default)(None)
    assert fetched.super_properties == headers.super_properties


async def test_negative_timer_delays_are_clamped():
    apply_offline_patches(rest_url=DISCORD_REST, gateway_url=DISCORD_GATEWAY)
    clamped = trio_asyncio._base.BaseTrioEventLoop.call_later
    apply_offline_patches(rest_url=DISCORD_REST, gateway_url=DISCORD_GATEWAY)
    assert trio_asyncio._base.BaseTrioEventLoop.call_later is clamped  # installed once
    fired = trio.Event()
    async with trio_asyncio.open_loop() as loop:
        # curl_cffi asks for call_later(-0.001) to mean "now"; unpatched, this asserts.
        loop.call_later(-0.001, fired.set)
        with trio.fail_after(5):
            await fired.wait()
