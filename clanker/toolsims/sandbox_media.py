"""The sandbox's own GIF search and image generator, for `clanker sandbox` without media keys.

`open_sandbox_media(base)` starts what ``base`` has no key for: the GIPHY sim (with a key of
its own; its GIF links name ``media.giphy.sandbox.test``) when there is no ``GIPHY_API_KEY``,
and the image sim (OpenAI's and xAI's images APIs) when there is neither ``OPENAI_API_KEY`` nor
``XAI_API_KEY``. It gives the media configuration pointing at them and a guarded fetcher that
reaches the GIPHY sim's host name (``giphy.sandbox.test``) through the test-only escape hatch;
every other URL is vetted by the SSRF guard as in production. Everything is on 127.0.0.1 and
labelled: GIF titles say "(GIPHY sim)", pictures say "image sim", and the sandbox says so at
start.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from clanker.media.config import MediaConfig
from clanker.tools.fetch import GuardedFetcher
from clanker.toolsims.giphy import GiphySim, open_giphy_sim
from clanker.toolsims.images import ImageSim, open_image_sim

__all__ = ["GIPHY_HOST", "GIPHY_MEDIA_HOST", "SandboxMedia", "open_sandbox_media"]

GIPHY_HOST = "giphy.sandbox.test"
GIPHY_MEDIA_HOST = "media.giphy.sandbox.test"
_GIPHY_KEY = "sandbox-giphy-sim-key"
_OPENAI_KEY = "sandbox-image-sim-openai-key"
_XAI_KEY = "sandbox-image-sim-xai-key"


@dataclass(frozen=True)
class SandboxMedia:
    """The running sims (None: the real provider's key is set), and the media configuration
    and fetcher that reach them."""

    giphy: GiphySim | None
    images: ImageSim | None
    config: MediaConfig
    fetcher: GuardedFetcher

    def describe(self) -> str | None:
        """The line the sandbox prints at start (None: no sim is running)."""
        parts = []
        if self.giphy is not None:
            parts.append("GIFs come from the SANDBOX GIPHY SIM (set GIPHY_API_KEY for GIPHY)")
        if self.images is not None:
            parts.append(
                "pictures from the SANDBOX IMAGE SIM (set OPENAI_API_KEY or XAI_API_KEY for real "
                "ones)"
            )
        if not parts:
            return None
        return "media: " + "; ".join(parts) + " — local and offline, labelled as simulated."


@asynccontextmanager
async def open_sandbox_media(base: MediaConfig | None = None) -> AsyncIterator[SandboxMedia]:
    """Run the sims ``base`` has no keys for (its other settings are kept)."""
    config = base or MediaConfig()
    async with AsyncExitStack() as stack:
        giphy = images = None
        hosts: dict[str, str] = {}
        if not config.gif_ready:
            giphy = await stack.enter_async_context(
                open_giphy_sim(api_key=_GIPHY_KEY, media_url=f"http://{GIPHY_MEDIA_HOST}:{{port}}")
            )
            hosts = {GIPHY_HOST: "127.0.0.1", GIPHY_MEDIA_HOST: "127.0.0.1"}
            config = dataclasses.replace(
                config,
                giphy_api_key=_GIPHY_KEY,
                giphy_base_url=f"http://{GIPHY_HOST}:{giphy.port}",
            )
        if not config.image_providers:
            images = await stack.enter_async_context(
                open_image_sim(openai_key=_OPENAI_KEY, xai_key=_XAI_KEY)
            )
            config = dataclasses.replace(
                config,
                openai_api_key=_OPENAI_KEY,
                openai_base_url=images.openai_url,
                xai_api_key=_XAI_KEY,
                xai_base_url=images.xai_url,
                image_usd=dict.fromkeys(config.image_usd, 0.0),
            )
        fetcher = GuardedFetcher(config.fetch, testing_only_hosts=hosts or None)
        yield SandboxMedia(giphy=giphy, images=images, config=config, fetcher=fetcher)
