"""Routes: searching what clanker remembers with the bot's own ranking, and a fact's evidence.

The search asks the memory service's `Recall` — the hybrid candidates (vectors, FTS5, recent
facts), decay, the relevance gate and MMR that every reply's prompt gets — over the owners the
operator is looking at (see `search_owners`), so its order and its scores are the ones a reply
would see. The evidence reads the Store's messages directly.
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
MAX_GUILD_PEOPLE = 200
"""People seen in a guild whose facts a search "as in that server" covers (the latest
speakers first); a reply names at most 8 at once, but any of them may be in a conversation."""


async def search_owners(ctx: ApiContext, owner: str | None) -> tuple[str, tuple[str, ...]]:
    """What a search covers, and its name: every owner with facts (``everyone``); one person
    or the bot (``owner``); or a guild as a reply there could see it (``guild``): its lore and
    rules, the bot's own facts and the facts of the people seen speaking there."""
    if owner is None:
        return "everyone", await owner_keys(ctx)
    scope, _, raw = owner.partition(":")
    if scope != "guild":
        return "owner", (owner,)
    people = await ctx.ask_store(
        GuildPeople(guild_id=int(raw), limit=MAX_GUILD_PEOPLE), FactOwnerCounts
    )
    return "guild", (owner, SELF_KEY, *(p.owner_key for p in people.owners))


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
    scope, keys = await search_owners(ctx, owner)
    if not keys:
        return MemoryRecall(
            q=query, scope="everyone", owners=[], facts=[], used_vector=False, limit=limit
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
