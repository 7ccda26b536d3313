"""The dashboard Memory view's evidence and reflection runs, shaped without I/O
(docs/dashboard-api.md, "Memory").

The routes (`clanker.dashboard.routes_memory_recall`, `routes_reflection`) read the
Store and the directory; this module turns what they read into what the browser is sent:

* a fact's **evidence** — the messages it was learned from (`FactRow.evidence_ids`), each with
  its author, time, channel and text as the Store recorded it, or marked ``deleted`` (deleted
  on Discord; the Store keeps the row) or ``unknown`` (never stored, or the id is not a
  message's);
* the **reflection runs** — the ``memory_reflection`` actions the reflector logs
  (`clanker.memory.reflector`), one per run, read defensively: a missing or wrongly typed
  field is None (or 0 for a count), so a run logged by an older or newer version still shows,
  and the facts it wrote resolved to what the Store holds now (None for one forgotten since).

Discord ids travel as strings. The shapes are msgspec Structs, named in
`clanker.dashboard.shapes` too and mirrored in ``dashboard/src/api/types.ts``. No trio, no
Store here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import msgspec

from clanker.automations.view import Names, jump_url, metadata_of
from clanker.memory.reflection import ACTION_KIND
from clanker.store.facts import FactRow, owner_key
from clanker.store.messages import ActionRow, MessageRow

REFLECTION_KIND = ACTION_KIND
"""The action kind of one reflection run (micro or daily), as the reflector logs it."""


class _Shape(msgspec.Struct, frozen=True, kw_only=True):
    pass


def _id(value: int | None) -> str | None:
    return None if value is None else str(value)


# -- evidence -------------------------------------------------------------------------------------


class EvidenceMessage(_Shape, frozen=True):
    """One evidence message. ``status``: ``stored`` (as the Store recorded it), ``deleted``
    (deleted on Discord; the Store kept its text) or ``unknown`` (not in the Store: every other
    field is None)."""

    id: str
    status: Literal["stored", "deleted", "unknown"]
    guild_id: str | None = None
    guild_name: str | None = None
    channel_id: str | None = None
    channel_name: str | None = None
    author_id: str | None = None
    author_name: str | None = None
    is_bot: bool = False
    content: str | None = None
    created_at: str | None = None
    jump_url: str | None = None


class MemoryEvidence(_Shape, frozen=True):
    """``GET /api/memory/facts/<id>/evidence``: what the fact was learned from. ``evidence_text``
    is the excerpt stored with the fact; ``channel_id`` where it was learned (None: not
    recorded, e.g. a fact the operator added); ``messages`` in the order the fact lists them."""

    fact_id: int
    owner: str
    evidence_text: str
    channel_id: str | None
    channel_name: str | None
    messages: list[EvidenceMessage]


def evidence_message(message_id: int, row: MessageRow | None, names: Names) -> EvidenceMessage:
    """The view of evidence message ``message_id`` (``row`` None: the Store does not have it)."""
    if row is None:
        return EvidenceMessage(id=str(message_id), status="unknown")
    return EvidenceMessage(
        id=str(message_id),
        status="deleted" if row.deleted else "stored",
        guild_id=_id(row.guild_id),
        guild_name=names.guild(row.guild_id),
        channel_id=str(row.channel_id),
        channel_name=names.channel(row.channel_id),
        author_id=str(row.author_id),
        author_name=row.author_name,
        is_bot=row.is_bot,
        content=row.content,
        created_at=row.created_at,
        jump_url=jump_url(row.guild_id, row.channel_id, row.message_id),
    )


def evidence_view(
    fact: FactRow, messages: Mapping[int, MessageRow], names: Names
) -> MemoryEvidence:
    """The evidence of ``fact``; ``messages`` holds the stored ones by id (absent: unknown)."""
    return MemoryEvidence(
        fact_id=fact.id,
        owner=owner_key(fact.scope, fact.guild_id, fact.user_id),
        evidence_text=fact.evidence_text,
        channel_id=_id(fact.channel_id),
        channel_name=names.channel(fact.channel_id),
        messages=[evidence_message(i, messages.get(i), names) for i in fact.evidence_ids],
    )


# -- reflection runs ------------------------------------------------------------------------------


class ReflectionFact(_Shape, frozen=True):
    """A fact a run wrote, as the Store holds it now: ``owner`` and ``fact`` None when it has
    been forgotten since (``active`` None too)."""

    id: int
    owner: str | None
    fact: str | None
    active: bool | None


class ReflectionRun(_Shape, frozen=True):
    """One logged reflection run (a ``memory_reflection`` action; ``id`` is the action's).
    ``run`` ``micro`` (a channel's, ``channel_id`` set) or ``daily``; ``trigger`` ``quiet``,
    ``pressure``, ``schedule`` or ``manual``; ``day`` (daily runs) and the window of messages
    read (``window_from`` .. ``window_to``, ``messages`` of them); ``outcome`` ``done``,
    ``empty`` or ``failed`` (with ``error``); the facts ``written``, ``merged`` into existing
    ones and ``refused`` by the write policy, and those it wrote (``facts``); what the run
    noted (``problems``: facts kept out and why, a bad answer's faults); a daily run's
    ``parts`` (model calls over the day) and ``parts_skipped``. ``usd_cost``: the model call's
    cost the run logged (``usd_cost_of_call``; the spend itself is counted once, in the
    ``llm_call`` actions), else the action's own. ``metadata_problem``: why the logged metadata
    could not be read (then the fields are None or 0)."""

    id: int
    at: str
    guild_id: str | None
    guild_name: str | None
    channel_id: str | None
    channel_name: str | None
    run: str | None
    trigger: str | None
    day: str | None
    window_from: str | None
    window_to: str | None
    messages: int
    outcome: str | None
    error: str | None
    written: int
    merged: int
    refused: int
    model: str | None
    usd_cost: float
    facts: list[ReflectionFact]
    problems: list[str]
    parts: int
    parts_skipped: int
    content: str
    metadata_problem: str | None


class MemoryReflections(_Shape, frozen=True):
    """``GET /api/memory/reflections``: the newest runs first."""

    runs: list[ReflectionRun]
    limit: int


def _text(meta: Mapping[str, Any], key: str) -> str | None:
    value = meta.get(key)
    return value if isinstance(value, str) and value else None


def _count(meta: Mapping[str, Any], key: str) -> int:
    value = meta.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _cost(meta: Mapping[str, Any], row: ActionRow) -> float:
    value = meta.get("usd_cost_of_call")
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return row.usd_cost


def _notes(meta: Mapping[str, Any]) -> list[str]:
    value = meta.get("problems")
    return [p for p in value if isinstance(p, str)][:20] if isinstance(value, list) else []


def fact_ids_of(row: ActionRow) -> tuple[int, ...]:
    """The fact ids a run's metadata lists (positive integers only, each once, in order)."""
    value = metadata_of(row).get("fact_ids")
    if not isinstance(value, list):
        return ()
    ids = (i for i in value if isinstance(i, int) and not isinstance(i, bool) and i > 0)
    return tuple(dict.fromkeys(ids))


def _metadata_problem(row: ActionRow) -> str | None:
    try:
        value = msgspec.json.decode(row.metadata)
    except msgspec.DecodeError:
        return "the logged metadata is not JSON"
    return None if isinstance(value, dict) else "the logged metadata is not a JSON object"


def _fact_ref(fact_id: int, facts: Mapping[int, FactRow]) -> ReflectionFact:
    row = facts.get(fact_id)
    if row is None:
        return ReflectionFact(id=fact_id, owner=None, fact=None, active=None)
    return ReflectionFact(
        id=fact_id,
        owner=owner_key(row.scope, row.guild_id, row.user_id),
        fact=row.fact,
        active=row.active,
    )


def reflection_view(row: ActionRow, facts: Mapping[int, FactRow], names: Names) -> ReflectionRun:
    """The view of a ``memory_reflection`` action; ``facts`` holds the stored facts by id.
    ValueError for another kind."""
    if row.kind != REFLECTION_KIND:
        raise ValueError(f"action {row.id} is a {row.kind!r}, not a {REFLECTION_KIND!r}")
    meta = metadata_of(row)
    return ReflectionRun(
        id=row.id,
        at=row.created_at,
        guild_id=_id(row.guild_id),
        guild_name=names.guild(row.guild_id),
        channel_id=_id(row.channel_id),
        channel_name=names.channel(row.channel_id),
        run=_text(meta, "run"),
        trigger=_text(meta, "trigger"),
        day=_text(meta, "day"),
        window_from=_text(meta, "from"),
        window_to=_text(meta, "to"),
        messages=_count(meta, "messages"),
        outcome=_text(meta, "outcome"),
        error=_text(meta, "error"),
        written=_count(meta, "written"),
        merged=_count(meta, "merged"),
        refused=_count(meta, "refused"),
        model=_text(meta, "model"),
        usd_cost=_cost(meta, row),
        facts=[_fact_ref(i, facts) for i in fact_ids_of(row)],
        problems=_notes(meta),
        parts=_count(meta, "parts"),
        parts_skipped=_count(meta, "parts_skipped"),
        content=row.content,
        metadata_problem=_metadata_problem(row),
    )


def reflection_runs(
    rows: Iterable[ActionRow], facts: Mapping[int, FactRow], names: Names, limit: int
) -> MemoryReflections:
    """The ``limit`` newest runs among ``rows`` (other kinds left out), newest first."""
    runs = sorted((r for r in rows if r.kind == REFLECTION_KIND), key=lambda r: r.id, reverse=True)
    return MemoryReflections(
        runs=[reflection_view(r, facts, names) for r in runs[:limit]], limit=limit
    )
