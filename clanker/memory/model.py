"""The fact model of long-term memory: what a remembered fact is, and its limits.

A fact belongs to one scope:

* ``user``  — a person's portable facts (``user_id`` set, ``guild_id`` None; subject = the
  user id as text). They follow the person to every guild and DM, and never carry guild lore.
* ``guild`` — a guild's lore (subject ``__lore__``) and guidance/behavioural rules (``guild_id``
  set, ``user_id`` None). They never leave that guild.
* ``self``  — what the bot knows about itself (subject ``__self__``; no guild, no user).

Times are Unix seconds (floats) here; the Store keeps them as ISO text. Sans-IO: no trio, no
SQLite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

Scope = Literal["user", "guild", "self"]
SCOPES: tuple[Scope, ...] = get_args(Scope)

FactType = Literal[
    "preference", "profile", "relationship", "project", "guidance", "behavioral", "other"
]
FACT_TYPES: tuple[FactType, ...] = get_args(FactType)

EXEMPT_TYPES: frozenset[str] = frozenset({"guidance", "behavioral"})
"""Rules for the bot's behaviour: never decayed, never archived by the per-subject cap."""
CORE_TYPES: frozenset[str] = frozenset({"profile", "relationship"})
"""Who a person is: the strongest `CORE_KEEP` of these survive any cap eviction."""

LORE_SUBJECT = "__lore__"
SELF_SUBJECT = "__self__"

MAX_FACT_CHARS = 400
MAX_SUBJECT_CHARS = 120
MAX_EVIDENCE_CHARS = 240
MAX_EVIDENCE_IDS = 16
DEFAULT_CONFIDENCE = 0.72
SUBJECT_CAP = 120
CORE_KEEP = 35
DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose fact it is: the scope plus the guild or user that owns it."""

    scope: Scope
    guild_id: int | None = None
    user_id: int | None = None

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"Owner.scope must be one of {', '.join(SCOPES)}, got {self.scope!r}")
        if self.scope == "user" and (self.user_id is None or self.guild_id is not None):
            raise ValueError("a user-scope fact needs user_id and no guild_id (it is portable)")
        if self.scope == "guild" and (self.guild_id is None or self.user_id is not None):
            raise ValueError("a guild-scope fact needs guild_id and no user_id")
        if self.scope == "self" and (self.guild_id is not None or self.user_id is not None):
            raise ValueError("a self-scope fact has neither guild_id nor user_id")

    @staticmethod
    def user(user_id: int) -> Owner:
        return Owner("user", user_id=user_id)

    @staticmethod
    def guild(guild_id: int) -> Owner:
        return Owner("guild", guild_id=guild_id)

    @staticmethod
    def bot() -> Owner:
        return Owner("self")

    def default_subject(self) -> str:
        """``str(user_id)`` for a user, ``__lore__`` for a guild, ``__self__`` for the bot."""
        if self.scope == "user":
            return str(self.user_id)
        return LORE_SUBJECT if self.scope == "guild" else SELF_SUBJECT


@dataclass(frozen=True, slots=True)
class Fact:
    """A stored fact (``id`` is the Store's row id)."""

    id: int
    owner: Owner
    subject: str
    fact: str
    fact_type: FactType
    confidence: float
    created_at: float
    updated_at: float
    evidence_ids: tuple[int, ...] = ()
    evidence_text: str = ""
    channel_id: int | None = None
    supersedes: int | None = None
    active: bool = True
    learned_in_dm: bool = False  # a user fact told in a DM: never in a guild's prompt

    @property
    def exempt(self) -> bool:
        """Guidance and behavioural facts: no decay, no cap archiving."""
        return self.fact_type in EXEMPT_TYPES


@dataclass(frozen=True, slots=True)
class FactDraft:
    """A fact someone wants remembered (a tool call, a reflection), before the write policy.

    ``fact_type`` is a plain string: the policy checks it. ``subject`` None means the owner's
    default subject. ``supersedes`` names an existing fact this one replaces.
    """

    owner: Owner
    fact: str
    fact_type: str = "other"
    subject: str | None = None
    confidence: float = DEFAULT_CONFIDENCE
    evidence_ids: tuple[int, ...] = ()
    evidence_text: str = ""
    channel_id: int | None = None
    supersedes: int | None = None


def decay_weight(confidence: float, age_seconds: float, half_life_days: float) -> float:
    """``confidence · 2^(-age / half_life)`` (age below 0 counts as 0)."""
    age_days = max(0.0, age_seconds) / DAY
    return confidence * math.exp(-math.log(2) * age_days / half_life_days)
