"""The router's catch-up after a login, with the whole product against the sandbox.

Discord does not replay what was posted while a client was logged out (a new gateway session,
unlike a RESUME), so after every login the router fetches what it missed. Found by the chaos
test (seeds 2 and 10, once a new actor shifted the monkey's picks): a bridge that crashed before
anything was stored logged in again with no catch-up at all, because "nothing stored" was read
as "first start", and the messages posted meanwhile were never seen. Now the cut-off for a
Store with nothing in it is when this runtime started: what was posted while clanker was
running is taken in, an older backlog is not.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import trio
import trio_asyncio

from clanker.app import AppConfig, app_spec
from clanker.discord.bridge import wait_for_login
from clanker.llm import LlmConfig, ProviderConfig, RetryConfig
from clanker.llmsim import open_llmsim
from clanker.runtime import ActorError, OperatorCrash, Runtime, open_runtime
from clanker.sandbox import World, open_sandbox
from clanker.store import ActionRow, ActionRows, ActionsQuery, StoreClient
from tests.dashboard.wiring import scripted_brain

POST_ROUTE = "POST /channels/{channel_id}/messages"
ME_ROUTE = "GET /users/@me"


async def test_a_message_posted_while_the_bridge_was_down_before_anything_was_stored_is_answered(
    tmp_path: Path,
) -> None:
    world = World(bot_username="clanker", token="catch-up-token")
    alice = world.add_user("alice", global_name="Alice")
    guild = world.add_guild("guild")
    channel = world.add_channel(guild.id, "general")
    world.add_member(guild.id, alice.id)
    # Posted before clanker ever ran: an old backlog, never taken in.
    backlog = world.create_message(channel.id, alice.id, f"<@{world.bot.id}> old question")

    async with open_llmsim(default=scripted_brain) as sim, open_sandbox(world, voice=False) as sb:
        llm = LlmConfig(
            providers=(
                ProviderConfig(
                    name="anthropic",
                    kind="anthropic",
                    model="claude-sonnet-4-6",
                    base_url=sim.anthropic_url,
                    api_key="sk-catch-up",
                ),
            ),
            retry=RetryConfig(base_delay=0.05),
        )
        config = AppConfig(
            db_path=tmp_path / "clanker.db",
            discord_token=sb.token,
            llm=llm,
            rest_url=sb.rest_url,
            gateway_url=sb.gateway_url,
        )
        async with trio_asyncio.open_loop(), open_runtime(app_spec(config)) as rt:
            with trio.fail_after(60):
                await wait_for_login(rt, timeout=30)
                # The next login is held at its first REST call, so the post below lands
                # when the old session is gone and the new one is not up: Discord delivers it
                # to nobody, and only the catch-up after that login can find it.
                sb.delay_route(ME_ROUTE, 1.0, times=1)
                logins = sum(c.route == ME_ROUTE for c in sb.rest_calls)
                with contextlib.suppress(ActorError):  # crashed as asked
                    await rt.lookup("discord").ask(OperatorCrash(reason="test"))
                await sb.wait_until(
                    lambda: sum(c.route == ME_ROUTE for c in sb.rest_calls) > logins
                )
                missed = sb.post_message(alice, channel.id, f"<@{world.bot.id}> still there?")
                await wait_for_login(rt, timeout=30)
                store = StoreClient(rt.lookup("store"))
                with trio.fail_after(30):
                    # Answered: the only message it could answer is the missed one (the
                    # backlog is never taken in, asserted below).
                    await sb.wait_until(lambda: bool(sb.bot_messages(channel)))
                assert await store.get_message(missed.id) is not None
                assert await store.get_message(backlog.id) is None


async def test_messages_posted_while_the_process_was_down_are_answered_by_the_rules_once(
    tmp_path: Path,
) -> None:
    """The original's startup catch-up: of what was posted while clanker was down, every
    message is read, the addressed ones are answered, at most two per channel (the newest),
    and a further restart answers nothing again."""
    world = World(bot_username="clanker", token="catch-up-token")
    alice = world.add_user("alice", global_name="Alice")
    guild = world.add_guild("guild")
    channel = world.add_channel(guild.id, "general")
    world.add_member(guild.id, alice.id)

    async with open_llmsim(default=scripted_brain) as sim, open_sandbox(world, voice=False) as sb:
        llm = LlmConfig(
            providers=(
                ProviderConfig(
                    name="anthropic",
                    kind="anthropic",
                    model="claude-sonnet-4-6",
                    base_url=sim.anthropic_url,
                    api_key="sk-catch-up",
                ),
            ),
            retry=RetryConfig(base_delay=0.05),
        )
        config = AppConfig(
            db_path=tmp_path / "clanker.db",
            discord_token=sb.token,
            llm=llm,
            rest_url=sb.rest_url,
            gateway_url=sb.gateway_url,
        )

        async def run(check: Callable[[Runtime], Awaitable[None]]) -> None:
            async with trio_asyncio.open_loop(), open_runtime(app_spec(config)) as rt:
                with trio.fail_after(60):
                    await wait_for_login(rt, timeout=30)
                    await check(rt)
                await rt.shutdown()

        async def rows(rt: Runtime, kind: str) -> list[ActionRow]:
            found = await rt.lookup("store").ask(ActionsQuery(kind=kind, limit=500), ActionRows)
            return list(found.rows)

        async def catch_up_done(rt: Runtime, logins: int) -> ActionRow:
            """This login's catch-up record (the router logs one per login)."""
            while True:
                done = await rows(rt, "catch_up")
                if len(done) >= logins:
                    return done[0]
                await trio.sleep(0.05)

        async def first(rt: Runtime) -> None:
            hello = sb.post_message(alice, channel.id, "hello all")
            store = StoreClient(rt.lookup("store"))
            while True:
                if await store.get_message(hello.id) is not None:
                    return
                await trio.sleep(0.05)

        await run(first)
        # clanker is down: four messages
        q1 = sb.post_message(alice, channel.id, "clanker, first question?")
        lunch = sb.post_message(alice, channel.id, "lunch anyone?")
        q3 = sb.post_message(alice, channel.id, f"<@{world.bot.id}> third question?")
        q4 = sb.post_message(alice, channel.id, "clanker, fourth question?")

        async def second(rt: Runtime) -> None:
            record = await catch_up_done(rt, 2)
            meta = json.loads(record.metadata)
            assert meta["answer"] == [str(q3.id), str(q4.id)], meta
            assert meta["channels"][str(channel.id)]["read"] == {
                str(q1.id): "more than 2 to answer in the channel",
                str(lunch.id): "not addressed",
            }
            store = StoreClient(rt.lookup("store"))
            for m in (q1, lunch, q3, q4):
                assert await store.get_message(m.id) is not None  # every one was read
            await sb.wait_until(lambda: bool(sb.bot_messages(channel)))
            # the model decided on the two given to it (a burst: one reply for both); the
            # addressed one left out has its reason in the decision log, the remark none
            decisions = await rows(rt, "reply_decision")
            decided = {r.message_id for r in decisions}
            assert {q3.id, q4.id} <= decided and lunch.id not in decided
            assert [r.content for r in decisions if r.message_id == q1.id] == [
                "skipped: catch-up: more than 2 to answer in the channel"
            ]

        await run(second)
        answers = [m.content for m in sb.bot_messages(channel)]
        assert answers and all("question" in a for a in answers), answers

        async def third(rt: Runtime) -> None:
            record = await catch_up_done(rt, 3)
            assert json.loads(record.metadata)["answer"] == []

        await run(third)
        assert [m.content for m in sb.bot_messages(channel)] == answers  # nothing again
