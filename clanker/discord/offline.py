"""Point discord.py-self 2.1.0 at a Discord other than discord.com, such as the sandbox.

Three class attributes decide where the library goes (python-stack notes 3a):

1. `discord.http.Route.BASE`: every REST URL.
2. `discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`: the first gateway URL (2.1.0 never calls
   `GET /gateway`; after READY it uses READY's `resume_gateway_url`).
3. `discord.utils.Headers.default`: on the first request it fetches client properties from
   cordapi.dolfi.es, discord.com and googleapis.com before falling back to built-in values.
   Offline that waits on DNS or timeouts, so it is replaced by a function returning those
   fallback values directly.

Separately, trio-asyncio's `call_later` asserts `delay >= 0` while curl_cffi (the library's HTTP
client) schedules `call_later(-0.001)` to mean "now"; the assertion is swallowed inside a cffi
callback and the first request hangs forever (notes 3c). The clamp applies everywhere, not only
offline, because production runs discord.py-self under trio-asyncio too.
"""

from __future__ import annotations

import logging
import uuid
from base64 import b64encode
from typing import Any
from urllib.parse import urlsplit

import discord.utils
import trio_asyncio._base
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import INTERNAL_API_VERSION, Route

_log = logging.getLogger(__name__)

DISCORD_DOMAINS = ("discord.com", "discord.gg", "discordapp.com")

# Captured at import, before any patch, so pointing back at discord.com restores them.
_ORIGINAL_ROUTE_BASE: str = Route.BASE
_ORIGINAL_GATEWAY: yarl.URL = DiscordWebSocket.DEFAULT_GATEWAY
_ORIGINAL_HEADERS_DEFAULT: Any = discord.utils.Headers.__dict__["default"]

# Fixed ids in the super-properties keep offline runs reproducible.
_LAUNCH_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "clanker/offline/client_launch_id"))
_HEARTBEAT_SESSION_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "clanker/offline/heartbeat_session"))


def is_discord_url(url: str) -> bool:
    """Whether `url` points at Discord's own servers."""
    host = urlsplit(url).hostname or ""
    return any(host == domain or host.endswith("." + domain) for domain in DISCORD_DOMAINS)


def apply_offline_patches(*, rest_url: str, gateway_url: str) -> bool:
    """Make discord.py-self talk to `rest_url` (an origin like `http://127.0.0.1:8080`; the
    library appends `/api/v9`) and `gateway_url` (e.g. `ws://127.0.0.1:8081/`).

    Given Discord's own URLs it leaves (or puts back) the library's defaults and returns False;
    otherwise it patches and returns True. Safe to call again, with the same or new URLs. Always
    installs the trio-asyncio timer clamp. Call before the client's first request.
    """
    clamp_negative_timer_delays()
    rest_is_discord, gateway_is_discord = is_discord_url(rest_url), is_discord_url(gateway_url)
    if rest_is_discord != gateway_is_discord:
        raise ValueError(
            f"rest_url {rest_url!r} and gateway_url {gateway_url!r} must both be Discord's or "
            "both point elsewhere (e.g. both at the sandbox); mixing them is not supported"
        )
    if rest_is_discord:
        Route.BASE = _ORIGINAL_ROUTE_BASE
        DiscordWebSocket.DEFAULT_GATEWAY = _ORIGINAL_GATEWAY
        discord.utils.Headers.default = _ORIGINAL_HEADERS_DEFAULT  # type: ignore[method-assign]
        return False
    for name, url, schemes in (
        ("rest_url", rest_url, ("http", "https")),
        ("gateway_url", gateway_url, ("ws", "wss")),
    ):
        if urlsplit(url).scheme not in schemes:
            raise ValueError(f"{name} {url!r} must use one of the schemes {', '.join(schemes)}")
    Route.BASE = f"{rest_url.rstrip('/')}/api/v{INTERNAL_API_VERSION}"
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    discord.utils.Headers.default = classmethod(_offline_default_headers)  # type: ignore[method-assign, assignment]
    _log.info("discord.py-self points at %s and %s", Route.BASE, gateway_url)
    return True


def static_headers() -> discord.utils.Headers:
    """The headers `Headers.default` falls back to when it cannot reach the internet."""
    headers_cls = discord.utils.Headers
    version = headers_cls.FALLBACK_BROWSER_VERSION
    properties = {
        "os": "Windows",
        "browser": "Chrome",
        "device": "",
        "system_locale": "en-US",
        "browser_user_agent": headers_cls._get_user_agent(version),
        "browser_version": f"{version}.0.0.0",
        "os_version": "10",
        "referrer": "",
        "referring_domain": "",
        "referrer_current": "",
        "referring_domain_current": "",
        "release_channel": "stable",
        "client_build_number": headers_cls.FALLBACK_BUILD_NUMBER,
        "client_event_source": None,
        "has_client_mods": False,
        "client_launch_id": _LAUNCH_ID,
        "client_app_state": "unfocused",
        "client_heartbeat_session_id": _HEARTBEAT_SESSION_ID,
    }
    encoded = b64encode(discord.utils._to_json(properties).encode()).decode()
    return headers_cls(
        platform="Windows",
        major_version=version,
        super_properties=properties,
        encoded_super_properties=encoded,
        extra_gateway_properties={
            "is_fast_connect": False,
            "latest_headless_tasks": [],
            "latest_headless_task_run_seconds_before": None,
            "gateway_connect_reasons": "AppSkeleton",
        },
    )


async def _offline_default_headers(cls: Any, session: Any, *args: Any, **kwargs: Any) -> Any:
    return static_headers()


def clamp_negative_timer_delays() -> None:
    """Make trio-asyncio's `call_later` accept negative delays as "now", like asyncio does."""
    loop_cls = trio_asyncio._base.BaseTrioEventLoop
    if getattr(loop_cls.call_later, "_clanker_clamped", False):
        return
    original = loop_cls.call_later

    def call_later(self: Any, delay: float, callback: Any, *args: Any, **kwargs: Any) -> Any:
        return original(self, max(0.0, delay), callback, *args, **kwargs)

    call_later._clanker_clamped = True  # type: ignore[attr-defined]
    loop_cls.call_later = call_later
