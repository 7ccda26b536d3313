"""The memory service's side of the operator's edits and archiving (`clanker.memory.curation`):
read the fact, let `plan_edit` decide, write the plan to the Store with the new text's vector.

Kept out of `service.py` so the actor stays a short list of handlers; these run inside its
handlers, so they are serialised with `Remember` like every write through the service.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from clanker.memory.curation import (
    ArchiveFact,
    Conflict,
    EditFact,
    FactArchived,
    FactChangeRefused,
    FactEdited,
    plan_edit,
)
from clanker.memory.policy import Rejected
from clanker.memory.rows import to_fact
from clanker.runtime import ActorError
from clanker.store import StoreClient, StoreRequestError
from clanker.store.facts import FactRow, GetFacts, UpdateFact

log = logging.getLogger("clanker.memory")

Vectors = Callable[[list[str], str], Awaitable[list[tuple[float, ...]] | None]]


def _unknown(owner_key: str, fact_id: int) -> FactChangeRefused:
    return FactChangeRefused(
        reason=f"no fact {fact_id} of {owner_key}: it does not exist (or was forgotten)",
        problem="unknown",
    )


def _unavailable(what: str, exc: Exception) -> FactChangeRefused:
    log.warning("memory: %s failed, the Store did not answer: %s", what, exc)
    return FactChangeRefused(
        reason=f"memory's store did not answer ({exc}); try again later", problem="unavailable"
    )


async def _row(store: StoreClient, owner_key: str, fact_id: int) -> FactRow | None:
    rows = await store.get_facts(
        GetFacts(owner_keys=(owner_key,), fact_ids=(fact_id,), include_archived=True)
    )
    return rows[0] if rows else None


async def edit_fact(
    store: StoreClient, vectors: Vectors, model: str, msg: EditFact
) -> FactEdited | FactChangeRefused:
    """Carry out an `EditFact`: the policy's check, then one `UpdateFact`."""
    try:
        row = await _row(store, msg.owner_key, msg.fact_id)
        if row is None:
            return _unknown(msg.owner_key, msg.fact_id)
        siblings = await store.get_facts(
            GetFacts(
                owner_keys=(msg.owner_key,), subject=row.subject, include_archived=True, limit=1000
            )
        )
        plan = plan_edit(
            to_fact(row),
            [to_fact(r) for r in siblings],
            text=msg.fact,
            fact_type=msg.fact_type,
            confidence=msg.confidence,
        )
        if isinstance(plan, Rejected):
            return FactChangeRefused(reason=plan.reason, problem="invalid")
        if isinstance(plan, Conflict):
            return FactChangeRefused(reason=plan.reason, problem="conflict")
        vector = (await vectors([plan.fact], "passage")) if plan.text_changed else None
        try:
            await store.update_fact(
                UpdateFact(
                    fact_id=msg.fact_id,
                    fact=plan.fact,
                    fact_key=plan.fact_key,
                    fact_type=plan.fact_type,
                    confidence=plan.confidence,
                    vector=None if vector is None else vector[0],
                    model=model if vector is not None else "",
                    drop_vector=plan.text_changed,
                )
            )
        except StoreRequestError as exc:
            return FactChangeRefused(reason=exc.rejected.problem, problem="conflict")
    except (ActorError, StoreRequestError) as exc:
        return _unavailable("EditFact", exc)
    log.info("memory: edited fact %d of %s (%s)", msg.fact_id, msg.owner_key, plan.changed)
    return FactEdited(fact_id=msg.fact_id, changed=plan.changed, embedded=vector is not None)


async def archive_fact(store: StoreClient, msg: ArchiveFact) -> FactArchived | FactChangeRefused:
    """Carry out an `ArchiveFact`: refused when the fact already is so."""
    try:
        row = await _row(store, msg.owner_key, msg.fact_id)
        if row is None:
            return _unknown(msg.owner_key, msg.fact_id)
        if row.active != msg.archived:
            state = "archived" if msg.archived else "active"
            return FactChangeRefused(
                reason=f"fact {msg.fact_id} of {msg.owner_key} is already {state}",
                problem="conflict",
            )
        changed = await store.set_fact_active(msg.fact_id, not msg.archived)
    except (ActorError, StoreRequestError) as exc:
        return _unavailable("ArchiveFact", exc)
    if changed == 0:  # forgotten or changed by another writer between the read and the write
        return _unknown(msg.owner_key, msg.fact_id)
    word = "archived" if msg.archived else "restored"
    log.info("memory: %s fact %d of %s", word, msg.fact_id, msg.owner_key)
    return FactArchived(fact_id=msg.fact_id, active=not msg.archived)
