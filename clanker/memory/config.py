"""`MemoryConfig`: what the memory service is built with."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from clanker.memory.choice import EmbeddingChoice, build_embedder
from clanker.memory.embedder import Embedder
from clanker.store.wallclock import calendar_now


@dataclass
class MemoryConfig:
    """Who to ask, with what embedder, and the clock the policy reads (Unix seconds).

    ``embedder`` is the local one (``memory.embedding.provider`` ``local``, and what the
    service uses until the settings say otherwise). ``settings`` names the settings actor the
    service follows for ``memory.embedding`` (None: none; ``embedder`` stays); ``env`` is where
    keys come from (None: the process's environment, read at each change) and ``build`` makes
    the embedder a choice names (`clanker.memory.choice.build_embedder`).
    """

    embedder: Embedder
    store: str = "store"
    timeout: float = 10.0
    now: Callable[[], float] = field(default=lambda: calendar_now().timestamp())
    reembed_every: float | None = 60.0  # trio seconds between background EmbedPending passes
    # Embed one text in the background once the embedder is known, so a lazily loaded local
    # model is ready before the first recall (whose reply waits at most 1.5 s for it). Only a
    # restart's first start loads; a cloud embedder is not warmed.
    warm_up: bool = False
    settings: str | None = "settings"
    env: Mapping[str, str] | None = None
    build: Callable[[EmbeddingChoice, Embedder], Embedder] = build_embedder
