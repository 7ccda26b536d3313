"""The Memory view's evidence and reflection runs shaped without trio or a Store
(`clanker.memory.view`): stored, deleted and unknown evidence messages with names and
links; reflection runs read from their logged metadata, defensively (wrong types, missing
fields, metadata that is not an object), with the facts they wrote resolved or forgotten."""

from __future__ import annotations

import pytest

from clanker.automations.view import Names
from clanker.memory.view import (
    EvidenceMessage,
    ReflectionFact,
    evidence_view,
    fact_ids_of,
    reflection_runs,
    reflection_view,
)
from clanker.store import to_json
from clanker.store.facts import FactRow
from clanker.store.messages import ActionRow, MessageRow

GUILD, GENERAL, RANDOM = 77, 700, 701
NAMES = Names(guilds={GUILD: "Otter Club"}, channels={GENERAL: "general"})
AT = "2026-12-01T10:00:00.000+00:00"


def fact(fact_id: int = 5, **kw: object) -> FactRow:
    fields: dict[str, object] = {
        "id": fact_id,
        "scope": "user",
        "guild_id": None,
        "user_id": 1001,
        "subject": "1001",
        "fact": "loves otters",
        "fact_type": "preference",
        "confidence": 0.8,
        "evidence_ids": (),
        "evidence_text": "",
        "channel_id": None,
        "supersedes": None,
        "active": True,
        "created_at": AT,
        "updated_at": AT,
    }
    fields.update(kw)
    return FactRow(**fields)  # type: ignore[arg-type]


def message(message_id: int, **kw: object) -> MessageRow:
    fields: dict[str, object] = {
        "message_id": message_id,
        "guild_id": GUILD,
        "channel_id": GENERAL,
        "author_id": 1001,
        "author_name": "alice",
        "is_bot": False,
        "content": "I love otters",
        "reply_to_message_id": None,
        "created_at": AT,
        "edited_at": None,
        "deleted": False,
    }
    fields.update(kw)
    return MessageRow(**fields)  # type: ignore[arg-type]


def action(action_id: int, meta: object, **kw: object) -> ActionRow:
    fields: dict[str, object] = {
        "id": action_id,
        "kind": "memory_reflection",
        "guild_id": GUILD,
        "channel_id": GENERAL,
        "message_id": None,
        "user_id": None,
        "content": "reflected on #general",
        "metadata": meta if isinstance(meta, str) else to_json(meta),  # type: ignore[arg-type]
        "usd_cost": 0.0012,
        "created_at": AT,
    }
    fields.update(kw)
    return ActionRow(**fields)  # type: ignore[arg-type]


def test_evidence_lists_stored_deleted_and_unknown_messages_in_the_facts_order() -> None:
    row = fact(
        evidence_ids=(12, 11, 13, 14), evidence_text="alice: I love otters", channel_id=GENERAL
    )
    stored = {
        11: message(11, channel_id=RANDOM, author_name="bob", author_id=1002, deleted=True),
        12: message(12),
        14: message(14, guild_id=None, channel_id=900, content="psst"),
    }
    view = evidence_view(row, stored, NAMES)
    assert (view.fact_id, view.owner, view.evidence_text) == (
        5,
        "user:1001",
        "alice: I love otters",
    )
    assert (view.channel_id, view.channel_name) == (str(GENERAL), "general")
    assert [m.id for m in view.messages] == ["12", "11", "13", "14"]
    assert view.messages[0] == EvidenceMessage(
        id="12",
        status="stored",
        guild_id=str(GUILD),
        guild_name="Otter Club",
        channel_id=str(GENERAL),
        channel_name="general",
        author_id="1001",
        author_name="alice",
        content="I love otters",
        created_at=AT,
        jump_url=f"https://discord.com/channels/{GUILD}/{GENERAL}/12",
    )
    deleted = view.messages[1]
    assert (deleted.status, deleted.author_name, deleted.channel_name) == ("deleted", "bob", None)
    assert view.messages[2] == EvidenceMessage(id="13", status="unknown")
    dm = view.messages[3]
    assert (dm.guild_id, dm.guild_name, dm.jump_url) == (
        None,
        None,
        "https://discord.com/channels/@me/900/14",
    )
    bare = evidence_view(fact(scope="self", user_id=None, subject="__self__"), {}, Names())
    assert (bare.owner, bare.messages, bare.channel_id) == ("self", [], None)


