"""`DashboardSetup`: what is decided once per process, before the tree starts — the token,
the sessions, the secrets to scrub, the telemetry hub and the seams — so a restarted
`Dashboard` keeps them (a restart does not log the operator out or change the token).

`dashboard_children` is the one call a tree builder needs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata

from clanker.dashboard.auth import TokenAuth
from clanker.dashboard.config import DashboardConfig, generate_token
from clanker.dashboard.directory import Directory, EmptyDirectory, WorldDirectory
from clanker.dashboard.placeholder_settings import PlaceholderSettings
from clanker.dashboard.redaction import SecretFilter, secrets_from_env
from clanker.dashboard.sandbox_chat import SandboxChat, WorldChat
from clanker.dashboard.settings_source import ModelSettingsSource, SettingsSource
from clanker.dashboard.telemetry import TelemetryHub, telemetry_child
from clanker.runtime import ChildSpec, Runtime
from clanker.sandbox import Sandbox
from clanker.store import STORE_NAME, StoreClient

SettingsFactory = Callable[[Runtime], SettingsSource]
DirectoryFactory = Callable[[Runtime], Directory]


def _version() -> str:
    try:
        return metadata.version("clanker")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


def print_to_stdout(line: str) -> None:
    """The default announcement: one line on stdout."""
    print(line, file=sys.stdout, flush=True)


def placeholder_settings(runtime: Runtime) -> SettingsSource:
    """Settings from the Store with `PlaceholderSettings` (until clanker.settings lands)."""
    return ModelSettingsSource(lambda: StoreClient(runtime.lookup(STORE_NAME)), PlaceholderSettings)


@dataclass
class DashboardSetup:
    """Process-wide dashboard state; build it with `dashboard_children` (or directly)."""

    config: DashboardConfig
    token: str
    token_generated: bool
    secrets: SecretFilter
    hub: TelemetryHub
    settings_for: SettingsFactory = placeholder_settings
    directory: Directory = field(default_factory=EmptyDirectory)
    directory_for: DirectoryFactory | None = None  # wins over ``directory`` when set
    sandbox: SandboxChat | None = None
    announce: Callable[[str], None] = print_to_stdout
    version: str = field(default_factory=_version)
    announced: bool = False

    def __post_init__(self) -> None:
        self.auth = TokenAuth(self.token, ttl=self.config.session_ttl)

    def announce_once(self, url: str) -> None:
        """Say where the dashboard is; a generated token is shown this once (in the URL's
        fragment, which browsers never send to a server; the SPA exchanges it for a cookie)."""
        if self.announced:
            return
        self.announced = True
        if self.token_generated:
            self.announce(f"clanker dashboard: {url}/#token={self.token}")
        else:
            self.announce(f"clanker dashboard: {url}/ (token: DASHBOARD_TOKEN)")


@dataclass(frozen=True)
class DashboardParts:
    """The children to add to the tree, and the setup they share."""

    telemetry: ChildSpec
    dashboard: ChildSpec
    setup: DashboardSetup

    @property
    def token(self) -> str:
        """The dashboard token (configured or generated)."""
        return self.setup.token


def dashboard_children(
    config: DashboardConfig | None = None,
    *,
    sandbox: Sandbox | SandboxChat | None = None,
    settings: SettingsFactory | None = None,
    directory: Directory | None = None,
    directory_for: DirectoryFactory | None = None,
    environ: Mapping[str, str] | None = None,
    announce: Callable[[str], None] | None = None,
) -> DashboardParts:
    """The `Telemetry` and `Dashboard` child specs for a tree, sharing one setup.

    Put ``parts.telemetry`` early in the tree (before the Store, so no action is missed), give
    the Store ``action_listener=TELEMETRY_NAME``, and put ``parts.dashboard`` last. Secrets to
    scrub are taken from ``environ`` (default ``os.environ``: every ``*_TOKEN``, ``*_API_KEY``,
    ``*_SECRET``, ``*_PASSWORD``, ``*_KEY`` value) plus ``config.extra_secrets`` and the token.
    """
    from clanker.dashboard.actor import dashboard_child

    config = config or DashboardConfig.from_env(environ)
    env = os.environ if environ is None else environ
    token = config.token or generate_token()
    chat: SandboxChat | None
    if isinstance(sandbox, Sandbox):
        chat = WorldChat(sandbox)
        directory = directory or WorldDirectory(sandbox.world)
    else:
        chat = sandbox
    setup = DashboardSetup(
        config=config,
        token=token,
        token_generated=config.token is None,
        secrets=SecretFilter([*secrets_from_env(env), *config.extra_secrets, token]),
        hub=TelemetryHub(capacity=config.subscriber_capacity),
        settings_for=settings or placeholder_settings,
        directory=directory or EmptyDirectory(),
        directory_for=directory_for,
        sandbox=chat,
        announce=announce or print_to_stdout,
    )
    return DashboardParts(
        telemetry=telemetry_child(setup.hub), dashboard=dashboard_child(setup), setup=setup
    )
