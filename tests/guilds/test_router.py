"""The Guilds subtree on the runtime with a real Store: storing first, routing, isolation.

The Store runs inline (the same SQL on the trio thread), so these run on virtual time and wait
on conditions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
import trio.testing

from clanker.discord.events import BridgeReady, DiscordMessage, MessageCreated, MessageDeleted
from clanker.guilds import (
    Directory,
    GetDirectory,
    GuildsConfig,
    GuildSession,
    SessionConfig,
    guilds_spec,
    session_name,
)
from clanker.runtime import (
    ActorContext,
    ActorError,
    Message,
    Runtime,
    SupervisorSpec,
    handles,
    open_runtime,
)
from clanker.runtime import events as rtev
from clanker.store import StoreClient, store_child

TIMEOUT = 20.0


class Seen(Message, frozen=True):
    contents: tuple[str, ...]
    stored_first: tuple[bool, ...]  # was each message already in the Store when it arrived?
    identity_user: int | None


class GetSeen(Message, frozen=True):
    pass


class ProbeSession(GuildSession):
    """A session that remembers what it saw and crashes on "boom" (fault injection)."""

    def __init__(self, key: str, config: SessionConfig) -> None:
        super().__init__(key, config)
        self.contents: list[str] = []
        self.stored_first: list[bool] = []

    async def on_start(self, ctx: ActorContext) -> None:
        await super().on_start(ctx)
        self.store = StoreClient(ctx.lookup("store"))

    @handles(MessageCreated)
    async def message(self, msg: MessageCreated) -> None:
        if msg.message.content == "boom":
            raise RuntimeError("boom in " + self.key)
        row = await self.store.get_message(msg.message.message_id)
        self.contents.append(msg.message.content)
        self.stored_first.append(row is not None and row.content == msg.message.content)

    @handles(GetSeen)
    async def get_seen(self, msg: GetSeen) -> Seen:
        user = self.identity.user_id if self.identity else None
        return Seen(
            contents=tuple(self.contents), stored_first=tuple(self.stored_first), identity_user=user
        )


def message(mid: int, guild: int | None, content: str, channel: int = 7) -> MessageCreated:
    return MessageCreated(
        message=DiscordMessage(
            message_id=mid,
            channel_id=channel,
            guild_id=guild,
            author_id=42,
            author_name="alice",
            author_is_bot=False,
            content=content,
            created_at="2026-11-21T10:00:00+00:00",
        )
    )


@pytest.fixture
async def rt(tmp_path: Path, autojump_clock: trio.testing.MockClock) -> AsyncIterator[Runtime]:
    config = GuildsConfig(session_factory=ProbeSession, intensity=2, period=60.0)
    spec = SupervisorSpec(
        children=[store_child(tmp_path / "c.db", inline=True), guilds_spec(config)]
    )
    async with open_runtime(spec) as runtime:
        yield runtime


async def seen(rt: Runtime, key: str) -> Seen:
    return await rt.lookup(session_name(key)).ask(GetSeen(), Seen, timeout=TIMEOUT)


async def wait_seen(rt: Runtime, key: str, count: int = 1, last: str | None = None) -> Seen:
    """The session's view once it has seen `count` messages (the latest being `last`)."""
    with trio.fail_after(TIMEOUT):
        while True:
            try:
                got: Seen | None = await seen(rt, key)
            except ActorError:  # not started yet, or restarting
                got = None
            if (
                got is not None
                and len(got.contents) >= count
                and (last is None or got.contents[-1:] == (last,))
            ):
                return got
            await trio.sleep(0.01)


