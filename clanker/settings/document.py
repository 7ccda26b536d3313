"""The stored form of the settings: a preset name plus the operator's own overrides.

The ``settings`` table row (key `SETTINGS_KEY`) holds JSON like::

    {"preset": "default", "overrides": {"activity": {"min_gap_seconds": 8}}}

Only what differs from the preset is stored (the "intent"), never the whole effective
settings: a default or preset improved in a later release then reaches every install that
did not override that knob.

Loading is lenient on purpose. A stored value written by hand, by an older or newer clanker,
may hold a key or a value this version refuses; `load_document` keeps every part it can use,
drops the rest, and reports each dropped part as a `SettingsProblem`, so clanker starts with
the operator's remaining choices instead of refusing to start. The row itself is only
replaced by the next write.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from clanker.settings.model import Settings
from clanker.settings.patch import apply_patch, diff_settings
from clanker.settings.presets import DEFAULT_PRESET, PRESETS, preset_settings
from clanker.settings.validation import SettingsError, SettingsProblem

SETTINGS_KEY = "runtime_settings"
"""The key of clanker's settings row in the Store's ``settings`` table."""

_MAX_REPAIRS = 50


class LoadedSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What a stored value yields: the effective settings, how they are made, what was dropped."""

    settings: Settings
    preset: str
    overrides: dict[str, Any]
    problems: tuple[SettingsProblem, ...] = ()


def encode_document(preset: str, settings: Settings) -> str:
    """The JSON text to store for ``settings`` on top of ``preset`` (only the differences)."""
    overrides = diff_settings(preset_settings(preset), settings)
    return msgspec.json.encode({"preset": preset, "overrides": overrides}).decode()


def _drop(overrides: dict[str, Any], path: str) -> bool:
    """Remove the override at ``path`` (a whole list for a list item); False if not there."""
    keys = re.split(r"\.", re.sub(r"\[\d+\].*$", "", path)) if path else []
    if not keys:
        return False
    node: Any = overrides
    for key in keys[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            return False
        node = node[key]
    if isinstance(node, dict) and keys[-1] in node:
        del node[keys[-1]]
        return True
    return False


def load_document(text: str | None) -> LoadedSettings:
    """Effective settings from a stored value (None: never written). Never raises."""
    if text is None:
        return LoadedSettings(settings=Settings(), preset=DEFAULT_PRESET, overrides={})
    problems: list[SettingsProblem] = []

    def note(path: str, problem: str) -> None:
        problems.append(SettingsProblem(path=path, problem=f"stored value ignored: {problem}"))

    try:
        doc = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        doc = None
        note("", f"not valid JSON ({exc})")
    if doc is not None and not isinstance(doc, dict):
        note("", f"expected an object with preset and overrides, got {type(doc).__name__}")
        doc = None
    doc = doc or {}
    for key in doc:
        if key not in ("preset", "overrides"):
            note(key, "not part of the stored settings (expected preset, overrides)")

    preset = doc.get("preset", DEFAULT_PRESET)
    if preset not in PRESETS:
        note("preset", f"no preset named {preset!r}; using {DEFAULT_PRESET!r}")
        preset = DEFAULT_PRESET
    base = preset_settings(preset)

    overrides = doc.get("overrides", {})
    if not isinstance(overrides, dict):
        note("overrides", f"expected an object, got {type(overrides).__name__}")
        overrides = {}
    for _ in range(_MAX_REPAIRS):
        try:
            settings = apply_patch(base, overrides, base=base)
        except SettingsError as exc:
            dropped = False
            for problem in exc.problems:
                note(problem.path, problem.problem)
                dropped = _drop(overrides, problem.path) or dropped
            if not dropped:
                note("overrides", "could not be repaired; using the preset alone")
                overrides = {}
            continue
        return LoadedSettings(
            settings=settings,
            preset=preset,
            overrides=diff_settings(base, settings),
            problems=tuple(problems),
        )
    note("overrides", "could not be repaired; using the preset alone")
    return LoadedSettings(settings=base, preset=preset, overrides={}, problems=tuple(problems))
