"""The product's supervision tree: what `clanker run` and `clanker sandbox` start.

::

    root                 one_for_one
    ├── store            Store (SQLite, WAL)
    ├── guilds           router + one session per guild (clanker.guilds)
    └── discord          DiscordBridge, routes every gateway event to "guilds"

Order matters: the Store is up before anything can be received, and the router before the
bridge logs in, so the first event already has somewhere to go (and to be stored).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from clanker.discord.bridge import BridgeConfig, DiscordBridge
from clanker.discord.watchdog import WatchdogConfig
from clanker.guilds import ROUTER_NAME, GuildsConfig, SessionConfig, guilds_spec
from clanker.runtime import Backoff, ChildSpec, Strategy, SupervisorSpec
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
    rest_url: str | None = None
    gateway_url: str | None = None
    aliases: tuple[str, ...] = ()
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
        return cls(db_path=Path(values.get("CLANKER_DB", "clanker.db")), discord_token=token)


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
    guilds = GuildsConfig(session=SessionConfig(bridge=BRIDGE_NAME, aliases=config.aliases))
    return SupervisorSpec(
        Strategy.ONE_FOR_ONE,
        [
            store_child(config.db_path),
            guilds_spec(guilds),
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
