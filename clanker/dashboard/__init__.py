"""clanker's operator dashboard: a JSON + SSE API and the React SPA, served by the `Dashboard`
actor (Quart-Trio on Hypercorn inside the supervision tree). See docs/dashboard-api.md.

    parts = dashboard_children(DashboardConfig.from_env(), sandbox=sb)
    tree = SupervisorSpec(children=[
        parts.telemetry,
        store_child("clanker.db", action_listener=TELEMETRY_NAME),
        ...,
        parts.dashboard,
    ])
"""

from clanker.dashboard.actor import (
    DASHBOARD_NAME,
    Dashboard,
    DashboardAddress,
    GetAddress,
    dashboard_child,
)
from clanker.dashboard.config import DashboardConfig, DashboardConfigError
from clanker.dashboard.directory import Directory, EmptyDirectory, WorldDirectory
from clanker.dashboard.operator import OperatorCrash, OperatorRequestedCrash
from clanker.dashboard.placeholder_settings import PlaceholderSettings
from clanker.dashboard.sandbox_chat import SandboxChat, WorldChat
from clanker.dashboard.settings_source import (
    ModelSettingsSource,
    SettingsConflict,
    SettingsInvalid,
    SettingsSaved,
    SettingsSource,
    SettingsState,
)
from clanker.dashboard.setup import DashboardParts, DashboardSetup, dashboard_children
from clanker.dashboard.telemetry import TELEMETRY_NAME, Telemetry, TelemetryHub, telemetry_child
from clanker.runtime import Broadcast, Subscriber

__all__ = [
    "DASHBOARD_NAME",
    "TELEMETRY_NAME",
    "Broadcast",
    "Dashboard",
    "DashboardAddress",
    "DashboardConfig",
    "DashboardConfigError",
    "DashboardParts",
    "DashboardSetup",
    "Directory",
    "EmptyDirectory",
    "GetAddress",
    "ModelSettingsSource",
    "OperatorCrash",
    "OperatorRequestedCrash",
    "PlaceholderSettings",
    "SandboxChat",
    "SettingsConflict",
    "SettingsInvalid",
    "SettingsSaved",
    "SettingsSource",
    "SettingsState",
    "Subscriber",
    "Telemetry",
    "TelemetryHub",
    "WorldChat",
    "WorldDirectory",
    "dashboard_child",
    "dashboard_children",
    "telemetry_child",
]
