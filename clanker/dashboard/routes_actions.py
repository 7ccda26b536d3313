"""Routes: the action log (paged and filtered), its live stream, cost and usage summaries, and
the guilds and channels clanker knows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta

import trio
from quart import Response, request
from quart_trio import QuartTrio

from clanker.dashboard.context import ApiContext, ApiProblem, path_id, query_id, query_int
from clanker.dashboard.costs import MAX_DAYS, summarize
from clanker.dashboard.shapes import ActionPage, ActionView, StoredMessageView
from clanker.dashboard.sse import (
    HEARTBEAT,
    RETRY,
    frame,
    gather_burst,
    receive_within,
    sse_response,
)
from clanker.store import (
    MAX_LIMIT,
    ActionRow,
    ActionRows,
    ActionsQuery,
    ActionTotals,
    ActionTotalsRows,
    calendar_now,
    to_iso,
)

MAX_MESSAGE_IDS = 100


@dataclass(frozen=True)
class ActionFilter:
    """Which actions a page or a stream shows."""

    kind: str | None
    guild_id: int | None
    channel_id: int | None

    @classmethod
    def from_query(cls) -> ActionFilter:
        """From ``?kind=&guild_id=&channel_id=``; 400 for malformed values."""
        kind = request.args.get("kind") or None
        made = cls(kind=kind, guild_id=query_id("guild_id"), channel_id=query_id("channel_id"))
        made.query()  # validates the kind
        return made

    def query(self, *, since: str | None = None, limit: int = 50, offset: int = 0) -> ActionsQuery:
        """The Store request for this filter (400 naming a bad value)."""
        try:
            return ActionsQuery(
                kind=self.kind,
                guild_id=self.guild_id,
                channel_id=self.channel_id,
                since=since,
                limit=limit,
                offset=offset,
            )
        except ValueError as exc:
            raise ApiProblem(400, str(exc)) from None

    def matches(self, row: ActionRow) -> bool:
        """Whether a live row passes the filter."""
        return (
            (self.kind is None or row.kind == self.kind)
            and (self.guild_id is None or row.guild_id == self.guild_id)
            and (self.channel_id is None or row.channel_id == self.channel_id)
        )


def register(app: QuartTrio, ctx: ApiContext) -> None:
    """Add these routes to ``app``."""

    def encode_row(row: ActionRow) -> bytes:
        return ctx.encode(ActionView.of(row))

    @app.get("/api/actions")
    async def actions() -> Response:
        where = ActionFilter.from_query()
        limit = query_int("limit", 50, 1, MAX_LIMIT)
        offset = query_int("offset", 0, 0, 10**9)
        query = where.query(since=request.args.get("since") or None, limit=limit, offset=offset)
        found = list((await ctx.ask_store(query, ActionRows)).rows)
        return ctx.json(
            ActionPage(
                actions=[ActionView.of(r) for r in found],
                limit=limit,
                offset=offset,
                next_offset=offset + limit if len(found) == limit else None,
            )
        )

    @app.get("/api/actions/stream")
    async def action_stream() -> Response:
        where = ActionFilter.from_query()
        raw_last = request.headers.get("Last-Event-ID") or request.args.get("after_id")
        last_id = None
        if raw_last:
            if not raw_last.isdigit():
                raise ApiProblem(400, f"Last-Event-ID must be an action id, got {raw_last!r}")
            last_id = int(raw_last)
        return await sse_response(_action_stream(ctx, where, last_id, encode_row))

    @app.get("/api/costs")
    async def costs() -> Response:
        days = query_int("days", 14, 1, MAX_DAYS)
        guild_id = query_id("guild_id")
        today = calendar_now()  # the calendar the Store stamps with
        start = (today - timedelta(days=days - 1)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        reply = await ctx.ask_store(
            ActionTotals(since=to_iso(start), guild_id=guild_id), ActionTotalsRows, timeout=30.0
        )
        return ctx.json(summarize(list(reply.rows), today=today.date(), days=days))

    @app.get("/api/messages")
    async def stored_messages() -> Response:
        raw = [part for part in (request.args.get("ids") or "").split(",") if part]
        if not raw:
            raise ApiProblem(400, "ids must list message ids, e.g. ?ids=123,456")
        if len(raw) > MAX_MESSAGE_IDS:
            raise ApiProblem(400, f"ids lists {len(raw)} ids; at most {MAX_MESSAGE_IDS} at once")
        found = []
        store = ctx.store()
        for part in dict.fromkeys(raw):
            row = await store.get_message(path_id(part, "each of ids"))
            if row is not None:
                found.append(StoredMessageView.of(row))
        return ctx.json(found)

    @app.get("/api/guilds")
    async def guilds() -> Response:
        return ctx.json(await ctx.directory.guilds())

    @app.get("/api/guilds/<raw_id>/channels")
    async def channels(raw_id: str) -> Response:
        guild_id = str(path_id(raw_id, "the guild id in the path"))
        for guild in await ctx.directory.guilds():
            if guild.id == guild_id:
                return ctx.json(guild.channels)
        raise ApiProblem(404, f"no known guild with id {guild_id}")


async def _action_stream(
    ctx: ApiContext,
    where: ActionFilter,
    last_id: int | None,
    encode: Callable[[ActionRow], bytes],
) -> AsyncIterator[bytes]:
    hub = ctx.hub.actions
    sub = hub.open(ctx.config.subscriber_capacity)
    handle = ctx.streams.track(lambda: hub.close(sub))
    try:
        yield RETRY
        seen = last_id or 0
        if last_id is not None:
            # Subscribed first, then read the backlog: nothing falls between the two, and
            # anything in both is sent once (ids only grow).
            page = await ctx.ask_store(where.query(limit=MAX_LIMIT), ActionRows)
            missed = [r for r in reversed(page.rows) if r.id > last_id]
            if len(missed) == MAX_LIMIT:
                yield frame("dropped", b'{"dropped":-1}')
            for row in missed:
                yield frame("action", encode(row), row.id)
                seen = row.id
        dropped = 0
        heartbeat = ctx.config.heartbeat_seconds
        while True:
            try:
                first = await receive_within(sub.receive, heartbeat)
            except trio.EndOfChannel:
                return
            if first is None:
                yield HEARTBEAT
                continue
            burst, ended = await gather_burst(
                first, sub.receive_nowait, ctx.config.stream_flush_seconds
            )
            chunk = []
            if sub.dropped > dropped:
                dropped = sub.dropped
                chunk.append(frame("dropped", b'{"dropped":%d}' % dropped))
            for live in burst:
                row = live.row
                if row.id > seen and where.matches(row):
                    seen = row.id
                    chunk.append(frame("action", live.json(encode), row.id))
            if chunk:
                yield b"".join(chunk)
            if ended:
                return
    finally:
        ctx.streams.untrack(handle)
        hub.close(sub)
