"""Server-Sent Events against the real server: order, filters, replay after a reconnect, the
runtime stream through a crash and restart, and a clean shutdown with clients still connected."""

from __future__ import annotations

import json
from pathlib import Path

import trio

from clanker.dashboard import DashboardAddress, DashboardConfig, GetAddress
from clanker.runtime import open_runtime
from clanker.store import LogAction
from tests.dashboard.conftest import Dash, make_tree
from tests.dashboard.sse_client import SseEvent, open_sse

CHANNEL = 1_200_000_000_000_000_001


def actions(events: list[SseEvent]) -> list[dict[str, object]]:
    return [json.loads(e.data) for e in events if e.event == "action"]


async def test_actions_arrive_in_order_at_every_client(dash: Dash) -> None:
    count = 60
    received: dict[int, list[SseEvent]] = {}
    connected = trio.Semaphore(0)

    async def listen(n: int) -> None:
        async with dash.sse("/api/actions/stream") as stream:
            assert stream.status == 200
            assert stream.headers["content-type"] == "text/event-stream"
            assert stream.headers["cache-control"] == "no-store"
            await stream.subscribed()
            connected.release()
            received[n] = await stream.until(lambda got: len(actions(got)) == count)

    async with trio.open_nursery() as nursery:
        for n in range(3):
            nursery.start_soon(listen, n)
        for _ in range(3):
            await connected.acquire()
        for i in range(count):
            await dash.store().log_action(LogAction(kind="sent_reply", content=f"reply {i}"))
    assert len(received) == 3
    for events in received.values():
        got = actions(events)
        assert [a["content"] for a in got] == [f"reply {i}" for i in range(count)]
        ids = [a["id"] for a in got]
        assert ids == sorted(ids) and len(set(ids)) == count  # type: ignore[type-var]
        assert [int(e.id or 0) for e in events if e.event == "action"] == ids


async def test_stream_filters_and_replays_what_a_reconnecting_client_missed(dash: Dash) -> None:
    store = dash.store()
    path = f"/api/actions/stream?kind=llm_call&channel_id={CHANNEL}"
    async with dash.sse(path) as stream:
        await stream.subscribed()
        await store.log_action(LogAction(kind="sent_reply", channel_id=CHANNEL))
        await store.log_action(LogAction(kind="llm_call", channel_id=CHANNEL + 1))
        first = await store.log_action(
            LogAction(kind="llm_call", channel_id=CHANNEL, content="match")
        )
        got = await stream.until(lambda ev: bool(actions(ev)))
    assert [(a["id"], a["content"]) for a in actions(got)] == [(first.id, "match")]

    # While no stream is open, more happens; a reconnect with Last-Event-ID gets exactly the
    # matching actions after the last one it saw, then the live ones.
    missed = [
        await store.log_action(LogAction(kind="llm_call", channel_id=CHANNEL, content=f"m{i}"))
        for i in range(3)
    ]
    await store.log_action(LogAction(kind="sent_reply", channel_id=CHANNEL))
    async with dash.sse(path, {"Last-Event-ID": str(first.id)}) as stream:
        await stream.subscribed()
        backlog = await stream.until(lambda ev: len(actions(ev)) == 3)
        assert [a["id"] for a in actions(backlog)] == [m.id for m in missed]
        live = await store.log_action(
            LogAction(kind="llm_call", channel_id=CHANNEL, content="live")
        )
        more = await stream.until(lambda ev: bool(actions(ev)))
        assert [a["id"] for a in actions(more)] == [live.id]
    async with dash.client() as c:
        bad = await c.get("/api/actions/stream", headers={"Last-Event-ID": "x1"})
    assert bad.status_code == 400 and "Last-Event-ID must be an action id" in bad.text


async def test_runtime_stream_shows_a_crash_and_the_restart(dash: Dash) -> None:
    async with dash.sse("/api/runtime/events") as stream, dash.client() as c:
        await stream.subscribed()
        first = await stream.next()
        assert first.event == "snapshot"
        tree = json.loads(first.data)
        assert tree["children"][2]["name"] == "worker"
        assert tree["children"][2]["restarts"] == 0
        crash = await c.post("/api/actors/crash", json={"path": "root/worker"})
        assert crash.status_code == 202

        def restarted(seen: list[SseEvent]) -> bool:
            if seen[-1].event != "snapshot":
                return False
            worker = json.loads(seen[-1].data)["children"][2]
            return bool(worker["restarts"] == 1 and worker["status"] == "running")

        seen = await stream.until(restarted)
    runtime = [json.loads(e.data) for e in seen if e.event == "runtime"]
    about_worker = [e["type"] for e in runtime if e["path"] == "root/worker"]
    assert about_worker[:3] == ["ActorCrashed", "ActorStarted", "ActorRestarted"]
    crashed = next(e for e in runtime if e["type"] == "ActorCrashed")
    assert crashed["error_type"] == "OperatorRequestedCrash"


async def test_streams_require_the_token(dash: Dash) -> None:
    for path in ("/api/actions/stream", "/api/runtime/events"):
        async with dash.sse(path, auth=False) as stream:
            assert stream.status == 401


async def test_shutdown_with_open_sse_clients_ends_every_stream_cleanly(
    tmp_path: Path,
) -> None:
    # A long graceful timeout: if the dashboard did not end the streams itself, Hypercorn would
    # wait it out and then cut the connections, and the clients would see no final chunk.
    config = DashboardConfig(port=0, graceful_timeout=120.0)
    spec, parts = make_tree(tmp_path / "db.sqlite3", config, {}, [])
    outcomes: list[bool] = []
    opened = trio.Semaphore(0)

    async def hold(url: str, path: str) -> None:
        async with open_sse(url, path, {"Authorization": f"Bearer {parts.token}"}) as stream:
            await stream.subscribed()
            opened.release()
            outcomes.append(await stream.drain())

    async with trio.open_nursery() as clients:
        async with open_runtime(spec) as rt:
            url = (await rt.lookup("dashboard").ask(GetAddress(), DashboardAddress)).url
            for path in ["/api/actions/stream", "/api/runtime/events"] * 3:
                clients.start_soon(hold, url, path)
            for _ in range(6):
                await opened.acquire()
            assert parts.setup.hub.actions.subscriber_count == 3
            start = trio.current_time()
        stopped_after = trio.current_time() - start
    assert outcomes == [True] * 6  # every stream got its final chunk
    assert parts.setup.hub.actions.subscriber_count == 0
    assert stopped_after < config.graceful_timeout  # it did not wait the graceful timeout out
