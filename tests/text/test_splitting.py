"""Splitting long replies: boundaries by preference, code fences kept renderable, and
hypothesis properties (nothing lost but whitespace at cuts, every chunk fits, none empty)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clanker.text import DISCORD_SPLIT_LIMIT, split_message, split_spans


def test_short_text_is_one_chunk_trimmed() -> None:
    assert split_message("  hello  \n") == ["hello"]
    assert split_message("") == [] and split_message(" \n\t ") == []


def test_the_default_limit_is_1900() -> None:
    text = "x" * 1899 + " " + "y" * 50
    chunks = split_message(text)
    assert DISCORD_SPLIT_LIMIT == 1900
    assert chunks == ["x" * 1899, "y" * 50]


def test_paragraphs_win_over_sentences() -> None:
    first = "One. Two. " * 60  # 600 chars of sentences
    second = "Three. Four. " * 40
    chunks = split_message(first.strip() + "\n\n" + second.strip(), limit=1000)
    assert chunks == [first.strip(), second.strip()]


def test_sentences_win_over_lines_and_spaces() -> None:
    text = ("word " * 30).strip() + ". " + ("more " * 30).strip()
    chunks = split_message(text, limit=200)
    assert chunks[0].endswith(".") and chunks[1].startswith("more")


def test_a_boundary_too_early_is_not_taken() -> None:
    # A paragraph break at 10 % of the room would leave a tiny chunk: a later sentence wins.
    text = "Hi.\n\n" + ("Sentence here. " * 20)
    chunks = split_message(text, limit=100)
    assert len(chunks[0]) > 30


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    assert split_message("a" * 100, limit=40) == ["a" * 40, "a" * 40, "a" * 20]


def test_an_emoji_sequence_is_not_cut_in_the_middle() -> None:
    family = "👨‍👩‍👧"  # joined with zero-width joiners
    text = "a" * 38 + family + "b" * 10
    chunks = split_message(text, limit=40)
    assert "".join(chunks) == text
    assert all(not c.startswith("\u200d") and not c.endswith("\u200d") for c in chunks)


def test_a_code_block_that_fits_is_kept_whole() -> None:
    code = "```py\n" + "x = 1\n" * 20 + "```"
    text = "intro " * 30 + "\n" + code + "\nafter"
    chunks = split_message(text, limit=300)
    assert code in chunks[1]


def test_a_code_block_longer_than_a_message_is_closed_and_reopened() -> None:
    code = "```python\n" + "".join(f"    value_{i} = {i}\n" for i in range(120)) + "```"
    chunks = split_message("look:\n" + code + "\ndone", limit=500)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.count("```") % 2 == 0, f"unbalanced fence in {chunk!r}"
        assert len(chunk) <= 500
    assert all(c.startswith("```python\n") for c in chunks[1:-1])
    # Indentation survives the cut.
    assert all(c.splitlines()[1].startswith("    value_") for c in chunks[1:-1])
    # The code is all there, in order.
    body = "".join(re.sub(r"```(python)?\n?", "", c) for c in chunks)
    assert [int(n) for n in re.findall(r"value_(\d+)", body)] == list(range(120))


def test_limit_must_leave_room() -> None:
    with pytest.raises(ValueError, match="at least 40"):
        split_message("hi", limit=10)


pieces = st.sampled_from(
    [*"ab cd.!?\n\t`é👍\u200d\u0301", "```", "```py\n", "\n\n", "word ", "Sentence. "]
)
texts = st.lists(pieces, max_size=600).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(texts, st.text(max_size=2000)), limit=st.integers(40, 400))
def test_split_properties(text: str, limit: int) -> None:
    spans = split_spans(text, limit)
    chunks = split_message(text, limit)
    assert chunks == [s.render(text) for s in spans]
    pos = 0
    for span in spans:
        # In order, and only whitespace between (and around) the pieces of the original.
        assert span.start >= pos
        assert not text[pos : span.start].strip(), "a cut dropped more than whitespace"
        pos = span.end
    assert not text[pos:].strip()
    for chunk in chunks:
        assert chunk.strip(), "an empty chunk"
        assert len(chunk) <= limit
    if "```" not in text:
        # Without fences nothing is added: the pieces are exact slices.
        assert all(not s.reopen and not s.close for s in spans)
        squeezed = re.sub(r"\s+", "", text)
        assert re.sub(r"\s+", "", "".join(chunks)) == squeezed


prose_line = st.lists(st.sampled_from(["word", "Sentence.", "é", "👍", "x" * 30]), max_size=30).map(
    " ".join
)
code_block = st.tuples(
    st.sampled_from(["", "py", "rust"]),
    st.lists(st.sampled_from(["    indented()", "x = 1", "", "    y = [1, 2]  # ok"]), max_size=60),
).map(lambda t: "\n".join([f"```{t[0]}", *t[1], "```"]))
documents = st.lists(st.one_of(prose_line, code_block), max_size=12).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(text=documents, limit=st.integers(60, 600))
def test_every_chunk_of_well_formed_markdown_renders_its_code_as_code(
    text: str, limit: int
) -> None:
    for chunk in split_message(text, limit):
        fence_lines = [line for line in chunk.splitlines() if line.lstrip().startswith("```")]
        assert len(fence_lines) % 2 == 0, f"unbalanced fences in {chunk!r}"
        assert len(chunk) <= limit
