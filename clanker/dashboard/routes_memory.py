"""Routes: what clanker remembers (the long-term memory's facts, read from the Store directly).
The operator's changes (edit, archive, forget, purge) are in `routes_memory_curation`, asked
of the memory service."""

from __future__ import annotations

import logging
import re

from quart import Response, request
from quart_trio import QuartTrio

from clanker.dashboard.context import ApiContext, ApiProblem, query_int
from clanker.dashboard.shapes import (
    MemoryFact,
    MemoryFacts,
    MemoryOwner,
)
from clanker.memory.rows import fts_expression
from clanker.store.facts import (
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
STATES = ("all", "active", "archived")


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
        evidence_ids=[str(i) for i in row.evidence_ids],
        evidence_text=row.evidence_text,
    )


def newest_first(rows: tuple[FactRow, ...]) -> list[FactRow]:
    return sorted(rows, key=lambda r: (r.updated_at, r.id), reverse=True)


def check_owner(raw: str, what: str) -> str:
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
    return check_owner(raw, "query parameter 'owner'")


def _query_param() -> str | None:
    raw = request.args.get("q")
    if raw is None or not raw.strip():
        return None
    if len(raw) > MAX_QUERY_CHARS:
        raise ApiProblem(
            400, f"query parameter 'q' is {len(raw)} characters; at most {MAX_QUERY_CHARS}"
        )
    return raw


def _state_param() -> str:
    raw = request.args.get("state") or "all"
    if raw not in STATES:
        raise ApiProblem(400, f"query parameter 'state' must be {', '.join(STATES)}, got {raw!r}")
    return raw


def fact_id_param(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 2**63 - 1:
        raise ApiProblem(400, f"the fact id must be a positive integer, got {raw!r}")
    return int(raw)


async def _owners(ctx: ApiContext) -> list[MemoryOwner]:
    reply = await ctx.ask_store(FactOwners(limit=MAX_LIMIT), FactOwnerCounts)
    return [MemoryOwner(owner=o.owner_key, facts=o.facts) for o in reply.owners]


async def owner_keys(ctx: ApiContext) -> tuple[str, ...]:
    """Every owner key that has facts, the most recently updated first (at most 1,000)."""
    return tuple(o.owner for o in await _owners(ctx))


async def memory_facts(
    ctx: ApiContext, owner: str | None, query: str | None, limit: int, state: str = "all"
) -> MemoryFacts:
    """The owners seen and the facts of ``owner`` (every owner if None) in ``state`` (``all``,
    ``active`` or ``archived``), matching ``query`` (FTS5, active facts only) if given, newest
    update first."""
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
        GetFacts(
            owner_keys=keys,
            include_archived=state == "all",
            only_archived=state == "archived",
            limit=limit,
        ),
        FactRows,
    )
    return MemoryFacts(owners=owners, facts=[fact_view(r) for r in listed.rows], search=None)


async def find_fact(ctx: ApiContext, fact_id: int) -> FactRow | None:
    """The stored fact ``fact_id`` of any owner (active or archived), or None."""
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


def register(app: QuartTrio, ctx: ApiContext) -> None:
    """Add these routes to ``app``."""

    @app.get("/api/memory")
    async def memory() -> Response:
        owner = _owner_param()
        query = _query_param()
        limit = query_int("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        state = _state_param()
        if query is not None and state == "archived":
            raise ApiProblem(
                400, "query parameter 'q' searches active facts only; drop 'state=archived'"
            )
        return ctx.json(await memory_facts(ctx, owner, query, limit, state))
