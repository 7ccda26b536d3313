"""`clanker.memory.profile.compose`: a prompt's facts in priority order, each once."""

from __future__ import annotations

from clanker.memory.model import Fact, Owner
from clanker.memory.profile import PRIMARY_FACTS, SECONDARY_FACTS, compose, strongest


def f(
    i: int,
    owner: Owner,
    *,
    conf: float = 0.5,
    updated: float = 0.0,
    kind: str = "other",
    active: bool = True,
) -> Fact:
    return Fact(
        id=i,
        owner=owner,
        subject=owner.default_subject(),
        fact=f"fact {i}",
        fact_type=kind,  # type: ignore[arg-type]
        confidence=conf,
        created_at=0.0,
        updated_at=updated,
        active=active,
    )


ALICE, BOB, GUILD = Owner.user(1), Owner.user(2), Owner.guild(9)


def test_strongest_is_confidence_then_the_latest_update() -> None:
    facts = [
        f(1, ALICE, conf=0.5, updated=10),
        f(2, ALICE, conf=0.9),
        f(3, ALICE, conf=0.5, updated=20),
    ]
    assert [x.id for x in strongest(facts, 2)] == [2, 3]


def test_guidance_then_the_speaker_then_relevance_then_the_others() -> None:
    guidance = [
        f(10, GUILD, kind="guidance", conf=0.6),
        f(11, GUILD, kind="other", conf=0.99),
        f(12, GUILD, kind="guidance", conf=0.8),
    ]
    primary = [f(20 + n, ALICE, conf=n / 100) for n in range(PRIMARY_FACTS + 3)]
    relevant = [f(11, GUILD), f(34, ALICE), f(40, Owner.bot()), f(50, BOB)]
    others = [
        [f(50 + n, BOB, conf=n / 100) for n in range(SECONDARY_FACTS + 2)]
        + [f(99, BOB, conf=1.0, active=False)]
    ]
    got = [
        x.id for x in compose(guidance=guidance, primary=primary, relevant=relevant, others=others)
    ]
    top_alice = [20 + n for n in range(PRIMARY_FACTS + 2, 2, -1)]  # the 12 most confident
    assert got == [12, 10, *top_alice, 11, 40, 50, 57, 56, 55, 54, 53, 52]
    assert got.count(50) == 1 and 99 not in got and 34 in got
