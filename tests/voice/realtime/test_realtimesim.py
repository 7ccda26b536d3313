"""realtimesim by hand: raw WebSocket frames, for what the session never sends.

Every server event read here is validated against the SDK's server-event models.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio_websocket
from trio.testing import MockClock
from trio_websocket import ConnectionClosed, WebSocketConnection

from clanker.realtimesim import RealtimeSim, Say

from .conftest import KEY
from .sdk_check import server_event

AUTH = [(b"authorization", f"Bearer {KEY}".encode())]


@asynccontextmanager
async def raw(sim: RealtimeSim, query: str = "?model=gpt-realtime") -> AsyncIterator[Any]:
    async with trio.open_nursery() as nursery:
        ws = await trio_websocket.connect_websocket_url(
            nursery, sim.url + query, extra_headers=AUTH
        )
        try:
            yield ws
        finally:
            with trio.CancelScope(shield=True):
                with trio.move_on_after(1.0):
                    await ws.aclose()
                await ws._stream.aclose()


async def next_event(ws: WebSocketConnection, kind: str | None = None) -> dict[str, Any]:
    """The next server event (of ``kind``, skipping others), SDK-validated."""
    with trio.fail_after(30):
        while True:
            event = json.loads(await ws.get_message())
            server_event(event)
            if kind is None or event["type"] == kind:
                return event


async def send(ws: WebSocketConnection, **event: Any) -> None:
    await ws.send_message(json.dumps(event))


async def test_an_unknown_path_is_refused_at_the_handshake(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    # A hand-written upgrade request: trio-websocket's client leaks its socket when the
    # handshake is rejected, so it is not used here.
    host, port = sim.url.removeprefix("ws://").split("/")[0].split(":")
    upgrade = (
        "GET /v1/chat?model=gpt-realtime HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    async with await trio.open_tcp_stream(host, int(port)) as stream:
        await stream.send_all(upgrade.encode())
        head = b""
        with trio.fail_after(30):
            while b"\r\n" not in head:
                head += await stream.receive_some(1024)
    assert head.startswith(b"HTTP/1.1 404 ")
    assert sim.connections == []


async def test_a_missing_model_is_an_error_and_a_close(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    async with raw(sim, query="") as ws:
        error = await next_event(ws)
        assert error["type"] == "error"
        assert error["error"]["code"] == "missing_required_parameter"
        assert error["error"]["param"] == "model"
        with pytest.raises(ConnectionClosed) as closed:
            await ws.get_message()
        assert closed.value.reason.code == 3000
        assert closed.value.reason.reason == "invalid_request_error.missing_required_parameter"


async def test_malformed_client_events_get_the_apis_errors(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    async with raw(sim) as ws:
        await next_event(ws, "session.created")
        await ws.send_message(b"\x00\x01")
        assert (await next_event(ws))["error"]["code"] == "invalid_json"
        await ws.send_message("[1, 2]")
        assert (await next_event(ws))["error"]["code"] == "invalid_json"
        await send(ws, type="conversation.item.delete", event_id="e1", item_id="x")
        unknown = (await next_event(ws))["error"]
        assert (unknown["code"], unknown["param"], unknown["event_id"]) == (
            "invalid_value",
            "type",
            "e1",
        )
        await send(ws, type="input_audio_buffer.append", event_id="e2", audio="***")
        assert (await next_event(ws))["error"]["param"] == "audio"
        await send(ws, type="session.update", event_id="e3", session={"type": "transcription"})
        assert (await next_event(ws))["error"]["param"] == "session.type"
        await send(ws, type="conversation.item.create", item={"type": "function_call"})
        assert (await next_event(ws))["error"]["param"] == "item.type"
        connection = sim.connections[0]
        assert [e["type"] for e in connection.received] == [
            None,
            None,
            "conversation.item.delete",
            "input_audio_buffer.append",
            "session.update",
            "conversation.item.create",
        ]


async def test_the_voice_is_fixed_once_the_assistant_has_spoken(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    sim.script(Say("hi"))
    voice = {"type": "realtime", "audio": {"output": {"voice": "marin"}}}
    async with raw(sim) as ws:
        await next_event(ws, "session.created")
        await send(ws, type="session.update", session=voice)
        updated = await next_event(ws, "session.updated")
        assert updated["session"]["audio"]["output"]["voice"] == "marin"
        await send(ws, type="response.create")
        done = await next_event(ws, "response.done")
        assert done["response"]["audio"]["output"]["voice"] == "marin"
        await send(
            ws, type="session.update", session={**voice, "audio": {"output": {"voice": "ash"}}}
        )
        error = await next_event(ws, "error")
        assert error["error"]["code"] == "cannot_update_voice"


async def test_a_commit_makes_a_turn_and_a_user_item(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    pcm = b"\x01\x02" * 2400  # 100 ms
    async with raw(sim) as ws:
        await next_event(ws, "session.created")
        await send(ws, type="input_audio_buffer.append", audio=base64.b64encode(pcm).decode())
        await send(ws, type="input_audio_buffer.commit")
        committed = await next_event(ws)
        assert committed["type"] == "input_audio_buffer.committed"
        added = await next_event(ws)
        assert added["type"] == "conversation.item.added"
        assert added["item"]["id"] == committed["item_id"]
        assert added["item"]["role"] == "user"
        assert (await next_event(ws))["type"] == "conversation.item.done"
        # No transcription was asked for (the default session): no transcript events.
        await send(ws, type="input_audio_buffer.clear")
        assert (await next_event(ws))["type"] == "input_audio_buffer.cleared"
        assert sim.connections[0].turns == [pcm]
