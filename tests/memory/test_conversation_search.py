"""Message vectors and `conversation_search`: the real Store (sqlite-vec) and memory service on
MockClock, a stub embedder: what is embedded, and that a search stays in its server, channel
and time window (a DM only in that DM)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trio
import trio.testing

from clanker.memory.service import EmbeddedPending, EmbedMessages, MemoryConfig, memory_child
from clanker.runtime import Runtime, SupervisorSpec, open_runtime
from clanker.store import MarkMessageDeleted, StoreMessage, pin_calendar, store_child, to_iso
from clanker.store.message_vectors import (
    MessageMatches,
    MessagesWithoutVector,
    MessageVector,
    PutMessageVectors,
    SearchMessages,
    scope_key,
)
from clanker.store.messages import MessageRows
from clanker.text.tool_registry import ToolContext
from clanker.tools.memory_tools import conversation_search

from .test_service import BagOfWords

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


@pytest.fixture
async def rt(tmp_path: Path, autojump_clock: trio.testing.MockClock) -> AsyncIterator[Runtime]:
    pin_calendar(NOW)
    config = MemoryConfig(embedder=BagOfWords(), reembed_every=None)
    spec = SupervisorSpec(
        children=[store_child(tmp_path / "c.db", inline=True), memory_child(config)]
    )
    async with open_runtime(spec) as runtime:
        yield runtime


async def said(
    rt: Runtime, mid: int, text: str, *, guild: int | None = 100, channel: int = 10
) -> None:
    await rt.lookup("store").ask(
        StoreMessage(
            message_id=mid,
            guild_id=guild,
            channel_id=channel,
            author_id=7,
            author_name="alice",
            content=text,
            created_at=to_iso(NOW),
        )
    )


async def embed_all(rt: Runtime) -> int:
    total = 0
    while True:
        got = await rt.lookup("memory").ask(EmbedMessages(limit=8), EmbeddedPending)
        total += got.count
        if got.count < 8:
            return total


def context(rt: Runtime, guild: int | None = 100, channel: int = 10, mid: int = 999) -> ToolContext:
    return ToolContext(
        guild_id=guild, channel_id=channel, message_id=mid, user_id=7, services=rt.lookup
    )


async def search(rt: Runtime, ctx: ToolContext, **arguments: object) -> str:
    out = await conversation_search(arguments, ctx)
    return out.content


async def test_a_search_finds_by_meaning_inside_its_server_and_channel(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    await said(rt, 1, "my ferret Bob escaped again last night")
    await said(rt, 2, "ok")  # too short to embed
    await said(rt, 3, "the ferret came back this morning", channel=11)
    await said(rt, 4, "a ferret ate my homework", guild=200)
    await said(rt, 5, "ferret secrets only for you", guild=None, channel=55)
    await said(rt, 6, "a ferret in another DM", guild=None, channel=56)
    assert await embed_all(rt) == 5
    assert await embed_all(rt) == 0  # nothing left without a vector

    here = await search(rt, context(rt), query="ferret")
    assert here.splitlines()[0] == "Said earlier, closest first ('ferret'):"
    assert "my ferret Bob escaped" in here and "came back" not in here
    server = await search(rt, context(rt), query="ferret", scope="guild", top_k=4)
    assert "my ferret Bob escaped" in server and "came back" in server
    assert "homework" not in server and "secrets" not in server
    dm = await search(rt, context(rt, guild=None, channel=55), query="ferret", scope="guild")
    assert "secrets only for you" in dm and "escaped" not in dm
    assert "another DM" not in dm  # the DMs share a partition, never their lines
    assert "Nothing said" in await search(rt, context(rt, mid=1), query="ferret escaped")


async def test_old_and_deleted_messages_are_not_found_and_bad_input_is_named(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    await said(rt, 1, "we planned the picnic for saturday")
    await trio.sleep(3 * 3600)
    await said(rt, 2, "the picnic moved to sunday")
    await embed_all(rt)
    recent = await search(rt, context(rt), query="picnic", max_age_hours=2)
    assert "sunday" in recent and "saturday" not in recent
    await rt.lookup("store").ask(MarkMessageDeleted(message_id=2))
    assert "sunday" not in await search(rt, context(rt), query="picnic", max_age_hours=5)
    assert "'scope' must be" in await search(rt, context(rt), query="x", scope="world")
    assert "'top_k' must be" in await search(rt, context(rt), query="x", top_k="3")
    assert "non-empty 'query'" in await search(rt, context(rt), query=" ")


async def test_the_store_embeds_newest_first_and_skips_what_is_gone(
    rt: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    store = rt.lookup("store")
    for mid in (1, 2, 3):
        await said(rt, mid, f"message number {mid} here")
        await trio.sleep(1)
    since = to_iso(NOW - timedelta(days=1))
    rows = await store.ask(MessagesWithoutVector(model="m", since=since, limit=2), MessageRows)
    assert [r.message_id for r in rows.rows] == [3, 2]
    vector = tuple([1.0] + [0.0] * 383)
    await store.ask(MarkMessageDeleted(message_id=1))
    put = await store.ask(
        PutMessageVectors(
            model="m",
            items=(
                MessageVector(message_id=1, vector=vector),
                MessageVector(message_id=3, vector=vector),
            ),
        )
    )
    assert put.count == 1  # the deleted one is skipped
    found = await store.ask(
        SearchMessages(scope_key=scope_key(100, 10), vector=vector, model="m"), MessageMatches
    )
    assert [(x.row.message_id, round(x.distance, 6)) for x in found.matches] == [(3, 0.0)]
    assert scope_key(None, 55) == "dm:55"
    with pytest.raises(ValueError, match="scope_key"):
        SearchMessages(scope_key="user:1", vector=vector, model="m")
