"""Image links in message text are fetched through the SSRF guard and re-encoded.

A local web server stands in for a public image host, reached through the guard's
test-only host map (the address check still applies to every other name and to redirects).
Real sockets, real clock.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
import trio

from clanker.runtime import ActorRef
from clanker.tools.fetch import GuardedFetcher
from clanker.toolsims import Page, open_site
from clanker.vision.encode import ImageLimits
from clanker.vision.load import image_parts, load_images
from clanker.vision.refs import ImageRef
from tests.vision.images import close, encoded, pattern, quadrant_colours

NO_BRIDGE = cast(ActorRef, None)  # links never use the bridge


def link(url: str) -> ImageRef:
    return ImageRef(source="link", url=url, message_id=1, channel_id=2, author_name="bob")


async def test_a_public_image_link_is_fetched_and_re_encoded() -> None:
    async with open_site() as site:
        site.pages["/cat.png"] = Page(encoded(pattern(120, 80)), content_type="image/png")
        site.pages["/page.png"] = Page(b"<html></html>", content_type="text/html")
        fetcher = GuardedFetcher(testing_only_hosts={"images.test": "127.0.0.1"})
        base = f"http://images.test:{site.port}"
        loaded = await load_images(
            [link(f"{base}/cat.png"), link(f"{base}/page.png"), link(f"{site.url}/cat.png")],
            bridge=NO_BRIDGE,
            fetcher=fetcher,
            limits=ImageLimits(),
        )
    good, html, loopback = loaded
    assert good.image is not None and (good.image.width, good.image.height) == (120, 80)
    assert all(
        close(a, b)
        for a, b in zip(
            quadrant_colours(good.image.data),
            ((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)),
            strict=True,
        )
    )
    assert html.image is None and html.problem is not None
    assert html.problem.startswith("could not be fetched") and "text/html" in html.problem
    # The loopback address itself is refused by the guard, test host map or not.
    assert loopback.image is None and loopback.problem is not None
    assert loopback.problem.startswith("could not be fetched")
    parts = image_parts(loaded)
    assert len(parts) == 5  # heading, "Image 1" + image, then one line per failure


async def test_an_image_link_in_a_message_reaches_the_model(tmp_path: Path) -> None:
    from clanker.cli.sandbox import open_sandbox_app
    from clanker.llm import LlmConfig
    from clanker.llmsim import JsonReply, open_llmsim
    from clanker.tools import WebToolsConfig
    from tests.guilds.test_conversation import FAST, TIMEOUT, configure
    from tests.vision.test_e2e_images import images_in, provider, replies

    async with open_site() as site, open_llmsim() as sim:
        site.pages["/cat.png"] = Page(encoded(pattern(90, 60)), content_type="image/png")
        sim.script(JsonReply({"text": "four colours", "skip": False, "reaction": None}))
        fetcher = GuardedFetcher(testing_only_hosts={"images.test": "127.0.0.1"})
        llm = LlmConfig(providers=(provider(sim, "openai"),))
        async with open_sandbox_app(
            tmp_path / "c.db", llm=llm, web_tools=WebToolsConfig(), web_fetcher=fetcher
        ) as app:
            sb, rt = app.sandbox, app.runtime
            await configure(rt, FAST)
            alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
            url = f"http://images.test:{site.port}/cat.png"
            sb.post_message(alice, general, f"<@{sb.world.bot.id}> what is {url} ?")
            with trio.fail_after(TIMEOUT):
                await sb.next_bot_message(general)
            [request] = replies(sim)
            [(_, data)] = images_in(request.body)  # Responses input_image, a data URL
            assert quadrant_colours(data)[2] == pytest.approx((0, 0, 255), abs=24)
            assert "Image 1: cat.png from Alice" in request.user_text
            assert [r.target for r in site.requests] == ["/cat.png"]
            assert site.requests[0].headers.get("host") == f"images.test:{site.port}"
