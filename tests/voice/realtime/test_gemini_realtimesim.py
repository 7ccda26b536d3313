"""The realtimesim's Gemini server by hand: raw frames, for what the session never sends.

Every server message read here is validated against the SDK's `LiveServerMessage` model.
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
from trio_websocket import CloseReason, ConnectionClosed, WebSocketConnection

from clanker.realtimesim import GeminiLiveSim, Say, open_gemini_live_sim

from .gemini_check import server_message

KEY = "gemini-raw-key"
MANUAL = {"automaticActivityDetection": {"disabled": True}}
SETUP = {"setup": {"model": "models/gemini-3.1-flash-live-preview", "realtimeInputConfig": MANUAL}}


@pytest.fixture
async def gemini_sim() -> AsyncIterator[GeminiLiveSim]:
    async with open_gemini_live_sim(api_key=KEY) as server:
        yield server


@asynccontextmanager
async def raw(
    sim: GeminiLiveSim, *, query: str = "", header: bool = True
) -> AsyncIterator[WebSocketConnection]:
    headers = [(b"x-goog-api-key", KEY.encode())] if header else []
    async with trio.open_nursery() as nursery:
        ws = await trio_websocket.connect_websocket_url(
            nursery, sim.url + query, extra_headers=headers
        )
        try:
            yield ws
        finally:
            with trio.CancelScope(shield=True):
                with trio.move_on_after(1.0):
                    await ws.aclose()
                await ws._stream.aclose()


async def send(ws: WebSocketConnection, message: Any) -> None:
    await ws.send_message(message if isinstance(message, str) else json.dumps(message))


async def next_message(ws: WebSocketConnection) -> dict[str, Any]:
    with trio.fail_after(30):
        frame = await ws.get_message()
    assert isinstance(frame, bytes)
    server_message(frame)
    message: dict[str, Any] = json.loads(frame)
    return message


async def set_up(ws: WebSocketConnection, setup: dict[str, Any] = SETUP) -> None:
    await send(ws, setup)
    assert await next_message(ws) == {"setupComplete": {}}


async def closing(ws: WebSocketConnection) -> CloseReason:
    """Read (and check) messages until the sim closes; the close's code and reason."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await next_message(ws)
    return closed.value.reason


def audio(pcm: bytes, mime: str = "audio/pcm;rate=16000") -> dict[str, Any]:
    return {"realtimeInput": {"audio": {"data": base64.b64encode(pcm).decode(), "mimeType": mime}}}


async def test_an_unknown_path_is_refused_at_the_handshake(
    gemini_sim: GeminiLiveSim, mock_clock: MockClock
) -> None:
    # A hand-written upgrade request: trio-websocket's client leaks its socket when the
    # handshake is rejected, so it is not used here.
    host, port = gemini_sim.url.removeprefix("ws://").split("/")[0].split(":")
    upgrade = (
        "GET /ws/google.ai.generativelanguage.v1beta.GenerativeService.StreamGenerateContent "
        f"HTTP/1.1\r\nHost: {host}:{port}\r\n"
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
    assert gemini_sim.connections == []


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("not json", "Invalid JSON payload received. Unexpected token."),
        ("[1]", "Invalid JSON payload received. Root element must be a message."),
        (
            {"realtimeInput": {"text": "hi"}},
            "Invalid request: the first message must be a setup message.",
        ),
        (
            {"setup": {"model": "models/m", "generationConfig": {"speed": 2}}},
            "Invalid JSON payload received. Unknown name \"speed\" at 'setup.generation_config'"
            ": Cannot find field.",
        ),
        ({"setup": {"model": 5}}, "Invalid value at 'setup.model' (TYPE_STRING), 5"),
        (
            {"setup": {"model": "models/m", "realtimeInputConfig": {"activityHandling": "NO"}}},
            "Invalid value at 'setup.realtime_input_config.activity_handling' "
            '(type.googleapis.com/google.ai.generativelanguage.ActivityHandling), "NO"',
        ),
        (
            {"setup": {"model": "models/m"}, "clientContent": {}},
            "Invalid JSON payload received. Oneof field 'message_type' is already set. "
            "Cannot set 'client_content'",
        ),
        (
            {},
            "Invalid request: a client message sets one of setup, clientContent, "
            "realtimeInput or toolResponse (realtimesim)",
        ),
        (
            {"setup": {"model": "gemini-3.1-flash-live-preview"}},  # no "models/"
            "gemini-3.1-flash-live-preview is not found for API version v1beta, or is not "
            "supported for bidiGenerateContent. Call ListModels to see the list of available "
            "models and their supported methods.",
        ),
    ],
)
async def test_a_message_the_api_refuses_closes_with_its_reason(
    gemini_sim: GeminiLiveSim, mock_clock: MockClock, message: Any, reason: str
) -> None:
    async with raw(gemini_sim) as ws:
        await send(ws, message)
        closed = await closing(ws)
    code = 1008 if reason.startswith("gemini-3.1") else 1007
    assert closed.code == code
    assert closed.reason == reason.encode()[:123].decode()  # a close reason is cut at 123 bytes
    connection = gemini_sim.connections[0]
    assert (connection.close_code, connection.closed_by) == (code, "server")


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (SETUP, "Invalid request: setup may only be sent once per connection."),
        (
            {"realtimeInput": {"activityEnd": {}}},
            "Invalid argument: activityEnd without an activityStart.",
        ),
        (
            {"realtimeInput": {"audioStreamEnd": True}},
            "Invalid argument: audioStreamEnd is only for automatic activity detection.",
        ),
        (
            audio(b"\x00\x00", "audio/wav"),
            "Unsupported audio mime type 'audio/wav' (realtimesim takes audio/pcm).",
        ),
        (
            {"realtimeInput": {"audio": {"data": "@@", "mimeType": "audio/pcm"}}},
            "Invalid value at 'realtime_input.audio.data' (TYPE_BYTES), Base64 decoding failed",
        ),
        (
            {"toolResponse": {"functionResponses": [{"id": "nope", "response": {}}]}},
            "Requested entity was not found.",
        ),
    ],
)
async def test_a_refusal_after_setup_closes_too(
    gemini_sim: GeminiLiveSim, mock_clock: MockClock, message: Any, reason: str
) -> None:
    async with raw(gemini_sim) as ws:
        await set_up(ws)
        await send(ws, message)
        closed = await closing(ws)
    assert closed.code == (1008 if "entity" in reason else 1007)
    assert closed.reason.startswith(reason)


