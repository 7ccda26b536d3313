"""The plain views the text cores work on: a message as the reply pipeline needs to see it.

These are deliberately small and Discord-free (ids are ints, time is trio time), so the cores
can be driven by tests, by the bridge's `DiscordMessage`, or by rows from the Store alike.
"""

from __future__ import annotations

import msgspec


class MessageView(msgspec.Struct, frozen=True, kw_only=True):
    """One chat message, as the text cores see it.

    ``received_at`` is the trio time clanker saw it (not Discord's timestamp). ``force_reply``
    marks a synthetic message that must reach the model whatever the admission rules say
    (e.g. a background task reporting back); the model may still skip. ``synthetic`` marks
    a message clanker made itself (a scheduled run's event, docs/automations.md): it is not
    in the Store or on Discord, so it is never replied to.
    """

    message_id: int
    channel_id: int
    guild_id: int | None = None  # None in DMs
    parent_channel_id: int | None = None  # a thread's parent channel
    author_id: int
    author_name: str
    author_is_bot: bool = False
    content: str = ""
    mention_ids: tuple[int, ...] = ()
    reply_to_message_id: int | None = None
    reply_to_author_id: int | None = None
    received_at: float = 0.0
    force_reply: bool = False
    synthetic: bool = False

    @property
    def is_dm(self) -> bool:
        """True for a direct message (no guild)."""
        return self.guild_id is None


class Participant(msgspec.Struct, frozen=True, kw_only=True):
    """Someone in the conversation: for the prompt's people list and ``@name`` mentions."""

    user_id: int
    name: str
    is_bot: bool = False
