"""The SQL behind each Store request: plain blocking functions of a connection.

Each function takes one request and returns its reply. They hold no state and know nothing of
trio, so they are tested directly on a connection; the `Store` actor runs them on a worker
thread, one at a time. Writes run inside ``BEGIN IMMEDIATE`` … ``COMMIT``; any error rolls back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import msgspec
import pysqlite3.dbapi2 as sqlite3

from clanker.store import messages as m
from clanker.store.content import MAX_AUTHOR_NAME_CHARS, MAX_CONTENT_CHARS, truncate
from clanker.store.sqlite import Connection
from clanker.store.sqlite import transaction as transaction  # re-exported: the query modules use it
from clanker.store.wallclock import normalize_iso, to_iso, utc_now_iso


def _iso(value: str | None, field: str) -> str | None:
    return None if value is None else normalize_iso(value, field)


# --- messages ---------------------------------------------------------------------------------

_MESSAGE_COLUMNS = (
    "message_id, guild_id, channel_id, author_id, author_name, is_bot, content, "
    "reply_to_message_id, created_at, edited_at, deleted, attachments, stored_at"
)
_ATTACHMENTS = msgspec.json.Decoder(tuple[m.StoredAttachment, ...])


def _message_row(r: tuple[Any, ...]) -> m.MessageRow:
    return m.MessageRow(
        message_id=r[0],
        guild_id=r[1],
        channel_id=r[2],
        author_id=r[3],
        author_name=r[4],
        is_bot=bool(r[5]),
        content=r[6],
        reply_to_message_id=r[7],
        created_at=r[8],
        edited_at=r[9],
        deleted=bool(r[10]),
        attachments=_ATTACHMENTS.decode(r[11]),
        stored_at=r[12],
    )


def store_message(conn: Connection, req: m.StoreMessage) -> m.RowsChanged:
    """Insert a message, or refresh every field but ``deleted`` and ``stored_at`` (the first
    store's time) if it is already stored."""
    with transaction(conn):
        cur = conn.execute(
            """
            INSERT INTO messages (message_id, guild_id, channel_id, author_id, author_name,
                                  is_bot, content, reply_to_message_id, created_at, edited_at,
                                  attachments, stored_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (message_id) DO UPDATE SET
                guild_id = excluded.guild_id,
                channel_id = excluded.channel_id,
                author_id = excluded.author_id,
                author_name = excluded.author_name,
                is_bot = excluded.is_bot,
                content = excluded.content,
                reply_to_message_id = excluded.reply_to_message_id,
                created_at = excluded.created_at,
                edited_at = COALESCE(excluded.edited_at, messages.edited_at),
                attachments = excluded.attachments
            """,
            (
                req.message_id,
                req.guild_id,
                req.channel_id,
                req.author_id,
                truncate(req.author_name, MAX_AUTHOR_NAME_CHARS),
                int(req.is_bot),
                truncate(req.content, MAX_CONTENT_CHARS),
                req.reply_to_message_id,
                normalize_iso(req.created_at, "created_at"),
                _iso(req.edited_at, "edited_at"),
                msgspec.json.encode(req.attachments).decode(),
                _iso(req.stored_at, "stored_at") or utc_now_iso(),
            ),
        )
    return m.RowsChanged(count=cur.rowcount)


def mark_edited(conn: Connection, req: m.MarkMessageEdited) -> m.RowsChanged:
    """Replace the content of a stored message and stamp ``edited_at``."""
    with transaction(conn):
        cur = conn.execute(
            "UPDATE messages SET content = ?, edited_at = ? WHERE message_id = ?",
            (
                truncate(req.content, MAX_CONTENT_CHARS),
                normalize_iso(req.edited_at, "edited_at"),
                req.message_id,
            ),
        )
    return m.RowsChanged(count=cur.rowcount)


def mark_deleted(conn: Connection, req: m.MarkMessageDeleted) -> m.RowsChanged:
    """Flag a stored message as deleted; its vector (if any) goes."""
    with transaction(conn):
        cur = conn.execute(
            "UPDATE messages SET deleted = 1 WHERE message_id = ? AND deleted = 0",
            (req.message_id,),
        )
        conn.execute("DELETE FROM message_vectors WHERE message_id = ?", (req.message_id,))
        conn.execute("DELETE FROM message_vector_models WHERE message_id = ?", (req.message_id,))
    return m.RowsChanged(count=cur.rowcount)


def recent_messages(conn: Connection, req: m.RecentMessages) -> m.MessageRows | m.StoreRejected:
    """The channel's latest messages (before ``before_id`` if given), returned oldest first.

    History order is ``(created_at, message_id)``: Discord's timestamp, ties broken by id.
    """
    where = ["channel_id = ?"]
    args: list[Any] = [req.channel_id]
    if req.before_id is not None:
        anchor = conn.execute(
            "SELECT created_at FROM messages WHERE message_id = ? AND channel_id = ?",
            (req.before_id, req.channel_id),
        ).fetchone()
        if anchor is None:
            return m.StoreRejected(
                request="RecentMessages",
                problem=f"before_id {req.before_id} is not a stored message of channel "
                f"{req.channel_id}; page with an id from a previous reply",
            )
        where.append("(created_at, message_id) < (?, ?)")
        args += [anchor[0], req.before_id]
    if not req.include_deleted:
        where.append("deleted = 0")
    rows = conn.execute(
        f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE {' AND '.join(where)} "
        "ORDER BY created_at DESC, message_id DESC LIMIT ?",
        (*args, req.limit),
    ).fetchall()
    return m.MessageRows(rows=tuple(_message_row(r) for r in reversed(rows)))


def get_message(conn: Connection, req: m.GetMessage) -> m.MessageRows:
    """The stored message with this id, if any."""
    rows = conn.execute(
        f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE message_id = ?", (req.message_id,)
    ).fetchall()
    return m.MessageRows(rows=tuple(_message_row(r) for r in rows))


def messages_between(conn: Connection, req: m.MessagesBetween) -> m.MessageRows | m.StoreRejected:
    """Guild messages stored in ``[start, end)``, in the order stored, a page after
    ``after_id``."""
    start, end = _iso(req.start, "start"), _iso(req.end, "end")
    where = ["stored_at >= ?", "stored_at < ?", "deleted = 0"]
    args: list[Any] = [start, end]
    if req.guild_id is None:
        where.append("guild_id IS NOT NULL")
    else:
        where.append("guild_id = ?")
        args.append(req.guild_id)
    if req.after_id is not None:
        anchor = conn.execute(
            "SELECT stored_at FROM messages WHERE message_id = ?", (req.after_id,)
        ).fetchone()
        if anchor is None:
            return m.StoreRejected(
                request="MessagesBetween",
                problem=f"after_id {req.after_id} is not a stored message; page with the last "
                "id of the previous reply",
            )
        where.append("(stored_at, message_id) > (?, ?)")
        args += [anchor[0], req.after_id]
    rows = conn.execute(
        f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE {' AND '.join(where)} "
        "ORDER BY stored_at, message_id LIMIT ?",
        (*args, req.limit),
    ).fetchall()
    return m.MessageRows(rows=tuple(_message_row(r) for r in rows))


def delete_messages(conn: Connection, req: m.DeleteMessages) -> m.RowsChanged:
    """One guild's messages, or one author's, gone for good with their vectors."""
    column, value = (
        ("guild_id", req.guild_id)
        if req.guild_id is not None
        else (
            "author_id",
            req.author_id,
        )
    )
    with transaction(conn):
        for table in ("message_vectors", "message_vector_models"):
            conn.execute(
                f"DELETE FROM {table} WHERE message_id IN "
                f"(SELECT message_id FROM messages WHERE {column} = ?)",
                (value,),
            )
        cur = conn.execute(f"DELETE FROM messages WHERE {column} = ?", (value,))
    return m.RowsChanged(count=cur.rowcount)


def message_guilds(conn: Connection, req: m.MessageGuilds) -> m.GuildIds:
    """The guilds with messages stored in ``[start, end)``."""
    rows = conn.execute(
        "SELECT DISTINCT guild_id FROM messages WHERE stored_at >= ? AND stored_at < ? "
        "AND deleted = 0 AND guild_id IS NOT NULL ORDER BY guild_id",
        (_iso(req.start, "start"), _iso(req.end, "end")),
    ).fetchall()
    return m.GuildIds(guild_ids=tuple(int(r[0]) for r in rows))


# --- actions ----------------------------------------------------------------------------------

_ACTION_COLUMNS = (
    "id, kind, guild_id, channel_id, message_id, user_id, content, metadata, usd_cost, created_at"
)


def log_action(conn: Connection, req: m.LogAction) -> m.ActionLogged:
    """Append an action; stamp it with the wall clock unless it carries its own time."""
    created_at = _iso(req.created_at, "created_at") or utc_now_iso()
    with transaction(conn):
        cur = conn.execute(
            """
            INSERT INTO actions (kind, guild_id, channel_id, message_id, user_id, content,
                                 metadata, usd_cost, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            (
                req.kind,
                req.guild_id,
                req.channel_id,
                req.message_id,
                req.user_id,
                req.content,
                req.metadata,
                float(req.usd_cost),
                created_at,
            ),
        )
    return m.ActionLogged(id=int(cur.lastrowid), created_at=created_at)


def query_actions(conn: Connection, req: m.ActionsQuery) -> m.ActionRows:
    """Actions matching every given filter, newest first, paged by ``limit``/``offset``."""
    where: list[str] = []
    args: list[Any] = []
    for column, value in (
        ("kind", req.kind),
        ("guild_id", req.guild_id),
        ("channel_id", req.channel_id),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if req.since is not None:
        where.append("created_at >= ?")
        args.append(normalize_iso(req.since, "since"))
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(
        f"SELECT {_ACTION_COLUMNS} FROM actions {clause} "
        "ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        (*args, req.limit, req.offset),
    ).fetchall()
    return m.ActionRows(
        rows=tuple(
            m.ActionRow(
                id=r[0],
                kind=r[1],
                guild_id=r[2],
                channel_id=r[3],
                message_id=r[4],
                user_id=r[5],
                content=r[6],
                metadata=r[7],
                usd_cost=float(r[8]),
                created_at=r[9],
            )
            for r in rows
        )
    )


def count_actions(conn: Connection, req: m.CountActions) -> m.ActionCount:
    """How many actions of a kind since a time (inclusive), and their summed cost."""
    sql = "SELECT COUNT(*), TOTAL(usd_cost) FROM actions WHERE kind = ? AND created_at >= ?"
    args: list[Any] = [req.kind, normalize_iso(req.since, "since")]
    if req.guild_id is not None:
        sql += " AND guild_id = ?"
        args.append(req.guild_id)
    count, cost = conn.execute(sql, args).fetchone()
    return m.ActionCount(count=int(count), usd_cost=float(cost))


def action_totals(conn: Connection, req: m.ActionTotals) -> m.ActionTotalsRows:
    """Counts, costs and token sums since a time, by UTC day, kind, provider and model."""
    sql = """
        SELECT substr(created_at, 1, 10), kind,
               CAST(json_extract(metadata, '$.provider') AS TEXT),
               CAST(json_extract(metadata, '$.model') AS TEXT),
               COUNT(*), TOTAL(usd_cost),
               TOTAL(COALESCE(json_extract(metadata, '$.usage.input_tokens'),
                              json_extract(metadata, '$.input_tokens'))),
               TOTAL(COALESCE(json_extract(metadata, '$.usage.output_tokens'),
                              json_extract(metadata, '$.output_tokens')))
        FROM actions WHERE created_at >= ?"""
    args: list[Any] = [normalize_iso(req.since, "since")]
    if req.guild_id is not None:
        sql += " AND guild_id = ?"
        args.append(req.guild_id)
    sql += " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
    return m.ActionTotalsRows(
        rows=tuple(
            m.ActionTotalsRow(
                day=r[0],
                kind=r[1],
                provider=r[2],
                model=r[3],
                count=int(r[4]),
                usd_cost=float(r[5]),
                input_tokens=int(r[6]),
                output_tokens=int(r[7]),
            )
            for r in conn.execute(sql, args).fetchall()
        )
    )


# --- settings ---------------------------------------------------------------------------------


def get_setting(conn: Connection, req: m.GetSetting) -> m.SettingValue:
    """A setting's JSON text and version; version 0 when it was never written."""
    row = conn.execute(
        "SELECT value, version, updated_at FROM settings WHERE key = ?", (req.key,)
    ).fetchone()
    if row is None:
        return m.SettingValue(key=req.key, value=None, version=0, updated_at=None)
    return m.SettingValue(key=req.key, value=row[0], version=int(row[1]), updated_at=row[2])


def put_setting(conn: Connection, req: m.PutSetting) -> m.SettingStored | m.SettingConflict:
    """Compare-and-swap: write only if the stored version equals ``expected_version``."""
    now = utc_now_iso()
    with transaction(conn):
        row = conn.execute(
            "SELECT value, version FROM settings WHERE key = ?", (req.key,)
        ).fetchone()
        current_value, current_version = (None, 0) if row is None else (row[0], int(row[1]))
        if current_version != req.expected_version:
            return m.SettingConflict(
                key=req.key,
                expected_version=req.expected_version,
                current_version=current_version,
                current_value=current_value,
            )
        version = current_version + 1
        conn.execute(
            """
            INSERT INTO settings (key, value, version, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (key) DO UPDATE SET
                value = excluded.value, version = excluded.version, updated_at = excluded.updated_at
            """,
            (req.key, req.value, version, now),
        )
    return m.SettingStored(key=req.key, version=version, updated_at=now)


# --- triggers ---------------------------------------------------------------------------------


def claim_trigger(conn: Connection, req: m.ClaimTrigger) -> m.Claimed | m.StoreRejected:
    """Insert the claim if none exists; either way report who holds it."""
    now = utc_now_iso()
    try:
        with transaction(conn):
            cur = conn.execute(
                """
                INSERT INTO response_triggers (trigger_message_id, claimed_by, action_id,
                                               created_at)
                VALUES (?, ?, ?, ?) ON CONFLICT (trigger_message_id) DO NOTHING
                """,
                (req.message_id, req.claimed_by, req.action_id, now),
            )
            row = conn.execute(
                "SELECT claimed_by, action_id, created_at FROM response_triggers "
                "WHERE trigger_message_id = ?",
                (req.message_id,),
            ).fetchone()
    except sqlite3.IntegrityError as exc:
        return m.StoreRejected(
            request="ClaimTrigger", problem=f"action_id {req.action_id} is not logged ({exc})"
        )
    return m.Claimed(
        message_id=req.message_id,
        claimed=cur.rowcount == 1,
        claimed_by=row[0],
        action_id=row[1],
        created_at=row[2],
    )


def link_trigger_action(
    conn: Connection, req: m.LinkTriggerAction
) -> m.RowsChanged | m.StoreRejected:
    """Point a claimed trigger at the action that answered it."""
    try:
        with transaction(conn):
            cur = conn.execute(
                "UPDATE response_triggers SET action_id = ? WHERE trigger_message_id = ?",
                (req.action_id, req.message_id),
            )
    except sqlite3.IntegrityError as exc:
        return m.StoreRejected(
            request="LinkTriggerAction", problem=f"action_id {req.action_id} is not logged ({exc})"
        )
    return m.RowsChanged(count=cur.rowcount)


Query = Callable[[Connection, Any], m.StoreReply]

_TERMINAL = ("sent", "skipped", "failed", "cancelled")


# Admitted in the channel within the window, and no terminal decision names it since.
_ADMITTED_UNFINISHED = """
    SELECT a.message_id, MIN(a.id) FROM actions a
    WHERE a.kind = 'reply_decision' AND a.channel_id = ? AND a.created_at >= ?
      AND a.message_id IS NOT NULL
      AND json_extract(a.metadata, '$.decision') = 'admitted'
      AND NOT EXISTS (
        SELECT 1 FROM actions t
        WHERE t.kind = 'reply_decision' AND t.channel_id = a.channel_id AND t.id > a.id
          AND json_extract(t.metadata, '$.decision') IN ({terminal})
          AND (t.message_id = a.message_id OR EXISTS (
            SELECT 1 FROM json_each(t.metadata, '$.message_ids') j
            WHERE j.value = CAST(a.message_id AS TEXT))))
""".format(terminal=",".join("?" * len(_TERMINAL)))

# A send for it started (it may have gone out), by kind: it was the reply's trigger or one of
# the batch the reply answers.
_SEND_FOR_IT = """
    SELECT 1 FROM actions s
    WHERE s.kind IN ({kinds}) AND s.channel_id = a.channel_id
      AND (json_extract(s.metadata, '$.trigger_message_id') = CAST(a.message_id AS TEXT)
           OR EXISTS (SELECT 1 FROM json_each(s.metadata, '$.message_ids') j
                      WHERE j.value = CAST(a.message_id AS TEXT)))
"""


def resume_interrupted(conn: Connection, req: m.ResumeInterrupted) -> m.MessageIds:
    """See `ResumeInterrupted`. Decisions are ``reply_decision`` actions whose metadata carries
    ``decision``, ``job_id`` (job-level ones) and ``message_ids``."""
    since = to_iso(datetime.fromisoformat(utc_now_iso()) - timedelta(seconds=req.within_seconds))
    sent_kinds = _SEND_FOR_IT.format(kinds="'sent_reply', 'sent_message', 'send_started'")
    with transaction(conn):
        rows = conn.execute(
            f"""{_ADMITTED_UNFINISHED}
              AND NOT EXISTS (
                SELECT 1 FROM response_triggers r
                WHERE r.trigger_message_id = a.message_id
                  AND (r.action_id IS NOT NULL
                       OR substr(r.claimed_by, 1, length(?)) != ?))
              AND NOT EXISTS ({sent_kinds})
              AND NOT EXISTS (
                SELECT 1 FROM messages b
                WHERE b.reply_to_message_id = a.message_id AND b.author_id = ?)
            GROUP BY a.message_id ORDER BY MIN(a.id)
            """,
            (
                req.channel_id,
                since,
                *_TERMINAL,
                req.claimer_prefix,
                req.claimer_prefix,
                req.bot_user_id,
            ),
        ).fetchall()
        ids = tuple(int(r[0]) for r in rows)
        conn.executemany(
            "UPDATE response_triggers SET claimed_by = ? "
            "WHERE trigger_message_id = ? AND action_id IS NULL",
            [(req.claimer, i) for i in ids],
        )
        # Admitted, unfinished, and a send started for it: it may have gone out, so it is not
        # taken up again (no duplicate), but it still needs its terminal decision.
        mid_send = conn.execute(
            f"""{_ADMITTED_UNFINISHED}
              AND EXISTS ({_SEND_FOR_IT.format(kinds="'send_started'")})
            GROUP BY a.message_id ORDER BY MIN(a.id)
            """,
            (req.channel_id, since, *_TERMINAL),
        ).fetchall()
        unfinished = {int(r[0]) for r in mid_send} - set(ids)
        found: list[m.MidSend] = []
        for trigger in sorted(unfinished):
            if any(trigger in f.message_ids for f in found):
                continue  # one of a batch already found through another of its messages
            found.append(_mid_send(conn, req, trigger, unfinished))
    return m.MessageIds(message_ids=ids, mid_send=tuple(found))


def _mid_send(
    conn: Connection, req: m.ResumeInterrupted, message_id: int, unfinished: set[int]
) -> m.MidSend:
    """What is known of the reply that was going out for ``message_id`` (see `MidSend`)."""
    row = conn.execute(
        """
        SELECT json_extract(s.metadata, '$.trigger_message_id'),
               json_extract(s.metadata, '$.first_chunk'),
               json_extract(s.metadata, '$.message_ids')
        FROM actions s
        WHERE s.kind = 'send_started' AND s.channel_id = ?
          AND (json_extract(s.metadata, '$.trigger_message_id') = CAST(? AS TEXT)
               OR EXISTS (SELECT 1 FROM json_each(s.metadata, '$.message_ids') j
                          WHERE j.value = CAST(? AS TEXT)))
        ORDER BY s.id DESC LIMIT 1
        """,
        (req.channel_id, message_id, message_id),
    ).fetchone()
    trigger = int(row[0]) if row is not None and row[0] is not None else message_id
    first_chunk = str(row[1]) if row is not None and row[1] is not None else ""
    batch = {int(i) for i in json.loads(row[2])} if row is not None and row[2] else set()
    named = tuple(sorted((batch | {message_id, trigger}) & unfinished))
    logged = conn.execute(
        """
        SELECT message_id FROM actions
        WHERE kind IN ('sent_reply', 'sent_message') AND channel_id = ?
          AND json_extract(metadata, '$.trigger_message_id') = CAST(? AS TEXT)
        ORDER BY id LIMIT 1
        """,
        (req.channel_id, trigger),
    ).fetchone()
    landed: int | None = None
    if logged is not None and logged[0] is not None:
        landed = int(logged[0])
    elif first_chunk:
        echo = conn.execute(
            """
            SELECT b.message_id FROM messages b
            WHERE b.channel_id = ? AND b.author_id = ? AND b.message_id > ? AND b.content = ?
              AND NOT EXISTS (
                SELECT 1 FROM actions s
                WHERE s.kind IN ('sent_reply', 'sent_message') AND s.message_id = b.message_id)
            ORDER BY b.message_id LIMIT 1
            """,
            (req.channel_id, req.bot_user_id, trigger, first_chunk),
        ).fetchone()
        landed = None if echo is None else int(echo[0])
    return m.MidSend(message_id=trigger, message_ids=named, first_chunk=first_chunk, landed=landed)


# --- image captions ---------------------------------------------------------------------------


def put_image_caption(conn: Connection, req: m.PutImageCaption) -> m.RowsChanged:
    """Insert or replace one source's caption."""
    with transaction(conn):
        cur = conn.execute(
            """
            INSERT INTO image_captions (source_key, content_hash, caption, model, created_at)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (source_key) DO UPDATE SET
                content_hash = excluded.content_hash, caption = excluded.caption,
                model = excluded.model, created_at = excluded.created_at
            """,
            (
                req.source_key,
                req.content_hash,
                truncate(req.caption, m.MAX_CAPTION_CHARS),
                req.model,
                utc_now_iso(),
            ),
        )
    return m.RowsChanged(count=cur.rowcount)


def get_image_captions(conn: Connection, req: m.GetImageCaptions) -> m.ImageCaptions:
    """Captions by source key and/or content hash (newest first for a hash)."""
    columns = "source_key, content_hash, caption, model, created_at"
    rows: list[tuple[Any, ...]] = []
    keys = list(dict.fromkeys(req.source_keys))
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        rows += conn.execute(
            f"SELECT {columns} FROM image_captions WHERE source_key IN ({marks})", chunk
        ).fetchall()
    if req.content_hash is not None:
        rows += conn.execute(
            f"SELECT {columns} FROM image_captions WHERE content_hash = ? "
            "ORDER BY created_at DESC LIMIT 1",
            (req.content_hash,),
        ).fetchall()
    return m.ImageCaptions(
        rows=tuple(
            m.ImageCaptionRow(
                source_key=r[0], content_hash=r[1], caption=r[2], model=r[3], created_at=r[4]
            )
            for r in rows
        )
    )


QUERIES: dict[type, Query] = {
    m.StoreMessage: store_message,
    m.MarkMessageEdited: mark_edited,
    m.MarkMessageDeleted: mark_deleted,
    m.RecentMessages: recent_messages,
    m.GetMessage: get_message,
    m.MessagesBetween: messages_between,
    m.MessageGuilds: message_guilds,
    m.DeleteMessages: delete_messages,
    m.LogAction: log_action,
    m.ActionsQuery: query_actions,
    m.CountActions: count_actions,
    m.ActionTotals: action_totals,
    m.GetSetting: get_setting,
    m.PutSetting: put_setting,
    m.ClaimTrigger: claim_trigger,
    m.LinkTriggerAction: link_trigger_action,
    m.ResumeInterrupted: resume_interrupted,
    m.PutImageCaption: put_image_caption,
    m.GetImageCaptions: get_image_captions,
}
"""Which function answers which request."""

from clanker.store.fact_queries import FACT_QUERIES  # noqa: E402 - it uses `transaction`

QUERIES.update(FACT_QUERIES)

from clanker.store.job_queries import JOB_QUERIES  # noqa: E402 - it uses `transaction`

QUERIES.update(JOB_QUERIES)

from clanker.store.message_vector_queries import MESSAGE_VECTOR_QUERIES  # noqa: E402

QUERIES.update(MESSAGE_VECTOR_QUERIES)
