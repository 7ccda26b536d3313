"""LLM configuration: the providers, in fallback order, and the retry knobs.

API keys come from the config or from the environment (``ANTHROPIC_API_KEY``,
``OPENAI_API_KEY``, ``XAI_API_KEY`` by default). A key is never part of a repr, a log line or an
action row: `ProviderConfig` hides it from ``repr`` and only the SDK client ever holds it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from clanker.llm.errors import LlmConfigError
from clanker.llm.pricing import ModelPrice
from clanker.llm.retry import RetryConfig

ProviderKind = Literal["anthropic", "openai", "xai", "openai_compatible"]
Api = Literal["messages", "responses", "chat"]

DEFAULT_BASE_URLS: dict[str, str] = {
    "anthropic": "https://api.anthropic.com",
    "openai": "https://api.openai.com/v1",
    "xai": "https://api.x.ai/v1",
}
DEFAULT_KEY_ENV: dict[str, str] = {
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
    "xai": "XAI_API_KEY",
}
DEFAULT_MODELS: dict[str, str] = {
    "anthropic": "claude-sonnet-4-6",
    "openai": "gpt-5.4-mini",
    "xai": "grok-4-1-fast-non-reasoning",
}
LOCAL_PLACEHOLDER_KEY = "not-needed"
"""Sent to local servers that need no key (the OpenAI SDK insists on having one)."""


class ProviderConfig(msgspec.Struct, frozen=True, kw_only=True):
    """One provider endpoint: a unique ``name``, its ``kind``, the ``model`` to ask for.

    * ``kind``: ``anthropic`` (Messages API), ``openai`` (Responses API, or Chat Completions
      with ``api="chat"``), ``xai`` (Chat Completions at api.x.ai) or ``openai_compatible``
      (Chat Completions at ``base_url``: Ollama, vLLM, llama.cpp, …).
    * ``base_url``: defaults per kind; required for ``openai_compatible``
      (e.g. ``http://127.0.0.1:11434/v1`` for Ollama).
    * ``api_key``: explicit key; otherwise read from ``api_key_env`` (default per kind).
    * ``price``: overrides the price table for this model (a local server costs 0 without it).
    * ``attempt_timeout``: seconds one HTTP attempt may take before it counts as a timeout.
    * ``vision``: whether the model takes images; None decides by the model's name
      (`clanker.llm.vision.supports_vision`).
    """

    name: str
    kind: ProviderKind
    model: str
    base_url: str | None = None
    api_key: str | None = None
    api_key_env: str | None = None
    api: Api | None = None
    price: ModelPrice | None = None
    attempt_timeout: float = 120.0
    # Does the model take images? None: decided by its name (`clanker.llm.vision`).
    vision: bool | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise LlmConfigError("ProviderConfig.name must not be empty")
        if not self.model.strip():
            raise LlmConfigError(f"provider {self.name!r}: model must not be empty")
        if self.kind == "openai_compatible" and not self.base_url:
            raise LlmConfigError(
                f"provider {self.name!r}: kind 'openai_compatible' needs a base_url, e.g. "
                "'http://127.0.0.1:11434/v1' (Ollama) or 'http://127.0.0.1:8000/v1' (vLLM)"
            )
        allowed: dict[str, tuple[str, ...]] = {
            "anthropic": ("messages",),
            "openai": ("responses", "chat"),
            "xai": ("chat",),
            "openai_compatible": ("chat",),
        }
        if self.api is not None and self.api not in allowed[self.kind]:
            raise LlmConfigError(
                f"provider {self.name!r}: api {self.api!r} is not available for kind "
                f"{self.kind!r} (use one of {', '.join(allowed[self.kind])})"
            )
        if not self.attempt_timeout > 0:
            raise LlmConfigError(
                f"provider {self.name!r}: attempt_timeout must be > 0, got {self.attempt_timeout}"
            )

    def __repr__(self) -> str:
        key = "<set>" if self.api_key else None
        return (
            f"ProviderConfig(name={self.name!r}, kind={self.kind!r}, model={self.model!r}, "
            f"base_url={self.resolved_base_url!r}, api={self.resolved_api!r}, api_key={key})"
        )

    __str__ = __repr__

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return [
            ("name", self.name),
            ("kind", self.kind),
            ("model", self.model),
            ("base_url", self.resolved_base_url),
        ]

    @property
    def resolved_base_url(self) -> str:
        """The base URL the SDK client is given."""
        return self.base_url or DEFAULT_BASE_URLS[self.kind]

    @property
    def resolved_api(self) -> Api:
        """The wire API this provider speaks."""
        if self.api is not None:
            return self.api
        return {"anthropic": "messages", "openai": "responses"}.get(self.kind, "chat")  # type: ignore[return-value]

    def resolve_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The API key: explicit, else from the environment; local servers get a placeholder."""
        if self.api_key:
            return self.api_key
        env = os.environ if environ is None else environ
        var = self.api_key_env or DEFAULT_KEY_ENV.get(self.kind)
        if var and env.get(var):
            return env[var]
        if self.kind == "openai_compatible":
            return LOCAL_PLACEHOLDER_KEY
        return None

    def key_source(self) -> str:
        """Where the key is expected to come from (for error messages; never the key)."""
        if self.api_key:
            return "the config"
        var = self.api_key_env or DEFAULT_KEY_ENV.get(self.kind)
        return f"${var}" if var else "nowhere (no key needed)"


class LlmConfig(msgspec.Struct, frozen=True, kw_only=True):
    """The providers in fallback order, the retry policy's knobs and what calls log.

    ``log_prompts`` copies the full system prompt and messages into each ``llm_call`` row's
    metadata (off by default: rows stay small); ``log_text_chars`` caps the reply text kept in
    the row's content.
    """

    providers: tuple[ProviderConfig, ...]
    retry: RetryConfig = msgspec.field(default_factory=RetryConfig)
    log_prompts: bool = False
    log_text_chars: int = 4000

    def __post_init__(self) -> None:
        if not self.providers:
            raise LlmConfigError("LlmConfig.providers is empty; configure at least one provider")
        names = [p.name for p in self.providers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise LlmConfigError(
                f"provider names must be unique; repeated: {', '.join(duplicates)}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> LlmConfig:
        """Anthropic, then OpenAI, then xAI — each one whose API key is in the environment,
        with its default model. Raises `LlmConfigError` if no key is set."""
        env = os.environ if environ is None else environ
        providers = tuple(
            ProviderConfig(name=kind, kind=kind, model=DEFAULT_MODELS[kind])
            for kind in ("anthropic", "openai", "xai")
            if env.get(DEFAULT_KEY_ENV[kind])
        )
        if not providers:
            raise LlmConfigError(
                "no LLM provider is configured: set ANTHROPIC_API_KEY, OPENAI_API_KEY or "
                "XAI_API_KEY, or configure an openai_compatible provider with a base_url"
            )
        return cls(providers=providers, **overrides)
