"""The dashboard's seam to settings: read the document, its schema and version; write a patch
with compare-and-swap.

`SettingsSource` is all the dashboard needs. `ModelSettingsSource` implements it for any
msgspec settings model stored as one JSON value in the Store's ``settings`` table (CAS on the
row's version); until clanker's own settings model lands it runs with `PlaceholderSettings`.
Another implementation (e.g. one that asks a ``settings`` actor) only has to provide `get` and
`put`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import msgspec

from clanker.dashboard.schema_check import SchemaValidator, join_path
from clanker.dashboard.shapes import FieldError
from clanker.store import SettingConflict, StoreClient, to_json

SETTINGS_KEY = "runtime_settings"


class SettingsState(msgspec.Struct, frozen=True, kw_only=True):
    """The effective document (defaults filled in), its CAS version (0 = never saved) and
    the JSON Schema the editor is generated from."""

    version: int
    updated_at: str | None
    document: dict[str, Any]
    schema: dict[str, Any]


class SettingsSaved(msgspec.Struct, frozen=True, kw_only=True):
    """The patch was applied; this is the new state."""

    state: SettingsState


class SettingsConflict(msgspec.Struct, frozen=True, kw_only=True):
    """The expected version was stale; ``current`` is what is stored now."""

    current: SettingsState


class SettingsInvalid(msgspec.Struct, frozen=True, kw_only=True):
    """The patched document breaks the schema; nothing was written."""

    errors: list[FieldError]


SettingsWrite = SettingsSaved | SettingsConflict | SettingsInvalid


class SettingsSource(Protocol):
    """What the dashboard needs from settings."""

    async def get(self) -> SettingsState:
        """The current state."""
        ...

    async def put(self, expected_version: int, patch: dict[str, Any]) -> SettingsWrite:
        """Apply a JSON merge patch (RFC 7386: objects merge, ``null`` resets a field to its
        default) if the stored version is still ``expected_version``."""
        ...


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch of ``patch`` onto ``target`` (neither is modified)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _msgspec_path(error: msgspec.ValidationError) -> FieldError:
    # msgspec says "Expected `int`, got `str` - at `$.a.b[0]`"
    text = str(error)
    message, _, where = text.rpartition(" - at `")
    if not message:
        return FieldError(path="(document)", message=text)
    path = where.rstrip("`").removeprefix("$").lstrip(".")
    return FieldError(path=path or "(document)", message=message)


class ModelSettingsSource:
    """`SettingsSource` over a msgspec model, stored as JSON under ``key`` in the Store.

    The stored JSON holds what was saved; reads lay it over the model's defaults, so fields added
    to the model later get their defaults. A write merges the patch into the effective document,
    validates the result against the schema (every error, with paths) and the model, and writes
    it with compare-and-swap on the row's version.
    """

    def __init__(
        self,
        store: Callable[[], StoreClient],
        model: type[msgspec.Struct],
        *,
        key: str = SETTINGS_KEY,
    ) -> None:
        self._store = store
        self.model = model
        self.key = key
        self.schema: dict[str, Any] = msgspec.json.schema(model)
        self._validator = SchemaValidator(self.schema)
        self.defaults: dict[str, Any] = msgspec.to_builtins(model())

    def _state(self, version: int, updated_at: str | None, stored: str | None) -> SettingsState:
        saved = {} if stored is None else msgspec.json.decode(stored)
        document = merge_patch(self.defaults, saved) if isinstance(saved, dict) else self.defaults
        return SettingsState(
            version=version, updated_at=updated_at, document=document, schema=self.schema
        )

    def validate(self, document: dict[str, Any]) -> list[FieldError]:
        """Every schema error of ``document``, then the model's own verdict."""
        errors = self._validator.errors(document)
        if errors:
            return errors
        try:
            msgspec.convert(document, self.model)
        except msgspec.ValidationError as exc:
            return [_msgspec_path(exc)]
        return []

    async def get(self) -> SettingsState:
        """The effective settings and their version."""
        current = await self._store().get_setting(self.key)
        return self._state(current.version, current.updated_at, current.value)

    async def put(self, expected_version: int, patch: dict[str, Any]) -> SettingsWrite:
        """Merge, validate, compare-and-swap."""
        store = self._store()
        current = await store.get_setting(self.key)
        state = self._state(current.version, current.updated_at, current.value)
        if current.version != expected_version:
            return SettingsConflict(current=state)
        document = merge_patch(state.document, patch)
        errors = self.validate(document)
        if errors:
            return SettingsInvalid(errors=errors)
        normalized = msgspec.to_builtins(msgspec.convert(document, self.model))
        result = await store.put_setting(self.key, to_json(normalized), expected_version)
        if isinstance(result, SettingConflict):
            return SettingsConflict(
                current=self._state(result.current_version, None, result.current_value)
            )
        return SettingsSaved(
            state=self._state(result.version, result.updated_at, to_json(normalized))
        )


def field_errors_at(prefix: str, errors: list[FieldError]) -> list[FieldError]:
    """``errors`` re-rooted under ``prefix`` (for documents nested in a bigger body)."""
    return [
        FieldError(
            path=join_path(prefix, e.path) if e.path != "(document)" else prefix, message=e.message
        )
        for e in errors
    ]
