"""The Store's message vectors: what was said, found again by meaning (`conversation_search`).

Each stored message (text, a voice transcript line, clanker's own) may get one vector of the
embedding model in use, in the ``message_vectors`` ``vec0`` table (migration 8), partitioned by
guild (every DM in one ``dm`` partition, searched with its channel), and a search names its
**scope key** — ``guild:<id>`` for a server's channels, ``dm:<channel id>`` for a DM — so it
only ever sees one server's (or one DM's) messages. ``message_vector_models`` (a plain table)
says which model made each vector. A deleted message loses its vector.
The memory service embeds the messages without one in the background (newest first).
"""

from __future__ import annotations

import re

import msgspec

from clanker.store.facts import _check_vector
from clanker.store.message_rows import MessageRow
from clanker.store.validation import check_id, check_limit, check_time
from clanker.wire import Message

_SCOPE_KEY = re.compile(r"(guild|dm):\d{1,19}")
MIN_EMBED_CHARS = 8
"""Messages shorter than this (after trimming) are not embedded ("ok", "lol")."""


def scope_key(guild_id: int | None, channel_id: int) -> str:
    """``guild:<id>``, or ``dm:<channel id>`` for a message with no guild (what a search names;
    the Store keeps every DM in one ``dm`` partition and filters by the channel)."""
    return f"guild:{guild_id}" if guild_id is not None else f"dm:{channel_id}"


def partition_of(guild_id: int | None) -> str:
    """The ``vec0`` partition a message's vector is in: its guild's, or the DMs' one."""
    return f"guild:{guild_id}" if guild_id is not None else "dm"


def _check_scope(obj: object, key: str) -> None:
    if not _SCOPE_KEY.fullmatch(key):
        raise ValueError(
            f"{type(obj).__qualname__}.scope_key: {key!r} is not 'guild:<id>' or 'dm:<id>'"
        )


class MessagesWithoutVector(Message, frozen=True):
    """Stored, not deleted messages of at least `MIN_EMBED_CHARS` characters, stored at or
    after ``since``, with no vector of ``model``: newest first. Reply: `MessageRows`."""

    model: str
    since: str
    limit: int = 16

    def __post_init__(self) -> None:
        if not self.model.strip():
            raise ValueError("MessagesWithoutVector.model must name the embedding model")
        check_time(self, "since", self.since)
        check_limit(self, self.limit)


class MessageVector(msgspec.Struct, frozen=True, kw_only=True):
    message_id: int
    vector: tuple[float, ...]


class PutMessageVectors(Message, frozen=True):
    """Store (or replace) the vectors of some stored messages, made by ``model``; a message no
    longer stored, or deleted, is skipped. Reply: `RowsChanged` (vectors written)."""

    model: str
    items: tuple[MessageVector, ...]

    def __post_init__(self) -> None:
        for item in self.items:
            check_id(self, "items.message_id", item.message_id)
            _check_vector(self, item.vector, self.model)


class SearchMessages(Message, frozen=True):
    """The ``k`` stored messages of one scope nearest to ``vector`` (of ``model``), optionally
    one channel's, stored at or after ``since``. Reply: `MessageMatches`, nearest first."""

    scope_key: str
    vector: tuple[float, ...]
    model: str
    k: int = 4
    channel_id: int | None = None
    since: str | None = None

    def __post_init__(self) -> None:
        _check_scope(self, self.scope_key)
        _check_vector(self, self.vector, self.model)
        check_id(self, "channel_id", self.channel_id, optional=True)
        check_time(self, "since", self.since)
        if not 1 <= self.k <= 50:
            raise ValueError(f"SearchMessages.k must be in 1..50, got {self.k}")


class MessageMatch(msgspec.Struct, frozen=True, kw_only=True):
    row: MessageRow
    distance: float  # cosine distance, 0 = the same direction


class MessageMatches(Message, frozen=True):
    matches: tuple[MessageMatch, ...]
