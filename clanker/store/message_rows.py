"""Stored messages as read back: `MessageRow` (and its attachments), `MessageRows`.

Apart from `clanker.store.messages` so the requests of other Store modules (message vectors)
can carry rows without importing every request.
"""

from __future__ import annotations

import msgspec

from clanker.wire import Message


class StoredAttachment(msgspec.Struct, frozen=True, kw_only=True):
    """An attachment of a stored message, by reference (the bytes stay on Discord's CDN)."""

    id: int
    filename: str
    url: str
    size: int
    content_type: str | None = None
    width: int | None = None
    height: int | None = None


class MessageRow(msgspec.Struct, frozen=True, kw_only=True):
    """A stored message as read back."""

    message_id: int
    guild_id: int | None
    channel_id: int
    author_id: int
    author_name: str
    is_bot: bool
    content: str
    reply_to_message_id: int | None
    created_at: str
    edited_at: str | None
    deleted: bool
    attachments: tuple[StoredAttachment, ...] = ()
    stored_at: str | None = None  # when clanker stored it (its own clock)


class MessageRows(Message, frozen=True):
    """Reply: message rows, oldest first."""

    rows: tuple[MessageRow, ...]
