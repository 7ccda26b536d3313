"""Routes: what clanker remembers (the long-term memory's facts, read from the Store) and the
operator's forget (a fact deleted for good, logged as ``operator_memory_forget``) and purge
(every fact of a user, a guild or the bot, logged as ``operator_memory_purge``)."""

from __future__ import annotations

import contextlib
import logging
import re

from quart import Response, request
from quart_trio import QuartTrio

from clanker.dashboard.context import ApiContext, ApiProblem, query_int, read_body
from clanker.dashboard.shapes import (
    MemoryFact,
    MemoryFacts,
    MemoryForgotten,
    MemoryOwner,
    MemoryPurgeBody,
    MemoryPurged,
)
from clanker.memory.rows import fts_expression
from clanker.runtime import ActorError
from clanker.store import LogAction, RowsChanged, to_json
from clanker.store.facts import (
    DeleteFacts,
    FactCandidates,
    FactOwnerCounts,
    FactOwners,
    FactRow,
    FactRows,
    GetFacts,
    SearchFacts,
    owner_key,
)
from clanker.store.validation import MAX_LIMIT

log = logging.getLogger("clanker.dashboard")

OWNER_KEY = re.compile(r"(user|guild):\d{1,19}|self")
MAX_QUERY_CHARS = 200
DEFAULT_LIMIT = 100


