"""`GeminiLiveSession` over real WebSockets against the realtimesim's Gemini server.

The client (`gemini_client.py`) sends the session's frames, validated as SDK Live client
messages, and feeds the session every server frame, validated as an SDK server message; so
the session and the sim each meet the SDK's idea of the wire format, not just each other.
Pacing is the sim's, on a MockClock (see conftest), so times here are exact virtual times.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import numpy as np
import pytest
import trio
from trio.testing import MockClock

from clanker.realtimesim import CallTool, Fail, GeminiLiveSim, Say, SimUsage, open_gemini_live_sim
from clanker.realtimesim.gemini_link import BAD_KEY, GO_AWAY_ABORT
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
from clanker.voice.realtime.gemini import GeminiLiveSession
from clanker.voicesim import speech_pcm

from .gemini_client import GeminiClient, connected

KEY = "gemini-sim-test-key"
TOOL = ToolSpec(
    name="music_play",
    description="Play a song",
    parameters={"type": "object", "properties": {"query": {"type": "string"}}},
)


@pytest.fixture
async def gemini_sim() -> AsyncIterator[GeminiLiveSim]:
    async with open_gemini_live_sim(api_key=KEY) as server:
        yield server


def session_for(sim: GeminiLiveSim, key: str = KEY) -> GeminiLiveSession:
    return GeminiLiveSession(key, base_url=sim.url)


def tone(ms: int, freq: float = 440.0) -> bytes:
    t = np.arange(16 * ms) / 16000
    return (np.sin(2 * np.pi * freq * t) * 8000).astype("<i2").tobytes()


def audio_of(client: GeminiClient, response_id: str) -> bytes:
    return b"".join(d.pcm for d in client.of(AudioDelta) if d.response_id == response_id)


async def ready(client: GeminiClient) -> None:
    await client.wait_for_event(SessionReady)


async def say_turn(client: GeminiClient, pcm: bytes) -> None:
    """A member's spoken turn: 20 ms frames, as clankvox sends them, then commit and ask."""
    for at in range(0, len(pcm), 640):
        await client.send(client.session.append_audio(pcm[at : at + 640]))
    await client.send(client.session.commit_turn())
    await client.send(client.session.request_response())


