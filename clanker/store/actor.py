"""`Store`: the actor that owns clanker's SQLite file.

Only the Store touches the database. Its mailbox (bounded, ``block``: a full mailbox makes
senders wait, nothing is dropped) serialises every request, and each request's SQL runs on a trio
worker thread through a `trio.CapacityLimiter` of one, so the trio thread never blocks on disk and
the connection is never used by two threads at once.

``inline=True`` runs the same SQL on the trio thread instead (no worker thread). It exists for
tests: a worker thread's completion is real time, which `trio.testing.MockClock` cannot jump
over, so the product layer above the Store is tested on virtual time with an inline Store. The
code path is the same; only where the blocking call runs differs.

A told write is fire-and-forget; ask it when you must know it is committed (the reply is sent
after COMMIT). Requests that fail on their input come back as `StoreRejected`; a database that
fails underneath (I/O error, corruption) crashes the actor, and its supervisor restarts it, which
reopens the file: committed data is never lost, as SQLite's WAL guarantees.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import msgspec
import pysqlite3.dbapi2 as sqlite3
import trio

from clanker.runtime import (
    Actor,
    ActorContext,
    ActorError,
    ActorRef,
    ChildSpec,
    MailboxSpec,
    Overflow,
    Restart,
    handles,
)
from clanker.store import messages as m
from clanker.store.migrations import migrate
from clanker.store.queries import QUERIES
from clanker.store.sqlite import Connection, close_connection, open_connection
from clanker.store.wallclock import utc_now_iso

log = logging.getLogger(__name__)
T = TypeVar("T")

STORE_NAME = "store"
"""The runtime-wide name `store_child` registers."""


def open_store(path: str | Path) -> Connection:
    """Open ``path`` (WAL, sqlite-vec loaded) and migrate it to the latest schema (blocking)."""
    conn = open_connection(path)
    try:
        before, after = migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    if before != after:
        log.info("store %s migrated from schema version %d to %d", path, before, after)
    return conn


class Store(Actor):
    """Owns the one connection to the SQLite file at ``path``; answers `StoreRequest`s."""

    mailbox = MailboxSpec(capacity=256, overflow=Overflow.BLOCK)

    def __init__(
        self, path: str | Path, *, action_listener: str | None = None, inline: bool = False
    ) -> None:
        self.path = Path(path)
        self.action_listener = action_listener
        self.inline = inline
        self._ctx: ActorContext | None = None
        self._conn: Connection | None = None
        self._limiter = trio.CapacityLimiter(1)

    async def _blocking(self, fn: Callable[..., T], *args: object) -> T:
        """Run the blocking ``fn(*args)`` on the worker thread, or right here when inline."""
        if self.inline:
            await trio.lowlevel.checkpoint()
            return fn(*args)
        return await trio.to_thread.run_sync(fn, *args, limiter=self._limiter)

    async def on_start(self, ctx: ActorContext) -> None:
        """Open and migrate the file; a file from a newer clanker makes the start fail."""
        self._ctx = ctx
        self._conn = await self._blocking(open_store, self.path)
        ctx.start_soon(self._close_on_exit)

    async def on_stop(self) -> None:
        """Checkpoint the WAL and close the file (after the last handled message)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._blocking(close_connection, conn)

    async def _close_on_exit(self) -> None:
        # on_stop is skipped after a crash or a kill; this task is cancelled in every case, so
        # the connection is closed before the next incarnation opens its own.
        try:
            await trio.sleep_forever()
        finally:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()

    @handles(*QUERIES)
    async def handle(self, msg: m.StoreRequest) -> m.StoreReply:
        """Run the request's SQL on a worker thread and reply with its result."""
        conn = self._conn
        if conn is None:
            raise RuntimeError(f"store {self.path} is closed")
        query = QUERIES[type(msg)]
        if isinstance(msg, m.StoreMessage) and msg.stored_at is None:
            # stamped here, on trio's side: the calendar follows MockClock only in this thread
            msg = msgspec.structs.replace(msg, stored_at=utc_now_iso())
        try:
            reply = await self._blocking(query, conn, msg)
        except (ValueError, sqlite3.IntegrityError, msgspec.ValidationError) as exc:
            return m.StoreRejected(request=type(msg).__qualname__, problem=str(exc))
        if isinstance(msg, m.LogAction) and isinstance(reply, m.ActionLogged):
            self._announce(msg, reply)
        return reply

    def _announce(self, req: m.LogAction, logged: m.ActionLogged) -> None:
        # Tell the listener (the dashboard's Telemetry) what was committed, without ever waiting:
        # it has a drop-oldest mailbox, and a missing or stopped listener is simply skipped.
        if self.action_listener is None or self._ctx is None:
            return
        listener = self._ctx.runtime.whereis(self.action_listener)
        if not isinstance(listener, ActorRef):
            return
        row = m.ActionRow(
            id=logged.id,
            kind=req.kind,
            guild_id=req.guild_id,
            channel_id=req.channel_id,
            message_id=req.message_id,
            user_id=req.user_id,
            content=req.content,
            metadata=req.metadata,
            usd_cost=float(req.usd_cost),
            created_at=logged.created_at,
        )
        try:
            listener.try_tell(m.ActionAppended(row=row))
        except ActorError as exc:
            log.debug(
                "action listener %r did not take action %d: %s",
                self.action_listener,
                logged.id,
                exc,
            )


def store_child(
    path: str | Path,
    *,
    name: str = STORE_NAME,
    restart: Restart = Restart.PERMANENT,
    shutdown: float | None = None,
    action_listener: str | None = None,
    inline: bool = False,
) -> ChildSpec:
    """A child spec for a `Store` on ``path``, registered runtime-wide as ``name``.

    With ``action_listener``, every committed `LogAction` is also told (never waiting) as an
    `ActionAppended` to the actor registered under that name, e.g. the dashboard's telemetry.
    ``inline`` runs the SQL on the trio thread (tests on virtual time; see `Store`).
    """
    file = Path(path)
    return ChildSpec(
        name,
        lambda: Store(file, action_listener=action_listener, inline=inline),
        mailbox=Store.mailbox,  # a lambda factory hides the class's own mailbox spec
        restart=restart,
        shutdown=shutdown,
        register=name,
    )
