"""Builders shared by the store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clanker.store import StoreMessage, to_iso

BASE = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
GUILD = 1_100_000_000_000_000_001
CHANNEL = 1_200_000_000_000_000_001


def at(seconds: float) -> str:
    """The store's timestamp for BASE + ``seconds``."""
    return to_iso(BASE + timedelta(seconds=seconds))


def chat(
    message_id: int,
    seconds: float,
    content: str = "",
    *,
    channel_id: int = CHANNEL,
    guild_id: int | None = GUILD,
    author_id: int = 42,
    is_bot: bool = False,
    reply_to: int | None = None,
) -> StoreMessage:
    """A StoreMessage sent ``seconds`` after BASE."""
    return StoreMessage(
        message_id=message_id,
        guild_id=guild_id,
        channel_id=channel_id,
        author_id=author_id,
        author_name=f"user{author_id}",
        content=content or f"message {message_id}",
        created_at=at(seconds),
        is_bot=is_bot,
        reply_to_message_id=reply_to,
    )