async def test_start_sets_the_session_up_with_manual_activity(
    gemini_sim: GeminiLiveSim, mock_clock: MockClock
) -> None:
    config = SessionConfig(instructions="Be brief.", voice="Puck", tools=(TOOL,))
    async with connected(session_for(gemini_sim), config) as client:
        [ready_event] = await client.wait_for_event(SessionReady)
        assert ready_event == SessionReady(provider="gemini")
        connection = gemini_sim.connections[0]
        assert connection.model == "models/gemini-3.1-flash-live-preview"
        assert connection.headers["x-goog-api-key"] == "<redacted>"
        setup = connection.setup
        assert setup["realtimeInputConfig"]["automaticActivityDetection"] == {"disabled": True}
        assert setup["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
        voice = setup["generationConfig"]["speechConfig"]["voiceConfig"]
        assert voice["prebuiltVoiceConfig"]["voiceName"] == "Puck"
        [declaration] = setup["tools"][0]["functionDeclarations"]
        assert declaration["name"] == "music_play"
        assert client.messages == [{"setupComplete": {}}]


async def test_a_spoken_turn_is_heard_transcribed_and_answered_in_audio(
    gemini_sim: GeminiLiveSim, mock_clock: MockClock
) -> None:
    gemini_sim.script(Say("hi there Ana", chunk_ms=100, chunk_delay=0.05))
    gemini_sim.hear("play some jazz")
    session = session_for(gemini_sim)
    async with connected(session, SessionConfig()) as client:
        await ready(client)
        spoken = tone(1500)
        asked_at = trio.current_time()
        await say_turn(client, spoken)
        [done] = await client.wait_for_event(ResponseDone)
        connection = gemini_sim.connections[0]
        [turn] = connection.turns
        assert bytes(turn.audio) == spoken and turn.rate == 16000
        pieces = connection.received_of("realtimeInput")
        assert [next(iter(p)) for p in pieces] == [
            "activityStart",
            "audio",
            "audio",
            "activityEnd",
        ]
        assert connection.outside_audio == 0
        heard = client.of(InputTranscript)
        assert "".join(t.text for t in heard if not t.final) == "play some jazz"
        assert [(t.text, t.item_id) for t in heard if t.final] == [
            ("play some jazz", "gemini_in_1")
        ]
        [started] = client.of(ResponseStarted)
        assert done.response_id == started.response_id and done.status == "completed"
        expected = speech_pcm("hi there Ana", 24000)
        assert audio_of(client, done.response_id) == expected
        assert {d.sample_rate for d in client.of(AudioDelta)} == {24000}
        chunks = len(client.of(AudioDelta))
        assert chunks == -(-len(expected) // 4800)  # 100 ms pieces
        said = client.of(OutputTranscript)
        assert "".join(t.text for t in said if not t.final) == "hi there Ana"
        assert [t.text for t in said if t.final] == ["hi there Ana"]
        # Paced on trio time: a chunk_delay between consecutive chunks, nothing else.
        response = connection.responses[0]
        assert response.done_at is not None
        assert response.done_at - response.started_at == pytest.approx(0.05 * (chunks - 1))
        assert response.started_at - asked_at < 0.05
        # Usage: the sim's estimates (32 audio tokens a second heard and spoken).
        assert done.usage == Usage(audio_in=48, audio_out=len(expected) // 48 * 32 // 1000)
        assert client.content("generationComplete") == [True]
        assert session.active_response is None


async def test_usage_given_in_the_script_arrives_as_given(
    gemini_sim: GeminiLiveSim, mock_clock: MockClock
) -> None:
    gemini_sim.script(Say("ok", usage=SimUsage(audio_in=11, text_in=22, cached_in=5, audio_out=33)))
    session = session_for(gemini_sim)
    async with connected(session, SessionConfig()) as client:
        await ready(client)
        await client.send(session.request_response())
        [done] = await client.wait_for_event(ResponseDone)
        assert done.usage == Usage(audio_in=11, text_in=22, cached_in=5, audio_out=33)


async def test_a_labelled_text_turn_is_an_activity_with_text(
    gemini_sim: GeminiLiveSim, mock_clock: MockClock
) -> None:
    session = session_for(gemini_sim)
    async with connected(session, SessionConfig(transcribe_input=False)) as client:
        await ready(client)
        await client.send(session.add_text_turn("Ana", "what is playing?"))
        await client.send(session.request_response())
        [done] = await client.wait_for_event(ResponseDone)
        assert done.status == "completed"
        final = [t.text for t in client.of(OutputTranscript) if t.final]
        assert final == ["you said [Ana]: what is playing?"]  # the sim's default echo
        [turn] = gemini_sim.connections[0].turns
        assert turn.texts == ["[Ana]: what is playing?"] and not turn.audio
        assert "inputAudioTranscription" not in gemini_sim.connections[0].setup


async def test_cancel_mid_answer_cuts_it_and_the_next_turn_finishes_the_open_activity(
    gemini_sim: GeminiLiveSim, mock_clock: MockClock
) -> None:
    gemini_sim.script(Say("a long answer that goes on and on", chunk_delay=0.1), Say("yes?"))
    session = session_for(gemini_sim)
    async with connected(session, SessionConfig()) as client:
        await ready(client)
        await client.send(session.request_response())
        await client.wait_for_event(AudioDelta, 3)
        cancel = session.cancel_response()
        assert [json.loads(f) for f in cancel] == [{"realtimeInput": {"activityStart": {}}}]
        await client.send(cancel)
        [done] = await client.wait_for_event(ResponseDone)
        assert done.status == "cancelled" and done.detail == "cut by our activityStart"
        heard = len(client.of(AudioDelta))
        full = speech_pcm("a long answer that goes on and on", 24000)
        assert 3 <= heard < len(full) // 4800
        await trio.sleep(1.0)  # nothing more streams after the cut
        assert len(client.of(AudioDelta)) == heard
        connection = gemini_sim.connections[0]
        assert connection.responses[0].status == "interrupted"
        assert client.content("interrupted") == [True]
        assert connection.activity is not None  # the cut opened the member's activity
        # The member's words after the cut end that activity and are answered.
        await say_turn(client, tone(300))
        [_, second] = await client.wait_for_event(ResponseDone, 2)
        assert second.status == "completed"
        assert audio_of(client, second.response_id) == speech_pcm("yes?", 24000)
        assert [bytes(t.audio) for t in connection.turns] == [b"", tone(300)]
        starts = [p for p in connection.received_of("realtimeInput") if "activityStart" in p]
        assert len(starts) == 2  # the first request's and the cut's, none more


async def test_a_tool_call_round_trip(gemini_sim: GeminiLiveSim, mock_clock: MockClock) -> None:
    gemini_sim.script(
        CallTool("music_play", {"query": "jazz"}, text="let me look"), Say("playing jazz")
    )
    session = session_for(gemini_sim)
    async with connected(session, SessionConfig(tools=(TOOL,))) as client:
        await ready(client)
        await client.send(session.request_response())
        [first_done] = await client.wait_for_event(ResponseDone)
        [call] = client.of(ToolCall)
        assert call.name == "music_play" and json.loads(call.arguments) == {"query": "jazz"}
        assert call.response_id == first_done.response_id and first_done.status == "completed"
        assert [t.text for t in client.of(OutputTranscript) if t.final] == ["let me look"]
        await client.send(session.tool_result(call.call_id, '{"playing": "So What"}'))
        assert session.request_response() == []  # Gemini goes on by itself
        [_, second] = await client.wait_for_event(ResponseDone, 2)
        assert second.response_id != first_done.response_id and second.status == "completed"
        assert gemini_sim.connections[0].tool_responses == [
            {
                "id": call.call_id,
                "name": "music_play",
                "response": {"output": '{"playing": "So What"}'},
            }
        ]
        assert [t.text for t in client.of(OutputTranscript) if t.final][-1] == "playing jazz"
        assert len(client.of(ToolCall)) == 1


async def test_a_member_cutting_in_during_a_tool_call_cancels_it(
    gemini_sim: GeminiLiveSim, mock_clock: MockClock
) -> None:
    gemini_sim.script(CallTool("music_play", {"query": "jazz"}), Say("okay, no music"))
    session = session_for(gemini_sim)
    async with connected(session, SessionConfig(tools=(TOOL,))) as client:
        await ready(client)
        await client.send(session.request_response())
        [call] = await client.wait_for_event(ToolCall)
        await say_turn(client, tone(200))
        [cancelled] = await client.wait_for_event(ProviderError)
        assert cancelled.code == "tool_calls_cancelled" and call.call_id in cancelled.message
        assert session.tool_result(call.call_id, "late") == []
        [_, answer] = await client.wait_for_event(ResponseDone, 2)
        assert audio_of(client, answer.response_id) == speech_pcm("okay, no music", 24000)
        assert gemini_sim.connections[0].tool_responses == []


async def test_a_rejected_answer_ends_incomplete_and_the_session_goes_on(
    gemini_sim: GeminiLiveSim, mock_clock: MockClock
) -> None:
    gemini_sim.script(Fail(after_chunks=2, text="this will break"), Say("better now"))
    session = session_for(gemini_sim)
    async with connected(session, SessionConfig()) as client:
        await ready(client)
        await client.send(session.request_response())
        [done] = await client.wait_for_event(ResponseDone)
        assert (done.status, done.detail) == ("incomplete", "RESPONSE_REJECTED")
        assert len(client.of(AudioDelta)) == 2
        await client.send(session.add_text_turn("Ana", "again?"))
        await client.send(session.request_response())
        [_, second] = await client.wait_for_event(ResponseDone, 2)
        assert second.status == "completed"
        assert audio_of(client, second.response_id) == speech_pcm("better now", 24000)


async def test_an_internal_error_mid_answer_closes_the_socket_and_fails_the_answer(
    gemini_sim: GeminiLiveSim, mock_clock: MockClock
) -> None:
    gemini_sim.script(Fail(after_chunks=1, drop=True, message="Internal error encountered."))
    session = session_for(gemini_sim)
    async with connected(session, SessionConfig()) as client:
        await ready(client)
        await client.send(session.request_response())
        await client.wait_for(lambda: client.closed is not None)
        assert client.closed is not None
        assert (client.closed.code, client.closed.reason) == (1011, "Internal error encountered.")
        [started] = client.of(ResponseStarted)
        assert client.of(ResponseDone) == [
            ResponseDone(response_id=started.response_id, status="failed", detail="connection lost")
        ]
        [error] = client.of(ProviderError)
        assert error.code == "internal_error" and error.fatal
        assert session.active_response is None
        await gemini_sim.wait_until(lambda: gemini_sim.connections[0].closed_at is not None)
        assert gemini_sim.connections[0].closed_by == "server"


async def test_a_wrong_key_is_a_fatal_close(
    gemini_sim: GeminiLiveSim, mock_clock: MockClock
) -> None:
    async with connected(session_for(gemini_sim, key="wrong"), SessionConfig()) as client:
        await client.wait_for(lambda: client.closed is not None)
        assert client.closed is not None
        assert (client.closed.code, client.closed.reason) == (1007, BAD_KEY)
        [error] = client.of(ProviderError)
        assert error.code == "invalid_api_key" and error.fatal
        assert not client.of(SessionReady)
        assert not gemini_sim.connections[0].authorised


async def test_an_unknown_model_is_a_fatal_close(mock_clock: MockClock) -> None:
    async with open_gemini_live_sim(models=("gemini-3.1-flash-live-preview",)) as sim:
        session = session_for(sim)
        async with connected(session, SessionConfig(model="gemini-9-ultra")) as client:
            await client.wait_for(lambda: client.closed is not None)
            assert client.closed is not None and client.closed.code == 1008
            assert client.closed.reason.startswith(
                "models/gemini-9-ultra is not found for API version v1beta"
            )
            [error] = client.of(ProviderError)
            assert error.code == "policy_violation" and error.fatal


async def test_go_away_warns_then_the_connection_ends_when_the_time_is_up(
    gemini_sim: GeminiLiveSim, mock_clock: MockClock
) -> None:
    session = session_for(gemini_sim)
    async with connected(session, SessionConfig()) as client:
        await ready(client)
        warned_at = trio.current_time()
        gemini_sim.go_away(5.0)
        [warning] = await client.wait_for_event(ProviderError)
        assert warning.code == "go_away" and not warning.fatal and "in 5s" in warning.message
        await client.wait_for(lambda: client.closed is not None)
        assert trio.current_time() - warned_at == 5.0
        assert client.closed is not None and client.closed.code == 1008
        assert GO_AWAY_ABORT.startswith(client.closed.reason)
        assert client.of(ProviderError)[-1].fatal


async def test_a_new_turn_during_an_answer_cuts_it_and_is_answered_once(
    gemini_sim: GeminiLiveSim, mock_clock: MockClock
) -> None:
    gemini_sim.script(Say("this goes on for quite a while", chunk_delay=0.1), Say("sure"))
    session = session_for(gemini_sim)
    async with connected(session, SessionConfig()) as client:
        await ready(client)
        await client.send(session.request_response())
        await client.wait_for_event(AudioDelta, 2)
        await say_turn(client, tone(400))  # barge-in without a cancel first
        [first, second] = await client.wait_for_event(ResponseDone, 2)
        assert first.status == "cancelled" and second.status == "completed"
        assert audio_of(client, second.response_id) == speech_pcm("sure", 24000)
        await trio.sleep(1.0)
        # The cut turn's own turnComplete (after "interrupted") made no empty third answer.
        assert len(client.of(ResponseDone)) == len(client.of(ResponseStarted)) == 2
        assert client.content("turnComplete") == [True, True]
