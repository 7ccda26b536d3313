"""Routes: the operator's changes to what clanker remembers — add a fact, edit one, archive or
restore it, forget it for good, purge an owner. Each is asked of the memory service
(`Remember` in strict mode, `EditFact`, `ArchiveFact`, `Forget`), which runs the write policy,
embeds a new or edited text and keeps the vector index in step; the routes only find the
fact's owner (a Store read), map refusals to HTTP statuses and log the operator action. The
action log says which fields changed, never the facts' words (a forgotten fact's words are
gone for good; an edit may be a redaction).
"""

from __future__ import annotations

import contextlib
import logging
import math
from typing import Any

import msgspec
from quart import Response
from quart_trio import QuartTrio

from clanker.dashboard.context import ApiContext, ApiProblem, path_id, read_body
from clanker.dashboard.routes_memory import check_owner, fact_id_param, fact_view, find_fact
from clanker.dashboard.shapes import (
    MemoryAdded,
    MemoryEdited,
    MemoryFact,
    MemoryFactEdit,
    MemoryFactNew,
    MemoryForgotten,
    MemoryPurgeBody,
    MemoryPurged,
)
from clanker.memory.curation import (
    ArchiveFact,
    EditFact,
    FactArchived,
    FactChangeRefused,
    FactEdited,
)
from clanker.memory.model import DEFAULT_CONFIDENCE
from clanker.memory.service import (
    MEMORY_NAME,
    Forget,
    Forgotten,
    Remember,
    Remembered,
    RememberRefused,
)
from clanker.runtime import ActorError, NotRegistered
from clanker.store import LogAction, RowsChanged, to_json
from clanker.store.facts import FactRow, owner_key
from clanker.store.messages import DeleteMessages

log = logging.getLogger("clanker.dashboard")

MEMORY_TIMEOUT = 15.0  # an edit waits for the embedder (one text) and a few Store requests
STATUS = {"unknown": 404, "invalid": 400, "conflict": 409, "unavailable": 503}


async def ask_memory(ctx: ApiContext, msg: msgspec.Struct) -> Any:
    """Ask the memory service; 503 when it is not running or does not answer, the refusal's
    status (404 / 400 / 409 / 503) with its reason as the body when it refuses."""
    try:
        reply = await ctx.runtime.lookup(MEMORY_NAME).ask(msg, timeout=MEMORY_TIMEOUT)
    except NotRegistered:
        raise ApiProblem(503, "the memory service is not running; try again shortly") from None
    except ActorError as exc:
        raise ApiProblem(503, f"the memory service did not answer: {exc}") from None
    if isinstance(reply, FactChangeRefused):
        raise ApiProblem(STATUS.get(reply.problem, 400), reply.reason)
    return reply


async def _fact(ctx: ApiContext, raw_id: str) -> tuple[FactRow, str]:
    fact_id = fact_id_param(raw_id)
    row = await find_fact(ctx, fact_id)
    if row is None:
        raise ApiProblem(404, f"no fact {fact_id}: it does not exist (or was forgotten)")
    return row, owner_key(row.scope, row.guild_id, row.user_id)


async def _fresh(ctx: ApiContext, fact_id: int) -> MemoryFact:
    row = await find_fact(ctx, fact_id)
    if row is None:
        raise ApiProblem(404, f"no fact {fact_id}: it was forgotten meanwhile")
    return fact_view(row)


async def log_operator(
    ctx: ApiContext, kind: str, owner: str, content: str, metadata: dict[str, Any]
) -> None:
    """One operator action in the action log (with the owner's guild or user id)."""
    log.info("dashboard operator: %s", content)
    guild_id, user_id = owner_ids(owner)
    with contextlib.suppress(ApiProblem, ActorError):
        await ctx.store().ref.tell(
            LogAction(
                kind=kind,
                guild_id=guild_id,
                user_id=user_id,
                content=content,
                metadata=to_json({"owner": owner, **metadata}),
            )
        )