def fact_view(row: FactRow) -> MemoryFact:
    """The browser's view of a stored fact (ids as strings)."""
    scope = row.scope
    if scope not in ("user", "guild", "self"):
        raise ValueError(f"fact {row.id} has an unknown scope {scope!r}")
    return MemoryFact(
        id=row.id,
        owner=owner_key(scope, row.guild_id, row.user_id),
        scope=scope,  # type: ignore[arg-type]  # checked just above
        guild_id=None if row.guild_id is None else str(row.guild_id),
        user_id=None if row.user_id is None else str(row.user_id),
        subject=row.subject,
        fact=row.fact,
        type=row.fact_type,
        confidence=row.confidence,
        learned_in_dm=row.learned_in_dm,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def newest_first(rows: tuple[FactRow, ...]) -> list[FactRow]:
    return sorted(rows, key=lambda r: (r.updated_at, r.id), reverse=True)


def _check_owner(raw: str, what: str) -> str:
    if not OWNER_KEY.fullmatch(raw):
        raise ApiProblem(
            400,
            f"{what} must be an owner key ('user:<id>', 'guild:<id>' or 'self'), got {raw!r}",
        )
    return raw


def _owner_param() -> str | None:
    raw = request.args.get("owner")
    if raw is None or raw == "":
        return None
    return _check_owner(raw, "query parameter 'owner'")


def _query_param() -> str | None:
    raw = request.args.get("q")
    if raw is None or not raw.strip():
        return None
    if len(raw) > MAX_QUERY_CHARS:
        raise ApiProblem(
            400, f"query parameter 'q' is {len(raw)} characters; at most {MAX_QUERY_CHARS}"
        )
    return raw


def _fact_id(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 2**63 - 1:
        raise ApiProblem(400, f"the fact id must be a positive integer, got {raw!r}")
    return int(raw)


async def _owners(ctx: ApiContext) -> list[MemoryOwner]:
    reply = await ctx.ask_store(FactOwners(limit=MAX_LIMIT), FactOwnerCounts)
    return [MemoryOwner(owner=o.owner_key, facts=o.facts) for o in reply.owners]


async def memory_facts(
    ctx: ApiContext, owner: str | None, query: str | None, limit: int
) -> MemoryFacts:
    """The owners seen and the facts of ``owner`` (every owner if None), matching ``query``
    (FTS5, active facts) if given, newest update first."""
    owners = await _owners(ctx)
    keys = (owner,) if owner is not None else tuple(o.owner for o in owners)
    if query is not None:
        expression = fts_expression(query)
        if not expression:
            raise ApiProblem(400, f"query parameter 'q' has no word to search for: {query!r}")
        if not keys:
            return MemoryFacts(owners=owners, facts=[], search="fts5")
        found = await ctx.ask_store(
            SearchFacts(
                owner_keys=keys, fts_query=expression, k=limit, recent=0, with_dm_facts=True
            ),
            FactCandidates,
        )
        rows = tuple(c.row for c in found.candidates if c.bm25 is not None)
        return MemoryFacts(
            owners=owners, facts=[fact_view(r) for r in newest_first(rows)[:limit]], search="fts5"
        )
    if not keys:
        return MemoryFacts(owners=owners, facts=[], search=None)
    listed = await ctx.ask_store(
        GetFacts(owner_keys=keys, include_archived=True, limit=limit), FactRows
    )
    return MemoryFacts(owners=owners, facts=[fact_view(r) for r in listed.rows], search=None)


async def _find(ctx: ApiContext, fact_id: int) -> FactRow | None:
    owners = await _owners(ctx)
    if not owners:
        return None
    found = await ctx.ask_store(
        GetFacts(
            owner_keys=tuple(o.owner for o in owners), fact_ids=(fact_id,), include_archived=True
        ),
        FactRows,
    )
    return found.rows[0] if found.rows else None


async def _log_forget(ctx: ApiContext, row: FactRow, owner: str) -> None:
    """Log the operator's forget. Only the id and the owner: the fact's words are gone for good,
    so they are not copied into the action log either."""
    log.info("dashboard operator: forgot memory fact %s of %s", row.id, owner)
    with contextlib.suppress(ApiProblem, ActorError):
        await ctx.store().ref.tell(
            LogAction(
                kind="operator_memory_forget",
                guild_id=row.guild_id,
                user_id=row.user_id,
                content=f"forgot fact {row.id} of {owner}",
                metadata=to_json({"fact_id": row.id, "owner": owner, "scope": row.scope}),
            )
        )


async def purge(ctx: ApiContext, owner: str) -> int:
    """Delete every fact of ``owner`` (active and archived), a page at a time; how many."""
    deleted = 0
    while True:
        page = await ctx.ask_store(
            GetFacts(owner_keys=(owner,), include_archived=True, limit=MAX_LIMIT), FactRows
        )
        if not page.rows:
            return deleted
        done = await ctx.ask_store(
            DeleteFacts(fact_ids=tuple(r.id for r in page.rows)), RowsChanged
        )
        deleted += done.count


def _owner_ids(owner: str) -> tuple[int | None, int | None]:
    """(guild_id, user_id) of an owner key."""
    scope, _, raw = owner.partition(":")
    if scope == "guild":
        return int(raw), None
    return (None, int(raw)) if scope == "user" else (None, None)


async def _log_purge(ctx: ApiContext, owner: str, deleted: int) -> None:
    log.info("dashboard operator: purged %s facts of %s", deleted, owner)
    guild_id, user_id = _owner_ids(owner)
    with contextlib.suppress(ApiProblem, ActorError):
        await ctx.store().ref.tell(
            LogAction(
                kind="operator_memory_purge",
                guild_id=guild_id,
                user_id=user_id,
                content=f"purged {deleted} facts of {owner}",
                metadata=to_json({"owner": owner, "deleted": deleted}),
            )
        )


def register(app: QuartTrio, ctx: ApiContext) -> None:
    """Add these routes to ``app``."""

    @app.get("/api/memory")
    async def memory() -> Response:
        owner = _owner_param()
        query = _query_param()
        limit = query_int("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        return ctx.json(await memory_facts(ctx, owner, query, limit))

    @app.delete("/api/memory/<raw_id>")
    async def forget(raw_id: str) -> Response:
        fact_id = _fact_id(raw_id)
        row = await _find(ctx, fact_id)
        if row is None:
            raise ApiProblem(404, f"no fact {fact_id}: it does not exist (or was forgotten)")
        owner = owner_key(row.scope, row.guild_id, row.user_id)
        deleted = await ctx.ask_store(DeleteFacts(fact_ids=(fact_id,)), RowsChanged)
        if deleted.count == 0:
            raise ApiProblem(404, f"no fact {fact_id}: it was forgotten meanwhile")
        await _log_forget(ctx, row, owner)
        return ctx.json(MemoryForgotten(id=fact_id, owner=owner))

    @app.post("/api/memory/purge")
    async def purge_owner() -> Response:
        body = await read_body(MemoryPurgeBody)
        owner = _check_owner(body.owner, "owner")
        deleted = await purge(ctx, owner)
        if deleted == 0:
            raise ApiProblem(404, f"{owner} has no facts to forget")
        await _log_purge(ctx, owner, deleted)
        return ctx.json(MemoryPurged(owner=owner, deleted=deleted))
