"""``@name`` both ways against the guild's members: `MemberDirectory` (sans-IO), the prompt,
and the product tree on virtual time."""

from __future__ import annotations

import json
from pathlib import Path

import trio
import trio.testing

from clanker.discord.events import MemberJoined
from clanker.guilds.members import MemberDirectory
from clanker.guilds.messages import Member

from .tree import FAST, GUILD, World, configure, crash, message, post, product_tree


def test_the_directory_reports_news_keeps_the_latest_name_and_is_bounded() -> None:
    d = MemberDirectory(limit=2)
    assert d.learn(1, "alice") and not d.learn(1, "alice")
    assert d.learn(1, "Alice B")  # renamed: news
    assert d.learn(2, "bob") and d.learn(3, "carol")
    assert d.members() == (Member(user_id=3, name="carol"), Member(user_id=2, name="bob"))
    assert d.name_of(1) is None  # the least recently seen went first
    assert not d.learn(4, "   ")
    assert [p.user_id for p in d.participants(exclude=3)] == [2]


async def test_mentions_resolve_against_the_guilds_members_both_ways(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    world = World(answer=lambda n: json.dumps({"text": "hi @carol and @dave, @alice too"}))
    async with product_tree(tmp_path, world) as (rt, _):
        await configure(rt, FAST)
        await post(rt, message(10, "morning"))  # the channel runs before dave joins
        await trio.sleep(5)
        await rt.lookup("guilds").tell(MemberJoined(guild_id=GUILD, user_id=4, user_name="dave"))
        await post(rt, message(10, "clanker, say hi to <@3> and <@4>"))
        await trio.sleep(5)
        # carol (from the guild) and dave (joined later) never wrote here: still resolved.
        assert world.texts(10)[-1] == "hi <@3> and <@4>, <@1> too"
        # ... and an incoming <@id> is shown to the model by name.
        assert "say hi to @carol and @dave" in world.prompts[-1]


async def test_a_restarted_session_relearns_the_members(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    world = World(answer=lambda n: json.dumps({"text": "hey @carol"}))
    async with product_tree(tmp_path, world) as (rt, _):
        await configure(rt, FAST)
        await crash(rt, f"guild:{GUILD}")
        await post(rt, message(13, "clanker, ping <@3>"))  # a new channel after the restart
        await trio.sleep(5)
        assert world.texts(13) == ["hey <@3>"]
        assert "ping @carol" in world.prompts[-1]