def owner_ids(owner: str) -> tuple[int | None, int | None]:
    """(guild_id, user_id) of an owner key."""
    scope, _, raw = owner.partition(":")
    if scope == "guild":
        return int(raw), None
    return (None, int(raw)) if scope == "user" else (None, None)


def named_owner(
    owner: str | None, guild_id: str | int | None, user_id: str | int | None, verb: str
) -> str:
    """The owner key a body names with exactly one of ``owner`` (a key), ``guild_id`` or
    ``user_id``; 400 naming the field otherwise (``verb``: what the request does)."""
    named = [
        (field, value)
        for field, value in (("owner", owner), ("guild_id", guild_id), ("user_id", user_id))
        if value is not None
    ]
    if len(named) != 1:
        raise ApiProblem(
            400,
            f"name exactly one owner to {verb}: guild_id, user_id or owner "
            f"(got {', '.join(f for f, _ in named) or 'none'})",
        )
    field, value = named[0]
    if field == "owner":
        return check_owner(str(value), "owner")
    return f"{field.removesuffix('_id')}:{path_id(str(value), field)}"


def purge_owner(body: MemoryPurgeBody) -> str:
    """The owner key a purge names, its ``confirm`` checked; 400 naming the field otherwise."""
    owner = named_owner(body.owner, body.guild_id, body.user_id, "purge")
    if body.confirm != owner:
        raise ApiProblem(
            400,
            f"confirm must repeat the owner's key to purge it: send confirm={owner!r} "
            f"(got {body.confirm!r})",
        )
    return owner


def remember_new(body: MemoryFactNew) -> Remember:
    """The `Remember` (strict, as a tool write) an operator's new fact asks for; 400 naming the
    field when the body is malformed (the write policy checks the rest)."""
    owner = named_owner(body.owner, body.guild_id, body.user_id, "add a fact to")
    if body.confidence is not None and not (
        math.isfinite(body.confidence) and 0.0 <= body.confidence <= 1.0
    ):
        raise ApiProblem(400, f"confidence must be in 0..1, got {body.confidence}")
    guild_id, user_id = owner_ids(owner)
    return Remember(
        scope=owner.partition(":")[0],
        fact=body.fact,
        guild_id=guild_id,
        user_id=user_id,
        fact_type=body.type,
        confidence=DEFAULT_CONFIDENCE if body.confidence is None else body.confidence,
        mode="strict",
    )