async def test_sessions_are_created_on_first_event_and_messages_stored_first(
    rt: Runtime,
) -> None:
    router = rt.lookup("guilds")
    assert (await router.ask(GetDirectory(), Directory)).sessions == ()
    await router.tell(BridgeReady(user_id=1, user_name="clanker", guild_ids=(1, 2)))
    await router.tell(message(10, 1, "in guild one"))
    await router.tell(message(11, 2, "in guild two"))
    await router.tell(message(12, None, "a dm"))
    await router.tell(message(13, 1, "again in one"))
    one = await wait_seen(rt, "1", 2)
    assert one.contents == ("in guild one", "again in one")
    assert one.stored_first == (True, True)
    assert one.identity_user == 1
    assert (await wait_seen(rt, "2", 1)).contents == ("in guild two",)
    assert (await wait_seen(rt, "dm", 1)).contents == ("a dm",)
    directory = await router.ask(GetDirectory(), Directory)
    assert sorted(directory.sessions) == ["1", "2", "dm"]
    assert directory.stored == 4
    store = StoreClient(rt.lookup("store"))
    rows = await store.recent_messages(7, limit=10)
    assert [r.content for r in rows] == ["in guild one", "in guild two", "a dm", "again in one"]
    assert [r.guild_id for r in rows] == [1, 2, None, 1]


async def test_deletes_are_stored_before_routing(rt: Runtime) -> None:
    router = rt.lookup("guilds")
    await router.tell(message(20, 1, "soon gone"))
    await router.tell(MessageDeleted(message_id=20, channel_id=7, guild_id=1))
    await router.tell(message(21, 1, "after"))
    await wait_seen(rt, "1", 2)
    row = await StoreClient(rt.lookup("store")).get_message(20)
    assert row is not None and row.deleted


async def test_a_crash_in_one_guild_restarts_only_that_guild(rt: Runtime) -> None:
    router = rt.lookup("guilds")
    async with rt.events.subscribe() as sub:
        await router.tell(message(30, 1, "one: before"))
        await router.tell(message(31, 2, "two: before"))
        await wait_seen(rt, "1", 1)
        await wait_seen(rt, "2", 1)
        await router.tell(message(32, 1, "boom"))
        await router.tell(message(33, 1, "one: after"))
        await router.tell(message(34, 2, "two: after"))
        one = await wait_seen(rt, "1", last="one: after")
        two = await wait_seen(rt, "2", last="two: after")
        # Guild one's session is a fresh incarnation (its memory is gone); guild two kept its.
        assert one.contents == ("one: after",)
        assert two.contents == ("two: before", "two: after")
        tree = rt.snapshot()
        s1 = tree.find("root/guilds/sessions/guild-1/session")
        s2 = tree.find("root/guilds/sessions/guild-2/session")
        assert s1 is not None and (s1.incarnation, s1.restarts) == (2, 1)
        assert s2 is not None and (s2.incarnation, s2.restarts) == (1, 0)
        # The message that crashed it was stored before the session saw it.
        row = await StoreClient(rt.lookup("store")).get_message(32)
        assert row is not None and row.content == "boom"
        crashed = [e.path for e in sub.pending() if isinstance(e, rtev.ActorCrashed)]
        assert crashed == ["root/guilds/sessions/guild-1/session"]


async def test_a_guild_that_keeps_crashing_is_removed_then_recreated(rt: Runtime) -> None:
    router = rt.lookup("guilds")
    await router.tell(message(40, 2, "two: steady"))
    await wait_seen(rt, "2", 1)
    # intensity=2: the third crash in the period makes guild one's supervisor give up.
    async with rt.events.subscribe() as sub:
        for mid in (41, 42, 43):
            await router.tell(message(mid, 1, "boom"))
        # Events queued to a guild whose supervisor gives up go down with it (they are
        # stored); the guild's next event after the removal starts a fresh session.
        with trio.fail_after(TIMEOUT):
            async for event in sub:
                if (
                    isinstance(event, rtev.ActorRemoved)
                    and event.path == "root/guilds/sessions/guild-1"
                ):
                    break
    await router.tell(message(44, 1, "one: reborn"))
    one = await wait_seen(rt, "1", last="one: reborn")
    assert one.contents == ("one: reborn",)
    node = rt.snapshot().find("root/guilds/sessions/guild-1/session")
    assert node is not None and node.restarts == 0  # a new guild supervisor, a new slot
    two = await seen(rt, "2")
    assert two.contents == ("two: steady",)
    sessions = rt.snapshot().find("root/guilds/sessions")
    assert sessions is not None and sessions.restarts == 0
    guilds = rt.snapshot().find("root/guilds")
    assert guilds is not None and guilds.restarts == 0
