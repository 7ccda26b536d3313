"""`XaiRealtimeSession` as a pure state machine: no trio, no sockets.

Every frame a command returns is checked against the documented client-event shapes
(`xai_shapes`, unknown fields refused), and every server event fed to `receive` is checked
against the documented server-event shapes first (except the ones written wrong on purpose).
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
from clanker.voice.realtime.xai import XaiRealtimeSession

from .xai_shapes import client_event, server_event

KEY = "xai-test-key"
TOOL = ToolSpec(
    name="music_play",
    description="Play a song",
    parameters={"type": "object", "properties": {"query": {"type": "string"}}},
)


def frames(outgoing: list[str | bytes]) -> list[dict[str, Any]]:
    for frame in outgoing:
        client_event(frame)
    return [json.loads(f) for f in outgoing]


def one(outgoing: list[str | bytes]) -> dict[str, Any]:
    [frame] = frames(outgoing)
    return frame


def feed(to: XaiRealtimeSession, **event: Any) -> list[Any]:
    """Check ``event`` as a documented server event, then give it to the session ``to``."""
    event.setdefault("event_id", "event_srv")
    server_event(event)
    return to.receive(json.dumps(event))


def fresh(**kwargs: Any) -> XaiRealtimeSession:
    return XaiRealtimeSession(KEY, **kwargs)


def response(rid: str, status: str = "in_progress", **fields: Any) -> dict[str, Any]:
    return {"id": rid, "object": "realtime.response", "status": status, "output": [], **fields}


WHERE = {"response_id": "resp_1", "item_id": "item_1", "output_index": 0, "content_index": 0}

# -- connecting and configuring ------------------------------------------------------------


def test_capabilities_say_no_truncate_and_a_local_cut() -> None:
    caps = fresh().capabilities
    assert caps.provider == "xai"
    assert (caps.input_rate, caps.output_rate) == (24000, 24000)
    assert caps.audio_input and caps.text_input and caps.exact_line and caps.cancel
    assert caps.update_tools and caps.update_instructions and caps.tools
    assert not caps.truncate
    assert caps.interrupt_ack == "local_cut_async_confirmation"
    assert fresh(sample_rate=48000).capabilities.output_rate == 48000


def test_truncate_is_unsupported() -> None:
    with pytest.raises(Unsupported, match="xai realtime sessions do not support truncate"):
        fresh().truncate("item_1", 100)


def test_target_is_the_voice_agent_endpoint_with_the_model_and_a_bearer_key() -> None:
    target = fresh().target()
    assert target.url == "wss://api.x.ai/v1/realtime?model=grok-voice-latest"
    assert target.headers == (("Authorization", f"Bearer {KEY}"),)
    assert target.subprotocols == ()
    local = fresh(base_url="ws://127.0.0.1:9/v1/realtime/", model="grok-voice-think-fast-1.0")
    assert local.target().url == "ws://127.0.0.1:9/v1/realtime?model=grok-voice-think-fast-1.0"


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"api_key": " "}, "needs an API key"),
        ({"api_key": KEY, "model": ""}, "needs a model name"),
        ({"api_key": KEY, "base_url": "https://api.x.ai/v1/realtime"}, "ws:// or wss://"),
        ({"api_key": KEY, "sample_rate": 11025}, "sample_rate 11025 is none of them"),
        ({"api_key": KEY, "reasoning_effort": "low"}, "'high', 'none' or None; got 'low'"),
    ],
)
def test_bad_construction_is_refused_by_name(kwargs: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        XaiRealtimeSession(**kwargs)


def test_start_is_a_flat_session_with_turn_detection_off_pcm_voice_and_tools() -> None:
    config = SessionConfig(instructions="Be brief.", voice="Ara", tools=(TOOL,))
    frame = one(fresh(reasoning_effort="none").start(config))
    assert frame == {
        "type": "session.update",
        "event_id": "clk_1",
        "session": {
            "instructions": "Be brief.",
            "voice": "Ara",
            "turn_detection": None,
            "audio": {
                "input": {"format": {"type": "audio/pcm", "rate": 24000}},
                "output": {"format": {"type": "audio/pcm", "rate": 24000}},
            },
            "reasoning": {"effort": "none"},
            "tools": [
                {
                    "type": "function",
                    "name": "music_play",
                    "description": "Play a song",
                    "parameters": TOOL.parameters,
                }
            ],
        },
    }


def test_start_leaves_defaults_out_and_uses_the_chosen_rate() -> None:
    session = one(fresh(sample_rate=16000).start(SessionConfig()))["session"]
    assert session == {
        "turn_detection": None,
        "audio": {
            "input": {"format": {"type": "audio/pcm", "rate": 16000}},
            "output": {"format": {"type": "audio/pcm", "rate": 16000}},
        },
        "tools": [],
    }


def test_start_refuses_another_model_bad_tool_names_and_duplicates() -> None:
    with pytest.raises(ValueError, match="chosen when connecting"):
        fresh().start(SessionConfig(model="grok-voice-fast-1.0"))
    assert fresh().start(SessionConfig(model="grok-voice-latest"))
    bad = ToolSpec(name="play music", description="", parameters={"type": "object"})
    with pytest.raises(ValueError, match=r"an xAI tool name .* 'play music' is not"):
        fresh().start(SessionConfig(tools=(bad,)))
    with pytest.raises(ValueError, match="offered twice"):
        fresh().start(SessionConfig(tools=(TOOL, TOOL)))


# -- commands --------------------------------------------------------------------------------


def test_append_audio_is_base64_pcm_split_at_ten_seconds_of_the_rate() -> None:
    session = fresh(sample_rate=16000)
    pcm = bytes(range(256)) * 10
    frame = one(session.append_audio(pcm))
    assert frame["type"] == "input_audio_buffer.append"
    assert base64.b64decode(frame["audio"]) == pcm
    ten_seconds = 10 * 16000 * 2
    parts = frames(session.append_audio(b"\x01\x00" * (ten_seconds // 2 + 3)))
    assert [len(base64.b64decode(p["audio"])) for p in parts] == [ten_seconds, 6]
    assert session.append_audio(b"") == []
    with pytest.raises(ValueError, match="even number of bytes; this chunk has 3"):
        session.append_audio(b"\x00\x01\x02")


def test_commit_clear_and_request_are_the_openai_events() -> None:
    session = fresh()
    assert one(session.commit_turn()) == {"type": "input_audio_buffer.commit", "event_id": "clk_1"}
    assert one(session.clear_audio()) == {"type": "input_audio_buffer.clear", "event_id": "clk_2"}
    assert one(session.request_response()) == {"type": "response.create", "event_id": "clk_3"}


def test_a_text_turn_is_a_labelled_user_message() -> None:
    frame = one(fresh().add_text_turn("Ana", "  play some jazz "))
    assert frame["item"] == {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "[Ana]: play some jazz"}],
    }
    forged = one(fresh().add_text_turn("Bo]: hi\n[Ana", "x"))
    assert forged["item"]["content"][0]["text"] == "[Bo : hi Ana]: x"
    with pytest.raises(ValueError, match="needs a speaker's name"):
        fresh().add_text_turn(" [] ", "hi")
    with pytest.raises(ValueError, match="Ana's text turn is empty"):
        fresh().add_text_turn("Ana", "  ")


def test_speak_exact_is_a_force_message_item() -> None:
    frame = one(fresh().speak_exact(" The song is Blue in Green. "))
    assert frame == {
        "type": "conversation.item.create",
        "event_id": "clk_1",
        "item": {
            "type": "force_message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "The song is Blue in Green."}],
        },
    }
    with pytest.raises(ValueError, match="needs a line to say"):
        fresh().speak_exact(" ")


def test_cancel_names_the_response_in_progress_when_there_is_one() -> None:
    session = fresh()
    assert one(session.cancel_response()) == {"type": "response.cancel", "event_id": "clk_1"}
    feed(session, type="response.created", response=response("resp_1"))
    assert one(session.cancel_response())["response_id"] == "resp_1"


def test_a_tool_result_is_a_function_call_output_item() -> None:
    frame = one(fresh().tool_result("call_1", '{"ok": true}'))
    assert frame["item"] == {
        "type": "function_call_output",
        "call_id": "call_1",
        "output": '{"ok": true}',
    }
    with pytest.raises(ValueError, match="call id"):
        fresh().tool_result("", "x")


def test_update_sends_only_what_changes() -> None:
    session = fresh()
    assert one(session.update(instructions="Now in French."))["session"] == {
        "instructions": "Now in French."
    }
    assert one(session.update(tools=()))["session"] == {"tools": []}
    both = one(session.update(instructions="", tools=(TOOL,)))["session"]
    assert both["instructions"] == "" and both["tools"][0]["name"] == "music_play"
    with pytest.raises(ValueError, match="got neither"):
        session.update()


def test_close_sends_nothing() -> None:
    assert fresh().close() == []


# -- receiving ---------------------------------------------------------------------------------

CONVERSATION = {"id": "conv_1", "object": "realtime.conversation"}


def test_ready_comes_with_the_first_session_updated_and_names_the_conversation() -> None:
    session = fresh()
    assert feed(session, type="conversation.created", conversation=CONVERSATION) == []
    assert feed(session, type="session.created", session={"model": "grok-voice-latest"}) == []
    assert session.session_id == "conv_1"
    updated = {"voice": "Ara", "turn_detection": None}
    assert feed(session, type="session.updated", session=updated) == [
        SessionReady(provider="xai", session_id="conv_1")
    ]
    assert session.ready
    assert feed(session, type="session.updated", session=updated) == []


def test_a_response_streams_audio_at_the_rate_and_joins_the_transcript() -> None:
    session = fresh(sample_rate=16000)
    assert feed(session, type="response.created", response=response("resp_1")) == [
        ResponseStarted(response_id="resp_1")
    ]
    assert session.active_response == "resp_1"
    pcm = b"\x10\x00\x20\x00"
    audio = feed(
        session, type="response.output_audio.delta", delta=base64.b64encode(pcm).decode(), **WHERE
    )
    assert audio == [AudioDelta(response_id="resp_1", item_id="item_1", pcm=pcm, sample_rate=16000)]
    for word in ("Hi ", "there"):
        assert feed(
            session, type="response.output_audio_transcript.delta", delta=word, **WHERE
        ) == [OutputTranscript(response_id="resp_1", item_id="item_1", text=word, final=False)]
    # xAI's done does not repeat the transcript: the session joined the deltas.
    assert feed(session, type="response.output_audio_transcript.done", **WHERE) == [
        OutputTranscript(response_id="resp_1", item_id="item_1", text="Hi there", final=True)
    ]
    # A done that does carry one (OpenAI's shape) is taken as given.
    given_done = session.receive(
        json.dumps({"type": "response.output_audio_transcript.done", **WHERE, "transcript": "X"})
    )
    assert given_done == [
        OutputTranscript(response_id="resp_1", item_id="item_1", text="X", final=True)
    ]


def test_input_transcripts_arrive_unless_transcription_was_turned_off() -> None:
    event = {"type": "conversation.item.input_audio_transcription.completed", "item_id": "u1"}
    session = fresh()
    session.start(SessionConfig())
    assert feed(session, **event, transcript="play jazz") == [
        InputTranscript(item_id="u1", text="play jazz", final=True)
    ]
    quiet = fresh()
    quiet.start(SessionConfig(transcribe_input=False))
    assert feed(quiet, **event, transcript="play jazz") == []


def _call_item(call_id: str, arguments: str = '{"query": "jazz"}') -> dict[str, Any]:
    return {
        "id": f"item_{call_id}",
        "type": "function_call",
        "status": "completed",
        "call_id": call_id,
        "name": "music_play",
        "arguments": arguments,
    }


def test_a_tool_call_without_a_response_id_belongs_to_the_response_in_progress() -> None:
    session = fresh()
    feed(session, type="response.created", response=response("resp_1"))
    first = feed(
        session,
        type="response.function_call_arguments.done",
        call_id="call_1",
        name="music_play",
        arguments='{"query": "jazz"}',
    )
    assert first == [
        ToolCall(
            response_id="resp_1",
            call_id="call_1",
            name="music_play",
            arguments='{"query": "jazz"}',
        )
    ]
    done = feed(
        session,
        type="response.done",
        response=response("resp_1", "completed", output=[_call_item("call_1")]),
    )
    assert done == [ResponseDone(response_id="resp_1", status="completed")]
    assert session.active_response is None


def test_a_tool_call_only_in_response_done_is_announced_there() -> None:
    session = fresh()
    feed(session, type="response.created", response=response("resp_1"))
    done = feed(
        session,
        type="response.done",
        response=response("resp_1", "completed", output=[_call_item("a"), _call_item("b", "{}")]),
    )
    assert [type(e) for e in done] == [ToolCall, ToolCall, ResponseDone]
    assert [e.call_id for e in done[:2]] == ["a", "b"]


def test_response_done_has_no_usage_since_xai_gives_no_split_by_modality() -> None:
    session = fresh()
    usage = {"total_tokens": 30, "input_tokens": 20, "output_tokens": 10}
    [done] = feed(
        session,
        type="response.done",
        response=response("r", "completed", usage=usage),
        usage=usage,
    )
    assert done == ResponseDone(response_id="r", status="completed", usage=None)


@pytest.mark.parametrize(
    ("status", "details", "expected", "detail"),
    [
        ("cancelled", {"reason": "client_cancelled"}, "cancelled", "client_cancelled"),
        ("incomplete", {"reason": "max_output_tokens"}, "incomplete", "max_output_tokens"),
        ("failed", {"error": {"type": "server_error", "message": "boom"}}, "failed", "boom"),
        ("failed", {"error": {"code": "rate_limited"}}, "failed", "rate_limited"),
        ("completed", None, "completed", ""),
    ],
)
def test_response_done_statuses(
    status: str, details: dict[str, Any] | None, expected: str, detail: str
) -> None:
    body = response("r", status, status_details=details and {"type": status, **details})
    assert feed(fresh(), type="response.done", response=body) == [
        ResponseDone(response_id="r", status=expected, detail=detail)  # type: ignore[arg-type]
    ]


def test_an_unknown_response_status_is_a_failure_that_names_it() -> None:
    [done] = fresh().receive(
        json.dumps({"type": "response.done", "response": {"id": "r", "status": "odd"}})
    )
    assert done == ResponseDone(
        response_id="r", status="failed", detail="the provider reported status 'odd'"
    )


def test_an_error_names_the_event_of_ours_it_answers() -> None:
    session = fresh()
    session.start(SessionConfig())
    session.request_response()  # clk_2
    [error] = feed(
        session,
        type="error",
        error={
            "type": "invalid_request_error",
            "code": "conversation_already_has_active_response",
            "message": "Conversation already has an active response.",
            "param": None,
            "event_id": "clk_2",
        },
    )
    assert error == ProviderError(
        code="conversation_already_has_active_response",
        message="Conversation already has an active response. "
        "[answering our response.create clk_2]",
        fatal=False,
    )


def test_a_refused_configuration_and_a_bad_key_are_fatal_a_later_refusal_is_not() -> None:
    session = fresh()
    session.start(SessionConfig(voice="Bob"))  # clk_1
    body = {"type": "invalid_request_error", "code": "invalid_value", "message": "voice"}
    [refused] = feed(
        session, type="error", error={**body, "param": "session.voice", "event_id": "clk_1"}
    )
    assert refused.fatal and refused.message == (
        "voice (param session.voice) [answering our session.update clk_1]"
    )
    session.update(instructions="x")  # clk_2
    assert not feed(session, type="error", error={**body, "event_id": "clk_2"})[0].fatal
    key = {"type": "authentication_error", "code": None, "message": "Incorrect API key"}
    [bad_key] = feed(session, type="error", error=key)
    assert bad_key == ProviderError(
        code="authentication_error", message="Incorrect API key", fatal=True
    )


def test_the_flat_error_shape_of_xais_example_client_is_read_too() -> None:
    flat = '{"type": "error", "event_id": "e9", "error": "bad request", "code": "invalid_value"}'
    assert fresh().receive(flat) == [
        ProviderError(code="invalid_value", message="bad request", fatal=False)
    ]
    bare = '{"type": "error", "code": "unauthorized", "message": "no key"}'
    assert fresh().receive(bare) == [
        ProviderError(code="unauthorized", message="no key", fatal=True)
    ]


def test_pings_vad_and_item_events_are_ignored() -> None:
    session = fresh()
    assert feed(session, type="ping", timestamp=1730000000) == []
    assert feed(session, type="input_audio_buffer.speech_started", item_id="u1") == []
    assert feed(session, type="input_audio_buffer.committed", item_id="u1") == []
    assert session.receive('{"type": "something.new", "x": 1}') == []


@pytest.mark.parametrize(
    ("frame", "says"),
    [
        ("not json", "not an xAI realtime server event"),
        ("[1, 2]", "not an xAI realtime server event"),
        ('{"no": "type"}', "missing required field `type`"),
        (b"\xff\xfe\x00", "not an xAI realtime server event"),
        ('{"type": "response.created", "response": {}}', "a response.created event"),
        (
            '{"type": "response.output_audio.delta", "response_id": "r", "item_id": "i", '
            '"delta": "***"}',
            "not base64",
        ),
        ('{"type": "response.done", "response": {"id": 5}}', "Expected `str`, got `int`"),
        (
            '{"type": "response.function_call_arguments.done", "call_id": "", "name": "x", '
            '"arguments": "{}"}',
            "without its call_id or name",
        ),
        ('{"type": "error", "error": 7}', "a error event the session cannot read"),
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
    st.dictionaries(
        st.sampled_from(
            ["response_id", "item_id", "delta", "transcript", "response", "error", "session",
             "conversation", "call_id", "name", "arguments", "code", "message"]
        ),
        st.one_of(
            st.none(),
            st.integers(),
            st.text(max_size=8),
            st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
        ),
        max_size=6,
    ),
    st.sampled_from(
        [
            "conversation.created",
            "session.created",
            "session.updated",
            "response.created",
            "response.done",
            "response.output_audio.delta",
            "response.output_audio_transcript.delta",
            "response.output_audio_transcript.done",
            "conversation.item.input_audio_transcription.completed",
            "response.function_call_arguments.done",
            "error",
        ]
    ),
)  # fmt: skip
def test_receive_never_raises_on_misshapen_known_events(fields: dict[str, Any], kind: str) -> None:
    events = fresh().receive(msgspec.json.encode({"type": kind, **fields}))
    assert isinstance(events, list)


def test_a_lost_connection_fails_the_response_in_progress_and_is_fatal() -> None:
    session = fresh()
    feed(session, type="response.created", response=response("resp_1"))
    assert session.connection_lost(1011, "server_error") == [
        ResponseDone(response_id="resp_1", status="failed", detail="connection lost"),
        ProviderError(
            code="connection_lost",
            message="the xAI realtime socket closed (code 1011, reason 'server_error')",
            fatal=True,
        ),
    ]
    assert session.active_response is None
    assert fresh().connection_lost(None, None) == [
        ProviderError(
            code="connection_lost",
            message="the xAI realtime socket closed (without a close frame)",
            fatal=True,
        )
    ]


def test_the_shape_check_refuses_unknown_fields_and_wrong_shapes() -> None:
    # The checks above can fail: a misspelt field, a nested one, a wrong type, OpenAI's
    # nested voice, and a transcript on xAI's transcript done all do.
    with pytest.raises(AssertionError, match="unknown field `evnt_id`"):
        client_event('{"type": "input_audio_buffer.commit", "evnt_id": "x"}')
    with pytest.raises(AssertionError, match="unknown field `turn_detecton`"):
        client_event('{"type": "session.update", "session": {"turn_detecton": null}}')
    with pytest.raises(AssertionError, match="Expected `str`"):
        client_event('{"type": "input_audio_buffer.append", "audio": 5}')
    openai_style = {"audio": {"output": {"voice": "Ara"}}}
    with pytest.raises(AssertionError, match="unknown field `voice`"):
        client_event(json.dumps({"type": "session.update", "session": openai_style}))
    with pytest.raises(AssertionError, match="unknown field `transcript`"):
        server_event(
            {"type": "response.output_audio_transcript.done", "event_id": "e", **WHERE,
             "transcript": "x"}
        )  # fmt: skip