def register(app: QuartTrio, ctx: ApiContext) -> None:
    """Add these routes to ``app``."""

    @app.patch("/api/memory/facts/<raw_id>")
    async def edit(raw_id: str) -> Response:
        body = await read_body(MemoryFactEdit)
        row, owner = await _fact(ctx, raw_id)
        try:
            msg = EditFact(
                owner_key=owner,
                fact_id=row.id,
                fact=body.fact,
                fact_type=body.type,
                confidence=body.confidence,
            )
        except ValueError as exc:
            raise ApiProblem(
                400, str(exc).replace("EditFact needs", "the edit needs").replace("EditFact.", "")
            ) from None
        done: FactEdited = await ask_memory(ctx, msg)
        after = await _fresh(ctx, row.id)
        changes: dict[str, Any] = {"fact_id": row.id, "changed": list(done.changed)}
        if "fact" in done.changed:
            changes["chars"] = [len(row.fact), len(after.fact)]
        if "type" in done.changed:
            changes["type"] = [row.fact_type, after.type]
        if "confidence" in done.changed:
            changes["confidence"] = [row.confidence, after.confidence]
        what = ", ".join(done.changed) or "nothing"
        await log_operator(
            ctx, "operator_memory_edit", owner, f"edited fact {row.id} of {owner}: {what}", changes
        )
        return ctx.json(
            MemoryEdited(fact=after, changed=list(done.changed), embedded=done.embedded)
        )

    @app.post("/api/memory/facts/<raw_id>/<action>")
    async def archive(raw_id: str, action: str) -> Response:
        if action not in ("archive", "unarchive"):
            raise ApiProblem(404, f"no such endpoint: POST /api/memory/facts/{raw_id}/{action}")
        row, owner = await _fact(ctx, raw_id)
        archived = action == "archive"
        _: FactArchived = await ask_memory(
            ctx, ArchiveFact(owner_key=owner, fact_id=row.id, archived=archived)
        )
        word = "archived" if archived else "restored"
        await log_operator(
            ctx,
            f"operator_memory_{action}",
            owner,
            f"{word} fact {row.id} of {owner}",
            {"fact_id": row.id, "active": not archived},
        )
        return ctx.json(await _fresh(ctx, row.id))

    @app.delete("/api/memory/facts/<raw_id>")
    async def forget(raw_id: str) -> Response:
        row, owner = await _fact(ctx, raw_id)
        done: Forgotten = await ask_memory(ctx, Forget(owner_key=owner, fact_ids=(row.id,)))
        if done.problem is not None:
            raise ApiProblem(503, f"the fact was not forgotten: {done.problem}")
        if row.id not in done.fact_ids:
            raise ApiProblem(404, f"no fact {row.id}: it was forgotten meanwhile")
        await log_operator(
            ctx,
            "operator_memory_forget",
            owner,
            f"forgot fact {row.id} of {owner}",
            {"fact_id": row.id, "scope": row.scope},
        )
        return ctx.json(MemoryForgotten(id=row.id, owner=owner))

    @app.post("/api/memory/purge")
    async def purge() -> Response:
        body = await read_body(MemoryPurgeBody)
        owner = purge_owner(body)
        if body.messages and owner == "self":
            raise ApiProblem(
                400, "messages: true purges a guild's or a user's messages; self has none"
            )
        done: Forgotten = await ask_memory(ctx, Forget(owner_key=owner, everything=True))
        deleted = len(done.fact_ids)
        said = 0
        if body.messages and done.problem is None:
            guild_id, user_id = owner_ids(owner)
            said = (
                await ctx.ask_store(
                    DeleteMessages(guild_id=guild_id, author_id=user_id), RowsChanged
                )
            ).count
        if deleted or said:
            await log_operator(
                ctx,
                "operator_memory_purge",
                owner,
                f"purged {deleted} facts of {owner}"
                + (f" and {said} messages" if body.messages else ""),
                {"deleted": deleted, "messages_deleted": said, "complete": done.problem is None},
            )
        if done.problem is not None:
            raise ApiProblem(
                503, f"the purge of {owner} stopped after {deleted} facts: {done.problem}"
            )
        if deleted == 0 and said == 0:
            what = "no facts or messages" if body.messages else "no facts"
            raise ApiProblem(404, f"{owner} has {what} to forget")
        return ctx.json(MemoryPurged(owner=owner, deleted=deleted, messages_deleted=said))

    @app.post("/api/memory/facts")
    async def add() -> Response:
        msg = remember_new(await read_body(MemoryFactNew))
        done: Remembered | RememberRefused = await ask_memory(ctx, msg)
        if isinstance(done, RememberRefused):
            raise ApiProblem(503 if done.problem == "unavailable" else 400, done.reason)
        fact = await _fresh(ctx, done.fact_id)
        owner = fact.owner
        word = (
            f"merged into fact {done.fact_id} of"
            if done.merged
            else f"added fact {done.fact_id} to"
        )
        await log_operator(
            ctx,
            "operator_memory_add",
            owner,
            f"{word} {owner}",
            {
                "fact_id": done.fact_id,
                "merged": done.merged,
                "type": fact.type,
                "confidence": fact.confidence,
                "chars": len(fact.fact),
                "archived": list(done.archived),
            },
        )
        return ctx.json(
            MemoryAdded(
                fact=fact, merged=done.merged, archived=list(done.archived), embedded=done.embedded
            ),
            status=200 if done.merged else 201,
        )
