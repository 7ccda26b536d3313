"""The product tree against the sandbox: the real client, the real Store, guild sessions.

Real sockets, so the real clock (see tests/sandbox/conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import trio

from clanker.cli.sandbox import open_sandbox_app
from clanker.discord.events import DiscordMessage, MessageCreated
from clanker.guilds import Directory, GetDirectory
from clanker.store import ActionRows, ActionsQuery, StoreClient

TIMEOUT = 30.0


async def test_addressed_messages_get_one_acknowledgement_even_when_replayed(
    tmp_path: Path,
) -> None:
    async with open_sandbox_app(tmp_path / "g.db") as (sb, rt):
        world = sb.world
        alice, general = world.user_named("alice"), world.channel_named("general")
        sb.post_message(alice, general, "morning all")
        asked = sb.post_message(alice, general, f"<@{world.bot.id}> are you awake?")
        with trio.fail_after(TIMEOUT):
            ack = await sb.next_bot_message(general)
        assert ack.reference_id == asked.id
        assert ack.content.startswith('👋 heard you, Alice: "<@')

        # The same MESSAGE_CREATE again (as after a RESUME replay) must not be answered twice.
        router = rt.lookup("guilds")
        store = StoreClient(rt.lookup("store"))
        first_seen = await store.get_message(asked.id)
        assert first_seen is not None
        replay = MessageCreated(
            message=DiscordMessage(
                message_id=asked.id,
                channel_id=general.id,
                guild_id=general.guild_id,
                author_id=alice.id,
                author_name="Alice",
                author_is_bot=False,
                content=asked.content,
                created_at=first_seen.created_at,
                mention_ids=(world.bot.id,),
            )
        )
        await router.tell(replay)
        # A later addressed message is answered after the replay was handled (one mailbox, in
        # order), so if the replay had been answered, that answer would come first.
        later = sb.post_message(alice, general, "clanker, still there?")
        with trio.fail_after(TIMEOUT):
            second = await sb.next_bot_message(general)
        assert second.reference_id == later.id
        assert len(sb.bot_messages(general)) == 2

        directory = await router.ask(GetDirectory(), Directory)
        assert directory.identity is not None and directory.identity.user_id == world.bot.id
        assert [g.name for g in directory.guilds] == ["Sandbox"]
        assert directory.store_failures == 0

        # The bot's second message echoes back over the gateway asynchronously.
        with trio.fail_after(TIMEOUT):
            while await store.get_message(second.id) is None:  # noqa: ASYNC110 (polls the Store)
                await trio.sleep(0.01)
        rows = await store.recent_messages(general.id, limit=20)
        assert [r.content for r in rows if r.author_id == alice.id] == [
            "morning all",
            asked.content,
            "clanker, still there?",
        ]
        # The bot's own messages come back over the gateway and are stored too (a user
        # account: not flagged as a bot account).
        own = [r for r in rows if r.author_id == world.bot.id]
        assert [r.message_id for r in own] == [ack.id, second.id]
        assert not any(r.is_bot for r in own)
        actions = await rt.lookup("store").ask(
            ActionsQuery(kind="acknowledgement_sent"), ActionRows
        )
        assert sorted(a.message_id for a in actions.rows) == sorted([asked.id, later.id])
