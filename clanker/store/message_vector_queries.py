"""SQL for `clanker.store.message_vectors` (run on the Store's worker thread)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlite_vec

from clanker.store import message_vectors as mv
from clanker.store import messages as m
from clanker.store.queries import _MESSAGE_COLUMNS, _iso, _message_row, transaction
from clanker.store.sqlite import Connection


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def messages_without_vector(conn: Connection, req: mv.MessagesWithoutVector) -> m.MessageRows:
    """The newest stored messages since ``since`` that have no vector of ``model``."""
    rows = conn.execute(
        f"SELECT {_MESSAGE_COLUMNS} FROM messages AS msg WHERE stored_at >= ? AND deleted = 0 "
        "AND length(trim(content)) >= ? AND NOT EXISTS (SELECT 1 FROM message_vector_models v "
        "WHERE v.message_id = msg.message_id AND v.model = ?) "
        "ORDER BY stored_at DESC, message_id DESC LIMIT ?",
        (_iso(req.since, "since"), mv.MIN_EMBED_CHARS, req.model, req.limit),
    ).fetchall()
    return m.MessageRows(rows=tuple(_message_row(r) for r in rows))


def put_message_vectors(conn: Connection, req: mv.PutMessageVectors) -> m.RowsChanged:
    """Write each vector of a still stored, not deleted message (replacing an older one)."""
    written = 0
    with transaction(conn):
        for item in req.items:
            row = conn.execute(
                "SELECT guild_id, channel_id, stored_at, created_at FROM messages "
                "WHERE message_id = ? AND deleted = 0",
                (item.message_id,),
            ).fetchone()
            if row is None:
                continue
            conn.execute("DELETE FROM message_vectors WHERE message_id = ?", (item.message_id,))
            conn.execute(
                "INSERT OR REPLACE INTO message_vector_models (message_id, model) VALUES (?, ?)",
                (item.message_id, req.model),
            )
            conn.execute(
                "INSERT INTO message_vectors (message_id, scope_key, model, channel_id, at, "
                "embedding) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    item.message_id,
                    mv.partition_of(row[0]),
                    req.model,
                    row[1],
                    _seconds(row[2] or row[3]),
                    sqlite_vec.serialize_float32(list(item.vector)),
                ),
            )
            written += 1
    return m.RowsChanged(count=written)


def search_messages(conn: Connection, req: mv.SearchMessages) -> mv.MessageMatches:
    """KNN inside one scope's partition, then the rows (deleted ones left out)."""
    where = ["embedding MATCH ?", "k = ?", "scope_key = ?", "model = ?"]
    kind, _, ident = req.scope_key.partition(":")
    channel_id = req.channel_id
    if kind == "dm":  # the DMs share one partition: this DM's channel only
        partition, channel_id = "dm", int(ident)
    else:
        partition = req.scope_key
    args: list[Any] = [sqlite_vec.serialize_float32(list(req.vector)), req.k, partition]
    args.append(req.model)
    if channel_id is not None:
        where.append("channel_id = ?")
        args.append(channel_id)
    if req.since is not None:
        where.append("at >= ?")
        args.append(_seconds(_iso(req.since, "since") or req.since))
    hits = conn.execute(
        f"SELECT message_id, distance FROM message_vectors WHERE {' AND '.join(where)} "
        "ORDER BY distance",
        args,
    ).fetchall()
    if not hits:
        return mv.MessageMatches(matches=())
    distance = {int(h[0]): float(h[1]) for h in hits}
    marks = ", ".join("?" * len(distance))
    rows = conn.execute(
        f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE deleted = 0 AND message_id IN ({marks})",
        tuple(distance),
    ).fetchall()
    found = sorted(
        (mv.MessageMatch(row=_message_row(r), distance=distance[int(r[0])]) for r in rows),
        key=lambda x: (x.distance, x.row.message_id),
    )
    return mv.MessageMatches(matches=tuple(found))


MESSAGE_VECTOR_QUERIES: dict[type, Any] = {
    mv.MessagesWithoutVector: messages_without_vector,
    mv.PutMessageVectors: put_message_vectors,
    mv.SearchMessages: search_messages,
}
