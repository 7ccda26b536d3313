"""Routes: settings read and write (validated, compare-and-swap)."""

from __future__ import annotations

from quart import Response
from quart_trio import QuartTrio

from clanker.dashboard.context import ApiContext, ApiProblem, read_body
from clanker.dashboard.settings_source import (
    SettingsConflict,
    SettingsInvalid,
    SettingsState,
)
from clanker.dashboard.shapes import ApiError, SettingsConflictBody, SettingsPut, SettingsView


def view(state: SettingsState) -> SettingsView:
    """The browser's view of a settings state."""
    return SettingsView(
        version=state.version,
        updated_at=state.updated_at,
        document=state.document,
        schema=state.schema,
    )


def register(app: QuartTrio, ctx: ApiContext) -> None:
    """Add these routes to ``app``."""

    @app.get("/api/settings")
    async def get_settings() -> Response:
        return ctx.json(view(await ctx.settings.get()))

    @app.put("/api/settings")
    async def put_settings() -> Response:
        body = await read_body(SettingsPut)
        if body.expected_version < 0:
            raise ApiProblem(400, f"expected_version must be >= 0, got {body.expected_version}")
        result = await ctx.settings.put(body.expected_version, body.patch)
        if isinstance(result, SettingsConflict):
            current = result.current
            return ctx.json(
                SettingsConflictBody(
                    error=f"the settings changed since version {body.expected_version} (now "
                    f"version {current.version}); review the current values and save again",
                    current=view(current),
                ),
                409,
            )
        if isinstance(result, SettingsInvalid):
            count = len(result.errors)
            return ctx.json(
                ApiError(
                    error=f"{count} invalid setting{'s' if count != 1 else ''}; nothing was saved",
                    errors=result.errors,
                ),
                422,
            )
        return ctx.json(view(result.state))
