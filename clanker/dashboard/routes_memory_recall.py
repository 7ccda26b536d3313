"""Routes: searching what clanker remembers with the bot's own ranking, and a fact's evidence.

The search asks the memory service's `Recall` — the hybrid candidates (vectors, FTS5, recent
facts), decay, the relevance gate and MMR that pick a reply prompt's relevant facts and answer
`memory_search` — over the owners the operator is looking at (see `search_owners`), so its order
and its scores are the ones a reply would see. The evidence reads the Store's messages directly.
"""

from __future__ import annotations

import msgspec
from quart import Response, request
from quart_trio import QuartTrio

from clanker.dashboard.context import ApiContext, ApiProblem, query_int
from clanker.dashboard.routes_initiative import directory_names
from clanker.dashboard.routes_memory import (
    MAX_QUERY_CHARS,
    check_owner,
    fact_id_param,
    fact_view,
    find_fact,
    owner_keys,
)
from clanker.dashboard.routes_memory_curation import ask_memory
from clanker.dashboard.shapes import MemoryRecall, RankedMemoryFact
from clanker.memory.owners import SELF_KEY
from clanker.memory.service import Recall, Recalled
from clanker.memory.view import evidence_view
from clanker.store.facts import FactOwnerCounts, FactRow, FactRows, GetFacts, GuildPeople
from clanker.store.messages import GetMessage, MessageRow, MessageRows

DEFAULT_RECALL = 20
MAX_RECALL = 50  # what one `Recall` ranks at most
MAX_SEARCH_OWNERS = 200
"""Owners one search covers at most: KNN runs once per owner, and the memory service answers
one request at a time, so a search over thousands of owners would hold up the replies' recalls.
"Everyone" is the most recently updated 200; a guild's search its lore, self and the latest 198
speakers there (a reply names at most 8 at once, but any of them may be in a conversation)."""


async def search_owners(ctx: ApiContext, owner: str | None) -> tuple[str, tuple[str, ...], int]:
    """What a search covers, its name and how many owners were left out: every owner with
    facts (``everyone``); one person or the bot (``owner``); or a guild as a reply there could
    see it (``guild``): its lore and rules, the bot's own facts and the facts of the people seen
    speaking there."""
    if owner is None:
        keys = await owner_keys(ctx)
        return "everyone", keys[:MAX_SEARCH_OWNERS], max(0, len(keys) - MAX_SEARCH_OWNERS)
    scope, _, raw = owner.partition(":")
    if scope != "guild":
        return "owner", (owner,), 0
    room = MAX_SEARCH_OWNERS - 2
    people = await ctx.ask_store(GuildPeople(guild_id=int(raw), limit=room + 1), FactOwnerCounts)
    seen = tuple(p.owner_key for p in people.owners)
    return "guild", (owner, SELF_KEY, *seen[:room]), max(0, len(seen) - room)


def _query() -> str:
    raw = request.args.get("q") or ""
    if not raw.strip():
        raise ApiProblem(400, "query parameter 'q' is required: the words to search for")
    if len(raw) > MAX_QUERY_CHARS:
        raise ApiProblem(
            400, f"query parameter 'q' is {len(raw)} characters; at most {MAX_QUERY_CHARS}"
        )
    return raw.strip()


async def recall_search(ctx: ApiContext, query: str, owner: str | None, limit: int) -> MemoryRecall:
    """The facts `Recall` ranks for ``query`` over `search_owners` (DM-learned facts included:
    the operator sees them, marked), best first, with their scores."""
    scope, keys, left_out = await search_owners(ctx, owner)
    if not keys:
        return MemoryRecall(
            q=query,
            scope="everyone",
            owners=[],
            owners_left_out=0,
            facts=[],
            used_vector=False,
            limit=limit,
        )
    recalled: Recalled = await ask_memory(
        ctx, Recall(owner_keys=keys, query=query, limit=limit, with_dm_facts=True)
    )
    if recalled.problem is not None:
        raise ApiProblem(503, f"the memory service could not search: {recalled.problem}")
    rows: dict[int, FactRow] = {}
    if recalled.facts:
        found = await ctx.ask_store(
            GetFacts(
                owner_keys=keys,
                fact_ids=tuple(f.id for f in recalled.facts),
                include_archived=True,
                limit=len(recalled.facts),
            ),
            FactRows,
        )
        rows = {r.id: r for r in found.rows}
    facts = [
        RankedMemoryFact(**msgspec.structs.asdict(fact_view(rows[f.id])), score=round(f.score, 4))
        for f in recalled.facts
        if f.id in rows  # forgotten between the ranking and the read
    ]
    return MemoryRecall(
        q=query,
        scope=scope,  # type: ignore[arg-type]  # one of the three search_owners names
        owners=list(keys),
        owners_left_out=left_out,
        facts=facts,
        used_vector=recalled.used_vector,
        limit=limit,
    )


def register(app: QuartTrio, ctx: ApiContext) -> None:
    """Add these routes to ``app``."""

    @app.get("/api/memory/recall")
    async def recall() -> Response:
        query = _query()
        raw_owner = request.args.get("owner") or None
        owner = None if raw_owner is None else check_owner(raw_owner, "query parameter 'owner'")
        limit = query_int("limit", DEFAULT_RECALL, 1, MAX_RECALL)
        return ctx.json(await recall_search(ctx, query, owner, limit))

    @app.get("/api/memory/facts/<raw_id>/evidence")
    async def evidence(raw_id: str) -> Response:
        fact_id = fact_id_param(raw_id)
        row = await find_fact(ctx, fact_id)
        if row is None:
            raise ApiProblem(404, f"no fact {fact_id}: it does not exist (or was forgotten)")
        messages: dict[int, MessageRow] = {}
        for message_id in row.evidence_ids:  # at most 16 (the write policy's cap)
            stored = await ctx.ask_store(GetMessage(message_id=message_id), MessageRows)
            messages.update((m.message_id, m) for m in stored.rows)
        names = await directory_names(ctx)
        return ctx.json(evidence_view(row, messages, names))