async def test_a_second_activity_start_is_refused(
    gemini_sim: GeminiLiveSim, mock_clock: MockClock
) -> None:
    async with raw(gemini_sim) as ws:
        await set_up(ws)
        await send(ws, {"realtimeInput": {"activityStart": {}}})
        await send(ws, {"realtimeInput": {"activityStart": {}}})
        closed = await closing(ws)
    assert closed.reason == "Invalid argument: activityStart while an activity is open."


async def test_with_automatic_activity_detection_on_activity_signals_are_refused(
    gemini_sim: GeminiLiveSim, mock_clock: MockClock
) -> None:
    async with raw(gemini_sim) as ws:
        await set_up(ws, {"setup": {"model": "models/gemini-3.1-flash-live-preview"}})
        await send(ws, audio(b"\x01\x00" * 1600))
        await trio.sleep(5.0)  # the sim has no voice activity detection: never answered
        assert gemini_sim.connections[0].outside_audio == 3200
        assert gemini_sim.connections[0].responses == []
        await send(ws, {"realtimeInput": {"activityStart": {}}})
        closed = await closing(ws)
    assert closed.code == 1007
    assert closed.reason.startswith("Explicit activity control is not supported")


async def test_snake_case_names_and_a_key_in_the_query_are_accepted(
    gemini_sim: GeminiLiveSim, mock_clock: MockClock
) -> None:
    async with raw(gemini_sim, query=f"?key={KEY}", header=False) as ws:
        setup = {
            "model": "models/gemini-3.1-flash-live-preview",
            "realtime_input_config": {"automatic_activity_detection": {"disabled": True}},
        }
        await set_up(ws, {"setup": setup})
        connection = gemini_sim.connections[0]
        assert connection.authorised and "x-goog-api-key" not in connection.headers
        assert connection.setup["realtimeInputConfig"] == MANUAL  # kept in camelCase


async def test_only_audio_inside_an_activity_is_the_turn_and_media_chunks_count(
    gemini_sim: GeminiLiveSim, mock_clock: MockClock
) -> None:
    gemini_sim.script(Say("ok"))
    async with raw(gemini_sim) as ws:
        await set_up(ws)
        await send(ws, audio(b"\x09\x00" * 10))  # before the activity: not in the turn
        await send(ws, {"realtimeInput": {"activityStart": {}}})
        await send(ws, audio(b"\x01\x00" * 10, "audio/pcm;rate=24000"))
        chunk = {"data": base64.b64encode(b"\x02\x00" * 10).decode(), "mimeType": "audio/pcm"}
        await send(ws, {"realtimeInput": {"mediaChunks": [chunk]}})
        await send(ws, {"realtimeInput": {"activityEnd": {}}})
        kinds = []
        while "turnComplete" not in kinds:
            kinds += list((await next_message(ws)).get("serverContent", {}))
        connection = gemini_sim.connections[0]
        [turn] = connection.turns
        assert bytes(turn.audio) == b"\x01\x00" * 10 + b"\x02\x00" * 10
        assert connection.outside_audio == 20
        assert turn.rate == 24000  # the last rate given
        assert kinds.count("modelTurn") >= 1 and "generationComplete" in kinds


async def test_client_content_is_a_turn_and_interrupts_what_is_playing(
    gemini_sim: GeminiLiveSim, mock_clock: MockClock
) -> None:
    gemini_sim.script(Say("one two three four five six seven", chunk_delay=0.2))
    async with raw(gemini_sim) as ws:
        await set_up(ws)
        await send(ws, {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "a"}]}]}})
        await send(ws, {"clientContent": {"turnComplete": True}})
        assert "modelTurn" in (await next_message(ws))["serverContent"]
        turn = {"role": "user", "parts": [{"text": "b"}]}
        await send(ws, {"clientContent": {"turns": [turn], "turnComplete": True}})
        seen: list[dict[str, Any]] = []
        while len([m for m in seen if m.get("serverContent", {}).get("turnComplete")]) < 2:
            seen.append(await next_message(ws))
        contents = [m["serverContent"] for m in seen]
        assert {"interrupted": True} in contents
        assert gemini_sim.connections[0].content_texts == ["a", "b"]
        assert [r.status for r in gemini_sim.connections[0].responses] == [
            "interrupted",
            "completed",
        ]
        assert gemini_sim.connections[0].responses[1].turn == Say("you said b")
