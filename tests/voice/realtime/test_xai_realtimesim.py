"""The realtimesim's xAI server by hand: raw frames, for what the session never sends.

Every server event read here is checked against the documented shapes (`xai_shapes`).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio_websocket
from trio.testing import MockClock
from trio_websocket import WebSocketConnection

from clanker.realtimesim import XaiRealtimeSim, open_xai_realtime_sim

from .xai_shapes import server_event

KEY = "xai-realtimesim-test-key"
AUTH = [(b"authorization", f"Bearer {KEY}".encode())]


@pytest.fixture
async def sim() -> AsyncIterator[XaiRealtimeSim]:
    async with open_xai_realtime_sim(api_key=KEY) as server:
        yield server


@asynccontextmanager
async def raw(sim: XaiRealtimeSim, query: str = "") -> AsyncIterator[WebSocketConnection]:
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
    """The next server event (of ``kind``, skipping others), shape-checked."""
    with trio.fail_after(30):
        while True:
            event = json.loads(await ws.get_message())
            server_event(event)
            if kind is None or event["type"] == kind:
                return event


async def send(ws: WebSocketConnection, **event: Any) -> None:
    await ws.send_message(json.dumps(event))


async def error_of(ws: WebSocketConnection) -> dict[str, Any]:
    error: dict[str, Any] = (await next_event(ws, "error"))["error"]
    return error


async def handshake(sim: XaiRealtimeSim, path: str, authorization: str | None) -> bytes:
    """The status line and body of a hand-written upgrade request (trio-websocket's client
    leaks its socket when the handshake is rejected, so it is not used here)."""
    host, port = sim.url.removeprefix("ws://").split("/")[0].split(":")
    upgrade = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        + (f"Authorization: {authorization}\r\n" if authorization else "")
        + "\r\n"
    )
    async with await trio.open_tcp_stream(host, int(port)) as stream:
        await stream.send_all(upgrade.encode())
        answer = b""
        with trio.fail_after(30):
            while b"\r\n\r\n" not in answer:
                answer += await stream.receive_some(1024)
            head, _, body = answer.partition(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            while length and len(body) < int(length[1]):
                body += await stream.receive_some(1024)
            answer = head + b"\r\n\r\n" + body
    return answer


async def test_a_wrong_key_is_a_401_and_an_unknown_path_a_404(
    sim: XaiRealtimeSim, mock_clock: MockClock
) -> None:
    refused = await handshake(sim, "/v1/realtime?model=grok-voice-latest", "Bearer nope")
    assert refused.startswith(b"HTTP/1.1 401 ")
    assert b'"code":"unauthorized"' in refused
    missing = await handshake(sim, "/v1/realtime", None)
    assert missing.startswith(b"HTTP/1.1 401 ")
    lost = await handshake(sim, "/v1/chat", f"Bearer {KEY}")
    assert lost.startswith(b"HTTP/1.1 404 ")
    assert sim.connections == []


async def test_a_connection_opens_with_the_conversation_then_the_default_session(
    sim: XaiRealtimeSim, mock_clock: MockClock
) -> None:
    async with raw(sim) as ws:
        created = await next_event(ws)
        assert created["type"] == "conversation.created"
        assert created["conversation"]["object"] == "realtime.conversation"
        session = (await next_event(ws))["session"]
        assert session["model"] == "grok-voice-latest"  # no ?model=: the default
        assert session["voice"] == "eve"
        assert session["turn_detection"] == {"type": "server_vad"}
        assert session["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}


async def test_malformed_client_events_get_errors(
    sim: XaiRealtimeSim, mock_clock: MockClock
) -> None:
    async with raw(sim, "?model=grok-voice-fast-1.0") as ws:
        await next_event(ws, "session.created")
        await ws.send_message(b"\x00\x01")
        assert (await error_of(ws))["code"] == "invalid_json"
        await ws.send_message("[1, 2]")
        assert (await error_of(ws))["code"] == "invalid_json"
        await send(ws, type="conversation.item.truncate", event_id="e1", item_id="x")
        unknown = await error_of(ws)
        assert (unknown["code"], unknown["param"], unknown["event_id"]) == (
            "invalid_value",
            "type",
            "e1",
        )
        await send(ws, type="input_audio_buffer.append", event_id="e2", audio="***")
        assert (await error_of(ws))["param"] == "audio"
        await send(ws, type="conversation.item.create", item={"type": "function_call"})
        assert (await error_of(ws))["param"] == "item.type"
        await send(ws, type="conversation.item.create", item={"type": "force_message"})
        assert (await error_of(ws))["param"] == "item.content"
        await send(ws, type="conversation.item.delete", item_id="item_nope")
        assert (await error_of(ws))["code"] == "item_not_found"
        assert sim.connections[0].model == "grok-voice-fast-1.0"
        assert [e["type"] for e in sim.connections[0].received][2:] == [
            "conversation.item.truncate",
            "input_audio_buffer.append",
            "conversation.item.create",
            "conversation.item.create",
            "conversation.item.delete",
        ]


@pytest.mark.parametrize(
    ("session", "param"),
    [
        ({"type": "realtime"}, "session.type"),
        ({"voice": "alloy"}, "session.voice"),
        ({"turn_detection": {"type": "semantic_vad"}}, "session.turn_detection"),
        (
            {"audio": {"input": {"format": {"type": "audio/pcm", "rate": 11025}}}},
            "session.audio.input.format",
        ),
        ({"audio": {"output": {"voice": "Ara"}}}, "session.audio.output"),
        ({"tools": [{"type": "mcp"}]}, "session.tools[0]"),
        ({"tools": [{"type": "function", "name": "a b", "parameters": {}}]}, "session.tools[0]"),
        ({"reasoning": {"effort": "low"}}, "session.reasoning.effort"),
        ({"instructions": 5}, "session.instructions"),
    ],
)  # fmt: skip
async def test_a_session_update_is_checked_field_by_field(
    sim: XaiRealtimeSim, mock_clock: MockClock, session: dict[str, Any], param: str
) -> None:
    async with raw(sim) as ws:
        await next_event(ws, "session.created")
        await send(ws, type="session.update", event_id="u1", session=session)
        error = await error_of(ws)
        assert (error["code"], error["param"], error["event_id"]) == ("invalid_value", param, "u1")
        assert sim.connections[0].session["voice"] == "eve"  # nothing of it was applied


async def test_a_valid_update_merges_and_g711_is_taken(
    sim: XaiRealtimeSim, mock_clock: MockClock
) -> None:
    async with raw(sim) as ws:
        await next_event(ws, "session.created")
        update = {
            "voice": "Rex",
            "turn_detection": None,
            "audio": {"input": {"format": {"type": "audio/pcmu"}}},
            "tools": [{"type": "web_search"}, {"type": "x_search"}],
        }
        await send(ws, type="session.update", session=update)
        session = (await next_event(ws, "session.updated"))["session"]
        assert session["voice"] == "Rex" and session["turn_detection"] is None
        assert session["audio"]["input"]["format"] == {"type": "audio/pcmu"}
        assert session["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
        assert [t["type"] for t in session["tools"]] == ["web_search", "x_search"]


async def test_a_commit_makes_a_turn_a_user_item_and_a_transcript(
    sim: XaiRealtimeSim, mock_clock: MockClock
) -> None:
    pcm = b"\x01\x02" * 2400  # 100 ms at 24 kHz
    sim.hear("hello there")
    async with raw(sim) as ws:
        await next_event(ws, "session.created")
        await send(ws, type="input_audio_buffer.append", audio=base64.b64encode(pcm).decode())
        await send(ws, type="input_audio_buffer.commit")
        committed = await next_event(ws)
        assert committed["type"] == "input_audio_buffer.committed"
        added = await next_event(ws)
        assert added["type"] == "conversation.item.added"
        assert added["item"]["id"] == committed["item_id"] and added["item"]["role"] == "user"
        heard = await next_event(ws)
        assert heard["type"] == "conversation.item.input_audio_transcription.completed"
        assert (heard["item_id"], heard["transcript"]) == (committed["item_id"], "hello there")
        await send(ws, type="conversation.item.delete", item_id=committed["item_id"])
        deleted = await next_event(ws)
        assert deleted == {**deleted, "type": "conversation.item.deleted"}
        assert deleted["item_id"] == committed["item_id"]
        assert sim.connections[0].turns == [pcm]
