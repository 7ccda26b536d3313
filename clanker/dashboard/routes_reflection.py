"""Routes: reflection and journals for the operator — "reflect now" on a channel or a server's
day (the reflector's `ReflectNow`, logged as an operator action), a server's journal for a
day (its stored messages as the reflection prompt's lines, `clanker.memory.journal`), and the
reflection runs (each a ``memory_reflection`` action, shaped by `clanker.memory.view`, with the
facts each wrote as the Store holds them now)."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

from msgspec import Struct
from quart import Response, request
from quart_trio import QuartTrio

from clanker.dashboard.context import (
    ApiContext,
    ApiProblem,
    path_id,
    query_id,
    query_int,
    read_body,
)
from clanker.dashboard.routes_initiative import directory_names
from clanker.dashboard.routes_memory import owner_keys
from clanker.guilds.messages import Directory, GetDirectory
from clanker.memory import journal
from clanker.memory.reflection import ACTION_KIND
from clanker.memory.reflector import REFLECTOR_NAME, Reflected, ReflectNow
from clanker.memory.view import fact_ids_of, reflection_runs
from clanker.runtime import ActorError, NotRegistered
from clanker.store import (
    MAX_LIMIT,
    ActionRows,
    ActionsQuery,
    LogAction,
    MessageRows,
    MessagesBetween,
    calendar_now,
    to_json,
)
from clanker.store.facts import FactRow, FactRows, GetFacts

ROUTER_NAME = "guilds"
REFLECT_TIMEOUT = 240.0  # a day may be up to four model calls of 90 s at most, and the writes
JOURNAL_PAGE = 500
JOURNAL_MAX = 2000
DEFAULT_RUNS = 50


class ReflectBody(Struct, frozen=True):
    """``POST /api/memory/reflect``: a channel's recent talk (``channel_id``), or a server's
    ``day`` (``YYYY-MM-DD``; default yesterday in the reflection's time zone)."""

    guild_id: str | int
    channel_id: str | int | None = None
    day: str | None = None


class ReflectResult(Struct, frozen=True):
    outcome: str  # done | empty | failed | nothing
    detail: str
    fact_ids: list[int]


class JournalView(Struct, frozen=True):
    guild_id: str
    day: str
    timezone: str
    lines: list[str]
    truncated: bool  # more than JOURNAL_MAX messages that day: the first ones are shown


async def _timezone(ctx: ApiContext) -> str:
    state = await ctx.settings.get()
    reflection = state.document.get("memory", {}).get("reflection", {})
    return str(reflection.get("timezone") or "UTC")


async def _own_id(ctx: ApiContext) -> int | None:
    """Clanker's user id, from the router's directory (its lines are marked ``bot``)."""
    try:
        directory = await ctx.runtime.lookup(ROUTER_NAME).ask(
            GetDirectory(), Directory, timeout=5.0
        )
    except (ActorError, NotRegistered):
        return None
    return directory.identity.user_id if directory.identity is not None else None


def _day(raw: str | None, what: str) -> date | None:
    if raw is None or raw == "":
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiProblem(400, f"{what} must be a date as YYYY-MM-DD, got {raw!r}") from None


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

    @app.post("/api/memory/reflect")
    async def reflect() -> Response:
        body = await read_body(ReflectBody)
        guild_id = path_id(str(body.guild_id), "guild_id")
        channel_id = (
            None if body.channel_id is None else path_id(str(body.channel_id), "channel_id")
        )
        day = _day(body.day, "day")
        if channel_id is not None and day is not None:
            raise ApiProblem(400, "name a channel_id (its recent talk) or a day, not both")
        msg = ReflectNow(
            guild_id=guild_id, channel_id=channel_id, day=None if day is None else day.isoformat()
        )
        try:
            reply = await ctx.runtime.lookup(REFLECTOR_NAME).ask(msg, timeout=REFLECT_TIMEOUT)
        except NotRegistered:
            raise ApiProblem(503, "the reflector is not running; try again shortly") from None
        except ActorError as exc:
            raise ApiProblem(503, f"the reflector did not answer: {exc}") from None
        if not isinstance(reply, Reflected):
            raise ApiProblem(500, f"the reflector answered {type(reply).__name__}")
        what = f"channel {channel_id}" if channel_id is not None else f"day {day or 'yesterday'}"
        with contextlib.suppress(ApiProblem, ActorError):
            await ctx.store().ref.tell(
                LogAction(
                    kind="operator_memory_reflect",
                    guild_id=guild_id,
                    channel_id=channel_id,
                    content=f"reflect now on {what} of guild {guild_id}: {reply.outcome}",
                    metadata=to_json({"outcome": reply.outcome, "fact_ids": list(reply.fact_ids)}),
                )
            )
        return ctx.json(
            ReflectResult(outcome=reply.outcome, detail=reply.detail, fact_ids=list(reply.fact_ids))
        )

    @app.get("/api/memory/journal")
    async def journal_day() -> Response:
        guild_id = query_id("guild_id")
        if guild_id is None:
            raise ApiProblem(400, "query parameter 'guild_id' is required")
        tz = await _timezone(ctx)
        day = _day(request.args.get("day"), "query parameter 'day'") or (
            journal.local_day(calendar_now(), tz) - timedelta(days=1)
        )
        start, end = journal.day_bounds(day, tz)
        own = await _own_id(ctx)
        rows: list[str] = []
        after: int | None = None
        truncated = False
        while True:
            page = await ctx.ask_store(
                MessagesBetween(
                    start=start, end=end, guild_id=guild_id, limit=JOURNAL_PAGE, after_id=after
                ),
                MessageRows,
            )
            rows += [journal.journal_line(r) for r in journal.mark_own(page.rows, own)]
            if len(page.rows) < JOURNAL_PAGE:
                break
            if len(rows) >= JOURNAL_MAX:
                truncated = True
                break
            after = page.rows[-1].message_id
        return ctx.json(
            JournalView(
                guild_id=str(guild_id),
                day=day.isoformat(),
                timezone=tz,
                lines=rows[:JOURNAL_MAX],
                truncated=truncated,
            )
        )

    @app.get("/api/memory/reflections")
    async def reflections() -> Response:
        limit = query_int("limit", DEFAULT_RUNS, 1, MAX_LIMIT)
        guild_id = query_id("guild_id")
        rows = (
            await ctx.ask_store(
                ActionsQuery(kind=ACTION_KIND, guild_id=guild_id, limit=limit), ActionRows
            )
        ).rows
        ids = tuple(dict.fromkeys(i for r in rows for i in fact_ids_of(r)))
        facts = await written_facts(ctx, ids)
        names = await directory_names(ctx)
        return ctx.json(reflection_runs(rows, facts, names, limit))
