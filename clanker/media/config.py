"""Media's configuration: the GIPHY, OpenAI and xAI keys, base URLs, time limits and prices.

Keys are secrets: they never appear in a repr. What is offered and the budgets are the live
``media.*`` settings (docs/settings.md); this is what the environment gives (docs/tools.md,
"Media", lists every variable).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from clanker.tools.fetch import FetchLimits

__all__ = [
    "GIPHY_BASE_URL",
    "IMAGE_USD",
    "OPENAI_IMAGES_BASE_URL",
    "XAI_IMAGES_BASE_URL",
    "MediaConfig",
]

GIPHY_BASE_URL = "https://api.giphy.com"
OPENAI_IMAGES_BASE_URL = "https://api.openai.com/v1"
XAI_IMAGES_BASE_URL = "https://api.x.ai/v1"

IMAGE_USD: Mapping[str, float] = {
    # One 1024x1024 image at quality "medium" (what clanker asks OpenAI for), list prices as
    # checked in December 2026: gpt-image-1.5 $0.034, gpt-image-1 $0.042, gpt-image-1-mini $0.011.
    "gpt-image-1.5": 0.034,
    "gpt-image-1": 0.042,
    "gpt-image-1-mini": 0.011,
    # xAI bills per image: grok-imagine-image $0.02, grok-2-image $0.07.
    "grok-imagine-image": 0.02,
    "grok-2-image": 0.07,
}
UNKNOWN_IMAGE_USD = 0.2  # a model not in the table: logged at the dearest OpenAI square price


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"${name} must be a number, got {raw!r}") from None
    if not value > 0:
        raise ValueError(f"${name} must be > 0, got {raw!r}")
    return value


@dataclass(frozen=True)
class MediaConfig:
    """Where GIFs and images come from.

    * ``giphy_api_key``: GIPHY's key (None: no GIFs); ``giphy_base_url`` its origin.
    * ``openai_api_key`` / ``xai_api_key``: image providers' keys (None: that provider is not
      used); ``openai_base_url`` / ``xai_base_url`` their API roots (with ``/v1``).
    * ``gif_timeout``: seconds one GIPHY search may take; ``image_timeout`` one generation.
    * ``fetch``: the SSRF guard's limits for GIPHY's answers.
    * ``image_usd``: what one image costs per model (logged as the call's cost);
      ``gif_usd``: GIPHY's API is free.
    """

    giphy_api_key: str | None = None
    giphy_base_url: str = GIPHY_BASE_URL
    openai_api_key: str | None = None
    openai_base_url: str = OPENAI_IMAGES_BASE_URL
    xai_api_key: str | None = None
    xai_base_url: str = XAI_IMAGES_BASE_URL
    gif_timeout: float = 8.0
    image_timeout: float = 120.0
    fetch: FetchLimits = field(default_factory=FetchLimits)
    image_usd: Mapping[str, float] = field(default_factory=lambda: dict(IMAGE_USD))
    gif_usd: float = 0.0

    @property
    def gif_ready(self) -> bool:
        """Whether GIFs can be searched (a GIPHY key is set)."""
        return bool(self.giphy_api_key)

    @property
    def image_providers(self) -> frozenset[str]:
        """The image providers with a key: ``openai``, ``xai``."""
        found = set()
        if self.openai_api_key:
            found.add("openai")
        if self.xai_api_key:
            found.add("xai")
        return frozenset(found)

    def image_cost(self, model: str) -> float:
        """What one image of ``model`` costs (USD)."""
        return self.image_usd.get(model, UNKNOWN_IMAGE_USD)

    def __repr__(self) -> str:
        def mark(key: str | None) -> str | None:
            return "<set>" if key else None

        return (
            f"MediaConfig(giphy_api_key={mark(self.giphy_api_key)}, "
            f"giphy_base_url={self.giphy_base_url!r}, "
            f"openai_api_key={mark(self.openai_api_key)}, "
            f"openai_base_url={self.openai_base_url!r}, "
            f"xai_api_key={mark(self.xai_api_key)}, xai_base_url={self.xai_base_url!r})"
        )

    __str__ = __repr__

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MediaConfig:
        """The configuration from the environment (docs/tools.md, "Media")."""
        env = os.environ if environ is None else environ
        return cls(
            giphy_api_key=env.get("GIPHY_API_KEY") or None,
            giphy_base_url=env.get("CLANKER_GIPHY_BASE_URL") or GIPHY_BASE_URL,
            openai_api_key=env.get("OPENAI_API_KEY") or None,
            openai_base_url=env.get("CLANKER_OPENAI_IMAGES_BASE_URL") or OPENAI_IMAGES_BASE_URL,
            xai_api_key=env.get("XAI_API_KEY") or None,
            xai_base_url=env.get("CLANKER_XAI_IMAGES_BASE_URL") or XAI_IMAGES_BASE_URL,
            gif_timeout=_number(env, "CLANKER_GIF_TIMEOUT", 8.0),
            image_timeout=_number(env, "CLANKER_IMAGE_TIMEOUT", 120.0),
        )
