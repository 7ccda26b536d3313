"""Between the Store's fact rows and the memory core's `Fact`s (and owners and owner keys)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from clanker.memory.model import Fact, FactType, Owner, Scope
from clanker.memory.ranking import Candidate, content_words
from clanker.store.facts import FactCandidate, FactRow, owner_key


def key_of(owner: Owner) -> str:
    """The Store's owner key: ``user:<id>``, ``guild:<id>`` or ``self``."""
    return owner_key(owner.scope, owner.guild_id, owner.user_id)


def seconds(iso: str) -> float:
    """A Store timestamp as Unix seconds."""
    return datetime.fromisoformat(iso).timestamp()


def to_fact(row: FactRow) -> Fact:
    return Fact(
        id=row.id,
        owner=Owner(cast(Scope, row.scope), guild_id=row.guild_id, user_id=row.user_id),
        subject=row.subject,
        fact=row.fact,
        fact_type=cast(FactType, row.fact_type),
        confidence=row.confidence,
        created_at=seconds(row.created_at),
        updated_at=seconds(row.updated_at),
        evidence_ids=row.evidence_ids,
        evidence_text=row.evidence_text,
        channel_id=row.channel_id,
        supersedes=row.supersedes,
        active=row.active,
        learned_in_dm=row.learned_in_dm,
    )


def to_candidate(c: FactCandidate) -> Candidate:
    return Candidate(fact=to_fact(c.row), cosine=c.cosine, bm25=c.bm25, vector=c.vector)


def fts_expression(query: str) -> str:
    """An FTS5 expression matching any content word of ``query`` (each quoted), or ``""``."""
    return " OR ".join(f'"{w}"' for w in sorted(content_words(query)))
