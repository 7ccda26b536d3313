"""Partial updates: merge a patch into settings, and the smallest patch between two settings.

A patch is a JSON object shaped like `Settings` with only the keys to change. Objects merge
key by key; any other value (a number, a string, a whole list) replaces what was there; and
``null`` resets that key to its *base* value (the active preset's). This is JSON Merge Patch
(RFC 7386) with one difference: ``null`` means "back to the default", not "delete", because a
setting always has a value.
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec

from clanker.settings.model import Settings
from clanker.settings.validation import SettingsError, SettingsProblem, parse_settings


def settings_data(settings: Settings) -> dict[str, Any]:
    """``settings`` as plain JSON data (dicts, lists, numbers, strings, booleans)."""
    data: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(settings))
    return data


def merge_patch(target: dict[str, Any], patch: dict[str, Any], base: dict[str, Any]) -> None:
    """Merge ``patch`` into ``target`` in place; ``null`` takes the value from ``base``.

    Keys the model does not know are kept, so validation can name them.
    """
    for key, value in patch.items():
        if value is None:
            if key in base:
                target[key] = copy.deepcopy(base[key])
            else:
                target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            inner_base = base.get(key)
            merge_patch(target[key], value, inner_base if isinstance(inner_base, dict) else {})
        else:
            target[key] = copy.deepcopy(value)


def apply_patch(settings: Settings, patch: Any, *, base: Settings | None = None) -> Settings:
    """``settings`` with ``patch`` merged in, validated; ``null`` resets to ``base``'s value.

    ``base`` is the active preset's settings (default: the plain defaults). Raises
    `SettingsError` naming every problem's field path.
    """
    if not isinstance(patch, dict):
        kind = type(patch).__name__
        raise SettingsError(
            [SettingsProblem(path="", problem=f"a patch must be a JSON object, got {kind}")]
        )
    target = settings_data(settings)
    base_data = settings_data(base if base is not None else Settings())
    merge_patch(target, patch, base_data)
    return parse_settings(target)


def diff_settings(base: Settings, settings: Settings) -> dict[str, Any]:
    """The smallest patch that turns ``base`` into ``settings`` (lists are compared whole)."""
    return _diff(settings_data(base), settings_data(settings))


def _diff(base: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in new.items():
        old = base.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            inner = _diff(old, value)
            if inner:
                out[key] = inner
        elif value != old or type(value) is not type(old):
            out[key] = value
    return out
