"""The operator's curation of stored facts: edit one, archive or restore it.

The messages the memory service answers for the dashboard, and `plan_edit`, the sans-IO check of
an edit: the edited fact goes through the same write policy as a tool write (`check_draft` in
strict mode: secrets, instructions outside guidance, abusive labels and unknown types are
refused with the reason), and may not say what another fact of the same owner and subject
already says. Deleting and purging are the service's `Forget`. No trio, no SQLite here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from clanker.memory.model import Fact, FactDraft, FactType
from clanker.memory.policy import Rejected, check_draft, dedupe_key
from clanker.store.facts import check_owner_keys
from clanker.store.validation import check_id
from clanker.wire import Message

Problem = Literal["unknown", "invalid", "conflict", "unavailable"]
"""Why a change was refused: no such fact of that owner (404), the policy or the input said no
(400), the fact already is so or another fact says it (409), the Store did not answer (503)."""


class EditFact(Message, frozen=True):
    """Change a fact of ``owner_key``: its text, type and/or confidence (None: unchanged). A new
    text is re-embedded. Reply: `FactEdited` or `FactChangeRefused`."""

    owner_key: str
    fact_id: int
    fact: str | None = None
    fact_type: str | None = None
    confidence: float | None = None

    def __post_init__(self) -> None:
        check_owner_keys(self, (self.owner_key,))
        check_id(self, "fact_id", self.fact_id)
        if self.fact is None and self.fact_type is None and self.confidence is None:
            raise ValueError("EditFact needs at least one of fact, fact_type, confidence")
        if self.confidence is not None and not (
            math.isfinite(self.confidence) and 0.0 <= self.confidence <= 1.0
        ):
            raise ValueError(f"EditFact.confidence must be in 0..1, got {self.confidence}")


class FactEdited(Message, frozen=True):
    """The fact was changed: ``changed`` names the fields that differ (``fact``, ``type``,
    ``confidence``; empty: the edit changed nothing), ``embedded`` whether a new text got its
    vector now (else the re-embedding pass makes it)."""

    fact_id: int
    changed: tuple[str, ...]
    embedded: bool


class ArchiveFact(Message, frozen=True):
    """Archive (``archived=True``: kept, never recalled) or restore a fact of ``owner_key``.
    Reply: `FactArchived` or `FactChangeRefused`."""

    owner_key: str
    fact_id: int
    archived: bool = True

    def __post_init__(self) -> None:
        check_owner_keys(self, (self.owner_key,))
        check_id(self, "fact_id", self.fact_id)


class FactArchived(Message, frozen=True):
    fact_id: int
    active: bool


class FactChangeRefused(Message, frozen=True):
    """The change was not made: ``reason`` says why, ``problem`` what kind of no it is."""

    reason: str
    problem: str  # one of `Problem`


@dataclass(frozen=True, slots=True)
class Conflict:
    """The edit would make the fact say what another fact of its owner and subject says."""

    reason: str


@dataclass(frozen=True, slots=True)
class EditPlan:
    """What to write: the whole new state of the fact, and what changed."""

    fact: str
    fact_key: str
    fact_type: FactType
    confidence: float
    changed: tuple[str, ...]

    @property
    def text_changed(self) -> bool:
        return "fact" in self.changed


def plan_edit(
    fact: Fact,
    siblings: list[Fact],
    *,
    text: str | None,
    fact_type: str | None,
    confidence: float | None,
) -> EditPlan | Rejected | Conflict:
    """Check an edit of ``fact`` against the write policy and its ``siblings`` (the other facts
    of its owner and subject, archived ones too: the Store keeps one row per text)."""
    checked = check_draft(
        FactDraft(
            fact.owner,
            fact.fact if text is None else text,
            fact_type=fact.fact_type if fact_type is None else fact_type,
            subject=fact.subject,
            confidence=fact.confidence if confidence is None else confidence,
            evidence_ids=fact.evidence_ids,
            evidence_text=fact.evidence_text,
            channel_id=fact.channel_id,
        ),
        "strict",
    )
    if isinstance(checked, Rejected):
        return checked
    key = dedupe_key(checked.fact)
    for other in siblings:
        if other.id != fact.id and dedupe_key(other.fact) == key:
            state = "" if other.active else " (archived)"
            return Conflict(f"fact {other.id}{state} already says that: {other.fact!r}")
    changed = tuple(
        name
        for name, differs in (
            ("fact", checked.fact != fact.fact),
            ("type", checked.fact_type != fact.fact_type),
            ("confidence", checked.confidence != fact.confidence),
        )
        if differs
    )
    return EditPlan(
        fact=checked.fact,
        fact_key=key,
        fact_type=checked.fact_type,
        confidence=checked.confidence,
        changed=changed,
    )