def test_a_reflection_run_reads_every_logged_field() -> None:
    meta = {
        "run": "micro",
        "trigger": "quiet",
        "from": "2026-12-01T09:00:00+00:00",
        "to": "2026-12-01T09:40:00+00:00",
        "messages": 14,
        "outcome": "done",
        "fact_ids": [5, 6, 5],
        "written": 1,
        "merged": 1,
        "refused": 2,
        "model": "claude-haiku-4-5",
        "usd_cost_of_call": 0.0042,
        "problems": ["refused: not remembered: it reads as a secret", 7],
        "last_message_id": 99,
    }
    facts = {5: fact(5), 8: fact(8)}
    run = reflection_view(action(3, meta), facts, NAMES)
    assert (run.id, run.at, run.guild_name, run.channel_name) == (3, AT, "Otter Club", "general")
    assert (run.run, run.trigger, run.day, run.outcome, run.error) == (
        "micro",
        "quiet",
        None,
        "done",
        None,
    )
    assert (run.window_from, run.window_to, run.messages) == (meta["from"], meta["to"], 14)
    assert (run.written, run.merged, run.refused, run.model) == (1, 1, 2, "claude-haiku-4-5")
    # the model call's cost the run logged (the action's own usd_cost is 0.0012 here)
    assert (run.usd_cost, run.content, run.metadata_problem) == (
        0.0042,
        "reflected on #general",
        None,
    )
    assert run.problems == ["refused: not remembered: it reads as a secret"]  # strings only
    assert (run.parts, run.parts_skipped) == (0, 0)
    assert run.facts == [
        ReflectionFact(id=5, owner="user:1001", fact="loves otters", active=True),
        ReflectionFact(id=6, owner=None, fact=None, active=None),  # forgotten since
    ]


def test_a_daily_failed_run_and_malformed_metadata_still_show() -> None:
    daily = reflection_view(
        action(
            4,
            {
                "run": "daily",
                "trigger": "schedule",
                "day": "2026-11-30",
                "outcome": "failed",
                "error": "the model did not answer",
                "messages": "many",
                "written": True,
                "fact_ids": "5",
                "parts": 4,
                "parts_skipped": 2,
                "usd_cost_of_call": "free",
                "problems": "none",
            },
            channel_id=None,
        ),
        {},
        NAMES,
    )
    assert (daily.run, daily.day, daily.channel_id, daily.channel_name) == (
        "daily",
        "2026-11-30",
        None,
        None,
    )
    assert (daily.outcome, daily.error) == ("failed", "the model did not answer")
    assert (daily.messages, daily.written, daily.facts) == (0, 0, [])  # wrong types: 0 / none
    assert (daily.parts, daily.parts_skipped, daily.problems) == (4, 2, [])
    assert daily.usd_cost == 0.0012  # not a number: the action's own cost
    for raw, problem in [
        ("[1, 2]", "the logged metadata is not a JSON object"),
        ("{nope", "the logged metadata is not JSON"),
    ]:
        odd = reflection_view(action(5, raw), {}, NAMES)
        assert (odd.metadata_problem, odd.run, odd.outcome, odd.facts) == (problem, None, None, [])
    assert fact_ids_of(action(6, {"fact_ids": [3, -1, 0, True, "4", 3, 9]})) == (3, 9)
    with pytest.raises(ValueError, match="action 7 is a 'sent_reply', not a 'memory_reflection'"):
        reflection_view(action(7, {}, kind="sent_reply"), {}, NAMES)


def test_runs_are_newest_first_and_limited() -> None:
    rows = [action(i, {"run": "micro"}) for i in (2, 9, 4)] + [action(5, {}, kind="llm_call")]
    shown = reflection_runs(rows, {}, NAMES, limit=2)
    assert ([r.id for r in shown.runs], shown.limit) == ([9, 4], 2)
