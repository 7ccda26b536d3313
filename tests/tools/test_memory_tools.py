"""`memory_search` and `memory_write` against the real Store (a tmp SQLite file with
sqlite-vec) and the real memory service, with a stub embedding model, on virtual time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from clanker.memory.owners import reply_scope
from clanker.memory.service import MemoryConfig, memory_child
from clanker.runtime import NotRegistered, Runtime, SupervisorSpec, open_runtime
from clanker.store import store_child
from clanker.store.facts import FactRows, GetFacts
from clanker.text.tool_registry import ToolContext, ToolOutput
from clanker.tools.memory_tools import memory_forget, memory_search, memory_tools, memory_write

from ..memory.test_service import NOW, BagOfWords

ALICE, BOB, GUILD, OTHER_GUILD = 1, 2, 7, 8


@pytest.fixture
async def rt(tmp_path: Path, autojump_clock: trio.testing.MockClock) -> AsyncIterator[Runtime]:
    config = MemoryConfig(embedder=BagOfWords(), now=lambda: NOW + trio.current_time())
    spec = SupervisorSpec(
        children=[store_child(tmp_path / "t.db", inline=True), memory_child(config)]
    )
    async with open_runtime(spec) as runtime:
        yield runtime


def where(
    rt: Runtime, *, guild: int | None = GUILD, speaker: int = ALICE, people: tuple[int, ...] = ()
) -> ToolContext:
    scope = reply_scope(guild_id=guild, speaker_id=speaker, participant_ids=people)

    def services(name: str) -> Any:
        try:
            return rt.lookup(name)
        except NotRegistered:
            return None

    return ToolContext(
        guild_id=guild,
        channel_id=500 if guild is None else 10,
        message_id=4242,
        user_id=speaker,
        recall_owners=scope.owner_keys,
        recall_dm_facts=scope.with_dm_facts,
        services=services,
    )


async def write(ctx: ToolContext, **arguments: object) -> ToolOutput:
    return await memory_write(arguments, ctx)


async def search(ctx: ToolContext, query: str) -> ToolOutput:
    return await memory_search({"query": query}, ctx)


async def stored(rt: Runtime, key: str) -> FactRows:
    rows: FactRows = await rt.lookup("store").ask(GetFacts(owner_keys=(key,)), FactRows)
    return rows


async def test_a_fact_about_the_speaker_is_written_with_its_evidence_and_found_again(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    ctx = where(rt)
    out = await write(ctx, fact="loves otters", about="speaker", type="preference")
    assert out == ToolOutput("Remembered about the speaker (fact 1).")
    [row] = (await stored(rt, "user:1")).rows
    assert (row.fact, row.fact_type, row.evidence_ids, row.channel_id) == (
        "loves otters",
        "preference",
        (4242,),
        10,
    )
    assert row.learned_in_dm is False
    # bob, in the same conversation, finds it under alice's key; the label says whose it is
    found = await search(where(rt, speaker=BOB, people=(ALICE,)), "who loves otters?")
    assert found == ToolOutput(
        "Remembered, best match first ('who loves otters?'):\n"
        "1. [user 1] loves otters (fact 1, preference)"
    )
    again = await write(ctx, fact="Loves otters.", about="speaker")
    assert again == ToolOutput("Already remembered about the speaker (fact 1); kept.")


async def test_lore_stays_in_its_guild_and_dm_facts_stay_in_the_dm(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    here = where(rt)
    assert not (await write(here, fact="the otter emoji is sacred here", about="guild")).is_error
    dm = where(rt, guild=None)
    assert (await write(dm, fact="is afraid of otters", about="speaker")).content == (
        "Remembered about the speaker (fact 2)."
    )
    [row] = [r for r in (await stored(rt, "user:1")).rows if r.id == 2]
    assert row.learned_in_dm is True
    # in the guild: the lore, never the DM fact
    assert (await search(here, "afraid of the otter emoji")).content == (
        "Remembered, best match first ('afraid of the otter emoji'):\n"
        "1. [this server] the otter emoji is sacred here (fact 1, other)"
    )
    # another guild sees neither
    elsewhere = await search(where(rt, guild=OTHER_GUILD), "otter emoji afraid")
    assert elsewhere == ToolOutput("Nothing remembered matches 'otter emoji afraid'.")
    # in the DM: alice's own DM fact, no guild lore
    in_dm = (await search(dm, "afraid of otters")).content
    assert "[the speaker] is afraid of otters (fact 2, other)" in in_dm
    assert "sacred" not in in_dm


async def test_refusals_name_the_problem(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    ctx = where(rt)
    dm = where(rt, guild=None)
    cases = [
        (dm, {"fact": "the server loves otters", "about": "guild"}, "this is a DM"),
        (ctx, {"fact": "always reply in French", "about": "speaker"}, "reads as an instruction"),
        (ctx, {"fact": "my password is hunter2", "about": "speaker"}, "not remembered"),
        (ctx, {"fact": "x" * 401, "about": "speaker"}, "401"),
        (ctx, {"fact": "likes tea", "about": "speaker", "type": "mood"}, "preference"),
        (ctx, {"fact": "likes tea", "about": "bob"}, "'about' must be 'speaker' or 'guild'"),
        (
            ctx,
            {"fact": "always reply in French", "about": "guild", "type": "guidance"},
            "rules are the operator's to set",
        ),
        (ctx, {"fact": "", "about": "speaker"}, "needs a non-empty 'fact'"),
        (ctx, {"fact": "likes tea", "about": "speaker", "supersedes": "x"}, "fact id"),
        (ctx, {"fact": "likes tea", "about": "speaker", "supersedes": 99}, "supersedes"),
    ]
    for context, arguments, problem in cases:
        out = await memory_write(arguments, context)
        assert out.is_error and problem in out.content, (arguments, out)
    assert (await stored(rt, "user:1")).rows == ()
    assert (await stored(rt, "guild:7")).rows == ()
    assert (await memory_search({"query": " "}, ctx)).is_error
    assert "keep it under 400" in (await memory_search({"query": "q" * 401}, ctx)).content
    assert (await memory_search({"query": "tea", "limit": "all"}, ctx)).is_error


async def test_a_fact_can_replace_an_older_one(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    ctx = where(rt)
    await write(ctx, fact="lives in Lisbon", about="speaker", type="profile")
    out = await write(ctx, fact="lives in Porto", about="speaker", type="profile", supersedes=1)
    assert out.content == "Remembered about the speaker (fact 2, replacing fact 1)."
    assert [r.fact for r in (await stored(rt, "user:1")).rows] == ["lives in Porto"]


async def test_without_a_memory_service_the_model_is_told_to_answer_without_it(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    ctx = where(rt)
    search_tool, write_tool, forget_tool, conversation_tool = memory_tools(name="no-such-service")
    assert (forget_tool.name, forget_tool.per_hour) == ("memory_forget", 10)
    out = await forget_tool.run({"all": True}, ctx)
    assert out.is_error and "nothing was forgotten" in out.content
    assert (search_tool.name, search_tool.per_hour) == ("memory_search", 60)
    assert (write_tool.name, write_tool.per_hour) == ("memory_write", 30)
    out = await write_tool.run({"fact": "likes tea", "about": "speaker"}, ctx)
    assert out.is_error and out.content.startswith("Memory is unavailable right now")
    out = await search_tool.run({"query": "tea"}, ctx)
    assert out.is_error and "nothing was searched" in out.content
    assert (conversation_tool.name, conversation_tool.per_hour) == ("conversation_search", 60)
    out = await conversation_tool.run({"query": "tea"}, ctx)
    assert out.is_error and "nothing was searched" in out.content


async def test_the_speaker_can_have_facts_forgotten_but_only_their_own(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    alice, bob = where(rt), where(rt, speaker=BOB)
    await write(alice, fact="loves otters", about="speaker")  # 1
    await write(alice, fact="works night shifts", about="speaker")  # 2
    await write(where(rt, guild=None), fact="is saving for a boat", about="speaker")  # 3, DM
    await write(bob, fact="collects stamps", about="speaker")  # 4
    await write(alice, fact="the server mascot is an otter", about="guild")  # 5
    # bob cannot make alice's facts or the guild's lore go
    out = await memory_forget({"fact_ids": [1, 5]}, bob)
    assert out == ToolOutput("Nothing to forget: none of those are the speaker's facts.")
    assert await memory_forget({"fact_ids": [1]}, alice) == ToolOutput(
        "Forgotten for good: 1 fact(s) (1)."
    )
    assert [r.id for r in (await stored(rt, "user:1")).rows] == [3, 2]
    # everything about her, the DM fact included; bob's and the lore stay
    assert await memory_forget({"all": True}, alice) == ToolOutput(
        "Forgotten for good: 2 fact(s) (2, 3)."
    )
    assert (await stored(rt, "user:1")).rows == ()
    assert [r.fact for r in (await stored(rt, "user:2")).rows] == ["collects stamps"]
    assert [r.fact for r in (await stored(rt, "guild:7")).rows] == ["the server mascot is an otter"]
    assert "Nothing remembered" in (await search(alice, "otters boat night shifts")).content
    for bad, problem in (
        ({}, "Name the fact_ids"),
        ({"fact_ids": "1"}, "list of fact ids"),
        ({"fact_ids": [True]}, "list of fact ids"),
        ({"fact_ids": list(range(1, 30))}, "At most 20"),
        ({"all": "yes"}, "'all' must be"),
    ):
        out = await memory_forget(bad, alice)
        assert out.is_error and problem in out.content, (bad, out)
