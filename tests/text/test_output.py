"""Reading the model's answer: a table of real-world shapes, and hypothesis over malformed
output (it never raises, always returns a consistent typed result)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clanker.text import MAX_REPLY_CHARS, ParseState, ReplyOutput, normalize_reaction
from clanker.text import parse_reply_output as parse

J = ParseState.JSON
RJ = ParseState.RECOVERED_JSON
P = ParseState.PROSE
E = ParseState.EMPTY

# (raw, text, skip, reaction, state, skip_reason)
TABLE = [
    ('{"text": "hi there", "skip": false, "reaction": null}', "hi there", False, None, J, None),
    ('{"text": "", "skip": true, "reaction": "🔥"}', "", True, "🔥", J, "llm_skip"),
    ('{"text": "lol", "skip": false, "reactionEmoji": "😂"}', "lol", False, "😂", J, None),
    ('{"text": "[SKIP]"}', "", True, None, J, "llm_skip"),
    ('{"text": "   ", "skip": false, "reaction": "👍"}', "", True, "👍", J, "empty_reply"),
    ('{"skip": "true"}', "", True, None, J, "llm_skip"),
    ('{"mood": "happy"}', "", True, None, J, "invalid_structured_output"),
    ('{"text": 42}', "42", False, None, J, None),
    ('```json\n{"text": "fenced", "skip": false}\n```', "fenced", False, None, RJ, None),
    ('```\n{"text": "bare fence"}\n```', "bare fence", False, None, RJ, None),
    (
        'Sure! Here you go: {"text": "inside prose", "reaction": null} hope that helps',
        "inside prose",
        False,
        None,
        RJ,
        None,
    ),
    ('[{"text": "in a list"}]', "in a list", False, None, RJ, None),
    ('{"text": "cut off in the mid', "cut off in the mid", False, None, RJ, None),
    ('{"text": "line one\\nline two", "skip": fal', "line one\nline two", False, None, RJ, None),
    ('{"text": "unicode \\u00e9\\u', "unicode é", False, None, RJ, None),
    ('{"text": "emoji \\ud83d\\ude00", "skip": false}', "emoji 😀", False, None, J, None),
    ('{"text": "bad \\\' escape", "skip": false}', "bad ' escape", False, None, RJ, None),
    ('{"skip": true, "reaction": "🙃', "", True, "🙃", RJ, "llm_skip"),
    ("[SKIP]", "", True, None, P, "llm_skip"),
    ("  `[skip]`  ", "", True, None, P, "llm_skip"),
    ("nah, not worth it. [SKIP]", "", True, None, P, "llm_skip"),
    ("just some prose reply", "just some prose reply", False, None, P, None),
    ('"a bare json string"', "a bare json string", False, None, P, None),
    (
        '<think>should I?</think>\n{"text": "after thinking"}',
        "after thinking",
        False,
        None,
        J,
        None,
    ),
    ("<think>never closed", "", True, None, E, "empty_output"),
    ("", "", True, None, E, "empty_output"),
    ("   \n ", "", True, None, E, "empty_output"),
    ('{"text": "hi", "reaction": "fire"}', "hi", False, None, J, None),
    ('{"text": "hi", "reaction": ":fire:"}', "hi", False, None, J, None),
    (
        '{"text": "hi", "reaction": "<:pog:123456789012345678>"}',
        "hi",
        False,
        "<:pog:123456789012345678>",
        J,
        None,
    ),
]


@pytest.mark.parametrize(("raw", "text", "skip", "reaction", "state", "reason"), TABLE)
def test_output_table(
    raw: str, text: str, skip: bool, reaction: str | None, state: ParseState, reason: str | None
) -> None:
    out = parse(raw)
    assert (out.text, out.skip, out.reaction, out.state, out.skip_reason) == (
        text,
        skip,
        reaction,
        state,
        reason,
    )


def test_long_text_is_cut_at_a_word() -> None:
    out = parse(json.dumps({"text": "word " * 2000}))
    assert len(out.text) <= MAX_REPLY_CHARS and out.text.endswith("word")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("🔥", "🔥"),
        (" 👍 ", "👍"),
        ("1️⃣", "1️⃣"),
        ("🇫🇷", "🇫🇷"),
        ("👩‍💻", "👩‍💻"),
        ("<a:dance:123456789012345678>", "<a:dance:123456789012345678>"),
        ("thumbs up", None),
        ("ok", None),
        ("", None),
        (None, None),
        (5, None),
        ("!!", None),
        ("🔥" * 20, None),
    ],
)
def test_normalize_reaction(value: object, expected: str | None) -> None:
    assert normalize_reaction(value) == expected


def _consistent(out: ReplyOutput) -> None:
    assert isinstance(out, ReplyOutput)
    assert isinstance(out.state, ParseState)
    if out.skip:
        assert out.text == "" and out.skip_reason
    else:
        assert out.text.strip() and out.text == out.text.strip()
        assert len(out.text) <= MAX_REPLY_CHARS and out.skip_reason is None
        assert "[skip]" not in out.text.lower()
    assert out.reaction is None or normalize_reaction(out.reaction) == out.reaction
    out.text.encode("utf-8")  # sendable: no lone surrogates


json_noise = st.text(alphabet='{}[]":,\\ntrue falsenull`SKIP<>/think0123456789 abc\n', max_size=200)


@settings(max_examples=500, deadline=None)
@given(raw=st.one_of(st.text(max_size=300), json_noise))
def test_any_text_gives_a_consistent_result(raw: str) -> None:
    _consistent(parse(raw))


replies = st.fixed_dictionaries(
    {
        "text": st.text(max_size=200),
        "skip": st.booleans(),
        "reaction": st.one_of(st.none(), st.sampled_from(["🔥", "👍", "nope", "😂"])),
    }
)


@settings(max_examples=300, deadline=None)
@given(reply=replies, cut=st.integers(0, 400), wrap=st.sampled_from(["", "```json\n", "ok: "]))
def test_any_prefix_of_a_real_answer_recovers_a_prefix_of_its_text(
    reply: dict[str, object], cut: int, wrap: str
) -> None:
    raw = wrap + json.dumps(reply, ensure_ascii=bool(cut % 2))
    out = parse(raw[:cut])
    _consistent(out)
    if out.state in (ParseState.JSON, ParseState.RECOVERED_JSON) and not out.skip:
        # Whatever was recovered is the start of what the model meant to say.
        assert str(reply["text"]).strip().startswith(out.text) or out.text in str(reply["text"])
    full = parse(raw)
    _consistent(full)
    expected_text = str(reply["text"]).strip()
    if not reply["skip"] and expected_text and "[skip]" not in expected_text.lower():
        assert full.text == expected_text[: len(full.text)] and not full.skip
    if reply["skip"]:
        assert full.skip
    assert full.reaction == normalize_reaction(reply["reaction"])
