"""The schema as an ordered list of migrations, applied at open.

The file's ``PRAGMA user_version`` is the number of migrations applied. Opening runs the missing
ones in order, each in its own ``BEGIN IMMEDIATE`` transaction together with the version bump, so
a failed migration leaves the file at the previous version. Migrations are append-only: never edit
one that has shipped; add the next number instead. A file written by a newer clanker (a version
above the last one known here) is refused with `SchemaTooNew`, never downgraded.

Discord ids are SQLite INTEGERs (int64). Wall-clock time appears only in the ``*_at`` columns, as
UTC ISO 8601 text with milliseconds (``2025-01-31T12:00:00.000+00:00``), which sorts as time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from clanker.store.sqlite import Connection


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: its version (1, 2, …), a short name and its SQL statements."""

    version: int
    name: str
    statements: tuple[str, ...]


class SchemaTooNew(RuntimeError):
    """The database file was written by a newer clanker than this one."""

    def __init__(self, path: str, found: int, supported: int) -> None:
        self.path = path
        self.found = found
        self.supported = supported
        super().__init__(
            f"{path} has schema version {found}, but this clanker knows versions up to "
            f"{supported}; run a newer clanker, or point it at another database file"
        )


class MigrationFailed(RuntimeError):
    """A migration raised; the file is left at the version before it."""


_V1 = Migration(
    1,
    "initial schema: messages, actions, settings, response_triggers",
    (
        """
        CREATE TABLE messages (
            message_id          INTEGER PRIMARY KEY,
            guild_id            INTEGER,
            channel_id          INTEGER NOT NULL,
            author_id           INTEGER NOT NULL,
            author_name         TEXT    NOT NULL,
            is_bot              INTEGER NOT NULL DEFAULT 0 CHECK (is_bot IN (0, 1)),
            content             TEXT    NOT NULL,
            reply_to_message_id INTEGER,
            created_at          TEXT    NOT NULL,
            edited_at           TEXT,
            deleted             INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
        )
        """,
        "CREATE INDEX idx_messages_channel_time ON messages (channel_id, created_at, message_id)",
        "CREATE INDEX idx_messages_guild_time ON messages (guild_id, created_at)",
        """
        CREATE TABLE actions (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            kind        TEXT    NOT NULL,
            guild_id    INTEGER,
            channel_id  INTEGER,
            message_id  INTEGER,
            user_id     INTEGER,
            content     TEXT    NOT NULL DEFAULT '',
            metadata    TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
            usd_cost    REAL    NOT NULL DEFAULT 0,
            created_at  TEXT    NOT NULL
        )
        """,
        "CREATE INDEX idx_actions_kind_time ON actions (kind, created_at)",
        "CREATE INDEX idx_actions_time ON actions (created_at)",
        """
        CREATE TABLE settings (
            key         TEXT    PRIMARY KEY,
            value       TEXT    NOT NULL CHECK (json_valid(value)),
            version     INTEGER NOT NULL CHECK (version >= 1),
            updated_at  TEXT    NOT NULL
        )
        """,
        """
        CREATE TABLE response_triggers (
            trigger_message_id  INTEGER PRIMARY KEY,
            claimed_by          TEXT    NOT NULL,
            action_id           INTEGER REFERENCES actions (id) ON DELETE SET NULL,
            created_at          TEXT    NOT NULL
        )
        """,
        "CREATE INDEX idx_response_triggers_action_id ON response_triggers (action_id)",
    ),
)

_V2 = Migration(
    2,
    "messages.attachments: each attachment by reference (JSON list), so history knows images",
    (
        # [{"id", "filename", "url", "size", "content_type", "width", "height"}, …]
        "ALTER TABLE messages ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]'",
    ),
)

_V3 = Migration(
    3,
    "image_captions: one caption per image source, found again by the image's content hash",
    (
        """
        CREATE TABLE image_captions (
            source_key    TEXT PRIMARY KEY,          -- "attachment:<id>" or "link:<url>"
            content_hash  TEXT NOT NULL,             -- sha256 of the downloaded bytes
            caption       TEXT NOT NULL,
            model         TEXT NOT NULL DEFAULT '',  -- "local" for the no-model fallback
            created_at    TEXT NOT NULL
        )
        """,
        "CREATE INDEX idx_image_captions_hash ON image_captions (content_hash)",
    ),
)

