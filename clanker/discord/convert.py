"""discord.py objects and raw payloads -> the bridge's own structs, at the boundary."""

from __future__ import annotations

from typing import Any

import discord

from clanker.discord.events import (
    AttachmentInfo,
    BridgeFailure,
    ChannelInfo,
    DiscordMessage,
    GuildAvailable,
    ReactionCount,
)


def message(msg: discord.Message) -> DiscordMessage:
    """A discord.py message as a `DiscordMessage`."""
    ref = msg.reference
    return DiscordMessage(
        message_id=msg.id,
        channel_id=msg.channel.id,
        guild_id=msg.guild.id if msg.guild is not None else None,
        author_id=msg.author.id,
        author_name=msg.author.display_name,
        author_is_bot=bool(msg.author.bot),
        content=_member_join(msg) if msg.type == discord.MessageType.new_member else msg.content,
        created_at=msg.created_at.isoformat(),
        reply_to_message_id=ref.message_id if ref is not None else None,
        mention_ids=tuple(u.id for u in msg.mentions),
        attachments=tuple(attachment(a) for a in msg.attachments),
        embed_count=len(msg.embeds),
        embed_urls=tuple(e.url for e in msg.embeds if e.url),
        reactions=tuple(ReactionCount(emoji=str(r.emoji), count=r.count) for r in msg.reactions),
        event="member_join" if msg.type == discord.MessageType.new_member else None,
    )


def _member_join(msg: discord.Message) -> str:
    """Discord's join message has no content; clanker reads it as this event."""
    return f"[SERVER EVENT: {msg.author.display_name} just joined the server]"


def attachment(a: discord.Attachment) -> AttachmentInfo:
    """A discord.py attachment as an `AttachmentInfo` (by reference, no bytes)."""
    return AttachmentInfo(
        filename=a.filename,
        url=a.url,
        size=a.size,
        content_type=a.content_type,
        attachment_id=a.id,
        width=a.width,
        height=a.height,
    )


def optional_id(value: Any) -> int | None:
    """A snowflake from a raw payload field that may be missing."""
    return int(value) if value is not None else None


def failure(command: str, exc: BaseException) -> BridgeFailure:
    """A typed failure for a command that raised on the asyncio side."""
    if isinstance(exc, discord.HTTPException):
        return BridgeFailure(
            command=command,
            status=exc.status,
            code=exc.code or None,
            detail=exc.text or str(exc),
        )
    return BridgeFailure(
        command=command, status=None, code=None, detail=f"{type(exc).__name__}: {exc}"
    )


def guild(g: discord.Guild) -> GuildAvailable:
    """A guild and its channels as a `GuildAvailable`."""
    return GuildAvailable(
        guild_id=g.id,
        name=g.name,
        channels=tuple(
            ChannelInfo(
                channel_id=c.id,
                name=c.name,
                kind=str(c.type),
                last_message_id=getattr(c, "last_message_id", None),
            )
            for c in g.channels
        ),
        member_count=g.member_count,
    )
