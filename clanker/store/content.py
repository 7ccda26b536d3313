"""Folding a Discord message into the one text column the store keeps.

The store keeps a message as text the model can read: the message text, then the URL of each
attachment and embed, then a ``[reactions: …]`` summary, capped at `MAX_CONTENT_CHARS` (Discord's
own limit). The bridge calls `fold_content` when it records a message.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_CONTENT_CHARS = 2000
MAX_AUTHOR_NAME_CHARS = 80


def fold_content(
    text: str,
    *,
    attachment_urls: Iterable[str] = (),
    embed_urls: Iterable[str] = (),
    reactions: Iterable[tuple[str, int]] = (),
) -> str:
    """``text`` plus attachment and embed URLs and a reaction summary, one per line, capped.

    ``reactions`` are ``(emoji, count)`` pairs; e.g. ``[reactions: 🔥 3, 👍 1]``.
    """
    parts = [text] if text else []
    parts.extend(url for url in attachment_urls if url)
    parts.extend(url for url in embed_urls if url)
    summary = ", ".join(f"{emoji} {count}" for emoji, count in reactions if count > 0)
    if summary:
        parts.append(f"[reactions: {summary}]")
    return truncate("\n".join(parts), MAX_CONTENT_CHARS)


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"
