"""`ActorSettingsSource`: the dashboard's settings seam over clanker's `SettingsActor`.

Reads ask ``GetSettings``; writes ask ``UpdateSettings`` (compare-and-swap on the version), so a
save applies live: the actor tells every subscriber (the channel actors, pacing …) a
`SettingsChanged` the moment it is stored. The editor's schema is
`clanker.settings.settings_json_schema()`, and documents use `settings_to_browser` (Discord ids
as strings).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from clanker.dashboard.settings_source import (
    SettingsConflict,
    SettingsInvalid,
    SettingsSaved,
    SettingsState,
    SettingsWrite,
)
from clanker.dashboard.shapes import FieldError
from clanker.runtime import ActorRef
from clanker.settings import SETTINGS_KEY, Settings, settings_json_schema, settings_to_browser
from clanker.settings import messages as sm
from clanker.store import StoreClient

SETTINGS_TIMEOUT = 10.0


class UnexpectedSettingsReply(RuntimeError):
    """The settings actor answered with something the dashboard does not know."""


class ActorSettingsSource:
    """`SettingsSource` that asks the settings actor ``settings()`` returns (looked up per call,
    so a restarted actor is found)."""

    def __init__(
        self,
        settings: Callable[[], ActorRef],
        *,
        store: Callable[[], StoreClient] | None = None,
        timeout: float = SETTINGS_TIMEOUT,
    ):
        self._settings = settings
        self._store = store
        self.timeout = timeout
        self.schema: dict[str, Any] = settings_json_schema()

    async def _updated_at(self, version: int) -> str | None:
        """When the stored row was written (from the Store, if given and still at ``version``)."""
        if self._store is None or version == 0:
            return None
        row = await self._store().get_setting(SETTINGS_KEY)
        return row.updated_at if row.version == version else None

    async def _state(self, settings: Settings, version: int) -> SettingsState:
        return SettingsState(
            version=version,
            updated_at=await self._updated_at(version),
            document=settings_to_browser(settings),
            schema=self.schema,
        )

    async def get(self) -> SettingsState:
        """The settings in force and their version."""
        current = await self._settings().ask(
            sm.GetSettings(), sm.CurrentSettings, timeout=self.timeout
        )
        return await self._state(current.settings, current.version)

    async def put(self, expected_version: int, patch: dict[str, Any]) -> SettingsWrite:
        """Merge ``patch`` if the settings are still at ``expected_version``."""
        request = sm.UpdateSettings(
            patch=msgspec.json.encode(patch).decode(), expected_version=expected_version
        )
        reply = await self._settings().ask(request, timeout=self.timeout)
        match reply:
            case sm.SettingsUpdated(settings=settings, version=version):
                return SettingsSaved(state=await self._state(settings, version))
            case sm.SettingsConflict(settings=settings, current_version=version):
                return SettingsConflict(current=await self._state(settings, version))
            case sm.SettingsRejected(problems=problems):
                return SettingsInvalid(
                    errors=[
                        FieldError(path=p.path or "(document)", message=p.problem) for p in problems
                    ]
                )
        raise UnexpectedSettingsReply(f"the settings actor answered {type(reply).__name__}")