_V4 = Migration(
    4,
    "memory: facts (user/guild/self scope), their FTS5 index and vec0 vectors (384 dims, model)",
    (
        """
        CREATE TABLE memory_facts (
            id             INTEGER PRIMARY KEY AUTOINCREMENT,
            scope          TEXT    NOT NULL CHECK (scope IN ('user', 'guild', 'self')),
            guild_id       INTEGER,
            user_id        INTEGER,
            owner_key      TEXT    NOT NULL,  -- 'user:<id>', 'guild:<id>' or 'self'
            subject        TEXT    NOT NULL,
            fact           TEXT    NOT NULL,
            fact_key       TEXT    NOT NULL,  -- the normalised text duplicates share
            fact_type      TEXT    NOT NULL CHECK (fact_type IN ('preference', 'profile',
                               'relationship', 'project', 'guidance', 'behavioral', 'other')),
            confidence     REAL    NOT NULL CHECK (confidence BETWEEN 0 AND 1),
            evidence_ids   TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(evidence_ids)),
            evidence_text  TEXT    NOT NULL DEFAULT '',
            channel_id     INTEGER,
            supersedes     INTEGER REFERENCES memory_facts (id) ON DELETE SET NULL,
            is_active      INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
            created_at     TEXT    NOT NULL,
            updated_at     TEXT    NOT NULL,
            CHECK ((scope = 'user' AND user_id IS NOT NULL AND guild_id IS NULL
                    AND owner_key = 'user:' || user_id)
                OR (scope = 'guild' AND guild_id IS NOT NULL AND user_id IS NULL
                    AND owner_key = 'guild:' || guild_id)
                OR (scope = 'self' AND guild_id IS NULL AND user_id IS NULL
                    AND owner_key = 'self'))
        )
        """,
        "CREATE UNIQUE INDEX idx_memory_facts_unique "
        "ON memory_facts (owner_key, subject, fact_key)",
        "CREATE INDEX idx_memory_facts_owner_time "
        "ON memory_facts (owner_key, is_active, updated_at)",
        "CREATE INDEX idx_memory_facts_supersedes ON memory_facts (supersedes)",
        """
        CREATE VIRTUAL TABLE memory_facts_fts USING fts5(
            fact, subject, evidence_text,
            content = 'memory_facts', content_rowid = 'id',
            tokenize = 'unicode61 remove_diacritics 2'
        )
        """,
        """
        CREATE TRIGGER memory_facts_fts_insert AFTER INSERT ON memory_facts BEGIN
            INSERT INTO memory_facts_fts (rowid, fact, subject, evidence_text)
            VALUES (new.id, new.fact, new.subject, new.evidence_text);
        END
        """,
        """
        CREATE TRIGGER memory_facts_fts_delete AFTER DELETE ON memory_facts BEGIN
            INSERT INTO memory_facts_fts (memory_facts_fts, rowid, fact, subject, evidence_text)
            VALUES ('delete', old.id, old.fact, old.subject, old.evidence_text);
        END
        """,
        """
        CREATE TRIGGER memory_facts_fts_update AFTER UPDATE OF fact, subject, evidence_text
        ON memory_facts BEGIN
            INSERT INTO memory_facts_fts (memory_facts_fts, rowid, fact, subject, evidence_text)
            VALUES ('delete', old.id, old.fact, old.subject, old.evidence_text);
            INSERT INTO memory_facts_fts (rowid, fact, subject, evidence_text)
            VALUES (new.id, new.fact, new.subject, new.evidence_text);
        END
        """,
        # KNN is per owner (partition key) and model, over active facts only.
        """
        CREATE VIRTUAL TABLE memory_fact_vectors USING vec0(
            fact_id    INTEGER PRIMARY KEY,
            owner_key  TEXT PARTITION KEY,
            model      TEXT,
            active     INTEGER,
            embedding  FLOAT[384] distance_metric=cosine
        )
        """,
    ),
)

