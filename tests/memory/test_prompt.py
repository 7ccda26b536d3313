"""The reply prompt's "what you remember" section (`clanker.memory.prompt`), without trio."""

from __future__ import annotations

from clanker.memory.prompt import INTRO, PromptFact, memory_section, owner_label

NAMES = {1: "alice", 2: "bob"}


def test_each_line_names_whose_fact_it_is() -> None:
    body = memory_section(
        [
            PromptFact("user:1", "loves   otters"),
            PromptFact("guild:7", "the server was founded in 2019"),
            PromptFact("guild:7", "keep replies short", "guidance"),
            PromptFact("self", "was named after a tin robot"),
            PromptFact("user:3", "plays the oboe"),
        ],
        NAMES,
    )
    assert body == "\n".join(
        [
            INTRO,
            "- alice: loves otters",
            "- this server: the server was founded in 2019",
            "- server rule: keep replies short",
            "- you: was named after a tin robot",
            "- someone here: plays the oboe",
        ]
    )


def test_the_section_is_capped_in_facts_and_characters_keeping_whole_lines() -> None:
    many = [PromptFact("user:1", f"fact number {i}") for i in range(20)]
    body = memory_section(many, NAMES, max_facts=3)
    assert body is not None and body.splitlines()[1:] == [
        "- alice: fact number 0",
        "- alice: fact number 1",
        "- alice: fact number 2",
    ]
    long = PromptFact("user:2", "x" * 300)
    short = PromptFact("user:2", "likes tea")
    # the long one does not fit in 350 characters with the intro; the short one after it does
    body = memory_section([long, short], NAMES, max_chars=len(INTRO) + 20)
    assert body == f"{INTRO}\n- bob: likes tea"
    assert len(body) <= len(INTRO) + 20


def test_no_fact_no_section() -> None:
    assert memory_section([], NAMES) is None
    assert memory_section([PromptFact("user:1", "   ")], NAMES) is None
    assert memory_section([PromptFact("user:1", "y" * 3000)], NAMES) is None


def test_labels() -> None:
    assert owner_label("user:2", "other", NAMES) == "bob"
    assert owner_label("guild:9", "behavioral", NAMES) == "server rule"
    assert owner_label("self", "profile", NAMES) == "you"
    assert owner_label("weird", "other", NAMES) == "someone here"
