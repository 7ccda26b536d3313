"""Image links in message text are fetched through the SSRF guard and re-encoded.

A local web server stands in for a public image host, reached through the guard's
test-only host map (the address check still applies to every other name and to redirects).
Real sockets, real clock.
"""

from __future__ import annotations

from typing import cast

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
