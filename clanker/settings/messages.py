"""The Settings actor's messages: requests, typed replies, and the change notice.

Patches travel as JSON text (like every JSON payload between actors), checked when built.
"""

from __future__ import annotations

import msgspec

from clanker.settings.model import Settings
from clanker.settings.validation import SettingsProblem
from clanker.wire import Message


def _check_json_object(owner: str, text: str) -> None:
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise ValueError(f"{owner}.patch must be JSON text, got {text[:40]!r}: {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError(f"{owner}.patch must be a JSON object, got {type(value).__name__}")


def _check_version(owner: str, version: int) -> None:
    if version < 0:
        raise ValueError(f"{owner}.expected_version must be >= 0, got {version}")


# --- requests ---------------------------------------------------------------------------------


class GetSettings(Message, frozen=True):
    """Read the current settings. Reply: `CurrentSettings`."""


class UpdateSettings(Message, frozen=True):
    """Merge ``patch`` (JSON object text, see `clanker.settings.patch`) into the settings, if
    they are still at ``expected_version``.

    Reply: `SettingsUpdated`, `SettingsConflict` (someone wrote first: re-read, merge, retry),
    or `SettingsRejected` (the result would be invalid; nothing was written).
    """

    patch: str
    expected_version: int

    def __post_init__(self) -> None:
        _check_json_object("UpdateSettings", self.patch)
        _check_version("UpdateSettings", self.expected_version)


class ApplyPreset(Message, frozen=True):
    """Switch to a preset at ``expected_version``; drops the overrides unless
    ``keep_overrides``. Replies as `UpdateSettings` does (an unknown preset is rejected)."""

    preset: str
    expected_version: int
    keep_overrides: bool = False

    def __post_init__(self) -> None:
        _check_version("ApplyPreset", self.expected_version)


class SubscribeSettings(Message, frozen=True):
    """Tell ``subscriber`` a `SettingsChanged` after every change from now on.

    ``subscriber`` is an actor path (``root/guilds/g1/chan-2``, what ``ctx.path`` says) or a
    registered name; it is looked up at each change, so it survives restarts. Subscribing
    twice is the same as once. Reply: `CurrentSettings` (apply it, then wait for changes).
    """

    subscriber: str

    def __post_init__(self) -> None:
        if not self.subscriber:
            raise ValueError("SubscribeSettings.subscriber must name an actor path or name")


class UnsubscribeSettings(Message, frozen=True):
    """Stop notifying ``subscriber``. Reply: `Unsubscribed`."""

    subscriber: str


# --- replies and notices ----------------------------------------------------------------------


class CurrentSettings(Message, frozen=True):
    """The settings in force, their version (0: never written), the preset they start from,
    the operator's overrides (JSON object text), and any parts of the stored value that had to
    be ignored when it was loaded."""

    settings: Settings
    version: int
    preset: str
    overrides: str
    problems: tuple[SettingsProblem, ...] = ()


class SettingsUpdated(Message, frozen=True):
    """Reply: the write is stored; these are the new settings and version."""

    settings: Settings
    version: int
    preset: str


class SettingsConflict(Message, frozen=True):
    """Reply: refused because the settings are at ``current_version``, not the expected one.
    ``settings`` are the current ones: merge your change into them and retry."""

    expected_version: int
    current_version: int
    settings: Settings


class SettingsRejected(Message, frozen=True):
    """Reply: the change would make invalid settings; every problem names its field path."""

    problems: tuple[SettingsProblem, ...]


class Unsubscribed(Message, frozen=True):
    """Reply: ``subscriber`` gets no more notices (``was_subscribed`` says if it did)."""

    subscriber: str
    was_subscribed: bool


class SettingsChanged(Message, frozen=True):
    """Told to every subscriber after a change. Apply it if ``version`` is newer than the one
    you hold (a notice can overtake an older one when a subscriber's mailbox was full)."""

    settings: Settings
    version: int


SettingsRequest = (
    GetSettings | UpdateSettings | ApplyPreset | SubscribeSettings | UnsubscribeSettings
)
SettingsWriteReply = SettingsUpdated | SettingsConflict | SettingsRejected
