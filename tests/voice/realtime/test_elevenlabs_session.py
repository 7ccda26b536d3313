"""`ElevenLabsAgentSession` as a pure state machine: no trio, no sockets.

Every frame a command returns is checked against ElevenLabs' AsyncAPI contract
(`elevenlabs_shapes`, unknown fields refused), and every server message fed to `receive` is
checked against it first (except the ones written wrong on purpose).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

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
    Unsupported,
)
from clanker.voice.realtime.elevenlabs import ElevenLabsAgentSession

from .elevenlabs_shapes import client_message, server_message

AGENT = "agent_7"


def frames(outgoing: list[str | bytes]) -> list[dict[str, Any]]:
    for frame in outgoing:
        client_message(frame)
    return [json.loads(f) for f in outgoing]


def one(outgoing: list[str | bytes]) -> dict[str, Any]:
    [frame] = frames(outgoing)
    return frame


def feed(to: ElevenLabsAgentSession, **message: Any) -> list[Any]:
    """Check ``message`` against the contract, then give it to the session ``to``."""
    server_message(message)
    return to.receive(json.dumps(message))


def fresh(**kwargs: Any) -> ElevenLabsAgentSession:
    return ElevenLabsAgentSession(AGENT, **kwargs)


def metadata(out: str = "pcm_16000", into: str = "pcm_16000") -> dict[str, Any]:
    return {
        "type": "conversation_initiation_metadata",
        "conversation_initiation_metadata_event": {
            "conversation_id": "conv_1",
            "agent_output_audio_format": out,
            "user_input_audio_format": into,
        },
    }


def audio(pcm: bytes, event_id: int) -> dict[str, Any]:
    chunk = base64.b64encode(pcm).decode()
    return {"type": "audio", "audio_event": {"audio_base_64": chunk, "event_id": event_id}}


def said(text: str, event_id: int) -> dict[str, Any]:
    return {
        "type": "agent_response",
        "agent_response_event": {"agent_response": text, "event_id": event_id},
    }


def heard(text: str, event_id: int) -> dict[str, Any]:
    return {
        "type": "user_transcript",
        "user_transcription_event": {"user_transcript": text, "event_id": event_id},
    }


TOOL = ToolSpec(name="music_play", description="Play", parameters={"type": "object"})

# -- what the agent can and cannot do ------------------------------------------------------------


def test_capabilities_say_the_agent_keeps_the_turns() -> None:
    caps = fresh().capabilities
    assert caps.provider == "elevenlabs"
    assert (caps.input_rate, caps.output_rate) == (16000, 16000)
    assert caps.audio_input and caps.text_input and caps.tools
    assert not caps.manual_turns
    assert not any(
        (caps.exact_line, caps.cancel, caps.truncate, caps.update_tools, caps.update_instructions)
    )
    assert caps.interrupt_ack == "local_cut_async_confirmation"
    rated = fresh(input_rate=24000, output_rate=44100).capabilities
    assert (rated.input_rate, rated.output_rate) == (24000, 44100)


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (lambda s: s.commit_turn(), "commit_turn (the agent detects the end of a turn)"),
        (lambda s: s.clear_audio(), "clear_audio"),
        (lambda s: s.speak_exact("hi"), "speak_exact"),
        (lambda s: s.cancel_response(), "cancel_response (only the member's voice interrupts)"),
        (lambda s: s.truncate("i", 10), "truncate"),
        (lambda s: s.update(instructions="x"), "update"),
        (lambda s: s.start(SessionConfig(tools=(TOOL,))), "client tools are defined on the agent"),
    ],
)
def test_what_the_agent_cannot_do_is_unsupported(command: Any, says: str) -> None:
    with pytest.raises(Unsupported, match=r"elevenlabs realtime sessions do not support .*"):
        command(fresh())
    with pytest.raises(Unsupported) as raised:
        command(fresh())
    assert says in str(raised.value)


def test_request_response_sends_nothing_since_the_agent_answers_on_its_own() -> None:
    assert fresh().request_response() == []


def test_target_names_the_agent_and_carries_the_key() -> None:
    assert fresh().target().url == "wss://api.elevenlabs.io/v1/convai/conversation?agent_id=agent_7"
    assert fresh().target().headers == ()
    keyed = fresh(api_key="xi-key", base_url="ws://127.0.0.1:9/v1/convai/conversation/")
    assert keyed.target().url == "ws://127.0.0.1:9/v1/convai/conversation?agent_id=agent_7"
    assert keyed.target().headers == (("xi-api-key", "xi-key"),)
    signed = "wss://api.elevenlabs.io/v1/convai/conversation?agent_id=a&conversation_signature=s"
    assert fresh(signed_url=signed).target().url == signed


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"agent_id": " "}, "needs the agent's id"),
        ({"agent_id": AGENT, "api_key": ""}, "API key is empty; pass None"),
        ({"agent_id": AGENT, "base_url": "https://x"}, "base_url must be ws:// or wss://"),
        ({"agent_id": AGENT, "signed_url": "https://x"}, "signed_url must be ws:// or wss://"),
        ({"agent_id": AGENT, "input_rate": 11025}, "input_rate 11025 is none of them"),
        ({"agent_id": AGENT, "output_rate": 32000}, "output_rate 32000 is none of them"),
    ],
)
def test_bad_construction_is_refused_by_name(kwargs: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        ElevenLabsAgentSession(**kwargs)


# -- commands --------------------------------------------------------------------------------


def test_start_overrides_prompt_voice_and_holds_the_first_message() -> None:
    frame = one(fresh().start(SessionConfig(instructions="Be brief.", voice="voice_9")))
    assert frame == {
        "type": "conversation_initiation_client_data",
        "conversation_config_override": {
            "agent": {"prompt": {"prompt": "Be brief."}, "first_message": ""},
            "tts": {"voice_id": "voice_9"},
        },
    }
    bare = one(fresh(hold_first_message=False).start(SessionConfig()))
    assert bare == {"type": "conversation_initiation_client_data"}


def test_start_refuses_a_model_other_than_the_agent() -> None:
    with pytest.raises(ValueError, match="chooses its own LLM"):
        fresh().start(SessionConfig(model="gpt-4o"))
    assert fresh().start(SessionConfig(model=AGENT))


def test_audio_is_a_typeless_user_audio_chunk_split_at_ten_seconds() -> None:
    session = fresh()
    pcm = bytes(range(256)) * 4
    assert one(session.append_audio(pcm)) == {"user_audio_chunk": base64.b64encode(pcm).decode()}
    ten = 10 * 16000 * 2
    parts = frames(session.append_audio(b"\x01\x00" * (ten // 2 + 1)))
    assert [len(base64.b64decode(p["user_audio_chunk"])) for p in parts] == [ten, 2]
    assert session.append_audio(b"") == []
    with pytest.raises(ValueError, match="this chunk has 3"):
        session.append_audio(b"abc")


def test_a_text_turn_is_a_labelled_user_message() -> None:
    assert one(fresh().add_text_turn("Ana", " what is playing? ")) == {
        "type": "user_message",
        "text": "[Ana]: what is playing?",
    }
    with pytest.raises(ValueError, match="needs a speaker's name"):
        fresh().add_text_turn("[]", "hi")


def test_a_tool_result_is_a_client_tool_result() -> None:
    assert one(fresh().tool_result("call_1", '{"ok": true}')) == {
        "type": "client_tool_result",
        "tool_call_id": "call_1",
        "result": '{"ok": true}',
        "is_error": False,
    }
    assert one(fresh().tool_result("call_1", "no such song", is_error=True))["is_error"]
    with pytest.raises(ValueError, match="call id"):
        fresh().tool_result("", "x")


def test_context_and_activity_beyond_the_interface() -> None:
    session = fresh()
    assert one(session.add_context(" Bo joined the call ")) == {
        "type": "contextual_update",
        "text": "Bo joined the call",
    }
    assert one(session.user_activity()) == {"type": "user_activity"}
    with pytest.raises(ValueError, match="needs text"):
        session.add_context(" ")
    assert session.close() == []


# -- receiving ---------------------------------------------------------------------------------


def test_metadata_is_ready_when_the_formats_match() -> None:
    session = fresh()
    assert feed(session, **metadata()) == [SessionReady(provider="elevenlabs", session_id="conv_1")]
    assert session.ready and session.session_id == "conv_1"


@pytest.mark.parametrize(("out", "into"), [("pcm_24000", "pcm_16000"), ("pcm_16000", "ulaw_8000")])
def test_metadata_with_other_formats_is_fatal_and_names_both(out: str, into: str) -> None:
    [error] = feed(fresh(), **metadata(out, into))
    assert isinstance(error, ProviderError) and error.fatal and error.code == "audio_format"
    assert out in error.message and into in error.message and "pcm_16000 in" in error.message
    assert fresh(output_rate=24000).receive(json.dumps(metadata("pcm_24000")))[0] == SessionReady(
        provider="elevenlabs", session_id="conv_1"
    )


def test_a_response_is_one_event_id_and_ends_with_the_next_user_turn() -> None:
    session = fresh()
    pcm = b"\x01\x00\x02\x00"
    first = feed(session, **said("Hi there.", 2))
    assert first == [
        ResponseStarted(response_id="el_resp_1"),
        OutputTranscript(
            response_id="el_resp_1", item_id="el_item_2", text="Hi there.", final=True
        ),
    ]
    assert feed(session, **audio(pcm, 2)) == [
        AudioDelta(response_id="el_resp_1", item_id="el_item_2", pcm=pcm, sample_rate=16000)
    ]
    assert session.active_response == "el_resp_1"
    assert feed(session, **heard("and then?", 3)) == [
        ResponseDone(response_id="el_resp_1", status="completed"),
        InputTranscript(item_id="el_user_3", text="and then?", final=True),
    ]
    # The next agent event id is a new response; a later one ends it as completed.
    assert feed(session, **audio(pcm, 4))[0] == ResponseStarted(response_id="el_resp_2")
    assert feed(session, **audio(pcm, 6))[:2] == [
        ResponseDone(response_id="el_resp_2", status="completed"),
        ResponseStarted(response_id="el_resp_3"),
    ]


def test_an_interruption_ends_the_response_drops_its_late_audio_and_takes_the_correction() -> None:
    session = fresh()
    feed(session, **said("A long answer.", 2))
    feed(session, **audio(b"\x01\x00", 2))
    assert feed(session, type="interruption", interruption_event={"event_id": 2}) == [
        ResponseDone(
            response_id="el_resp_1", status="interrupted", detail="the agent heard the member"
        )
    ]
    assert feed(session, **audio(b"\x01\x00", 2)) == []  # late audio of the cut response
    assert feed(session, **said("A long answer.", 2)) == []
    correction = {
        "original_agent_response": "A long answer.",
        "corrected_agent_response": "A long",
        "event_id": 2,
    }
    assert feed(
        session, type="agent_response_correction", agent_response_correction_event=correction
    ) == [OutputTranscript(response_id="el_resp_1", item_id="el_item_2", text="A long", final=True)]
    unknown = {**correction, "event_id": 9}
    assert (
        feed(session, type="agent_response_correction", agent_response_correction_event=unknown)
        == []
    )
    assert feed(session, **audio(b"\x01\x00", 4))[0] == ResponseStarted(response_id="el_resp_2")


def test_an_interruption_with_nothing_speaking_gives_nothing() -> None:
    assert feed(fresh(), type="interruption", interruption_event={"event_id": 1}) == []


def test_a_client_tool_call_is_a_tool_call_that_ends_its_response() -> None:
    session = fresh()
    feed(session, **said("Let me look.", 2))
    call = {
        "tool_name": "music_play",
        "tool_call_id": "call_1",
        "parameters": {"query": "jazz"},
        "event_id": 2,
    }
    assert feed(session, type="client_tool_call", client_tool_call=call) == [
        ToolCall(
            response_id="el_resp_1",
            call_id="call_1",
            name="music_play",
            arguments='{"query": "jazz"}',
        ),
        ResponseDone(response_id="el_resp_1", status="completed", detail="tool_call"),
    ]
    alone = {**call, "tool_call_id": "call_2", "event_id": 5}
    events = feed(session, type="client_tool_call", client_tool_call=alone)
    assert [type(e) for e in events] == [ResponseStarted, ToolCall, ResponseDone]


def test_input_transcripts_are_dropped_when_transcription_was_turned_off() -> None:
    quiet = fresh()
    quiet.start(SessionConfig(transcribe_input=False))
    assert feed(quiet, **heard("hello", 1)) == []


def test_a_ping_is_answered_by_a_pong_taken_after_receive() -> None:
    session = fresh()
    assert feed(session, type="ping", ping_event={"event_id": 4, "ping_ms": 30}) == []
    assert feed(session, type="ping", ping_event={"event_id": 5}) == []
    assert frames(session.take_frames()) == [
        {"type": "pong", "event_id": 4},
        {"type": "pong", "event_id": 5},
    ]
    assert session.take_frames() == []


def test_an_error_is_fatal_and_fails_the_response_in_progress() -> None:
    session = fresh()
    feed(session, **audio(b"\x01\x00", 2))
    error = {
        "code": 1002,
        "message": "LLM response took over 20 seconds",
        "error_type": "llm_timeout",
        "reason": "timeout",
    }
    assert feed(session, type="error", error_event=error) == [
        ResponseDone(
            response_id="el_resp_1",
            status="failed",
            detail="LLM response took over 20 seconds (timeout)",
        ),
        ProviderError(
            code="llm_timeout", message="LLM response took over 20 seconds (timeout)", fatal=True
        ),
    ]
    [bare] = feed(fresh(), type="error", error_event={"code": 1008})
    assert bare == ProviderError(
        code="invalid_input", message="ElevenLabs reported an error", fatal=True
    )


def test_events_clanker_does_not_use_are_ignored() -> None:
    session = fresh()
    assert feed(session, type="vad_score", vad_score_event={"vad_score": 0.9}) == []
    tentative = {"user_transcript": "hel", "event_id": 3}
    assert (
        feed(
            session, type="tentative_user_transcript", tentative_user_transcription_event=tentative
        )
        == []
    )
    assert (
        feed(
            session,
            type="internal_tentative_agent_response",
            tentative_agent_response_internal_event={"tentative_agent_response": "Hm"},
        )
        == []
    )
    assert session.receive('{"type": "something_new"}') == []


def _j(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, **fields})


@pytest.mark.parametrize(
    ("frame", "says"),
    [
        ("not json", "not an ElevenLabs agent event"),
        ('{"user_audio_chunk": "AAA="}', "missing required field `type`"),
        (b"\xff\x00", "not an ElevenLabs agent event"),
        (_j("audio", audio_event={"audio_base_64": "***", "event_id": 1}), "not base64"),
        (_j("audio", audio_event={"audio_base_64": "", "event_id": "1"}), "Expected `int`"),
        (_j("agent_response", agent_response_event={"agent_response": "x"}), "without an event_id"),
        (
            _j("client_tool_call", client_tool_call={"tool_name": "", "tool_call_id": "c"}),
            "without its tool_call_id or tool_name",
        ),
        (
            _j("conversation_initiation_metadata", conversation_initiation_metadata_event={}),
            "missing required field",
        ),
        (_j("ping", ping_event={}), "a ping event the session cannot read"),
    ],
)
def test_a_frame_the_session_cannot_read_is_a_bad_frame_error(
    frame: str | bytes, says: str
) -> None:
    [error] = fresh().receive(frame)
    assert isinstance(error, ProviderError)
    assert error.code == "bad_frame" and not error.fatal
    assert says in error.message


@given(st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_receive_never_raises(frame: str | bytes) -> None:
    events = fresh().receive(frame)
    assert all(isinstance(e, ProviderError) for e in events)


@given(
    st.sampled_from(
        [
            ("conversation_initiation_metadata", "conversation_initiation_metadata_event"),
            ("audio", "audio_event"),
            ("agent_response", "agent_response_event"),
            ("agent_response_correction", "agent_response_correction_event"),
            ("interruption", "interruption_event"),
            ("user_transcript", "user_transcription_event"),
            ("client_tool_call", "client_tool_call"),
            ("ping", "ping_event"),
            ("error", "error_event"),
        ]
    ),
    st.one_of(
        st.none(),
        st.integers(),
        st.text(max_size=6),
        st.dictionaries(
            st.sampled_from(
                ["event_id", "audio_base_64", "agent_response", "tool_name", "tool_call_id",
                 "parameters", "code", "conversation_id", "user_transcript"]
            ),
            st.one_of(st.none(), st.integers(), st.text(max_size=6), st.lists(st.integers())),
            max_size=5,
        ),
    ),
)  # fmt: skip
def test_receive_never_raises_on_misshapen_known_events(kind: tuple[str, str], body: Any) -> None:
    events = fresh().receive(msgspec.json.encode({"type": kind[0], kind[1]: body}))
    assert isinstance(events, list)


def test_a_lost_connection_fails_the_response_and_names_the_close() -> None:
    session = fresh()
    feed(session, **audio(b"\x01\x00", 2))
    assert session.connection_lost(1002, "llm_timeout") == [
        ResponseDone(response_id="el_resp_1", status="failed", detail="connection lost"),
        ProviderError(
            code="provider_failed",
            message="the ElevenLabs conversation socket closed (code 1002, reason 'llm_timeout')",
            fatal=True,
        ),
    ]
    assert session.active_response is None
    [ended] = fresh().connection_lost(1000, None)
    assert isinstance(ended, ProviderError) and ended.code == "conversation_ended"
    [broken] = fresh().connection_lost(None, None)
    assert isinstance(broken, ProviderError) and broken.code == "connection_lost"


def test_the_contract_check_refuses_unknown_fields_and_wrong_shapes() -> None:
    with pytest.raises(AssertionError, match="unknown field `voice`"):
        client_message(
            json.dumps(
                {
                    "type": "conversation_initiation_client_data",
                    "conversation_config_override": {"tts": {"voice": "x"}},
                }
            )
        )
    with pytest.raises(AssertionError, match="unknown field `audio`"):
        client_message('{"audio": "AAA="}')
    with pytest.raises(AssertionError, match="Expected `int`"):
        client_message('{"type": "pong", "event_id": "1"}')
    with pytest.raises(AssertionError, match="missing required field `is_error`"):
        client_message('{"type": "client_tool_result", "tool_call_id": "c", "result": "r"}')
    with pytest.raises(AssertionError, match="Invalid enum value 1001"):
        server_message({"type": "error", "error_event": {"code": 1001}})
