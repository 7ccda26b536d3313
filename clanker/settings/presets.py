"""Presets: named starting points. A preset is a patch over the defaults.

The stored settings remember which preset they start from and only the operator's own changes
on top of it (see `clanker.settings.document`), so improving a preset (or a default) in a
later release reaches every install that did not override that knob.
"""

from __future__ import annotations

from typing import Any

import msgspec

from clanker.settings.model import Settings
from clanker.settings.patch import apply_patch


class Preset(msgspec.Struct, frozen=True, kw_only=True):
    """A named patch over the defaults, with a sentence for the dashboard."""

    name: str
    summary: str
    patch: dict[str, Any]


DEFAULT_PRESET = "default"

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="quiet",
            summary=(
                "Speaks when spoken to: no unsolicited replies, a short conversation window, "
                "10 s between messages and at most 8 an hour."
            ),
            patch={
                "permissions": {
                    "allow_unsolicited_replies": False,
                    "max_messages_per_hour": 8,
                    "max_reactions_per_hour": 10,
                },
                "activity": {
                    "ambient_reply_eagerness": 0,
                    "response_window_eagerness": 30,
                    "reactivity": 20,
                    "min_gap_seconds": 10.0,
                },
            },
        ),
        Preset(
            name=DEFAULT_PRESET,
            summary=(
                "A regular: answers when addressed, now and then joins in, 5 s between "
                "messages, at most 20 an hour."
            ),
            patch={},
        ),
        Preset(
            name="chatty",
            summary=(
                "Joins in readily: eager in and out of conversations, bursts coalesced over "
                "4 s, 2 s between messages, at most 60 an hour."
            ),
            patch={
                "permissions": {"max_messages_per_hour": 60, "max_reactions_per_hour": 60},
                "activity": {
                    "ambient_reply_eagerness": 60,
                    "response_window_eagerness": 85,
                    "reactivity": 60,
                    "min_gap_seconds": 2.0,
                    "coalesce_window_seconds": 4.0,
                },
            },
        ),
    )
}
"""Every preset by name, in the order a dashboard should list them."""


def preset_settings(name: str) -> Settings:
    """The settings a preset gives; raises KeyError naming the presets for an unknown name."""
    preset = PRESETS.get(name)
    if preset is None:
        raise KeyError(f"no preset named {name!r}; presets: {', '.join(PRESETS)}")
    return apply_patch(Settings(), preset.patch)
