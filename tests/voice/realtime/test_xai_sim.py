"""`XaiRealtimeSession` over real WebSockets against the realtimesim's xAI server.

The client (`provider_client.py`) checks every frame the session sends, and every frame
the sim sends, against the documented shapes (`xai_shapes`), so the session and the sim each
meet the documentation's idea of the wire format, not just each other. Pacing is the sim's,
on a MockClock (see conftest), so times here are exact virtual times.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

import numpy as np
import pytest
import trio
from trio.testing import MockClock

from clanker.realtimesim import CallTool, Fail, Say, XaiRealtimeSim, open_xai_realtime_sim
from clanker.voice.realtime.api import (
    AudioDelta,
    InputTranscript,
    OutputTranscript,
    ProviderError,
    ResponseDone,
    ResponseStarted,
    SessionConfig,
    SessionReady,
    ToolCall,
    ToolSpec,
)
from clanker.voice.realtime.xai import XaiRealtimeSession
from clanker.voicesim import speech_pcm

from .provider_client import Client, connected
from .xai_shapes import client_event, server_event

KEY = "xai-realtimesim-test-key"
TOOL = ToolSpec(
    name="music_play",
    description="Play a song",
    parameters={"type": "object", "properties": {"query": {"type": "string"}}},
)


@pytest.fixture
async def sim() -> AsyncIterator[XaiRealtimeSim]:
    async with open_xai_realtime_sim(api_key=KEY) as server:
        yield server


def session_for(sim: XaiRealtimeSim, **kwargs: object) -> XaiRealtimeSession:
    return XaiRealtimeSession(KEY, base_url=sim.url, **kwargs)  # type: ignore[arg-type]


def open_client(
    session: XaiRealtimeSession, config: SessionConfig | None = None
) -> AbstractAsyncContextManager[Client]:
    return connected(
        session,
        SessionConfig() if config is None else config,
        check_client=client_event,
        check_server=server_event,
    )


def tone(ms: int, rate: int = 24000) -> bytes:
    t = np.arange(rate * ms // 1000) / rate
    return (np.sin(2 * np.pi * 440.0 * t) * 8000).astype("<i2").tobytes()


def audio_of(client: Client, response_id: str) -> bytes:
    return b"".join(d.pcm for d in client.of(AudioDelta) if d.response_id == response_id)


async def ready(client: Client) -> None:
    await client.wait_for_event(SessionReady)


async def test_start_configures_the_session_and_ready_names_the_conversation(
    sim: XaiRealtimeSim, mock_clock: MockClock
) -> None:
    config = SessionConfig(instructions="Be brief.", voice="Ara", tools=(TOOL,))
    async with open_client(session_for(sim, reasoning_effort="none"), config) as client:
        [ready_event] = await client.wait_for_event(SessionReady)
        connection = sim.connections[0]
        [created] = client.frames_of("conversation.created")
        assert ready_event.session_id == created["conversation"]["id"]
        assert connection.model == "grok-voice-latest"
        assert connection.headers["authorization"] == "<redacted>"
        live = connection.session
        assert live["turn_detection"] is None
        assert live["voice"] == "Ara" and live["instructions"] == "Be brief."
        assert live["reasoning"] == {"effort": "none"}
        assert [t["name"] for t in live["tools"]] == ["music_play"]
        assert [f["type"] for f in client.frames] == [
            "conversation.created",
            "session.created",
            "session.updated",
        ]


async def test_a_spoken_turn_is_heard_transcribed_and_answered_in_audio(
    sim: XaiRealtimeSim, mock_clock: MockClock
) -> None:
    sim.script(Say("hi there Ana", chunk_ms=100, chunk_delay=0.05))
    sim.hear("play some jazz")
    session = session_for(sim)
    async with open_client(session) as client:
        await ready(client)
        spoken = tone(700)
        for at in range(0, len(spoken), 960):  # 20 ms frames, as clankvox sends them
            await client.send(session.append_audio(spoken[at : at + 960]))
        await client.send(session.commit_turn())
        [heard] = await client.wait_for_event(InputTranscript)
        assert (heard.text, heard.final) == ("play some jazz", True)
        assert sim.connections[0].turns == [spoken]

        started_at = trio.current_time()
        await client.send(session.request_response())
        [done] = await client.wait_for_event(ResponseDone)
        [started] = client.of(ResponseStarted)
        assert done.response_id == started.response_id and done.status == "completed"
        assert done.usage is None  # xAI bills by the minute; no split by modality
        expected = speech_pcm("hi there Ana", 24000)
        assert audio_of(client, done.response_id) == expected
        assert all(d.sample_rate == 24000 for d in client.of(AudioDelta))
        chunks = len(client.of(AudioDelta))
        assert chunks == -(-len(expected) // 4800)  # 100 ms pieces
        transcript = client.of(OutputTranscript)
        assert "".join(t.text for t in transcript if not t.final) == "hi there Ana"
        # The sim's transcript done carries no text, as xAI's: the session joined it.
        assert [t.text for t in transcript if t.final] == ["hi there Ana"]
        assert "transcript" not in client.frames_of("response.output_audio_transcript.done")[0]
        response = sim.connections[0].responses[0]
        assert response.done_at is not None
        assert response.done_at - response.started_at == pytest.approx(0.05 * (chunks - 1))
        assert response.started_at - started_at < 0.05
        [end] = client.frames_of("response.done")
        assert end["usage"] == end["response"]["usage"]
        assert session.active_response is None


async def test_the_chosen_rate_is_used_both_ways(
    sim: XaiRealtimeSim, mock_clock: MockClock
) -> None:
    sim.script(Say("ok"))
    session = session_for(sim, sample_rate=16000)
    async with open_client(session) as client:
        await ready(client)
        await client.send(session.append_audio(tone(300, 16000)))
        await client.send(session.commit_turn())
        [heard] = await client.wait_for_event(InputTranscript)
        assert heard.text == "(300 ms of audio)"  # measured at 16 kHz
        await client.send(session.request_response())
        [done] = await client.wait_for_event(ResponseDone)
        assert audio_of(client, done.response_id) == speech_pcm("ok", 16000)
        assert {d.sample_rate for d in client.of(AudioDelta)} == {16000}


async def test_a_labelled_text_turn_reaches_the_conversation(
    sim: XaiRealtimeSim, mock_clock: MockClock
) -> None:
    session = session_for(sim)
    async with open_client(session, SessionConfig(transcribe_input=False)) as client:
        await ready(client)
        await client.send(session.add_text_turn("Ana", "what is playing?"))
        await client.send(session.request_response())
        await client.wait_for_event(ResponseDone)
        final = [t.text for t in client.of(OutputTranscript) if t.final]
        assert final == ["you said [Ana]: what is playing?"]  # the sim's default echo
        assert sim.connections[0].last_text == "[Ana]: what is playing?"


async def test_speak_exact_says_the_line_without_taking_a_turn(
    sim: XaiRealtimeSim, mock_clock: MockClock
) -> None:
    sim.script(Say("not this"))
    session = session_for(sim)
    async with open_client(session) as client:
        await ready(client)
        await client.send(session.speak_exact("The song is Blue in Green."))
        [done] = await client.wait_for_event(ResponseDone)
        assert audio_of(client, done.response_id) == speech_pcm("The song is Blue in Green.", 24000)
        assert sim.pending == 1  # the scripted turn is still there for the conversation
        assert [f["type"] for f in client.sent] == ["session.update", "conversation.item.create"]
        # The line joins the conversation as an assistant item.
        [added] = client.frames_of("conversation.item.added")
        assert added["item"]["role"] == "assistant"


async def test_cancel_mid_response_stops_the_audio(
    sim: XaiRealtimeSim, mock_clock: MockClock
) -> None:
    sim.script(Say("a long answer that goes on and on", chunk_delay=0.1))
    session = session_for(sim)
    async with open_client(session) as client:
        await ready(client)
        await client.send(session.request_response())
        await client.wait_for_event(AudioDelta, 3)
        cancel = session.cancel_response()
        [started] = client.of(ResponseStarted)
        assert json.loads(cancel[0])["response_id"] == started.response_id
        await client.send(cancel)
        [done] = await client.wait_for_event(ResponseDone)
        assert done.status == "cancelled" and done.detail == "client_cancelled"
        heard = len(client.of(AudioDelta))
        full = speech_pcm("a long answer that goes on and on", 24000)
        assert 3 <= heard < len(full) // 4800
        await trio.sleep(1.0)  # nothing more streams after the cancel
        assert len(client.of(AudioDelta)) == heard
        assert sim.connections[0].responses[0].status == "cancelled"
        [item_done] = client.frames_of("response.output_item.done")
        assert item_done["item"]["status"] == "incomplete"


async def test_a_tool_call_round_trip(sim: XaiRealtimeSim, mock_clock: MockClock) -> None:
    sim.script(CallTool("music_play", {"query": "jazz"}, text="let me look"), Say("playing jazz"))
    session = session_for(sim)
    async with open_client(session, SessionConfig(tools=(TOOL,))) as client:
        await ready(client)
        await client.send(session.request_response())
        [first_done] = await client.wait_for_event(ResponseDone)
        [call] = client.of(ToolCall)  # once, though arguments.done and response.done say it
        assert call.name == "music_play" and json.loads(call.arguments) == {"query": "jazz"}
        assert call.response_id == first_done.response_id
        assert [t.text for t in client.of(OutputTranscript) if t.final] == ["let me look"]
        deltas = client.frames_of("response.function_call_arguments.delta")
        assert len(deltas) > 1 and "".join(d["delta"] for d in deltas) == call.arguments

        await client.send(session.tool_result(call.call_id, '{"playing": "So What"}'))
        await client.send(session.request_response())
        await client.wait_for_event(ResponseDone, 2)
        assert sim.connections[0].tool_outputs == [
            {
                "type": "function_call_output",
                "call_id": call.call_id,
                "output": '{"playing": "So What"}',
            }
        ]
        assert [t.text for t in client.of(OutputTranscript) if t.final][-1] == "playing jazz"
        assert len(client.of(ToolCall)) == 1


async def test_a_tool_result_for_an_unknown_call_is_refused(
    sim: XaiRealtimeSim, mock_clock: MockClock
) -> None:
    session = session_for(sim)
    async with open_client(session) as client:
        await ready(client)
        await client.send(session.tool_result("call_nope", "{}"))
        [error] = await client.wait_for_event(ProviderError)
        assert error.code == "invalid_tool_call_id" and "call_nope" in error.message
        assert "[answering our conversation.item.create clk_2]" in error.message


async def test_a_failure_mid_response_is_an_error_then_a_failed_response(
    sim: XaiRealtimeSim, mock_clock: MockClock
) -> None:
    sim.script(Fail(after_chunks=2, text="this will break"), Say("better now"))
    session = session_for(sim)
    async with open_client(session) as client:
        await ready(client)
        await client.send(session.request_response())
        [done] = await client.wait_for_event(ResponseDone)
        [error] = client.of(ProviderError)
        assert error.code == "server_error" and not error.fatal
        assert done.status == "failed" and "realtimesim" in done.detail
        assert len(client.of(AudioDelta)) == 2
        await client.send(session.request_response())
        [_, second] = await client.wait_for_event(ResponseDone, 2)
        assert second.status == "completed"
        assert audio_of(client, second.response_id) == speech_pcm("better now", 24000)


async def test_a_dropped_socket_is_visible_and_fails_the_response(
    sim: XaiRealtimeSim, mock_clock: MockClock
) -> None:
    sim.script(Fail(after_chunks=1, drop=True))
    session = session_for(sim)
    async with open_client(session) as client:
        await ready(client)
        await client.send(session.request_response())
        await client.wait_for(lambda: client.closed is not None)
        assert client.closed is not None and client.closed.code == 1011
        [started] = client.of(ResponseStarted)
        errors = client.of(ProviderError)
        assert [e.code for e in errors] == ["server_error", "connection_lost"]
        assert errors[-1].fatal and not errors[0].fatal
        [done] = client.of(ResponseDone)
        assert done == ResponseDone(
            response_id=started.response_id, status="failed", detail="connection lost"
        )
        assert session.active_response is None
        await sim.wait_until(lambda: sim.connections[0].closed_at is not None)
        assert sim.connections[0].closed_by == "server"


async def test_a_refused_configuration_is_fatal(sim: XaiRealtimeSim, mock_clock: MockClock) -> None:
    session = session_for(sim)
    async with open_client(session, SessionConfig(voice="alloy")) as client:
        [error] = await client.wait_for_event(ProviderError)
        assert error.fatal and error.code == "invalid_value"
        assert "(param session.voice)" in error.message
        assert "[answering our session.update clk_1]" in error.message
        assert not client.of(SessionReady)


async def test_the_apis_refusals_arrive_as_non_fatal_errors(
    sim: XaiRealtimeSim, mock_clock: MockClock
) -> None:
    sim.script(Say("one two three four five six", chunk_delay=0.2))
    session = session_for(sim)
    async with open_client(session) as client:
        await ready(client)
        await client.send(session.commit_turn())  # nothing appended
        await client.wait_for_event(ProviderError)
        await client.send(session.append_audio(tone(40)))
        await client.send(session.clear_audio())
        await client.wait_for(lambda: bool(client.frames_of("input_audio_buffer.cleared")))
        assert sim.connections[0].buffer == b""
        await client.send(session.cancel_response())  # nothing to cancel
        await client.wait_for_event(ProviderError, 2)
        await client.send(session.request_response())
        await client.wait_for_event(ResponseStarted)
        await client.send(session.speak_exact("not now"))  # one is already running
        await client.wait_for_event(ProviderError, 3)
        assert [e.code for e in client.of(ProviderError)] == [
            "input_audio_buffer_commit_empty",
            "response_cancel_not_active",
            "conversation_already_has_active_response",
        ]
        assert not any(e.fatal for e in client.of(ProviderError))
        await client.wait_for_event(ResponseDone)
        assert sim.connections[0].turns == []


async def test_update_changes_instructions_and_tools_mid_session(
    sim: XaiRealtimeSim, mock_clock: MockClock
) -> None:
    session = session_for(sim)
    async with open_client(session, SessionConfig(instructions="Be brief.")) as client:
        await ready(client)
        await client.send(session.update(instructions="Speak French.", tools=(TOOL,)))
        await client.wait_for(lambda: len(client.frames_of("session.updated")) == 2)
        live = sim.connections[0].session
        assert live["instructions"] == "Speak French."
        assert [t["name"] for t in live["tools"]] == ["music_play"]
        assert live["turn_detection"] is None  # untouched by the update
        assert len(client.of(SessionReady)) == 1


async def test_pings_are_ignored_and_keep_their_own_time(mock_clock: MockClock) -> None:
    async with open_xai_realtime_sim(api_key=KEY, ping_interval=5.0) as sim:
        session = session_for(sim)
        async with open_client(session) as client:
            await ready(client)
            opened = sim.connections[0].opened_at
            await client.wait_for(lambda: len(client.frames_of("ping")) == 2)
            assert trio.current_time() - opened == pytest.approx(10.0, abs=0.05)
            first, second = (f["timestamp"] for f in client.frames_of("ping"))
            assert second - first == 5000  # milliseconds of trio time
            assert not client.of(ProviderError)
            assert [type(e) for e in client.events] == [SessionReady]
