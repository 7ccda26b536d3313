"""What a prompt remembers: the people's fact profiles, the guild's guidance, the relevant rest.

A reply's (or a spoken answer's) memory is not one relevance search: the people in the
conversation are known whatever was just said, and the server's guidance always applies. So a
prompt's facts are composed, in this order of priority (the prompt section's budget cuts from
the end):

1. the guild's ``guidance`` facts, always (at most `GUIDANCE_FACTS`, most confident first);
2. the speaker's profile: their `PRIMARY_FACTS` strongest facts;
3. the facts relevant to what was said (the hybrid ranking of `clanker.memory.ranking`,
   `RELEVANT_FACTS`), which is where ``behavioral`` rules, lore and the bot's own facts come in;
4. each other participant's profile, `SECONDARY_FACTS` each, most recent speaker first.

A fact is listed once (its first place). "Strongest" is confidence, then the latest update.
Sans-IO: facts in, facts out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from clanker.memory.model import Fact

GUIDANCE_FACTS = 8
PRIMARY_FACTS = 12
SECONDARY_FACTS = 6
RELEVANT_FACTS = 8


def strongest(facts: Iterable[Fact], limit: int) -> list[Fact]:
    """The ``limit`` most confident active facts, the latest updated first among equals."""
    active = (f for f in facts if f.active)
    return sorted(active, key=lambda f: (-f.confidence, -f.updated_at, -f.id))[:limit]


def compose(
    *,
    guidance: Sequence[Fact],
    primary: Sequence[Fact],
    relevant: Sequence[Fact],
    others: Sequence[Sequence[Fact]],
) -> list[Fact]:
    """The prompt's facts in priority order (see the module docstring), each once."""
    seen: set[int] = set()
    out: list[Fact] = []
    groups = [
        strongest((f for f in guidance if f.fact_type == "guidance"), GUIDANCE_FACTS),
        strongest(primary, PRIMARY_FACTS),
        list(relevant)[:RELEVANT_FACTS],
        *(strongest(o, SECONDARY_FACTS) for o in others),
    ]
    for group in groups:
        for fact in group:
            if fact.id not in seen and fact.active:
                seen.add(fact.id)
                out.append(fact)
    return out
