"""clanker's live settings: a typed, validated model, presets, patches, and the Settings actor.

The model and its pure helpers (`parse_settings`, `apply_patch`, `load_document`,
`settings_json_schema` …) import no trio, so the sans-IO cores in `clanker.text` can use them.
The actor side (`SettingsActor`, `settings_child` and its messages) is imported on first use.
See docs/settings.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from clanker.settings.document import SETTINGS_KEY, LoadedSettings, encode_document, load_document
from clanker.settings.model import (
    DEFAULT_ALIASES,
    DEFAULT_BOT_NAME,
    DEFAULT_PERSONA,
    Activity,
    Identity,
    Media,
    Permissions,
    Persona,
    ReplyGeneration,
    Settings,
    SpeechRecognition,
    SpeechSynthesis,
    Tools,
    Vision,
    Voice,
)
from clanker.settings.patch import apply_patch, diff_settings, merge_patch
from clanker.settings.presets import DEFAULT_PRESET, PRESETS, Preset, preset_settings
from clanker.settings.schema import settings_json_schema, settings_to_browser
from clanker.settings.validation import (
    SettingsError,
    SettingsProblem,
    parse_settings,
    parse_settings_json,
    revalidate,
)

if TYPE_CHECKING:
    from clanker.settings.actor import SETTINGS_NAME, SettingsActor, resolve_actor, settings_child
    from clanker.settings.messages import (
        ApplyPreset,
        CurrentSettings,
        GetSettings,
        SettingsChanged,
        SettingsConflict,
        SettingsRejected,
        SettingsUpdated,
        SubscribeSettings,
        Unsubscribed,
        UnsubscribeSettings,
        UpdateSettings,
    )

_LAZY = {
    "SETTINGS_NAME": "clanker.settings.actor",
    "SettingsActor": "clanker.settings.actor",
    "resolve_actor": "clanker.settings.actor",
    "settings_child": "clanker.settings.actor",
    "ApplyPreset": "clanker.settings.messages",
    "CurrentSettings": "clanker.settings.messages",
    "GetSettings": "clanker.settings.messages",
    "SettingsChanged": "clanker.settings.messages",
    "SettingsConflict": "clanker.settings.messages",
    "SettingsRejected": "clanker.settings.messages",
    "SettingsUpdated": "clanker.settings.messages",
    "SubscribeSettings": "clanker.settings.messages",
    "Unsubscribed": "clanker.settings.messages",
    "UnsubscribeSettings": "clanker.settings.messages",
    "UpdateSettings": "clanker.settings.messages",
}


def __getattr__(name: str) -> Any:
    # The actor half needs the runtime (and so trio); load it only when asked for.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'clanker.settings' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "DEFAULT_ALIASES",
    "DEFAULT_BOT_NAME",
    "DEFAULT_PERSONA",
    "DEFAULT_PRESET",
    "PRESETS",
    "SETTINGS_KEY",
    "SETTINGS_NAME",
    "Activity",
    "ApplyPreset",
    "CurrentSettings",
    "GetSettings",
    "Identity",
    "LoadedSettings",
    "Media",
    "Permissions",
    "Persona",
    "Preset",
    "ReplyGeneration",
    "Settings",
    "SettingsActor",
    "SettingsChanged",
    "SettingsConflict",
    "SettingsError",
    "SettingsProblem",
    "SettingsRejected",
    "SettingsUpdated",
    "SpeechRecognition",
    "SpeechSynthesis",
    "SubscribeSettings",
    "Tools",
    "UnsubscribeSettings",
    "Unsubscribed",
    "UpdateSettings",
    "Vision",
    "Voice",
    "apply_patch",
    "diff_settings",
    "encode_document",
    "load_document",
    "merge_patch",
    "parse_settings",
    "parse_settings_json",
    "preset_settings",
    "resolve_actor",
    "revalidate",
    "settings_child",
    "settings_json_schema",
    "settings_to_browser",
]
