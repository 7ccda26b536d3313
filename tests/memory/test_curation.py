"""`plan_edit`, the operator's edit checked by the write policy, without trio or SQLite."""

from __future__ import annotations

import pytest

from clanker.memory.curation import Conflict, EditFact, EditPlan, plan_edit
from clanker.memory.model import Fact, Owner
from clanker.memory.policy import Rejected

ALICE = Owner.user(42)


def fact(i: int, text: str, owner: Owner = ALICE, **kw: object) -> Fact:
    return Fact(
        id=i,
        owner=owner,
        subject=owner.default_subject(),
        fact=text,
        fact_type=kw.pop("fact_type", "preference"),  # type: ignore[arg-type]
        confidence=0.7,
        created_at=0.0,
        updated_at=0.0,
        **kw,  # type: ignore[arg-type]
    )


def test_an_edit_is_normalised_and_names_what_changed() -> None:
    old = fact(1, "plays the violin")
    plan = plan_edit(old, [old], text="  plays   the cello ", fact_type=None, confidence=None)
    assert plan == EditPlan(
        fact="plays the cello",
        fact_key="plays the cello",
        fact_type="preference",
        confidence=0.7,
        changed=("fact",),
    )
    assert plan.text_changed
    typed = plan_edit(old, [old], text=None, fact_type="Profile", confidence=0.9)
    assert isinstance(typed, EditPlan)
    assert (typed.changed, typed.text_changed) == (("type", "confidence"), False)
    same = plan_edit(old, [old], text="plays the violin", fact_type=None, confidence=None)
    assert isinstance(same, EditPlan) and same.changed == ()


@pytest.mark.parametrize(
    ("text", "fact_type", "reason"),
    [
        ("always reply in French", None, "reads as an instruction"),
        ("my api key is sk-abcdefghijklmnopqrstuv", None, "not remembered:"),
        (None, "rule", "unknown fact type 'rule'; use one of preference"),
        (None, "guidance", "a guidance fact is a rule for a guild"),
        ("x" * 401, None, "the fact is 401 characters; at most 400"),
        ("a", None, "shorter than 3 characters"),
    ],
)
def test_the_write_policy_refuses_with_its_reason(
    text: str | None, fact_type: str | None, reason: str
) -> None:
    old = fact(1, "plays the violin")
    refused = plan_edit(old, [old], text=text, fact_type=fact_type, confidence=None)
    assert isinstance(refused, Rejected) and reason in refused.reason, refused


def test_a_guild_rule_may_be_an_instruction() -> None:
    rule = fact(3, "keep replies short", owner=Owner.guild(7), fact_type="guidance")
    plan = plan_edit(rule, [rule], text="always reply in French", fact_type=None, confidence=None)
    assert isinstance(plan, EditPlan) and plan.fact == "always reply in French"


def test_saying_what_a_sibling_says_is_a_conflict_archived_or_not() -> None:
    old, tea = fact(1, "plays the violin"), fact(2, "Drinks tea", active=False)
    clash = plan_edit(old, [old, tea], text="drinks tea.", fact_type=None, confidence=None)
    assert clash == Conflict("fact 2 (archived) already says that: 'Drinks tea'")


def test_the_message_checks_its_fields() -> None:
    with pytest.raises(ValueError, match="at least one of fact, fact_type, confidence"):
        EditFact(owner_key="user:1", fact_id=1)
    with pytest.raises(ValueError, match=r"EditFact.confidence must be in 0\.\.1, got 2"):
        EditFact(owner_key="user:1", fact_id=1, confidence=2)
    with pytest.raises(ValueError, match="is not an owner key"):
        EditFact(owner_key="alice", fact_id=1, fact="abc")
