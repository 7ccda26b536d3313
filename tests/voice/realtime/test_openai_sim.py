"""`OpenAIRealtimeSession` over real WebSockets against the realtimesim.

The client (`client.py`) sends the session's frames, validated as SDK client events, and
feeds the session every server frame, validated as an SDK server event; so the session and
the sim each meet the SDK's idea of the wire format, not just each other. Pacing is the sim's,
on a MockClock (see conftest), so times here are exact virtual times.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import trio
from trio.testing import MockClock

from clanker.realtimesim import CallTool, Fail, RealtimeSim, Say, SimUsage
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
    Usage,
)
from clanker.voice.realtime.openai import OpenAIRealtimeSession
from clanker.voicesim import speech_pcm

from .client import Client, connected
from .conftest import KEY

TOOL = ToolSpec(
    name="music_play",
    description="Play a song",
    parameters={"type": "object", "properties": {"query": {"type": "string"}}},
)


def session_for(sim: RealtimeSim, key: str = KEY) -> OpenAIRealtimeSession:
    return OpenAIRealtimeSession(key, base_url=sim.url)


def tone(ms: int, freq: float = 440.0) -> bytes:
    t = np.arange(24 * ms) / 24000
    return (np.sin(2 * np.pi * freq * t) * 8000).astype("<i2").tobytes()


def audio_of(client: Client, response_id: str) -> bytes:
    return b"".join(d.pcm for d in client.of(AudioDelta) if d.response_id == response_id)


async def ready(client: Client) -> None:
    await client.wait_for_event(SessionReady)


async def test_start_configures_the_session_and_ready_carries_its_id(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    config = SessionConfig(instructions="Be brief.", voice="marin", tools=(TOOL,))
    async with connected(session_for(sim), config) as client:
        [ready_event] = await client.wait_for_event(SessionReady)
        connection = sim.connections[0]
        assert ready_event.session_id == connection.session["id"]
        assert connection.model == "gpt-realtime"
        assert connection.headers["authorization"] == "<redacted>"
        session = connection.session
        assert session["audio"]["input"]["turn_detection"] is None
        assert session["audio"]["input"]["transcription"] == {"model": "gpt-4o-mini-transcribe"}
        assert session["audio"]["output"]["voice"] == "marin"
        assert session["instructions"] == "Be brief."
        assert [t["name"] for t in session["tools"]] == ["music_play"]
        assert [f["type"] for f in client.frames] == ["session.created", "session.updated"]


async def test_a_spoken_turn_is_heard_transcribed_and_answered_in_audio(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    sim.script(Say("hi there Ana", chunk_ms=100, chunk_delay=0.05))
    sim.hear("play some jazz")
    session = session_for(sim)
    async with connected(session, SessionConfig()) as client:
        await ready(client)
        spoken = tone(700)
        for at in range(0, len(spoken), 960):  # 20 ms frames, as clankvox sends them
            await client.send(session.append_audio(spoken[at : at + 960]))
        await client.send(session.commit_turn())
        await client.wait_for(lambda: any(t.final for t in client.of(InputTranscript)))
        final = [t for t in client.of(InputTranscript) if t.final]
        assert [t.text for t in final] == ["play some jazz"]
        assert "".join(t.text for t in client.of(InputTranscript) if not t.final) == (
            "play some jazz"
        )
        assert sim.connections[0].turns == [spoken]

        started_at = trio.current_time()
        await client.send(session.request_response())
        [done] = await client.wait_for_event(ResponseDone)
        [started] = client.of(ResponseStarted)
        assert done.response_id == started.response_id and done.status == "completed"
        expected = speech_pcm("hi there Ana", 24000)
        assert audio_of(client, done.response_id) == expected
        assert all(d.sample_rate == 24000 for d in client.of(AudioDelta))
        chunks = len(client.of(AudioDelta))
        assert chunks == -(-len(expected) // 4800)  # 100 ms pieces
        transcript = client.of(OutputTranscript)
        assert "".join(t.text for t in transcript if not t.final) == "hi there Ana"
        assert [t.text for t in transcript if t.final] == ["hi there Ana"]
        # Paced on trio time: a chunk_delay between consecutive chunks, nothing else.
        response = sim.connections[0].responses[0]
        assert response.done_at is not None
        assert response.done_at - response.started_at == pytest.approx(0.05 * (chunks - 1))
        assert response.started_at - started_at < 0.05
        # Usage: the sim's estimates (a token per 100 ms heard, per 50 ms spoken).
        assert done.usage is not None
        assert done.usage.audio_in == 7
        assert done.usage.audio_out == len(expected) // 48 // 50
        assert session.active_response is None


async def test_usage_given_in_the_script_arrives_as_given(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    sim.script(Say("ok", usage=SimUsage(audio_in=11, text_in=22, cached_in=5, audio_out=33)))
    session = session_for(sim)
    async with connected(session, SessionConfig()) as client:
        await ready(client)
        await client.send(session.request_response())
        [done] = await client.wait_for_event(ResponseDone)
        assert done.usage == Usage(audio_in=11, text_in=22, cached_in=5, audio_out=33, text_out=1)


async def test_a_labelled_text_turn_reaches_the_conversation(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    session = session_for(sim)
    async with connected(session, SessionConfig(transcribe_input=False)) as client:
        await ready(client)
        await client.send(session.add_text_turn("Ana", "what is playing?"))
        await client.send(session.request_response())
        [done] = await client.wait_for_event(ResponseDone)
        final = [t.text for t in client.of(OutputTranscript) if t.final]
        assert final == ["you said [Ana]: what is playing?"]  # the sim's default echo
        assert sim.connections[0].last_text == "[Ana]: what is playing?"
        assert done.status == "completed"


async def test_speak_exact_says_the_line_out_of_band(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    sim.script(Say("not this"))
    session = session_for(sim)
    async with connected(session, SessionConfig()) as client:
        await ready(client)
        await client.send(session.speak_exact("The song is Blue in Green."))
        [done] = await client.wait_for_event(ResponseDone)
        assert audio_of(client, done.response_id) == speech_pcm("The song is Blue in Green.", 24000)
        assert sim.pending == 1  # the scripted turn is still there for the conversation
        [end] = client.frames_of("response.done")
        assert end["response"]["conversation_id"] is None
        assert end["response"]["metadata"] == {"clanker": "speak_exact"}
        assert client.frames_of("conversation.item.added") == []


async def test_cancel_mid_response_stops_the_audio(sim: RealtimeSim, mock_clock: MockClock) -> None:
    sim.script(Say("a long answer that goes on and on", chunk_delay=0.1))
    session = session_for(sim)
    async with connected(session, SessionConfig()) as client:
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


async def test_truncate_cuts_the_item_at_the_played_position(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    sim.script(Say("hello there, how are you today", chunk_delay=0.1))
    session = session_for(sim)
    async with connected(session, SessionConfig()) as client:
        await ready(client)
        await client.send(session.request_response())
        [first, *_] = await client.wait_for_event(AudioDelta, 4)
        await client.send(session.cancel_response())
        await client.wait_for_event(ResponseDone)
        await client.send(session.truncate(first.item_id, 250))
        await client.wait_for(lambda: bool(client.frames_of("conversation.item.truncated")))
        [cut] = client.frames_of("conversation.item.truncated")
        assert (cut["item_id"], cut["content_index"], cut["audio_end_ms"]) == (
            first.item_id,
            0,
            250,
        )
        assert [t["audio_end_ms"] for t in sim.connections[0].truncations] == [250]
        # Past what was streamed: the API's error, answering our truncate, not fatal.
        await client.send(session.truncate(first.item_id, 60_000))
        [error] = await client.wait_for_event(ProviderError)
        assert error.code == "invalid_value" and not error.fatal
        assert "answering our conversation.item.truncate" in error.message


async def test_a_tool_call_round_trip(sim: RealtimeSim, mock_clock: MockClock) -> None:
    sim.script(CallTool("music_play", {"query": "jazz"}, text="let me look"), Say("playing jazz"))
    session = session_for(sim)
    async with connected(session, SessionConfig(tools=(TOOL,))) as client:
        await ready(client)
        await client.send(session.request_response())
        [first_done] = await client.wait_for_event(ResponseDone)
        [call] = client.of(ToolCall)  # once, though both arguments.done and response.done say it
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
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    session = session_for(sim)
    async with connected(session, SessionConfig()) as client:
        await ready(client)
        await client.send(session.tool_result("call_nope", "{}"))
        [error] = await client.wait_for_event(ProviderError)
        assert error.code == "invalid_tool_call_id" and "call_nope" in error.message


async def test_a_failure_mid_response_is_an_error_then_a_failed_response(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    sim.script(Fail(after_chunks=2, text="this will break"), Say("better now"))
    session = session_for(sim)
    async with connected(session, SessionConfig()) as client:
        await ready(client)
        await client.send(session.request_response())
        [done] = await client.wait_for_event(ResponseDone)
        [error] = client.of(ProviderError)
        assert error.code == "server_error" and not error.fatal
        assert done.status == "failed" and "realtimesim" in done.detail
        assert len(client.of(AudioDelta)) == 2
        # The session goes on: the next response works.
        await client.send(session.request_response())
        [_, second] = await client.wait_for_event(ResponseDone, 2)
        assert second.status == "completed"
        assert audio_of(client, second.response_id) == speech_pcm("better now", 24000)


async def test_a_dropped_socket_is_visible_and_fails_the_response(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    sim.script(Fail(after_chunks=1, drop=True))
    session = session_for(sim)
    async with connected(session, SessionConfig()) as client:
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


async def test_a_wrong_key_is_a_fatal_error_and_a_close(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    session = session_for(sim, key="sk-wrong")
    async with connected(session, SessionConfig()) as client:
        await client.wait_for(lambda: client.closed is not None)
        errors = client.of(ProviderError)
        assert [e.code for e in errors] == ["invalid_api_key", "invalid_api_key"]
        assert all(e.fatal for e in errors)
        assert client.closed is not None and client.closed.code == 3000
        assert not client.of(SessionReady)
        assert not sim.connections[0].authorised


async def test_the_api_refusals_arrive_as_non_fatal_errors(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    sim.script(Say("one two three four five six", chunk_delay=0.2))
    session = session_for(sim)
    async with connected(session, SessionConfig()) as client:
        await ready(client)
        await client.send(session.append_audio(tone(40)))
        await client.send(session.commit_turn())  # under 100 ms
        await client.wait_for_event(ProviderError)
        await client.send(session.clear_audio())
        await client.wait_for(lambda: bool(client.frames_of("input_audio_buffer.cleared")))
        assert sim.connections[0].buffer == b""
        await client.send(session.cancel_response())  # nothing to cancel
        await client.wait_for_event(ProviderError, 2)
        await client.send(session.request_response())
        await client.wait_for_event(ResponseStarted)
        await client.send(session.request_response())  # one is already running
        await client.wait_for_event(ProviderError, 3)
        codes = [e.code for e in client.of(ProviderError)]
        assert codes == [
            "input_audio_buffer_commit_empty",
            "response_cancel_not_active",
            "conversation_already_has_active_response",
        ]
        assert not any(e.fatal for e in client.of(ProviderError))
        await client.wait_for_event(ResponseDone)
        assert sim.connections[0].turns == []


async def test_update_changes_instructions_and_tools_mid_session(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    session = session_for(sim)
    async with connected(session, SessionConfig(instructions="Be brief.")) as client:
        await ready(client)
        await client.send(session.update(instructions="Speak French.", tools=(TOOL,)))
        await client.wait_for(lambda: len(client.frames_of("session.updated")) == 2)
        live = sim.connections[0].session
        assert live["instructions"] == "Speak French."
        assert [t["name"] for t in live["tools"]] == ["music_play"]
        assert live["audio"]["input"]["turn_detection"] is None  # untouched by the update
        assert len(client.of(SessionReady)) == 1