_V5 = Migration(
    version=5,
    name="scheduler: scheduled_jobs and job_runs",
    statements=(
        """
        CREATE TABLE scheduled_jobs (
            id               INTEGER PRIMARY KEY AUTOINCREMENT,
            job_key          TEXT    NOT NULL UNIQUE,
            kind             TEXT    NOT NULL,
            schedule         TEXT    NOT NULL CHECK (json_valid(schedule)),
            payload          TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
            catch_up         TEXT    NOT NULL DEFAULT 'skip' CHECK (catch_up IN ('skip', 'once')),
            max_late_seconds REAL    NOT NULL DEFAULT 21600,
            status           TEXT    NOT NULL DEFAULT 'active'
                             CHECK (status IN ('active', 'paused', 'done', 'deleted')),
            next_run_at      TEXT,
            last_run_at      TEXT,
            missed           INTEGER NOT NULL DEFAULT 0,
            guild_id         INTEGER,
            channel_id       INTEGER,
            created_by       INTEGER,
            title            TEXT    NOT NULL DEFAULT '',
            created_at       TEXT    NOT NULL,
            updated_at       TEXT    NOT NULL
        )
        """,
        "CREATE INDEX idx_scheduled_jobs_due ON scheduled_jobs (status, next_run_at)",
        """
        CREATE TABLE job_runs (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            job_id        INTEGER NOT NULL REFERENCES scheduled_jobs (id),
            scheduled_for TEXT    NOT NULL,
            claimed_by    TEXT    NOT NULL,
            started_at    TEXT    NOT NULL,
            finished_at   TEXT,
            outcome       TEXT CHECK (outcome IN ('ok', 'failed', 'interrupted')),
            detail        TEXT    NOT NULL DEFAULT '',
            late_seconds  REAL    NOT NULL DEFAULT 0,
            UNIQUE (job_id, scheduled_for)
        )
        """,
        "CREATE INDEX idx_job_runs_open ON job_runs (finished_at, claimed_by)",
    ),
)

_V6 = Migration(
    6,
    "memory: user facts learned in a DM are marked (learned_in_dm), so no guild prompt gets them",
    (
        "ALTER TABLE memory_facts ADD COLUMN learned_in_dm INTEGER NOT NULL DEFAULT 0 "
        "CHECK (learned_in_dm IN (0, 1) AND (learned_in_dm = 0 OR scope = 'user'))",
    ),
)

_V7 = Migration(
    7,
    "messages.stored_at: when clanker stored each message, on its own clock (journal days, "
    "the reflector's quiet-channel check)",
    (
        "ALTER TABLE messages ADD COLUMN stored_at TEXT",
        "UPDATE messages SET stored_at = created_at",
        "CREATE INDEX idx_messages_stored ON messages (stored_at, message_id)",
    ),
)

_V8 = Migration(
    8,
    "message_vectors: each message's vector (vec0, 384 dims, a partition per guild and one for "
    "every DM), for conversation_search; message_vector_models says which model made each",
    (
        # One partition per guild, and all DMs in one ("dm", searched with its channel_id):
        # vec0 gives every partition a chunk of 1,024 vectors (1.5 MB), so a partition per DM
        # would cost megabytes for a few lines each.
        """
        CREATE VIRTUAL TABLE message_vectors USING vec0(
            message_id INTEGER PRIMARY KEY,
            scope_key  TEXT PARTITION KEY,
            model      TEXT,
            channel_id INTEGER,
            at         FLOAT,
            embedding  FLOAT[384] distance_metric=cosine
        )
        """,
        # Which messages have a vector of which model, in a plain table: a vec0 table answers
        # a lookup by id only slowly (the background pass asks it for every candidate).
        """
        CREATE TABLE message_vector_models (
            message_id INTEGER PRIMARY KEY,
            model      TEXT    NOT NULL
        )
        """,
    ),
)

