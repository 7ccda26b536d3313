"""`ElevenLabsAgentSession` over real WebSockets against the realtimesim's ElevenLabs agent.

The client (`provider_client.py`) checks every frame the session sends, and every frame the
sim sends, against ElevenLabs' AsyncAPI contract (`elevenlabs_shapes`), and sends the pongs
the session owes. The agent takes turns itself (its VAD on our audio), so the tests speak to
it: tones are speech, zeros are silence. Times are exact virtual times (see conftest).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import numpy as np
import pytest
import trio
from trio.testing import MockClock

from clanker.realtimesim import CallTool, ElevenLabsAgentSim, Fail, Say, open_elevenlabs_agent_sim
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
)
from clanker.voice.realtime.elevenlabs import ElevenLabsAgentSession
from clanker.voicesim import speech_pcm

from .elevenlabs_shapes import client_message, server_message
from .provider_client import Client, connected

KEY = "xi-sim-test-key"
AGENT = "agent_sim"
FRAME = 640  # 20 ms of 16 kHz s16le, as clankvox hands audio on


@pytest.fixture
async def sim() -> AsyncIterator[ElevenLabsAgentSim]:
    async with open_elevenlabs_agent_sim(api_key=KEY, agent_id=AGENT) as server:
        yield server


def session_for(sim: ElevenLabsAgentSim, **kwargs: Any) -> ElevenLabsAgentSession:
    kwargs.setdefault("api_key", KEY)
    return ElevenLabsAgentSession(AGENT, base_url=sim.url, **kwargs)


def open_client(
    session: ElevenLabsAgentSession, config: SessionConfig | None = None
) -> AbstractAsyncContextManager[Client]:
    return connected(
        session,
        SessionConfig() if config is None else config,
        check_client=client_message,
        check_server=server_message,
    )


def tone(ms: int, rate: int = 16000) -> bytes:
    t = np.arange(rate * ms // 1000) / rate
    return (np.sin(2 * np.pi * 440.0 * t) * 8000).astype("<i2").tobytes()


async def speak(client: Client, pcm: bytes) -> None:
    for at in range(0, len(pcm), FRAME):
        await client.send(client.session.append_audio(pcm[at : at + FRAME]))


def audio_of(client: Client, response_id: str) -> bytes:
    return b"".join(d.pcm for d in client.of(AudioDelta) if d.response_id == response_id)


async def ready(client: Client) -> None:
    await client.wait_for_event(SessionReady)


async def test_start_overrides_the_agent_and_holds_its_greeting(mock_clock: MockClock) -> None:
    async with open_elevenlabs_agent_sim(agent_id=AGENT, first_message="Welcome!") as sim:
        config = SessionConfig(instructions="Be brief.", voice="voice_9")
        async with open_client(session_for(sim, api_key=None), config) as client:
            [ready_event] = await client.wait_for_event(SessionReady)
            conversation = sim.conversation()
            [meta] = client.frames_of("conversation_initiation_metadata")
            event = meta["conversation_initiation_metadata_event"]
            assert ready_event.session_id == event["conversation_id"]
            assert conversation.session["prompt"] == "Be brief."
            assert conversation.session["voice_id"] == "voice_9"
            assert conversation.session["first_message"] == ""
            await trio.sleep(1.0)
            assert conversation.responses == []  # the agent waits for the member
        # Without the hold, the agent greets as soon as the conversation starts.
        greeter = session_for(sim, api_key=None, hold_first_message=False)
        async with open_client(greeter) as client:
            [greeting] = await client.wait_for_event(OutputTranscript)
            assert greeting.text == "Welcome!"
            await client.wait_for(lambda: len(client.of(AudioDelta)) == 5)  # 480 ms in 100 ms


async def test_a_spoken_turn_is_heard_when_the_agent_decides_and_answered(
    sim: ElevenLabsAgentSim, mock_clock: MockClock
) -> None:
    sim.script(Say("hi there Ana", chunk_ms=100, chunk_delay=0.05), Say("you are welcome"))
    sim.hear("play some jazz")
    session = session_for(sim)
    async with open_client(session) as client:
        await ready(client)
        spoken = tone(600)
        await speak(client, spoken)
        stopped_at = trio.current_time()
        [heard] = await client.wait_for_event(InputTranscript)
        # No commit: the agent's own end of turn, 500 ms after the audio stopped.
        assert trio.current_time() - stopped_at == pytest.approx(0.5, abs=0.01)
        assert (heard.text, heard.final) == ("play some jazz", True)
        assert sim.conversation().turns == [spoken]

        [started] = await client.wait_for_event(ResponseStarted)
        expected = speech_pcm("hi there Ana", 16000)
        await client.wait_for(lambda: audio_of(client, started.response_id) == expected)
        chunks = len(client.of(AudioDelta))
        assert chunks == -(-len(expected) // 3200)  # 100 ms pieces at 16 kHz
        assert {d.sample_rate for d in client.of(AudioDelta)} == {16000}
        [text] = client.of(OutputTranscript)
        assert (text.text, text.final, text.response_id) == (
            "hi there Ana",
            True,
            started.response_id,
        )
        response = sim.conversation().responses[0]
        assert response.started_at - stopped_at == pytest.approx(0.5, abs=0.01)
        assert trio.current_time() - response.started_at == pytest.approx(0.05 * (chunks - 1))
        # Nothing says the answer is over: it ends when the next turn begins.
        assert not client.of(ResponseDone)
        await client.send(session.add_text_turn("Ana", "thanks"))
        [done] = await client.wait_for_event(ResponseDone)
        assert done == ResponseDone(response_id=started.response_id, status="completed")


async def test_the_member_interrupts_the_agent_by_speaking(
    sim: ElevenLabsAgentSim, mock_clock: MockClock
) -> None:
    long = "a long answer that goes on and on"
    sim.script(Say(long, chunk_delay=0.1), Say("sorry, go on"))
    session = session_for(sim)
    async with open_client(session) as client:
        await ready(client)
        await client.send(session.add_text_turn("Ana", "tell me everything"))
        [started] = await client.wait_for_event(ResponseStarted)
        await client.wait_for_event(AudioDelta, 3)
        await speak(client, tone(200))  # 200 ms of speech over the agent: a barge-in
        [done] = await client.wait_for_event(ResponseDone)
        assert done.response_id == started.response_id and done.status == "interrupted"
        heard = len(client.of(AudioDelta))
        assert 3 <= heard < len(speech_pcm(long, 16000)) // 3200
        finals = await client.wait_for_event(OutputTranscript, 2)
        corrected = finals[-1]
        assert corrected.response_id == started.response_id and corrected.final
        assert long.startswith(corrected.text) and 0 < len(corrected.text) < len(long)
        assert sim.conversation().interruptions == [int(sim.conversation().responses[0].id)]
        # The member's turn goes on and ends; the agent answers it.
        [heard_turn] = await client.wait_for_event(InputTranscript)
        assert heard_turn.text == "(200 ms of audio)"
        await client.wait_for_event(ResponseStarted, 2)
        assert [t.text for t in client.of(OutputTranscript)][-1] == "sorry, go on"
        cut = [d for d in client.of(AudioDelta) if d.response_id == started.response_id]
        assert len(cut) == heard  # nothing of the cut answer after the interruption


async def test_a_labelled_text_turn_is_answered(
    sim: ElevenLabsAgentSim, mock_clock: MockClock
) -> None:
    session = session_for(sim)
    async with open_client(session, SessionConfig(transcribe_input=False)) as client:
        await ready(client)
        assert session.request_response() == []
        await client.send(session.add_text_turn("Ana", "what is playing?"))
        [said] = await client.wait_for_event(OutputTranscript)
        assert said.text == "you said [Ana]: what is playing?"  # the sim's default echo
        assert sim.conversation().text_turns == ["[Ana]: what is playing?"]


async def test_a_tool_call_round_trip(sim: ElevenLabsAgentSim, mock_clock: MockClock) -> None:
    sim.script(CallTool("music_play", {"query": "jazz"}, text="let me look"), Say("playing jazz"))
    session = session_for(sim)
    async with open_client(session) as client:
        await ready(client)
        await client.send(session.add_text_turn("Ana", "play jazz"))
        [call] = await client.wait_for_event(ToolCall)
        assert call.name == "music_play" and json.loads(call.arguments) == {"query": "jazz"}
        [first] = await client.wait_for_event(ResponseDone)
        assert (first.response_id, first.detail) == (call.response_id, "tool_call")
        assert audio_of(client, call.response_id) == speech_pcm("let me look", 16000)

        await client.send(session.tool_result(call.call_id, '{"playing": "So What"}'))
        await client.wait_for_event(ResponseStarted, 2)  # the agent goes on by itself
        await client.wait_for(lambda: client.of(OutputTranscript)[-1].text == "playing jazz")
        assert sim.conversation().tool_results == [
            {
                "type": "client_tool_result",
                "tool_call_id": call.call_id,
                "result": '{"playing": "So What"}',
                "is_error": False,
            }
        ]
        assert len(client.of(ToolCall)) == 1


async def test_a_result_for_an_unknown_call_closes_the_conversation(
    sim: ElevenLabsAgentSim, mock_clock: MockClock
) -> None:
    session = session_for(sim)
    async with open_client(session) as client:
        await ready(client)
        await client.send(session.tool_result("call_nope", "{}"))
        await client.wait_for(lambda: client.closed is not None)
        assert client.closed is not None and client.closed.code == 1008
        errors = client.of(ProviderError)
        assert [e.code for e in errors] == ["value_error", "invalid_input"]
        assert all(e.fatal for e in errors) and "call_nope" in errors[0].message


async def test_a_failure_mid_response_is_an_error_and_a_close(
    sim: ElevenLabsAgentSim, mock_clock: MockClock
) -> None:
    sim.script(Fail(after_chunks=2, text="this will break", message="All TTS models failed"))
    session = session_for(sim)
    async with open_client(session) as client:
        await ready(client)
        await client.send(session.add_text_turn("Ana", "hello"))
        await client.wait_for(lambda: client.closed is not None)
        assert client.closed is not None and client.closed.code == 1011
        assert len(client.of(AudioDelta)) == 2
        [done] = client.of(ResponseDone)
        assert done.status == "failed" and "All TTS models failed" in done.detail
        errors = client.of(ProviderError)
        assert [e.code for e in errors] == ["unknown_websocket_crash", "server_error"]
        assert all(e.fatal for e in errors)
        assert session.active_response is None


async def test_a_dropped_socket_is_visible_and_fails_the_response(
    sim: ElevenLabsAgentSim, mock_clock: MockClock
) -> None:
    sim.script(Fail(after_chunks=1, error=False, drop=True, close_code=1011))
    session = session_for(sim)
    async with open_client(session) as client:
        await ready(client)
        await client.send(session.add_text_turn("Ana", "hello"))
        await client.wait_for(lambda: client.closed is not None)
        [started] = client.of(ResponseStarted)
        assert client.of(ResponseDone) == [
            ResponseDone(response_id=started.response_id, status="failed", detail="connection lost")
        ]
        [error] = client.of(ProviderError)
        assert error.code == "server_error" and error.fatal
        await sim.wait_until(lambda: sim.conversation().closed_at is not None)
        assert sim.conversation().closed_by == "server"


async def test_pings_are_answered_with_pongs(mock_clock: MockClock) -> None:
    async with (
        open_elevenlabs_agent_sim(agent_id=AGENT, ping_interval=2.0) as sim,
        open_client(ElevenLabsAgentSession(AGENT, base_url=sim.url)) as client,
    ):
        await ready(client)
        await sim.wait_until(lambda: len(sim.conversation().pongs) == 2)
        assert sim.conversation().pongs == [1, 2]
        pings = [f["ping_event"] for f in client.frames_of("ping")]
        assert pings == [{"event_id": 1, "ping_ms": None}, {"event_id": 2, "ping_ms": 0}]
        assert trio.current_time() - sim.conversation().opened_at == pytest.approx(4.0, abs=0.01)
        assert [type(e) for e in client.events] == [SessionReady]


async def test_a_wrong_key_is_an_error_and_a_close_and_a_signed_url_needs_none(
    sim: ElevenLabsAgentSim, mock_clock: MockClock
) -> None:
    async with open_client(session_for(sim, api_key="xi-wrong")) as client:
        await client.wait_for(lambda: client.closed is not None)
        assert [e.code for e in client.of(ProviderError)] == ["invalid_input", "invalid_input"]
        assert "Authentication failed" in client.of(ProviderError)[0].message
        assert not client.of(SessionReady)
    signed = ElevenLabsAgentSession(AGENT, signed_url=sim.signed_url)
    async with open_client(signed) as client:
        await ready(client)
        assert sim.conversation(1).authorised


async def test_an_agent_with_other_audio_formats_is_a_fatal_error(mock_clock: MockClock) -> None:
    async with open_elevenlabs_agent_sim(agent_id=AGENT, output_format="pcm_24000") as sim:
        async with open_client(session_for(sim, api_key=None)) as client:
            [error] = await client.wait_for_event(ProviderError)
            assert error.fatal and error.code == "audio_format" and "pcm_24000" in error.message
            assert not client.of(SessionReady)
        matched = session_for(sim, api_key=None, output_rate=24000)
        async with open_client(matched) as client:
            await ready(client)
            await client.send(matched.add_text_turn("Ana", "hi"))
            [started] = await client.wait_for_event(ResponseStarted)
            expected = speech_pcm("you said [Ana]: hi", 24000)
            await client.wait_for(lambda: audio_of(client, started.response_id) == expected)


async def test_an_agent_that_allows_no_overrides_refuses_the_start(mock_clock: MockClock) -> None:
    async with open_elevenlabs_agent_sim(agent_id=AGENT, allow_overrides=False) as sim:
        async with open_client(session_for(sim, api_key=None)) as client:
            await client.wait_for(lambda: client.closed is not None)
            [refused, closed] = client.of(ProviderError)
            assert refused.code == "override_error" and refused.fatal
            assert "security settings" in refused.message
            assert closed.code == "invalid_input"
        # Without overrides (no hold, no prompt, no voice) the same agent talks.
        plain = session_for(sim, api_key=None, hold_first_message=False)
        async with open_client(plain) as client:
            await ready(client)


async def test_activity_keeps_the_members_turn_open_and_context_is_only_noted(
    sim: ElevenLabsAgentSim, mock_clock: MockClock
) -> None:
    session = session_for(sim)
    async with open_client(session) as client:
        await ready(client)
        await client.send(session.add_context("Bo joined the call"))
        await speak(client, tone(300))
        began = trio.current_time()
        await trio.sleep(0.3)
        await client.send(session.user_activity())
        await client.wait_for_event(InputTranscript)
        assert trio.current_time() - began == pytest.approx(0.8, abs=0.01)  # 0.3 + 0.5
        conversation = sim.conversation()
        assert conversation.contexts == ["Bo joined the call"]
        assert len(conversation.activity) == 1
        assert len(conversation.responses) == 1  # the context asked for nothing


async def test_input_transcripts_can_be_turned_off(
    sim: ElevenLabsAgentSim, mock_clock: MockClock
) -> None:
    session = session_for(sim)
    async with open_client(session, SessionConfig(transcribe_input=False)) as client:
        await ready(client)
        await speak(client, tone(300) + bytes(16000))  # speech, then 500 ms of silence
        await client.wait_for_event(ResponseStarted)
        assert client.frames_of("user_transcript") and not client.of(InputTranscript)
