"""Routes: the reflection runs, read from the action log (each run is one
``memory_reflection`` action, logged by the reflection feature) and shaped by
`clanker.memory.view`, with the facts each run wrote as the Store holds them now."""

from __future__ import annotations

from quart import Response
from quart_trio import QuartTrio

from clanker.dashboard.context import ApiContext, ApiProblem, query_id, query_int
from clanker.dashboard.routes_initiative import directory_names
from clanker.dashboard.routes_memory import owner_keys
from clanker.memory.view import REFLECTION_KIND, fact_ids_of, reflection_runs
from clanker.store import MAX_LIMIT, ActionRows, ActionsQuery
from clanker.store.facts import FactRow, FactRows, GetFacts

DEFAULT_RUNS = 50


async def written_facts(ctx: ApiContext, ids: tuple[int, ...]) -> dict[int, FactRow]:
    """The stored facts among ``ids`` (any owner, archived too), by id."""
    keys = await owner_keys(ctx) if ids else ()
    if not keys:
        return {}
    found = await ctx.ask_store(
        GetFacts(owner_keys=keys, fact_ids=ids[:MAX_LIMIT], include_archived=True, limit=MAX_LIMIT),
        FactRows,
    )
    return {r.id: r for r in found.rows}


def register(app: QuartTrio, ctx: ApiContext) -> None:
    """Add these routes to ``app``."""

    @app.get("/api/memory/reflections")
    async def reflections() -> Response:
        limit = query_int("limit", DEFAULT_RUNS, 1, MAX_LIMIT)
        guild_id = query_id("guild_id")
        try:
            query = ActionsQuery(kind=REFLECTION_KIND, guild_id=guild_id, limit=limit)
        except ValueError as exc:
            raise ApiProblem(400, str(exc)) from None
        rows = (await ctx.ask_store(query, ActionRows)).rows
        ids = tuple(dict.fromkeys(i for r in rows for i in fact_ids_of(r)))
        facts = await written_facts(ctx, ids)
        names = await directory_names(ctx)
        return ctx.json(reflection_runs(rows, facts, names, limit))
