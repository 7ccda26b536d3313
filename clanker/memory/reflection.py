"""Reflection: when to learn facts from what was said, what the model is asked, what is kept.

Two runs (docs/memory.md, "Reflection"):

* **micro** — one channel, after it went quiet (no person wrote for ``quiet``), or early under
  context pressure (``pressure_at`` messages from people since its last reflection, at least
  ``cooldown`` after it), over the messages of the last ``window`` that no earlier reflection
  of that channel covered;
* **daily** — one guild's journal day (`clanker.memory.journal`), once the day is over.

The model answers with `REFLECTION_SCHEMA`; `read_facts` keeps only what the window supports:
a fact about a person must name a person who spoke in it, its evidence must be message ids of
the window (at least one), a ``supersedes`` must be one of the existing facts shown (of the
same owner), and the count is capped. Sans-IO: no trio, no Store, no clock (``now`` handed in).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from clanker.memory.model import DEFAULT_CONFIDENCE, FACT_TYPES, MAX_FACT_CHARS
from clanker.store.messages import MessageRow

ACTION_KIND = "memory_reflection"
"""Every run is one action of this kind (its metadata says run, trigger, outcome, facts)."""
PRESSURE_MARGIN = 4
"""Early reflection when this close to the prompt's recent-message count (the original's 4)."""
COOLDOWN = timedelta(minutes=2)
"""Between a channel's pressure reflections (the original's 2 min)."""
MAX_EXISTING = 60
"""Existing facts shown to the model for dedupe, at most."""
MAX_PROMPT_CHARS = 24_000
"""A daily journal longer than this is reflected on in parts of this size."""

Trigger = Literal["quiet", "pressure", "schedule", "manual"]
Run = Literal["micro", "daily"]

REFLECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["facts"],
    "properties": {
        "facts": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "subject",
                    "person_id",
                    "fact",
                    "type",
                    "confidence",
                    "evidence",
                    "supersedes",
                ],
                "properties": {
                    "subject": {
                        "type": "string",
                        "enum": ["person", "lore", "bot"],
                        "description": "a person who spoke, the server's lore, or you",
                    },
                    "person_id": {
                        "type": ["string", "null"],
                        "description": "the person's id as written in the lines; null otherwise",
                    },
                    "fact": {
                        "type": "string",
                        "description": "one short durable fact, without the person's name",
                    },
                    "type": {"type": "string", "enum": list(FACT_TYPES)},
                    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                    "evidence": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "message ids from the lines that show it",
                    },
                    "supersedes": {
                        "type": ["integer", "null"],
                        "description": "the id of a remembered fact this one replaces, or null",
                    },
                },
            },
        }
    },
}


@dataclass(frozen=True)
class ChannelMark:
    """Where a channel's last micro-reflection stopped: its last message (by the order the
    Store keeps: ``stored_at``, then id) and when it ran."""

    last_message_id: int
    last_stored_at: str
    ran_at: datetime


@dataclass(frozen=True)
class MicroRule:
    quiet: timedelta
    window: timedelta
    pressure_at: int  # messages from people since the mark that reflect early

    @staticmethod
    def of(quiet_minutes: int, window_minutes: int, context_messages: int) -> MicroRule:
        return MicroRule(
            quiet=timedelta(minutes=quiet_minutes),
            window=timedelta(minutes=window_minutes),
            pressure_at=max(1, context_messages - PRESSURE_MARGIN),
        )


@dataclass(frozen=True)
class MicroDue:
    trigger: Trigger
    rows: tuple[MessageRow, ...]  # what to reflect on, in the order stored


def _stored(row: MessageRow) -> datetime:
    return datetime.fromisoformat(row.stored_at or row.created_at)


def _after(row: MessageRow, mark: ChannelMark | None) -> bool:
    if mark is None:
        return True
    return (row.stored_at or row.created_at, row.message_id) > (
        mark.last_stored_at,
        mark.last_message_id,
    )


def _spoken_by_people(rows: Sequence[MessageRow]) -> list[MessageRow]:
    return [r for r in rows if not r.is_bot and r.content.strip()]


def micro_due(
    rows: Sequence[MessageRow],
    mark: ChannelMark | None,
    now: datetime,
    rule: MicroRule,
    *,
    force: bool = False,
) -> MicroDue | None:
    """Whether a channel is due a micro-reflection now, and over which rows.

    ``rows`` are the channel's messages stored in the last ``rule.window`` (any order); only
    those after ``mark`` count. Quiet: the latest message from a person is ``rule.quiet`` old.
    Pressure: ``rule.pressure_at`` messages from people since the mark, and the mark at least
    `COOLDOWN` old. ``force`` (the operator's "reflect now") skips both waits.
    """
    fresh = sorted(
        (r for r in rows if _after(r, mark) and _stored(r) >= now - rule.window),
        key=lambda r: (r.stored_at or r.created_at, r.message_id),
    )
    people = _spoken_by_people(fresh)
    if not people:
        return None
    if force:
        return MicroDue("manual", tuple(fresh))
    if _stored(people[-1]) + rule.quiet <= now:
        return MicroDue("quiet", tuple(fresh))
    cooled = mark is None or mark.ran_at + COOLDOWN <= now
    if len(people) >= rule.pressure_at and cooled:
        return MicroDue("pressure", tuple(fresh))
    return None


def next_check(
    rows: Sequence[MessageRow], mark: ChannelMark | None, now: datetime, rule: MicroRule
) -> datetime | None:
    """When this channel could next become due by quiet (its latest person's message plus
    ``rule.quiet``), if it has anything to reflect on."""
    people = _spoken_by_people([r for r in rows if _after(r, mark)])
    if not people:
        return None
    latest = max(_stored(r) for r in people)
    return max(now, latest + rule.quiet)


@dataclass(frozen=True)
class Existing:
    """A remembered fact shown to the model: its id, whose (owner key) and how it reads."""

    id: int
    owner_key: str
    label: str  # "alice (1001)", "this server", "you"
    fact: str


@dataclass(frozen=True)
class Proposed:
    """A fact the window supports, ready for `Remember` (mode ``minimal``)."""

    scope: Literal["user", "guild", "self"]
    user_id: int | None
    fact: str
    fact_type: str
    confidence: float
    evidence_ids: tuple[int, ...]
    supersedes: int | None


@dataclass
class ReadFacts:
    facts: list[Proposed] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


SYSTEM = """\
You keep the long-term memory of {bot}, a member of a Discord server. You read a stretch of \
what was said and write down the few facts worth remembering for later conversations.

Keep only durable facts: who people are, what they like, do, own, plan or care about, how \
they relate to each other, the server's running jokes, customs and lore, and guidance members \
give you about how to behave. Skip greetings, passing moods, one-off chatter, anything only \
true for the moment, and anything you merely guess. Never write secrets (passwords, keys, \
tokens, addresses, phone numbers) or insults about people.

Each fact: one short sentence about its subject without naming them ("has a ferret named \
Bob", not "Alice has a ferret named Bob"); subject "person" with the person's id as written \
in the lines, "lore" for the server, "bot" for you ({bot}); evidence = the message ids that \
show it. Do not repeat what is already remembered; if a new fact replaces a remembered one, \
give that one's id in supersedes. Write at most {max_facts} facts, or none.

Answer with JSON only: {{"facts": [{{"subject": "person", "person_id": "123", "fact": "...", \
"type": "preference", "confidence": 0.8, "evidence": ["456"], "supersedes": null}}]}}."""

HEADING = "MEMORY REFLECTION"
"""The first words of every reflection prompt (the offline demo brain looks for them)."""


def prompt(
    run: Run,
    lines: Sequence[str],
    existing: Sequence[Existing],
    *,
    bot_name: str,
    max_facts: int,
    where: str,
) -> tuple[str, str]:
    """The system and user text of one reflection call."""
    system = SYSTEM.format(bot=bot_name, max_facts=max_facts)
    what = "a channel's recent conversation" if run == "micro" else "a day of the server"
    parts = [f"{HEADING}: {what} ({where}).", "", "LINES"]
    parts += list(lines) or ["(none)"]
    parts += ["", "ALREADY REMEMBERED"]
    parts += [f"- [{e.id}] {e.label}: {e.fact}" for e in existing[:MAX_EXISTING]] or ["(nothing)"]
    parts += ["", f'Write at most {max_facts} new facts as JSON, or {{"facts": []}}.']
    return system, "\n".join(parts)


_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def _digits(value: object) -> int | None:
    text = str(value).strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def read_facts(
    text: str,
    *,
    window: Sequence[MessageRow],
    existing: Sequence[Existing],
    max_facts: int,
) -> ReadFacts:
    """The facts of the model's answer that the window supports (see the module docstring);
    each one left out is a problem, with the reason."""
    out = ReadFacts()
    found = _JSON_OBJECT.search(text)
    try:
        data = json.loads(found.group(0) if found else text)
    except (json.JSONDecodeError, TypeError):
        out.problems.append(f"not JSON: {text[:120]!r}")
        return out
    items = data.get("facts") if isinstance(data, dict) else None
    if not isinstance(items, list):
        out.problems.append("no facts list in the answer")
        return out
    ids = {r.message_id for r in window}
    people = {r.author_id for r in window if not r.is_bot}
    owners = {e.id: e.owner_key for e in existing}
    for n, item in enumerate(items):
        if len(out.facts) >= max_facts:
            out.problems.append(f"{len(items) - n} facts over the cap of {max_facts}")
            break
        if not isinstance(item, dict):
            out.problems.append(f"fact {n}: not an object")
            continue
        problem, proposed = _read_one(item, ids, people, owners)
        if proposed is None:
            out.problems.append(f"fact {n}: {problem}")
        else:
            out.facts.append(proposed)
            if problem:
                out.problems.append(f"fact {n}: {problem}")
    return out


def _read_one(
    item: Mapping[str, Any], ids: set[int], people: set[int], owners: Mapping[int, str]
) -> tuple[str, Proposed | None]:
    fact = " ".join(str(item.get("fact") or "").split())
    if not fact:
        return "empty fact", None
    if len(fact) > MAX_FACT_CHARS:
        return f"fact over {MAX_FACT_CHARS} characters", None
    subject = item.get("subject")
    user_id: int | None = None
    scope: Literal["user", "guild", "self"]
    if subject == "person":
        user_id = _digits(item.get("person_id"))
        if user_id is None or user_id not in people:
            return f"person_id {item.get('person_id')!r} is not someone who spoke here", None
        scope, key = "user", f"user:{user_id}"
    elif subject == "lore":
        scope, key = "guild", ""
    elif subject == "bot":
        scope, key = "self", "self"
    else:
        return f"unknown subject {subject!r}", None
    evidence = tuple(
        dict.fromkeys(
            i
            for i in (_digits(e) for e in item.get("evidence") or ())
            if i is not None and i in ids
        )
    )
    if not evidence:
        return "no evidence among the lines' message ids", None
    fact_type = str(item.get("type") or "other")
    if fact_type not in FACT_TYPES:
        fact_type = "other"
    raw = item.get("confidence")
    confidence = float(raw) if isinstance(raw, int | float) else DEFAULT_CONFIDENCE
    confidence = DEFAULT_CONFIDENCE if not math.isfinite(confidence) else confidence
    confidence = min(1.0, max(0.0, confidence))
    supersedes = _digits(item.get("supersedes")) if item.get("supersedes") is not None else None
    note = ""
    if supersedes is not None:
        owner = owners.get(supersedes)
        same = owner is not None and (owner == key if key else owner.startswith("guild:"))
        if not same:
            note, supersedes = f"supersedes {supersedes} is not a shown fact of that subject", None
    return note, Proposed(
        scope=scope,
        user_id=user_id,
        fact=fact,
        fact_type=fact_type,
        confidence=confidence,
        evidence_ids=evidence[:16],
        supersedes=supersedes,
    )