_V9 = Migration(
    9,
    "memory: exact vectors in a plain table; vec0 codes for partitions past 1,024 vectors",
    (
        # The float vectors move to a plain table (read by primary key and by owner; the vec0
        # table could only be read back by scanning, and gave every owner a 1.5 MB chunk). The
        # rows are carried over as they are. A partition (owner, model) bigger than 1,024
        # vectors gets codes in memory_fact_codes at its first search or write
        # (clanker/store/fact_vectors.py); smaller ones are searched exactly.
        """
        CREATE TABLE memory_fact_vectors_v7 (
            fact_id    INTEGER PRIMARY KEY REFERENCES memory_facts (id) ON DELETE CASCADE,
            owner_key  TEXT    NOT NULL,
            model      TEXT    NOT NULL,
            embedding  BLOB    NOT NULL CHECK (length(embedding) = 1536)  -- float32 x 384
        )
        """,
        "INSERT INTO memory_fact_vectors_v7 (fact_id, owner_key, model, embedding) "
        "SELECT v.fact_id, mf.owner_key, v.model, v.embedding FROM memory_fact_vectors v "
        "JOIN memory_facts mf ON mf.id = v.fact_id",
        "DROP TABLE memory_fact_vectors",
        "ALTER TABLE memory_fact_vectors_v7 RENAME TO memory_fact_vectors",
        "CREATE INDEX idx_memory_fact_vectors_partition "
        "ON memory_fact_vectors (owner_key, model, fact_id)",
        "CREATE INDEX idx_memory_fact_vectors_model ON memory_fact_vectors (model, fact_id)",
        """
        CREATE TABLE memory_vector_partitions (
            owner_key  TEXT    NOT NULL,
            model      TEXT    NOT NULL,
            vectors    INTEGER NOT NULL CHECK (vectors >= 0),
            coded      INTEGER NOT NULL DEFAULT 0 CHECK (coded IN (0, 1)),
            PRIMARY KEY (owner_key, model)
        )
        """,
        "INSERT INTO memory_vector_partitions (owner_key, model, vectors) "
        "SELECT owner_key, model, count(*) FROM memory_fact_vectors GROUP BY owner_key, model",
        """
        CREATE TABLE memory_vector_codebooks (
            model      TEXT    PRIMARY KEY,
            centre     BLOB    NOT NULL,  -- float32 per dimension: the mean
            scale      BLOB    NOT NULL,  -- float32 per dimension: the standard deviation
            fitted_on  INTEGER NOT NULL,  -- how many vectors it was fitted from
            created_at TEXT    NOT NULL
        )
        """,
        # KNN of a coded partition runs on the codes (3 bits a dimension) and is re-scored
        # exactly from memory_fact_vectors.
        """
        CREATE VIRTUAL TABLE memory_fact_codes USING vec0(
            fact_id    INTEGER PRIMARY KEY,
            owner_key  TEXT PARTITION KEY,
            model      TEXT PARTITION KEY,
            active     INTEGER,
            code       BIT[1152]
        )
        """,
    ),
)

MIGRATIONS: tuple[Migration, ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, _V9)
"""Every migration, in order; ``MIGRATIONS[i].version == i + 1``."""

LATEST_VERSION = len(MIGRATIONS)


def schema_version(conn: Connection) -> int:
    """The file's schema version (``PRAGMA user_version``; 0 for a new file)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(
    conn: Connection, path: str | Path, migrations: Sequence[Migration] = MIGRATIONS
) -> tuple[int, int]:
    """Bring the file to the latest version; return ``(version_before, version_after)``.

    Raises `SchemaTooNew` for a file ahead of ``migrations`` and `MigrationFailed` (with the
    file still at the last good version) if a step fails. Re-opening an up-to-date file is a
    no-op.
    """
    for i, m in enumerate(migrations):
        if m.version != i + 1:
            raise ValueError(f"migration #{i} has version {m.version}; versions must be 1, 2, …")
    latest = len(migrations)
    before = schema_version(conn)
    if before > latest:
        raise SchemaTooNew(str(path), before, latest)
    for m in migrations[before:]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read inside the write lock: another process may have migrated meanwhile.
            if schema_version(conn) >= m.version:
                conn.execute("ROLLBACK")
                continue
            for sql in m.statements:
                conn.execute(sql)
            conn.execute(f"PRAGMA user_version = {int(m.version)}")
            conn.execute("COMMIT")
        except Exception as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise MigrationFailed(
                f"{path}: migration {m.version} ({m.name}) failed: {exc}; the file stays at "
                f"version {m.version - 1}"
            ) from exc
    return before, schema_version(conn)
