"""Which embedder the settings ask for (``memory.embedding``), and building it.

`embedding_choice(settings, env)` reduces the settings and the environment to an
`EmbeddingChoice`: equal choices build equal embedders, so the memory service rebuilds only
when something that matters changed (a new persona does not re-make the HTTP client; changing
``memory.embedding.model`` while the provider is ``local`` changes nothing). `build_embedder`
makes it, or raises `EmbeddingConfigError` naming the setting or variable to fix.

Keys come from the environment only, never from the live settings (which the dashboard can
read and write), as for every provider (docs/llm.md, docs/voice-cloud.md):

* ``openai`` — ``OPENAI_API_KEY``, sent to OpenAI's ``https://api.openai.com/v1`` unless
  ``CLANKER_OPENAI_EMBEDDINGS_BASE_URL`` (also from the environment, as whoever sets it decides
  where that key goes) points elsewhere;
* ``openai_compatible`` — the server at the live ``memory.embedding.base_url``, with
  ``CLANKER_EMBEDDINGS_API_KEY`` when it is set (Ollama and most local servers want none; a
  placeholder is sent then). That key goes wherever the setting points: set it only if
  everyone who may change the settings may have it. ``OPENAI_API_KEY`` is never sent there.

Sans-IO: building an embedder makes an HTTP client but sends nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from clanker.settings.model import Settings

if TYPE_CHECKING:
    import httpx2

    from clanker.memory.embedder import Embedder  # trio: only for the types

OPENAI_KEY_ENV = "OPENAI_API_KEY"
OPENAI_BASE_URL_ENV = "CLANKER_OPENAI_EMBEDDINGS_BASE_URL"
COMPATIBLE_KEY_ENV = "CLANKER_EMBEDDINGS_API_KEY"
OPENAI_BASE_URL = "https://api.openai.com/v1"
NO_KEY = "no-key"  # what a compatible server gets without CLANKER_EMBEDDINGS_API_KEY


class EmbeddingConfigError(ValueError):
    """The embedder the settings name cannot be built; the message names what to set."""


@dataclass(frozen=True)
class EmbeddingChoice:
    """What an embedder is built from. ``provider`` ``local`` ignores every other field."""

    provider: str = "local"
    model: str = ""
    base_url: str = ""
    truncate: bool = False
    similarity_floor: float = 0.0
    api_key: str = field(default="", repr=False)  # never in a repr or a log line

    @property
    def label(self) -> str:
        """How people name it: ``local`` or ``openai text-embedding-3-small``."""
        return "local" if self.provider == "local" else f"{self.provider} {self.model}"


LOCAL = EmbeddingChoice()


def embedding_choice(settings: Settings, env: Mapping[str, str] | None = None) -> EmbeddingChoice:
    """The choice ``settings.memory.embedding`` makes with the keys of ``env`` (default: the
    process's environment, read now)."""
    env = os.environ if env is None else env
    chosen = settings.memory.embedding
    if chosen.provider == "local":
        return LOCAL
    if chosen.provider == "openai":
        base_url = env.get(OPENAI_BASE_URL_ENV, "").strip() or OPENAI_BASE_URL
        key = env.get(OPENAI_KEY_ENV, "").strip()
    else:
        base_url = chosen.base_url
        key = env.get(COMPATIBLE_KEY_ENV, "").strip()
    return EmbeddingChoice(
        provider=chosen.provider,
        model=chosen.model,
        base_url=base_url.rstrip("/"),
        truncate=chosen.matryoshka_truncate,
        similarity_floor=chosen.similarity_floor,
        api_key=key,
    )


def build_embedder(
    choice: EmbeddingChoice, local: Embedder, *, transport: httpx2.AsyncBaseTransport | None = None
) -> Embedder:
    """The embedder ``choice`` names (``local`` for the local provider), or
    `EmbeddingConfigError`. ``transport`` replaces the network (tests: the embeddings sim)."""
    if choice.provider == "local":
        return local
    setting = "memory.embedding.provider"
    if choice.provider == "openai":
        if not choice.api_key:
            raise EmbeddingConfigError(
                f"{setting} is 'openai' but ${OPENAI_KEY_ENV} is not set: export the OpenAI "
                f"API key as {OPENAI_KEY_ENV}, or set {setting} back to 'local'"
            )
        key, key_env = choice.api_key, OPENAI_KEY_ENV
    elif choice.provider == "openai_compatible":
        if not choice.base_url:
            raise EmbeddingConfigError(
                f"{setting} is 'openai_compatible' but memory.embedding.base_url is empty: set "
                "it to the server's OpenAI-style base URL (e.g. http://localhost:11434/v1 for "
                "Ollama)"
            )
        key, key_env = choice.api_key or NO_KEY, COMPATIBLE_KEY_ENV
    else:
        raise EmbeddingConfigError(
            f"{setting} must be local, openai or openai_compatible, got {choice.provider!r}"
        )
    if not choice.base_url.startswith(("http://", "https://")):
        where = (
            f"${OPENAI_BASE_URL_ENV}"
            if choice.provider == "openai"
            else "memory.embedding.base_url"
        )
        raise EmbeddingConfigError(f"{where} must be an http(s) URL, got {choice.base_url!r}")
    from clanker.memory.openai_embedder import OpenAiEmbedder

    return OpenAiEmbedder(
        key,
        base_url=choice.base_url,
        model=choice.model,
        provider=choice.provider,
        key_env=key_env,
        similarity_floor=choice.similarity_floor,
        truncate=choice.truncate,
        transport=transport,
    )
