"""Long-term memory end to end in the product tree on virtual time: the memory service (real
Store, real policy and ranking, a stub embedding model), the memory tools in the reply registry,
and a scripted model. alice asks clanker to remember something, the model calls memory_write,
and a later question's prompt carries the fact; a fact told in a DM never reaches a guild prompt.
"""

from __future__ import annotations

import json
from pathlib import Path

import trio
import trio.testing

from clanker.guilds import GuildsConfig, SessionConfig
from clanker.guilds.channel import ChannelConfig
from clanker.llm.model import ToolCall
from clanker.memory.service import MemoryConfig, memory_child
from clanker.runtime import ChildSpec
from clanker.text.tool_registry import ToolRegistry
from clanker.tools.memory_tools import memory_tools

from ..memory.test_service import NOW, BagOfWords
from .tree import BOB, FAST, World, actions, configure, message, post, product_tree

SECTION = "WHAT YOU REMEMBER"


def write_call(fact: str) -> tuple[ToolCall, ...]:
    arguments = {"fact": fact, "about": "speaker", "type": "preference"}
    return (
        ToolCall(
            id="call-1",
            name="memory_write",
            arguments=arguments,
            raw_arguments=json.dumps(arguments),
        ),
    )


def parts() -> tuple[GuildsConfig, list[ChildSpec]]:
    config = MemoryConfig(embedder=BagOfWords(), now=lambda: NOW + trio.current_time())
    guilds = GuildsConfig(
        session=SessionConfig(channel=ChannelConfig(tools=ToolRegistry(memory_tools())))
    )
    return guilds, [memory_child(config)]


async def test_alice_asks_to_be_remembered_and_a_later_prompt_carries_it(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    fact = "loves otters, her favourite animal"
    world = World(tool_calls=lambda n: write_call(fact) if n == 1 else ())
    guilds, extra = parts()
    async with product_tree(tmp_path, world, guilds, extra) as (rt, w):
        await configure(rt, FAST)
        await post(rt, message(10, "clanker, remember that I love otters, my favourite animal"))
        await trio.sleep(10)
        assert w.texts(10) == ["answer 2"]
        assert SECTION not in w.prompts[0]  # nothing remembered yet
        assert [t.name for t in w.requests[0].tools] == [
            "memory_search",
            "memory_write",
            "memory_forget",
            "conversation_search",
        ]
        [logged] = await actions(rt, "tool_memory_write")
        assert json.loads(logged.metadata)["is_error"] is False
        assert logged.content == "Remembered about the speaker (fact 1)."

        await post(rt, message(11, "clanker, what is my favourite animal again?"))
        await trio.sleep(10)
        assert w.texts(11) == ["answer 3"]
        prompt = w.prompts[2]
        assert SECTION in prompt and f"- alice: {fact}" in prompt
        # bob asks in the same channel: alice is in its history, so her fact is recalled too
        await post(rt, message(11, "clanker, does alice have a favourite animal?", author=BOB))
        await trio.sleep(10)
        assert f"- alice: {fact}" in w.prompts[3]


async def test_a_fact_told_in_a_dm_never_reaches_a_guild_prompt(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    fact = "is scared of thunderstorms"
    world = World(tool_calls=lambda n: write_call(fact) if n == 1 else ())
    guilds, extra = parts()
    async with product_tree(tmp_path, world, guilds, extra) as (rt, w):
        await configure(rt, FAST)
        await post(rt, message(500, "keep it between us: thunderstorms scare me", guild_id=None))
        await trio.sleep(10)
        assert w.texts(500) == ["answer 2"]
        [logged] = await actions(rt, "tool_memory_write")
        assert logged.content == "Remembered about the speaker (fact 1)."

        await post(rt, message(10, "clanker, are thunderstorms scary?"))
        await trio.sleep(10)
        assert w.texts(10) == ["answer 3"]
        assert fact not in w.prompts[2] and SECTION not in w.prompts[2]

        await post(rt, message(500, "and what about thunderstorms?", guild_id=None))
        await trio.sleep(10)
        assert f"- alice: {fact}" in w.prompts[3]


async def test_what_was_remembered_survives_a_restart_of_the_whole_tree(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    fact = "plays the cello in a quartet"
    world = World(tool_calls=lambda n: write_call(fact) if n == 1 else ())
    guilds, extra = parts()
    async with product_tree(tmp_path, world, guilds, extra) as (rt, w):
        await configure(rt, FAST)
        await post(rt, message(10, "clanker, remember that I play the cello in a quartet"))
        await trio.sleep(10)
        assert w.texts(10) == ["answer 2"]
    # a new process: a fresh tree over the same SQLite file, a fresh memory service
    later = World()
    guilds, extra = parts()
    async with product_tree(tmp_path, later, guilds, extra) as (rt, w):
        await configure(rt, FAST)
        await post(rt, message(12, "clanker, which instrument do I play in the quartet?"))
        await trio.sleep(10)
        assert w.texts(12) == ["answer 1"]
        assert f"- alice: {fact}" in w.prompts[0]
