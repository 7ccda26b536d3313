"""The two Store additions the dashboard needs: the action listener (what feeds the live action
stream) and `ActionTotals` (what the cost summaries read).

SQLite runs on a worker thread, so the actor tests use the real clock (an autojumping clock would
jump while the thread works).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clanker.runtime import Actor, ChildSpec, Message, SupervisorSpec, handles, open_runtime
from clanker.store import (
    ActionAppended,
    ActionRow,
    ActionTotals,
    LogAction,
    StoreClient,
    open_store,
    store_child,
    to_json,
)
from clanker.store.queries import action_totals, log_action
from clanker.store.sqlite import Connection, close_connection


class Seen(Message, frozen=True):
    rows: tuple[ActionRow, ...]


class GetSeen(Message, frozen=True):
    pass


class Listener(Actor):
    def __init__(self) -> None:
        self.rows: list[ActionRow] = []

    @handles(ActionAppended)
    async def appended(self, msg: ActionAppended) -> None:
        self.rows.append(msg.row)

    @handles(GetSeen)
    async def seen(self, msg: GetSeen) -> Seen:
        return Seen(rows=tuple(self.rows))


async def test_the_store_tells_its_listener_each_committed_action(
    tmp_path: Path,
) -> None:
    spec = SupervisorSpec(
        children=[
            ChildSpec("listener", Listener, register="listener"),
            store_child(tmp_path / "c.db", action_listener="listener"),
        ]
    )
    async with open_runtime(spec) as rt:
        store = StoreClient(rt.lookup("store"))
        logged = [
            await store.log_action(
                LogAction(kind="llm_call", guild_id=7, metadata=to_json({"n": i}), usd_cost=0.5)
            )
            for i in range(3)
        ]
        with pytest.raises(ValueError, match="not an action kind"):
            LogAction(kind="Bad Kind")
        seen = (await rt.lookup("listener").ask(GetSeen(), Seen)).rows
    assert [(r.id, r.created_at) for r in seen] == [(a.id, a.created_at) for a in logged]
    assert [r.metadata for r in seen] == ['{"n":0}', '{"n":1}', '{"n":2}']
    assert {(r.kind, r.guild_id, r.usd_cost) for r in seen} == {("llm_call", 7, 0.5)}


async def test_a_store_without_a_running_listener_logs_as_usual(
    tmp_path: Path,
) -> None:
    spec = SupervisorSpec(children=[store_child(tmp_path / "c.db", action_listener="nobody")])
    async with open_runtime(spec) as rt:
        logged = await StoreClient(rt.lookup("store")).log_action(LogAction(kind="sent_reply"))
    assert logged.id == 1


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[Connection]:
    connection = open_store(tmp_path / "totals.db")
    try:
        yield connection
    finally:
        close_connection(connection)


def test_action_totals_group_by_day_kind_provider_and_model(conn: Connection) -> None:
    def log(kind: str, at: str, cost: float = 0.0, **meta: object) -> None:
        log_action(
            conn,
            LogAction(kind=kind, metadata=to_json(meta), usd_cost=cost, created_at=at),
        )

    log("llm_call", "2025-01-30T23:59:59+00:00", 1.0, provider="a", model="m1", input_tokens=5)
    log(
        "llm_call",
        "2025-01-31T00:00:00+00:00",
        2.0,
        provider="a",
        model="m1",
        usage={"input_tokens": 7, "output_tokens": 3},  # as clanker.llm logs it
    )
    log("llm_call", "2025-01-31T08:00:00+02:00", 0.5, provider="b", model="m2")
    log("sent_reply", "2025-01-31T10:00:00+00:00")
    log("sent_reply", "2025-01-29T10:00:00+00:00")  # before `since`
    rows = action_totals(conn, ActionTotals(since="2025-01-30T00:00:00+00:00")).rows
    assert [
        (r.day, r.kind, r.provider, r.model, r.count, r.usd_cost, r.input_tokens, r.output_tokens)
        for r in rows
    ] == [
        ("2025-01-30", "llm_call", "a", "m1", 1, 1.0, 5, 0),
        ("2025-01-31", "llm_call", "a", "m1", 1, 2.0, 7, 3),
        ("2025-01-31", "llm_call", "b", "m2", 1, 0.5, 0, 0),  # 08:00+02:00 is 06:00 UTC
        ("2025-01-31", "sent_reply", None, None, 1, 0.0, 0, 0),
    ]
    with pytest.raises(ValueError, match="has no timezone"):
        ActionTotals(since="2025-01-30T00:00:00")
