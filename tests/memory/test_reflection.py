"""`clanker.memory.reflection` and `clanker.memory.journal` without trio: when a channel is
due, what the model's answer may write, and the journal's lines and days."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from clanker.memory import journal
from clanker.memory.reflection import (
    ChannelMark,
    Existing,
    MicroRule,
    micro_due,
    next_check,
    prompt,
    read_facts,
)
from clanker.store import to_iso
from clanker.store.messages import MessageRow

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
RULE = MicroRule.of(quiet_minutes=10, window_minutes=30, context_messages=35)


def row(
    mid: int, seconds: float, text: str = "hi", *, author: int = 1, bot: bool = False
) -> MessageRow:
    stamp = to_iso(T0 + timedelta(seconds=seconds))
    return MessageRow(
        message_id=mid,
        guild_id=100,
        channel_id=10,
        author_id=author,
        author_name="clanker" if bot else f"user{author}",
        is_bot=bot,
        content=text,
        reply_to_message_id=None,
        created_at="2025-01-01T00:00:00.000+00:00",  # Discord's clock: not what counts
        edited_at=None,
        deleted=False,
        stored_at=stamp,
    )


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_the_pressure_threshold_is_four_under_the_prompt_window() -> None:
    assert RULE.pressure_at == 31
    assert MicroRule.of(10, 30, 3).pressure_at == 1


def test_quiet_is_measured_from_the_last_person_not_the_bot() -> None:
    rows = [row(1, 0), row(2, 100, bot=True)]
    assert micro_due(rows, None, at(599.999), RULE) is None
    due = micro_due(rows, None, at(600), RULE)
    assert due is not None and due.trigger == "quiet"
    assert [r.message_id for r in due.rows] == [1, 2]  # the bot's line is context
    assert next_check(rows, None, at(0), RULE) == at(600)


def test_only_what_follows_the_mark_inside_the_window_counts() -> None:
    rows = [row(1, 0), row(2, 60), row(3, 1200)]
    mark = ChannelMark(last_message_id=2, last_stored_at=to_iso(at(60)), ran_at=at(700))
    due = micro_due(rows, mark, at(1800), RULE)
    assert due is not None and [r.message_id for r in due.rows] == [3]
    # past the window: the old line is not read again even without a mark
    due = micro_due(rows, None, at(60 + 1800.001), RULE)
    assert due is not None and [r.message_id for r in due.rows] == [3]
    assert micro_due(rows[:2], mark, at(5000), RULE) is None  # nothing new
    assert micro_due([row(4, 10, bot=True)], None, at(5000), RULE) is None  # bots only


def test_pressure_fires_early_but_not_within_the_cooldown() -> None:
    rule = MicroRule.of(10, 30, 6)  # at 2 from people
    rows = [row(1, 0), row(2, 5)]
    due = micro_due(rows, None, at(10), rule)
    assert due is not None and due.trigger == "pressure"
    mark = ChannelMark(2, to_iso(at(5)), ran_at=at(10))
    rows += [row(3, 20), row(4, 30)]
    assert micro_due(rows, mark, at(129.999), rule) is None
    due = micro_due(rows, mark, at(130), rule)
    assert due is not None and due.trigger == "pressure" and len(due.rows) == 2
    forced = micro_due(rows[:1], None, at(1), rule, force=True)
    assert forced is not None and forced.trigger == "manual"


EXISTING = [
    Existing(id=7, owner_key="user:1", label="user1 (1)", fact="likes tea"),
    Existing(id=8, owner_key="guild:100", label="this server", fact="the burrow is the lounge"),
]


def answer(*facts: dict[str, object]) -> str:
    return "Here you go:\n" + json.dumps({"facts": list(facts)})


def item(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "subject": "person",
        "person_id": "1",
        "fact": "likes green tea",
        "type": "preference",
        "confidence": 0.9,
        "evidence": ["11"],
        "supersedes": None,
    }
    return {**base, **kw}


def test_read_facts_keeps_what_the_window_supports_and_says_why_not() -> None:
    window = [row(11, 0, author=1), row(12, 1, author=2), row(13, 2, bot=True, author=99)]
    got = read_facts(
        answer(
            item(supersedes=7, evidence=["11", "11", "999"]),
            item(person_id="99", fact="is a bot"),  # a bot is not a person who spoke
            item(person_id="5"),  # did not speak here
            item(evidence=["999"]),  # no evidence in the window
            item(subject="lore", person_id=None, fact="tea is sacred", supersedes=7),
            item(subject="bot", person_id=None, fact="was asked to be brief", type="nonsense"),
            item(subject="weather"),
            item(fact="   "),
            item(confidence=7, fact="loves mornings", person_id="2", evidence=["12"]),
        ),
        window=window,
        existing=EXISTING,
        max_facts=5,
    )
    assert [(f.scope, f.user_id, f.fact, f.supersedes, f.evidence_ids) for f in got.facts] == [
        ("user", 1, "likes green tea", 7, (11,)),
        ("guild", None, "tea is sacred", None, (11,)),
        ("self", None, "was asked to be brief", None, (11,)),
        ("user", 2, "loves mornings", None, (12,)),
    ]
    assert got.facts[2].fact_type == "other" and got.facts[3].confidence == 1.0
    assert got.problems == [
        "fact 1: person_id '99' is not someone who spoke here",
        "fact 2: person_id '5' is not someone who spoke here",
        "fact 3: no evidence among the lines' message ids",
        "fact 4: supersedes 7 is not a shown fact of that subject",
        "fact 6: unknown subject 'weather'",
        "fact 7: empty fact",
    ]


def test_read_facts_caps_the_count_and_refuses_what_is_not_json() -> None:
    window = [row(11, 0)]
    got = read_facts(
        answer(*[item(fact=f"fact {n}") for n in range(4)]), window=window, existing=[], max_facts=2
    )
    assert [f.fact for f in got.facts] == ["fact 0", "fact 1"]
    assert got.problems == ["2 facts over the cap of 2"]
    assert read_facts("no idea", window=window, existing=[], max_facts=2).problems == [
        "not JSON: 'no idea'"
    ]
    assert read_facts('{"facts": 3}', window=window, existing=[], max_facts=2).problems == [
        "no facts list in the answer"
    ]


def test_the_prompt_shows_the_lines_and_what_is_remembered() -> None:
    system, text = prompt(
        "micro", ["- line one"], EXISTING, bot_name="clanker", max_facts=8, where="channel 10"
    )
    assert "You keep the long-term memory of clanker" in system and "at most 8 facts" in system
    assert text.splitlines()[:3] == [
        "MEMORY REFLECTION: a channel's recent conversation (channel 10).",
        "",
        "LINES",
    ]
    assert "- [7] user1 (1): likes tea" in text
    assert "- [8] this server: the burrow is the lounge" in text


def test_a_journal_line_marks_voice_and_bot_lines_and_cuts_long_text() -> None:
    spoken = journal.spoken_line_id(1_765_000_000_000, 4097)
    assert journal.is_spoken_line(spoken) and not journal.is_spoken_line(11)
    assert spoken & 0xFFF == 1
    r = row(spoken, 3, "x" * 700 + " tail", author=1, bot=True)
    line = journal.journal_line(r)
    assert line.startswith(
        f"- 2025-01-01T00:00:00.000+00:00 | clanker (1) | [guild:100 channel:10 message:{spoken}"
        " voice bot] xxx"
    )
    assert line.endswith("…") and len(line.split("] ", 1)[1]) == journal.MAX_LINE_CHARS


def test_journal_days_are_local_midnights_and_23_hours_at_spring_forward() -> None:
    assert journal.day_bounds(date(2026, 3, 29), "Europe/Paris") == (
        "2026-03-28T23:00:00.000+00:00",
        "2026-03-29T22:00:00.000+00:00",
    )
    assert journal.local_day(datetime(2026, 12, 5, 23, 30, tzinfo=UTC), "Europe/Paris") == date(
        2026, 12, 6
    )
    assert journal.past_days(date(2026, 12, 6), 3) == [
        date(2026, 12, 3),
        date(2026, 12, 4),
        date(2026, 12, 5),
    ]
    with pytest.raises(ValueError, match="naive"):
        journal.local_day(datetime(2026, 12, 5), "UTC")


def test_chunks_keep_lines_whole_and_in_order() -> None:
    lines = ["a" * 4, "b" * 4, "c" * 9, "d"]
    assert journal.chunk_lines(lines, 10) == [["aaaa", "bbbb"], ["ccccccccc"], ["d"]]
    with pytest.raises(ValueError, match="max_chars"):
        journal.chunk_lines(lines, 0)


def test_clankers_own_lines_are_marked_as_a_bots() -> None:
    rows = [row(1, 0, author=7), row(2, 1, author=9), row(3, 2, author=9, bot=True)]
    marked = journal.mark_own(rows, 9)
    assert [r.is_bot for r in marked] == [False, True, True]
    assert journal.mark_own(rows, None) == rows
    assert " bot] hi" in journal.journal_line(marked[1])
