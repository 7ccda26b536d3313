"""The realtimesim's ElevenLabs agent by hand: raw frames, for what the session never sends.

Every message the API would refuse gets its documented ``error`` event and a 1008 close, so
each case opens its own conversation. Every server message read here is checked against the
AsyncAPI contract (`elevenlabs_shapes`).
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

from clanker.realtimesim import ElevenLabsAgentSim, open_elevenlabs_agent_sim

from .elevenlabs_shapes import server_message

AGENT = "agent_sim"
START = json.dumps({"type": "conversation_initiation_client_data"})


@pytest.fixture
async def sim() -> AsyncIterator[ElevenLabsAgentSim]:
    async with open_elevenlabs_agent_sim(agent_id=AGENT) as server:
        yield server


@asynccontextmanager
async def raw(sim: ElevenLabsAgentSim, agent: str = AGENT) -> AsyncIterator[WebSocketConnection]:
    async with trio.open_nursery() as nursery:
        ws = await trio_websocket.connect_websocket_url(nursery, f"{sim.url}?agent_id={agent}")
        try:
            yield ws
        finally:
            with trio.CancelScope(shield=True):
                with trio.move_on_after(1.0):
                    await ws.aclose()
                await ws._stream.aclose()


async def next_message(ws: WebSocketConnection, kind: str | None = None) -> dict[str, Any]:
    with trio.fail_after(30):
        while True:
            message = json.loads(await ws.get_message())
            server_message(message)
            if kind is None or message["type"] == kind:
                return message


async def refused(ws: WebSocketConnection) -> tuple[dict[str, Any], int | None]:
    """The error event, then the close code."""
    error: dict[str, Any] = (await next_message(ws, "error"))["error_event"]
    with pytest.raises(ConnectionClosed) as closed:
        with trio.fail_after(30):
            while True:
                await ws.get_message()
    return error, closed.value.reason.code


async def test_an_unknown_path_is_a_404(sim: ElevenLabsAgentSim, mock_clock: MockClock) -> None:
    host, port = sim.url.removeprefix("ws://").split("/")[0].split(":")
    upgrade = (
        f"GET /v1/convai/other HTTP/1.1\r\nHost: {host}:{port}\r\n"
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


async def test_the_initiation_is_answered_with_the_agents_formats(
    sim: ElevenLabsAgentSim, mock_clock: MockClock
) -> None:
    async with raw(sim) as ws:
        await ws.send_message(START)
        meta = (await next_message(ws))["conversation_initiation_metadata_event"]
        assert meta["agent_output_audio_format"] == meta["user_input_audio_format"] == "pcm_16000"
        await ws.send_message(json.dumps({"type": "pong", "event_id": 7}))
        await ws.send_message(json.dumps({"type": "feedback", "event_id": 1, "score": "like"}))
        await sim.wait_until(lambda: len(sim.conversation().received) == 3)
        assert sim.conversation().pongs == [7]
        assert sim.conversation().model == AGENT


@pytest.mark.parametrize(
    ("first", "then", "error_type", "says"),
    [
        (b"\x00\x01", None, "invalid_message", "expected a JSON object"),
        ("[1, 2]", None, "invalid_message", "expected a JSON object"),
        (
            '{"user_audio_chunk": "AAAA"}',
            None,
            "invalid_message",
            "must be conversation_initiation",
        ),
        (START, '{"type": "response.create"}', "invalid_message", "Unknown message type"),
        (START, '{"user_audio_chunk": "***"}', "invalid_message", "expected base64 audio"),
        (START, START, "invalid_message", "already initiated"),
        (START, '{"type": "pong"}', "missing_fields", "pong needs"),
        (START, '{"type": "contextual_update"}', "missing_fields", "needs text"),
        (START, '{"type": "client_tool_result", "tool_call_id": "c"}', "missing_fields", "needs"),
        (
            json.dumps({"type": "conversation_initiation_client_data", "model": "x"}),
            None,
            "invalid_message",
            "Unknown field 'model'",
        ),
        (
            json.dumps(
                {
                    "type": "conversation_initiation_client_data",
                    "conversation_config_override": {"tts": {"voice": "x"}},
                }
            ),
            None,
            "override_error",
            "Unknown override 'tts.voice'",
        ),
        (
            json.dumps(
                {
                    "type": "conversation_initiation_client_data",
                    "conversation_config_override": {"tts": {"speed": True}},
                }
            ),
            None,
            "override_error",
            "Invalid value for override 'tts.speed'",
        ),
    ],
)
async def test_what_the_api_refuses_is_an_error_and_a_1008_close(
    sim: ElevenLabsAgentSim,
    mock_clock: MockClock,
    first: str | bytes,
    then: str | None,
    error_type: str,
    says: str,
) -> None:
    async with raw(sim) as ws:
        await ws.send_message(first)
        if then is not None:
            await next_message(ws, "conversation_initiation_metadata")
            await ws.send_message(then)
        error, code = await refused(ws)
        assert (error["code"], error["error_type"], code) == (1008, error_type, 1008)
        assert says in error["message"]
        assert sim.conversation().closed_by == "server"


async def test_an_unknown_agent_is_refused(sim: ElevenLabsAgentSim, mock_clock: MockClock) -> None:
    async with raw(sim, agent="agent_nope") as ws:
        error, code = await refused(ws)
        assert (error["reason"], code) == ("agent not found", 1008)


async def test_silence_alone_opens_no_turn_and_speech_does(
    sim: ElevenLabsAgentSim, mock_clock: MockClock
) -> None:
    sim.hear("hello")
    async with raw(sim) as ws:
        await ws.send_message(START)
        await next_message(ws, "conversation_initiation_metadata")
        quiet = base64.b64encode(bytes(16000)).decode()  # 500 ms of zeros
        await ws.send_message(json.dumps({"user_audio_chunk": quiet}))
        await trio.sleep(2.0)
        assert sim.conversation().turns == [] and sim.conversation().buffer == b""
        loud = base64.b64encode(b"\x00\x40" * 1600).decode()  # 100 ms at a steady 16384
        await ws.send_message(json.dumps({"user_audio_chunk": loud}))
        heard = (await next_message(ws, "user_transcript"))["user_transcription_event"]
        assert heard["user_transcript"] == "hello"
        said = (await next_message(ws, "agent_response"))["agent_response_event"]
        assert said["event_id"] == heard["event_id"] + 1
        assert said["agent_response"] == "I heard 100 ms"
