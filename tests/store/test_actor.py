"""The Store actor end to end: through open_runtime and ask, across shutdown and crashes.

SQLite runs on worker threads, so these tests use the real clock (no autojump) and never assert
on elapsed time; they only wait on replies and on `wait_all_tasks_blocked`.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from clanker.runtime import (
    ActorCrashed,
    ChildSpec,
    Message,
    SupervisionGaveUp,
    SupervisorSpec,
    handles,
    open_runtime,
)
from clanker.store import (
    LATEST_VERSION,
    ActionCount,
    ActionLogged,
    ActionRows,
    ActionsQuery,
    Claimed,
    ClaimTrigger,
    CountActions,
    GetMessage,
    GetSetting,
    LogAction,
    MarkMessageDeleted,
    MarkMessageEdited,
    MessageRows,
    PutSetting,
    RecentMessages,
    RowsChanged,
    SettingConflict,
    SettingStored,
    SettingValue,
    Store,
    StoreClient,
    StoreRejected,
    StoreRequestError,
    open_store,
    store_child,
    to_json,
)
from clanker.store import queries as q
from clanker.store.sqlite import close_connection

from .helpers import CHANNEL, at, chat


def _tree(path: Path) -> SupervisorSpec:
    return SupervisorSpec(children=[store_child(path)])


def _read_back(path: Path) -> list[int]:
    """Message ids in CHANNEL, read with a fresh connection after the runtime is gone."""
    conn = open_store(path)
    try:
        reply = q.recent_messages(conn, RecentMessages(channel_id=CHANNEL, limit=1000))
        assert isinstance(reply, MessageRows)
        return [r.message_id for r in reply.rows]
    finally:
        close_connection(conn)


async def test_every_request_through_ask(db_path: Path) -> None:
    async with open_runtime(_tree(db_path), wire_check=True) as rt:
        store = rt.lookup("store")
        for i in (1, 2, 3):
            assert await store.ask(chat(i, i), RowsChanged) == RowsChanged(count=1)
        edit = MarkMessageEdited(message_id=2, content="edited", edited_at=at(10))
        assert (await store.ask(edit, RowsChanged)).count == 1
        assert (await store.ask(MarkMessageDeleted(message_id=3), RowsChanged)).count == 1
        history = await store.ask(RecentMessages(channel_id=CHANNEL), MessageRows)
        assert [(r.message_id, r.content) for r in history.rows] == [
            (1, "message 1"),
            (2, "edited"),
        ]
        (row,) = (await store.ask(GetMessage(message_id=3), MessageRows)).rows
        assert row.deleted

        logged = await store.ask(
            LogAction(kind="sent_reply", metadata=to_json({"trigger": 1}), created_at=at(5)),
            ActionLogged,
        )
        rows = await store.ask(ActionsQuery(kind="sent_reply"), ActionRows)
        assert [r.id for r in rows.rows] == [logged.id]
        count = await store.ask(CountActions(kind="sent_reply", since=at(0)), ActionCount)
        assert count.count == 1

        stored = await store.ask(PutSetting(key="k", value="1", expected_version=0))
        assert isinstance(stored, SettingStored) and stored.version == 1
        stale = await store.ask(PutSetting(key="k", value="2", expected_version=0))
        assert isinstance(stale, SettingConflict) and stale.current_version == 1
        assert (await store.ask(GetSetting(key="k"), SettingValue)).value == "1"

        assert (await store.ask(ClaimTrigger(message_id=1, claimed_by="a"), Claimed)).claimed
        assert not (await store.ask(ClaimTrigger(message_id=1, claimed_by="b"), Claimed)).claimed


async def test_problems_only_the_database_knows_get_a_typed_reply(db_path: Path) -> None:
    async with open_runtime(_tree(db_path)) as rt:
        store = rt.lookup("store")
        reply = await store.ask(RecentMessages(channel_id=CHANNEL, before_id=404))
        assert isinstance(reply, StoreRejected)
        assert reply.request == "RecentMessages" and "before_id 404" in reply.problem
        # The store is unharmed and still answers.
        assert (await store.ask(GetSetting(key="k"), SettingValue)).version == 0
        client = StoreClient(store)
        with pytest.raises(StoreRequestError, match="refused RecentMessages: before_id 404"):
            await client.recent_messages(CHANNEL, before_id=404)


async def test_client_gives_typed_results(db_path: Path) -> None:
    async with open_runtime(_tree(db_path)) as rt:
        client = StoreClient(rt.lookup("store"))
        assert await client.store_message(chat(1, 0)) == 1
        assert [r.message_id for r in await client.recent_messages(CHANNEL)] == [1]
        await client.log_action(LogAction(kind="llm_call", usd_cost=0.5, created_at=at(1)))
        assert (await client.count_actions("llm_call", at(0))).usd_cost == 0.5
        first = await client.put_setting("k", "[]", 0)
        assert isinstance(first, SettingStored)
        assert isinstance(await client.put_setting("k", "[1]", 0), SettingConflict)
        assert (await client.get_setting("k")).version == 1
        assert await client.claim_trigger(5, "text_reply") is True
        assert await client.claim_trigger(5, "text_reply") is False


async def test_concurrent_claims_of_one_trigger_have_exactly_one_winner(db_path: Path) -> None:
    results: list[bool] = []
    async with open_runtime(_tree(db_path)) as rt:
        store = rt.lookup("store")

        async def claim(who: int) -> None:
            reply = await store.ask(ClaimTrigger(message_id=77, claimed_by=f"t{who}"), Claimed)
            results.append(reply.claimed)

        async with trio.open_nursery() as nursery:
            for who in range(30):
                nursery.start_soon(claim, who)
    assert sorted(results) == [False] * 29 + [True]


async def test_sql_runs_off_the_trio_thread(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    real = q.QUERIES[GetSetting]

    def spy(conn: Any, req: Any) -> Any:
        threads.append(threading.get_ident())
        return real(conn, req)

    monkeypatch.setitem(q.QUERIES, GetSetting, spy)
    async with open_runtime(_tree(db_path)) as rt:
        await rt.lookup("store").ask(GetSetting(key="k"), SettingValue)
    assert threads and threading.get_ident() not in threads


async def test_a_write_told_just_before_shutdown_is_persisted(db_path: Path) -> None:
    async with open_runtime(_tree(db_path)) as rt:
        store = rt.lookup("store")
        await store.ask(chat(1, 1), RowsChanged)
        await trio.testing.wait_all_tasks_blocked()  # the store is idle, waiting for mail
        await store.tell(chat(2, 2))
        # Leave at once: the runtime stops the store gracefully while it writes message 2.
    assert _read_back(db_path) == [1, 2]


async def test_an_ask_after_a_burst_of_tells_confirms_all_of_them(db_path: Path) -> None:
    async with open_runtime(_tree(db_path)) as rt:
        store = rt.lookup("store")
        for i in range(1, 41):
            await store.tell(chat(i, i))
        # The mailbox is FIFO: once an ask is answered, every earlier tell is committed.
        await store.ask(GetSetting(key="barrier"), SettingValue)
    assert _read_back(db_path) == list(range(1, 41))


async def test_a_burst_of_tells_right_before_shutdown_is_all_persisted(db_path: Path) -> None:
    async with open_runtime(_tree(db_path)) as rt:
        store = rt.lookup("store")
        for i in range(1, 21):
            await store.tell(chat(i, i))
        # Leave at once, no barrier: the graceful stop handles what was queued before it.
    assert _read_back(db_path) == list(range(1, 21))


class Boom(Message, frozen=True):
    pass


class CrashableStore(Store):
    """A Store with a self-destruct button, for the supervision test."""

    @handles(Boom)
    async def boom(self, msg: Boom) -> None:
        raise RuntimeError("boom")


async def test_a_crashed_store_is_restarted_reopens_the_file_and_keeps_data(
    db_path: Path,
) -> None:
    made: list[CrashableStore] = []

    def factory() -> CrashableStore:
        made.append(CrashableStore(db_path))
        return made[-1]

    spec = SupervisorSpec(children=[ChildSpec("store", factory, register="store")])
    async with open_runtime(spec) as rt:
        store = rt.lookup("store")
        await store.ask(chat(1, 1), RowsChanged)
        await store.ask(LogAction(kind="sent_reply", created_at=at(1)), ActionLogged)
        with pytest.raises(ActorCrashed):
            await store.ask(Boom())
        # The same ref reaches the next incarnation, which opened the file again.
        await store.ask(chat(2, 2), RowsChanged)
        history = await store.ask(RecentMessages(channel_id=CHANNEL), MessageRows)
        assert [r.message_id for r in history.rows] == [1, 2]
        count = await store.ask(CountActions(kind="sent_reply", since=at(0)), ActionCount)
        assert count.count == 1
        assert len(made) == 2
        assert made[0]._conn is None  # the crashed incarnation closed its connection
        assert made[1]._conn is not None
        (node,) = rt.snapshot().children
        assert (node.restarts, node.incarnation) == (1, 2)
    assert _read_back(db_path) == [1, 2]


async def test_a_file_from_a_newer_clanker_stops_the_tree_with_a_clear_error(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    conn = open_store(db_path)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    close_connection(conn)
    caplog.set_level(logging.ERROR)
    with pytest.raises(SupervisionGaveUp):
        async with open_runtime(_tree(db_path)):
            await trio.sleep_forever()
    assert f"has schema version {LATEST_VERSION + 1}" in caplog.text
    assert str(db_path) in caplog.text


def test_an_inline_store_runs_on_the_trio_thread_and_on_virtual_time(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[int] = []
    real = q.QUERIES[GetSetting]

    def spy(conn: Any, req: Any) -> Any:
        threads.append(threading.get_ident())
        return real(conn, req)

    monkeypatch.setitem(q.QUERIES, GetSetting, spy)
    clock = trio.testing.MockClock(autojump_threshold=0)

    async def main() -> None:
        tree = SupervisorSpec(children=[store_child(db_path, inline=True)])
        async with open_runtime(tree) as rt:
            store = StoreClient(rt.lookup("store"))
            await trio.sleep(30.0)  # virtual: jumps at once, though SQL is running in between
            await store.ref.ask(PutSetting(key="k", value='"v"', expected_version=0), SettingStored)
            reply = await rt.lookup("store").ask(GetSetting(key="k"), SettingValue)
            assert reply.value == '"v"'
            assert trio.current_time() == 30.0

    trio.run(main, clock=clock)
    assert threads == [threading.get_ident()]
