"""The write policy of long-term memory: which facts may be written, and what a write does.

`check_draft` validates and normalises one `FactDraft`. ``strict`` mode (tool writes, the model
acting on a user's say-so) also refuses instruction-like text (unless the fact is guidance or a
behavioural rule) and abusive labels; both modes refuse secret-like text (keys, tokens,
passwords) — the original skipped every check for reflections; we keep secrets out either way.

`plan_write` turns a checked draft plus the facts already stored for its subject into a plan:
`Insert` a new fact, or `Merge` into a duplicate (same owner, subject and normalised text;
the higher confidence wins, evidence is united, an archived duplicate comes back). Either may
archive facts: the one it ``supersedes`` and, past `SUBJECT_CAP` active facts, the weakest by
``confidence · 2^(-age/120 d)`` (guidance/behavioral exempt and uncounted; the strongest
`CORE_KEEP` profile/relationship facts and the fact just written are kept).

Sans-IO: the caller (the memory service) reads the facts and applies the plan in the Store.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, cast

from clanker.memory.model import (
    CORE_KEEP,
    CORE_TYPES,
    DEFAULT_CONFIDENCE,
    EXEMPT_TYPES,
    FACT_TYPES,
    MAX_EVIDENCE_CHARS,
    MAX_EVIDENCE_IDS,
    MAX_FACT_CHARS,
    MAX_SUBJECT_CHARS,
    SUBJECT_CAP,
    Fact,
    FactDraft,
    FactType,
    Owner,
    decay_weight,
)

Mode = Literal["strict", "minimal"]
EVICTION_HALF_LIFE_DAYS = 120.0
MIN_FACT_CHARS = 3

_INSTRUCTION = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(always|never|must|should|shall|don'?t|do not)\b.{0,40}?\b(reply|respond|answer|"
        r"say|mention|ping|use|call|write|talk|act|pretend|ignore|obey|follow|refuse)\b",
        r"\bignore\b.{0,30}\b(instructions?|rules?|prompts?|guidelines)\b",
        r"\b(you are|you're|you will|you must)\s+(now|going to|to|an?)\b",
        r"\bfrom now on\b",
        r"\b(system prompt|jailbreak|developer mode|new instructions?)\b",
    )
]
_SECRET = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(api[ _-]?keys?|access[ _-]?tokens?|auth[ _-]?tokens?|bearer|passwords?|passwd|"
        r"passcodes?|secret[ _-]?keys?|private[ _-]?keys?|2fa codes?|otp codes?|seed phrase)\b",
        r"\bsk-[A-Za-z0-9_-]{16,}",
        r"\bgh[pousr]_[A-Za-z0-9]{20,}",
        r"\bxox[abposr]-[A-Za-z0-9-]{10,}",
        r"\bAKIA[0-9A-Z]{16}\b",
        r"\b[MN][A-Za-z\d_-]{23,}\.[\w-]{6}\.[\w-]{27,}",
    )
]
_RANDOM_RUN = re.compile(r"[A-Za-z0-9+/_=-]{32,}")
_ABUSIVE = re.compile(
    r"\b(is|are)\s+(an?\s+)?(idiot|moron|retard(ed)?|loser|stupid|worthless|trash)\b",
    re.IGNORECASE,
)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Rejected:
    """The draft was refused; ``reason`` says why, in words a tool result can carry."""

    reason: str


@dataclass(frozen=True, slots=True)
class CheckedDraft:
    """A draft that passed `check_draft`: normalised, within limits."""

    owner: Owner
    subject: str
    fact: str
    fact_type: FactType
    confidence: float
    evidence_ids: tuple[int, ...]
    evidence_text: str
    channel_id: int | None
    supersedes: int | None


@dataclass(frozen=True, slots=True)
class Insert:
    """Write ``draft`` as a new fact (superseding ``draft.supersedes`` if set), then archive
    ``archive``."""

    draft: CheckedDraft
    archive: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Merge:
    """The draft repeats fact ``fact_id``: set its confidence and evidence, make it active."""

    fact_id: int
    confidence: float
    evidence_ids: tuple[int, ...]
    archive: tuple[int, ...]


WritePlan = Insert | Merge | Rejected


def normalize_text(text: str) -> str:
    """Whitespace collapsed, trimmed."""
    return _SPACE.sub(" ", text).strip()


def dedupe_key(text: str) -> str:
    """Case-folded, whitespace-collapsed text without trailing punctuation: equal = duplicate."""
    return normalize_text(text).casefold().rstrip(" .!?;,")


def _looks_random(run: str) -> bool:
    digits = sum(c.isdigit() for c in run)
    letters = sum(c.isalpha() for c in run)
    return digits >= 4 and letters >= 8 and any(c.isupper() for c in run)


def secret_like(text: str) -> str | None:
    """What makes ``text`` look like a secret, or None."""
    for pattern in _SECRET:
        if match := pattern.search(text):
            return f"it looks like a secret ({match.group(0)[:24]!r})"
    for match in _RANDOM_RUN.finditer(text):
        if _looks_random(match.group(0)):
            return "it contains a long random-looking string (a key or token?)"
    return None


def instruction_like(text: str) -> str | None:
    """What makes ``text`` read as an instruction to the bot, or None."""
    for pattern in _INSTRUCTION:
        if match := pattern.search(text):
            return f"it reads as an instruction to the bot ({match.group(0)!r})"
    return None


def _evidence(ids: Iterable[int]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(ids))[-MAX_EVIDENCE_IDS:]


def check_draft(draft: FactDraft, mode: Mode) -> CheckedDraft | Rejected:
    """Validate and normalise ``draft`` (see the module docstring)."""
    fact = normalize_text(draft.fact)
    if len(fact) < MIN_FACT_CHARS:
        return Rejected(f"the fact is empty or shorter than {MIN_FACT_CHARS} characters")
    if len(fact) > MAX_FACT_CHARS:
        if mode == "strict":
            return Rejected(
                f"the fact is {len(fact)} characters; at most {MAX_FACT_CHARS} "
                "(keep one fact short)"
            )
        fact = fact[: MAX_FACT_CHARS - 1].rstrip() + "…"
    kind = draft.fact_type.strip().lower()
    if kind not in FACT_TYPES:
        if mode == "strict":
            return Rejected(
                f"unknown fact type {draft.fact_type!r}; use one of {', '.join(FACT_TYPES)}"
            )
        kind = "other"
    fact_type = cast(FactType, kind)
    if fact_type in EXEMPT_TYPES and draft.owner.scope != "guild":
        return Rejected(f"a {fact_type} fact is a rule for a guild; write it to the guild scope")
    subject = normalize_text(draft.subject or draft.owner.default_subject())
    if not subject or len(subject) > MAX_SUBJECT_CHARS:
        return Rejected(f"the subject must be 1..{MAX_SUBJECT_CHARS} characters")
    if problem := secret_like(fact) or secret_like(draft.evidence_text):
        return Rejected(f"not remembered: {problem}")
    if mode == "strict":
        if fact_type not in EXEMPT_TYPES and (problem := instruction_like(fact)):
            return Rejected(
                f"not remembered: {problem}; a rule for the bot is a guild 'guidance' fact"
            )
        if _ABUSIVE.search(fact):
            return Rejected("not remembered: it labels someone abusively")
    confidence = draft.confidence
    if not math.isfinite(confidence):
        confidence = DEFAULT_CONFIDENCE
    evidence_text = normalize_text(draft.evidence_text)
    if len(evidence_text) > MAX_EVIDENCE_CHARS:
        evidence_text = evidence_text[: MAX_EVIDENCE_CHARS - 1].rstrip() + "…"
    return CheckedDraft(
        owner=draft.owner,
        subject=subject,
        fact=fact,
        fact_type=fact_type,
        confidence=min(1.0, max(0.0, confidence)),
        evidence_ids=_evidence(draft.evidence_ids),
        evidence_text=evidence_text,
        channel_id=draft.channel_id,
        supersedes=draft.supersedes,
    )


def plan_write(
    draft: CheckedDraft,
    existing: Sequence[Fact],
    now: float,
    mode: Mode,
    *,
    cap: int = SUBJECT_CAP,
    core_keep: int = CORE_KEEP,
) -> WritePlan:
    """What writing ``draft`` does, given ``existing``: every fact (active or archived) of the
    draft's owner and subject, plus the fact it supersedes if that is another subject's.

    An unknown or foreign ``supersedes`` is refused in strict mode and ignored in minimal
    mode (a reflection may cite a stale id).
    """
    superseded: int | None = None
    if draft.supersedes is not None:
        target = next((f for f in existing if f.id == draft.supersedes), None)
        if target is None or target.owner != draft.owner:
            if mode == "strict":
                whose = "unknown" if target is None else "another owner's"
                return Rejected(f"supersedes fact {draft.supersedes}, which is {whose}")
        elif target.active:
            superseded = target.id
    subject_facts = [f for f in existing if f.owner == draft.owner and f.subject == draft.subject]
    key = dedupe_key(draft.fact)
    duplicate = next((f for f in subject_facts if dedupe_key(f.fact) == key), None)
    if duplicate is not None:
        after = [f for f in subject_facts if f.active and f.id not in (superseded, duplicate.id)]
        merged = replace(
            duplicate,
            confidence=max(duplicate.confidence, draft.confidence),
            updated_at=now,
            active=True,
        )
        archive = _ordered({superseded} - {duplicate.id, None}) + cap_archive(
            [*after, merged], now, protect=(duplicate.id,), cap=cap, core_keep=core_keep
        )
        return Merge(
            fact_id=duplicate.id,
            confidence=merged.confidence,
            evidence_ids=_evidence((*duplicate.evidence_ids, *draft.evidence_ids)),
            archive=archive,
        )
    new = Fact(
        id=-1,
        owner=draft.owner,
        subject=draft.subject,
        fact=draft.fact,
        fact_type=draft.fact_type,
        confidence=draft.confidence,
        created_at=now,
        updated_at=now,
    )
    after = [f for f in subject_facts if f.active and f.id != superseded]
    archive = _ordered({superseded} - {None}) + cap_archive(
        [*after, new], now, protect=(-1,), cap=cap, core_keep=core_keep
    )
    checked = draft if superseded == draft.supersedes else replace(draft, supersedes=None)
    return Insert(draft=checked, archive=archive)


def cap_archive(
    active: Sequence[Fact],
    now: float,
    *,
    protect: Iterable[int] = (),
    cap: int = SUBJECT_CAP,
    core_keep: int = CORE_KEEP,
) -> tuple[int, ...]:
    """Ids to archive so that at most ``cap`` non-exempt facts of one subject stay active.

    Weakest first by ``confidence · 2^(-age/120 d)`` (age from ``updated_at``; ties: older, then
    lower id); guidance/behavioral facts neither count nor go; the ``core_keep`` strongest
    profile/relationship facts and the ``protect`` ids stay.
    """
    counted = [f for f in active if f.active and f.fact_type not in EXEMPT_TYPES]
    excess = len(counted) - cap
    if excess <= 0:
        return ()

    def weight(f: Fact) -> float:
        return decay_weight(f.confidence, now - f.updated_at, EVICTION_HALF_LIFE_DAYS)

    core = sorted(
        (f for f in counted if f.fact_type in CORE_TYPES), key=lambda f: (-weight(f), f.id)
    )
    kept = {f.id for f in core[:core_keep]} | set(protect)
    evictable = sorted(
        (f for f in counted if f.id not in kept), key=lambda f: (weight(f), f.updated_at, f.id)
    )
    return tuple(f.id for f in evictable[:excess])


def _ordered(ids: set[int | None]) -> tuple[int, ...]:
    return tuple(sorted(i for i in ids if i is not None))
