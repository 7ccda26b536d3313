"""A reply over the length limit is split as docs/text-pipeline.md says, and what the cap cuts
is logged with its original and sent lengths (product tree, virtual time)."""

from __future__ import annotations

import json
from pathlib import Path

import trio
import trio.testing

from clanker.text import MAX_REPLY_CHARS, parse_reply_output

from .tree import FAST, World, actions, configure, message, post, product_tree


def sentences(count: int) -> str:
    return " ".join(f"Sentence number {i:04d} says a little." for i in range(count))


async def test_a_long_reply_is_split_into_chunks_and_nothing_is_logged_as_cut(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    text = sentences(80)  # about 2,900 characters: two chunks, under the cap
    world = World(answer=lambda n: json.dumps({"text": text}))
    async with product_tree(tmp_path, world) as (rt, _):
        await configure(rt, FAST)
        await post(rt, message(10, "clanker, tell me everything"))
        await trio.sleep(5)
        chunks = world.texts(10)
        assert len(chunks) == 2 and all(len(c) <= 1900 for c in chunks)
        assert chunks[0].endswith("a little.")  # cut at a sentence end
        assert " ".join(chunks) == text
        assert await actions(rt, "reply_truncated") == []


async def test_a_reply_over_the_cap_is_cut_and_the_cut_is_logged_with_both_lengths(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    text = sentences(200)  # about 7,400 characters
    world = World(answer=lambda n: json.dumps({"text": text}))
    async with product_tree(tmp_path, world) as (rt, _):
        await configure(rt, FAST)
        await post(rt, message(10, "clanker, tell me even more"))
        await trio.sleep(5)
        chunks = world.texts(10)
        sent = sum(len(c) for c in chunks)
        assert sent <= MAX_REPLY_CHARS and text.startswith(chunks[0])
        [row] = await actions(rt, "reply_truncated")
        meta = json.loads(row.metadata)
        assert (meta["original_chars"], meta["sent_chars"]) == (len(text), sent)
        assert row.content == f"reply cut from {len(text)} to {sent} characters"


def test_the_output_says_how_long_the_text_was_only_when_it_was_cut() -> None:
    short = parse_reply_output(json.dumps({"text": "fine"}))
    assert short.original_chars is None
    long = parse_reply_output(json.dumps({"text": "word " * 1000}))
    assert long.original_chars == len(("word " * 1000).strip())
    assert len(long.text) <= MAX_REPLY_CHARS
