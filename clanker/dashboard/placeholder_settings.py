"""`PlaceholderSettings`: a small settings model the dashboard serves until clanker's own
settings model (``clanker.settings``) is plugged into `ModelSettingsSource`.

It is real enough to exercise everything the editor does: nested groups, numbers with bounds,
enums, booleans, lists of ids, and descriptions that become help text.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta


class Identity(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Who the bot is in conversation."""

    bot_name: Annotated[
        str, Meta(min_length=1, max_length=32, description="The name the bot answers to.")
    ] = "clanker"


class Activity(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How eagerly the bot joins conversations."""

    reply_eagerness: Annotated[
        int, Meta(ge=0, le=100, description="0 = only when addressed, 100 = joins freely.")
    ] = 20
    min_seconds_between_messages: Annotated[
        float, Meta(ge=0, le=3600, description="Pause between two messages in one channel.")
    ] = 5.0


class Permissions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where and how much the bot may speak."""

    allow_replies: Annotated[bool, Meta(description="Master switch for text replies.")] = True
    max_messages_per_hour: Annotated[int, Meta(ge=0, le=500)] = 20
    blocked_user_ids: Annotated[
        list[Annotated[str, Meta(pattern=r"^[0-9]{1,20}$")]],
        Meta(max_length=500, description="Users the bot never answers (Discord ids)."),
    ] = []


class ReplyGeneration(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The text model."""

    provider: Literal["anthropic", "openai", "xai"] = "anthropic"
    model: Annotated[str, Meta(min_length=1, max_length=80)] = "claude-sonnet-4-6"
    temperature: Annotated[float, Meta(ge=0, le=2)] = 1.0
    max_output_tokens: Annotated[int, Meta(ge=1, le=32000)] = 2500


class PlaceholderSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Runtime settings (placeholder model until clanker.settings lands)."""

    identity: Identity = msgspec.field(default_factory=Identity)
    activity: Activity = msgspec.field(default_factory=Activity)
    permissions: Permissions = msgspec.field(default_factory=Permissions)
    reply_generation: ReplyGeneration = msgspec.field(default_factory=ReplyGeneration)
