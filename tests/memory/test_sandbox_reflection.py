"""Reflection end to end, offline: `clanker sandbox`'s tree logged into the sandbox Discord with
the real discord.py-self client, the offline demo brain (llmsim, OpenAI's wire format) as the
model, the bundled local embedder, real sockets (so the real clock). A member says something in
one conversation, reflection runs, and a later conversation's prompt carries it — a person's
fact wherever they are, the server's lore only in that server, nothing said in a DM."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import trio

from clanker.cli import demo_brain
from clanker.cli.sandbox import open_sandbox_app
from clanker.llm import LlmConfig, ProviderConfig, RetryConfig
from clanker.llmsim import open_llmsim
from clanker.memory import journal
from clanker.memory.reflector import REFLECTOR_NAME, Reflected, ReflectNow
from clanker.sandbox import demo_world
from clanker.store import MessageRows, MessagesBetween
from clanker.tools.config import WebToolsConfig
from tests.guilds.test_conversation import (
    FAST,
    TIMEOUT,
    actions,
    configure,
    wait_for_actions,
)


async def test_what_was_said_is_reflected_on_and_recalled_later_within_its_scope(
    tmp_path: Path,
) -> None:
    world = demo_world()
    elsewhere = world.add_guild("Elsewhere")
    other_general = world.add_channel(elsewhere.id, "general")
    for name in ("alice", "bob"):
        world.add_member(elsewhere.id, world.user_named(name).id)
    async with open_llmsim(default=demo_brain.respond) as sim:
        llm = LlmConfig(
            providers=(
                ProviderConfig(
                    name=demo_brain.PROVIDER_NAME,
                    kind="openai_compatible",
                    model=demo_brain.MODEL,
                    base_url=sim.openai_url,
                ),
            ),
            retry=RetryConfig(max_attempts=1),
        )
        async with open_sandbox_app(
            tmp_path / "r.db", llm=llm, web_tools=WebToolsConfig(), world=world
        ) as app:
            await configure(app.runtime, FAST)
            sb = app.sandbox
            alice, bob = sb.world.user_named("alice"), sb.world.user_named("bob")
            sandbox = sb.world.guild_named("Sandbox")
            general = sb.world.channel_named("general", guild_id=sandbox.id)
            rand = sb.world.channel_named("random", guild_id=sandbox.id)
            dm = sb.open_dm(alice)

            sb.post_message(alice, dm, "my secret is that I am afraid of geese")
            with trio.fail_after(TIMEOUT):
                await sb.next_bot_message(dm)
            said = sb.post_message(alice, general, "I keep bees on my roof")
            sb.post_message(bob, general, "in this server we call the lounge the burrow")
            # each message seen and decided on (the DM answered, the others skipped)
            await wait_for_actions(app.runtime, "reply_decision", lambda rows: len(rows) >= 3)

            reflector = app.runtime.lookup(REFLECTOR_NAME)
            with trio.fail_after(TIMEOUT):
                got = await reflector.ask(
                    ReflectNow(guild_id=sandbox.id, channel_id=general.id), Reflected
                )
            assert got.outcome == "done" and len(got.fact_ids) == 2, got
            [run] = await actions(app.runtime, "memory_reflection")
            meta = json.loads(run.metadata)
            assert (meta["run"], meta["trigger"], meta["written"]) == ("micro", "manual", 2)
            asked = [r for r in sim.requests if r.user_text.startswith("MEMORY REFLECTION")]
            assert len(asked) == 1 and f"message:{said.id}] I keep bees" in asked[0].user_text
            assert "geese" not in asked[0].user_text  # a DM is never reflected on

            # a later conversation, in another channel of the same server: alice's profile is
            # in the prompt whatever she asks; the lore comes when it is relevant
            sb.post_message(alice, rand, "clanker, what do you remember about me?")
            with trio.fail_after(TIMEOUT):
                here = await sb.next_bot_message(rand)
            assert "Alice: said: I keep bees on my roof" in here.content
            assert "geese" not in sim.requests[-1].user_text
            sb.post_message(bob, rand, "clanker, what do we call the lounge in this server?")
            with trio.fail_after(TIMEOUT):
                lore = await sb.next_bot_message(rand)
            assert "this server: said: in this server we call the lounge the burrow" in (
                lore.content
            )

            # in another server: alice's own fact follows her, the Sandbox's lore does not
            sb.post_message(alice, other_general, "clanker, what do we call the lounge here?")
            with trio.fail_after(TIMEOUT):
                there = await sb.next_bot_message(other_general)
            assert "Alice: said: I keep bees on my roof" in there.content
            prompt = sim.requests[-1].user_text
            assert "burrow" not in there.content and "burrow" not in prompt
            assert "geese" not in prompt

            # the Sandbox's journal for today: everyone's lines, clanker's own replies too
            today = datetime.now(UTC).date()
            start, end = journal.day_bounds(today, "UTC")
            rows = await app.runtime.lookup("store").ask(
                MessagesBetween(start=start, end=end, guild_id=sandbox.id), MessageRows
            )
            # clanker's own messages, not flagged as a bot's by Discord (a user account), are
            # marked by the reflector and the journal route; here as the reflector reads them
            own = await app.runtime.lookup(REFLECTOR_NAME).ask(
                ReflectNow(guild_id=sandbox.id, channel_id=rand.id), Reflected
            )
            assert own.outcome == "empty", own  # questions, and its own lines: nothing to keep
            [again] = [r for r in sim.requests if r.user_text.startswith("MEMORY REFLECTION")][1:]
            assert " bot] [offline demo brain] I heard you, Alice" in again.user_text
            lines = [journal.journal_line(r) for r in rows.rows]
            assert any(f"message:{said.id}] I keep bees on my roof" in line for line in lines)
            assert not any("geese" in line for line in lines)  # the DM is no server's journal
