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
from pathlib import Path

import trio
import trio_asyncio

from clanker.app import AppConfig, app_spec
from clanker.discord.bridge import wait_for_login
from clanker.llm import LlmConfig, ProviderConfig, RetryConfig
from clanker.llmsim import open_llmsim
from clanker.runtime import ActorError, OperatorCrash, open_runtime
from clanker.sandbox import World, open_sandbox
from clanker.store import StoreClient
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
