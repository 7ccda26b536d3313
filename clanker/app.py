"""The product's supervision tree: what `clanker run` and `clanker sandbox` start.

::

    root                 one_for_one
    ├── store            Store (SQLite, WAL)
    ├── settings         SettingsActor: typed settings, CAS writes, live notices
    ├── llm              Llm: provider clients, retries, fallback, cost → llm_call
    ├── pacing           PacingKeeper: sends in the last hour, for every channel
    ├── guilds           router + one session per guild, each with its channel reply queues
    └── discord          DiscordBridge, routes every gateway event to "guilds"

Order matters: the Store is up before anything can be received, settings/llm/pacing before any
channel asks for them, and the router before the bridge logs in, so the first event already has
somewhere to go (and to be stored).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from clanker.discord.bridge import BridgeConfig, DiscordBridge
from clanker.discord.watchdog import WatchdogConfig
from clanker.guilds import ROUTER_NAME, GuildsConfig, guilds_spec
from clanker.guilds.pacing import PACING_NAME, PacingKeeper
from clanker.llm import LlmConfig, LlmConfigError, ProviderConfig, llm_child
from clanker.runtime import Backoff, ChildSpec, Strategy, SupervisorSpec
from clanker.settings import settings_child
from clanker.store import store_child

BRIDGE_NAME = "discord"


class ConfigError(ValueError):
    """The configuration is missing something or has a bad value; the message says which."""


@dataclass(frozen=True)
class AppConfig:
    """Everything the tree needs. ``rest_url``/``gateway_url`` point at a non-Discord server
    (the sandbox) or stay None for discord.com."""

    db_path: Path
    discord_token: str
    llm: LlmConfig
    rest_url: str | None = None
    gateway_url: str | None = None
    login_timeout: float = 60.0
    watchdog: WatchdogConfig = field(default_factory=WatchdogConfig)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> AppConfig:
        """From ``DISCORD_TOKEN`` and ``CLANKER_DB`` (default ``clanker.db``)."""
        values = os.environ if env is None else env
        token = values.get("DISCORD_TOKEN", "").strip()
        if not token:
            raise ConfigError(
                "DISCORD_TOKEN is not set: put the user token of the account clanker runs as in "
                "the environment (or try `clanker sandbox`, which needs none)"
            )
        return cls(
            db_path=Path(values.get("CLANKER_DB", "clanker.db")),
            discord_token=token,
            llm=llm_config_from_env(values),
        )


def local_provider_from_env(env: Mapping[str, str]) -> ProviderConfig | None:
    """An OpenAI-compatible server of the user's own (Ollama, vLLM, llama.cpp), from
    ``CLANKER_LLM_BASE_URL`` and ``CLANKER_LLM_MODEL``."""
    base_url = env.get("CLANKER_LLM_BASE_URL", "").strip()
    if not base_url:
        return None
    model = env.get("CLANKER_LLM_MODEL", "").strip()
    if not model:
        raise ConfigError(
            "CLANKER_LLM_BASE_URL is set but CLANKER_LLM_MODEL is not: name the model your "
            "server runs (e.g. CLANKER_LLM_MODEL=llama3.1)"
        )
    return ProviderConfig(name="local", kind="openai_compatible", model=model, base_url=base_url)


def llm_config_from_env(env: Mapping[str, str]) -> LlmConfig:
    """A local OpenAI-compatible server first (if configured), then every provider whose API
    key is set. Raises `ConfigError` when there is none."""
    local = local_provider_from_env(env)
    try:
        keyed = LlmConfig.from_env(env).providers
    except LlmConfigError:
        keyed = ()
    providers = ((local,) if local is not None else ()) + keyed
    if not providers:
        raise ConfigError(
            "no LLM provider is configured: set ANTHROPIC_API_KEY, OPENAI_API_KEY or "
            "XAI_API_KEY, or CLANKER_LLM_BASE_URL + CLANKER_LLM_MODEL for a local server"
        )
    return LlmConfig(providers=providers)


def app_spec(config: AppConfig) -> SupervisorSpec:
    """The root supervisor spec for ``config``."""
    bridge_config = BridgeConfig(
        token=config.discord_token,
        route_to=ROUTER_NAME,
        rest_url=config.rest_url,
        gateway_url=config.gateway_url,
        login_timeout=config.login_timeout,
        watchdog=config.watchdog,
    )
    return SupervisorSpec(
        Strategy.ONE_FOR_ONE,
        [
            store_child(config.db_path),
            settings_child(),
            llm_child(config.llm),
            ChildSpec(PACING_NAME, PacingKeeper, register=PACING_NAME),
            guilds_spec(GuildsConfig()),
            ChildSpec(
                BRIDGE_NAME,
                lambda: DiscordBridge(bridge_config),
                register=BRIDGE_NAME,
                shutdown=15.0,
            ),
        ],
        intensity=5,
        period=60.0,
        backoff=Backoff(initial=1.0, factor=2.0, maximum=30.0, jitter=0.1),
    )
