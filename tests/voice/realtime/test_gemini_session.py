"""`GeminiLiveSession` as a pure state machine: no trio, no sockets.

Every frame a command returns is validated against the official `google-genai` SDK's Live
client-message models, and every server message fed to `receive` here is first validated
against its server-message model (`gemini_check`), so both directions use the real shapes.
"""

from __future__ import annotations

import base64
import json
from typing import Any

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
    Usage,
)
from clanker.voice.realtime.gemini import CHUNK_BYTES, DEFAULT_URL, GeminiLiveSession

from .gemini_check import client_message, server_message

KEY = "gemini-test-key"
TOOL = ToolSpec(
    name="music_play",
    description="Play a song",
    parameters={"type": "object", "properties": {"query": {"type": "string"}}},
)
PCM_MIME = "audio/pcm;rate=24000"


def frames(outgoing: list[str | bytes]) -> list[dict[str, Any]]:
    """The frames as JSON, each validated as an SDK client message first."""
    for frame in outgoing:
        client_message(frame)
    return [json.loads(f) for f in outgoing]


def feed(to: GeminiLiveSession, **message: Any) -> list[Any]:
    """Validate ``message`` as an SDK server message, then give it to ``to`` as the binary
    frame Gemini sends."""
    server_message(message)
    return to.receive(json.dumps(message).encode())


def fresh() -> GeminiLiveSession:
    return GeminiLiveSession(KEY)


def ready() -> GeminiLiveSession:
    session = fresh()
    frames(session.start(SessionConfig()))
    feed(session, setupComplete={})
    return session


def audio(pcm: bytes, mime: str = PCM_MIME) -> dict[str, Any]:
    data = base64.b64encode(pcm).decode()
    return {"modelTurn": {"parts": [{"inlineData": {"mimeType": mime, "data": data}}]}}


def asked(session: GeminiLiveSession, text: str = "hi") -> None:
    """A labelled text turn sent as an activity: Gemini is now expected to answer."""
    session.add_text_turn("Ana", text)
    frames(session.request_response())


# -- connecting and configuring ------------------------------------------------------------


def test_capabilities_say_what_gemini_live_can_and_cannot_do() -> None:
    caps = fresh().capabilities
    assert caps.provider == "gemini"
    assert (caps.input_rate, caps.output_rate) == (16000, 24000)
    assert caps.audio_input and caps.text_input and caps.cancel and caps.tools
    assert not (caps.exact_line or caps.truncate or caps.update_tools or caps.update_instructions)
    assert caps.interrupt_ack == "local_cut_async_confirmation"


@pytest.mark.parametrize(
    ("command", "call"),
    [
        ("speak_exact", lambda s: s.speak_exact("hello")),
        ("truncate", lambda s: s.truncate("gemini_resp_1", 100)),
        ("update", lambda s: s.update(instructions="Be brief.")),
    ],
)
def test_what_gemini_cannot_do_raises_unsupported(command: str, call: Any) -> None:
    with pytest.raises(Unsupported, match=f"gemini realtime sessions do not support {command}"):
        call(fresh())


def test_target_is_the_v1beta_endpoint_with_the_key_in_a_header() -> None:
    target = fresh().target()
    assert target.url == DEFAULT_URL
    assert target.url.endswith("GenerativeService.BidiGenerateContent")
    assert KEY not in target.url
    assert target.headers == (("x-goog-api-key", KEY),)
    local = GeminiLiveSession(KEY, base_url="ws://127.0.0.1:9/ws/x").target()
    assert local.url == "ws://127.0.0.1:9/ws/x"


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"api_key": " "}, "needs an API key"),
        ({"api_key": KEY, "model": ""}, "needs a model name"),
        ({"api_key": KEY, "base_url": "https://example.invalid/ws"}, "ws:// or wss://"),
    ],
)
def test_bad_construction_is_refused_by_name(kwargs: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        GeminiLiveSession(**kwargs)


def test_start_sends_one_setup_with_manual_activity_audio_out_transcripts_voice_and_tools() -> None:
    config = SessionConfig(instructions="Be brief.", voice="Puck", tools=(TOOL,))
    [frame] = frames(fresh().start(config))
    assert frame == {
        "setup": {
            "model": "models/gemini-3.1-flash-live-preview",
            "generationConfig": {
                "responseModalities": ["AUDIO"],
                "speechConfig": {"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Puck"}}},
            },
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "tools": [
                {
                    "functionDeclarations": [
                        {
                            "name": "music_play",
                            "description": "Play a song",
                            "parameters": {
                                "type": "OBJECT",
                                "properties": {"query": {"type": "STRING"}},
                            },
                        }
                    ]
                }
            ],
            "realtimeInputConfig": {
                "automaticActivityDetection": {"disabled": True},
                "activityHandling": "START_OF_ACTIVITY_INTERRUPTS",
                "turnCoverage": "TURN_INCLUDES_ONLY_ACTIVITY",
            },
            "inputAudioTranscription": {},
            "outputAudioTranscription": {},
        }
    }


def test_a_plain_start_leaves_out_what_was_not_asked_for() -> None:
    [frame] = frames(fresh().start(SessionConfig(transcribe_input=False)))
    setup = frame["setup"]
    assert set(setup) == {
        "model",
        "generationConfig",
        "realtimeInputConfig",
        "outputAudioTranscription",
    }
    assert setup["generationConfig"] == {"responseModalities": ["AUDIO"]}


def test_the_model_comes_from_the_config_or_the_constructor_with_its_prefix() -> None:
    [frame] = frames(fresh().start(SessionConfig(model="gemini-2.5-flash-native-audio-latest")))
    assert frame["setup"]["model"] == "models/gemini-2.5-flash-native-audio-latest"
    [frame] = frames(GeminiLiveSession(KEY, model="models/custom").start(SessionConfig()))
    assert frame["setup"]["model"] == "models/custom"


def test_start_twice_and_bad_tools_are_refused() -> None:
    session = fresh()
    session.start(SessionConfig())
    with pytest.raises(ValueError, match="setup is sent once"):
        session.start(SessionConfig())
    bad = ToolSpec(name="9lives", description="", parameters={"type": "object"})
    with pytest.raises(ValueError, match="'9lives' is not one"):
        fresh().start(SessionConfig(tools=(bad,)))
    with pytest.raises(ValueError, match="offered twice"):
        fresh().start(SessionConfig(tools=(TOOL, TOOL)))


# -- the user's turn -----------------------------------------------------------------------


def test_audio_is_held_until_the_request_then_sent_as_one_activity_in_one_second_pieces() -> None:
    session = ready()
    pcm = bytes(range(256)) * 250  # 64,000 bytes: two seconds at 16 kHz
    pcm += b"\x01\x02" * 8000  # and half a second more
    assert session.append_audio(pcm[:1000]) == []
    assert session.append_audio(pcm[1000:]) == []
    assert session.commit_turn() == []
    sent = frames(session.request_response())
    assert sent[0] == {"realtimeInput": {"activityStart": {}}}
    assert sent[-1] == {"realtimeInput": {"activityEnd": {}}}
    pieces = [f["realtimeInput"]["audio"] for f in sent[1:-1]]
    assert {p["mimeType"] for p in pieces} == {"audio/pcm;rate=16000"}
    assert [len(base64.b64decode(p["data"])) for p in pieces] == [CHUNK_BYTES, CHUNK_BYTES, 16000]
    assert b"".join(base64.b64decode(p["data"]) for p in pieces) == pcm


def test_turns_and_texts_go_in_the_order_given_and_clear_drops_only_the_uncommitted() -> None:
    session = ready()
    session.append_audio(b"\x01\x00" * 10)
    session.commit_turn()
    session.add_text_turn("Bo [mod]", "  and me  ")
    session.append_audio(b"\x02\x00" * 10)
    assert session.clear_audio() == []
    session.append_audio(b"\x03\x00" * 10)
    session.commit_turn()
    sent = frames(session.request_response())
    inputs = [f["realtimeInput"] for f in sent]
    assert [next(iter(i)) for i in inputs] == [
        "activityStart",
        "audio",
        "text",
        "audio",
        "activityEnd",
    ]
    assert base64.b64decode(inputs[1]["audio"]["data"]) == b"\x01\x00" * 10
    assert inputs[2]["text"] == "[Bo mod]: and me"
    assert base64.b64decode(inputs[3]["audio"]["data"]) == b"\x03\x00" * 10
    assert frames(session.request_response()) == []  # the answer is already coming


def test_bad_turn_arguments_are_refused_by_name() -> None:
    session = ready()
    with pytest.raises(ValueError, match="this chunk has 3"):
        session.append_audio(b"\x00\x01\x02")
    with pytest.raises(ValueError, match="no audio to commit"):
        session.commit_turn()
    with pytest.raises(ValueError, match="speaker's name"):
        session.add_text_turn("[]", "hi")
    with pytest.raises(ValueError, match="Ana's text turn is empty"):
        session.add_text_turn("Ana", "   ")


def test_a_request_with_nothing_new_is_an_empty_activity_unless_an_answer_is_coming() -> None:
    session = ready()
    assert frames(session.request_response()) == [
        {"realtimeInput": {"activityStart": {}}},
        {"realtimeInput": {"activityEnd": {}}},
    ]
    assert session.request_response() == []  # awaiting the answer
    feed(session, serverContent=audio(b"\x00\x00"))
    assert session.request_response() == []  # it is being given


def test_a_new_turn_during_an_answer_cuts_it_and_the_cut_reads_as_cancelled() -> None:
    session = ready()
    asked(session)
    [started, _] = feed(session, serverContent=audio(b"\x00\x00" * 4))
    session.add_text_turn("Bo", "stop, wait")
    sent = frames(session.request_response())
    assert sent[0] == {"realtimeInput": {"activityStart": {}}}
    assert feed(session, serverContent={"interrupted": True}) == [
        ResponseDone(
            response_id=started.response_id, status="cancelled", detail="cut by our activityStart"
        )
    ]
    assert feed(session, serverContent={"turnComplete": True}) == []  # the cut turn's end
    [second, _] = feed(session, serverContent=audio(b"\x01\x00"))
    assert isinstance(second, ResponseStarted) and second.response_id != started.response_id


def test_cancel_is_an_activity_start_only_while_an_answer_is_coming_or_playing() -> None:
    session = ready()
    assert session.cancel_response() == []  # nothing to cancel
    asked(session)
    assert frames(session.cancel_response()) == [{"realtimeInput": {"activityStart": {}}}]
    assert session.cancel_response() == []  # the activity is open already
    session.append_audio(b"\x05\x00" * 4)
    session.commit_turn()
    sent = frames(session.request_response())
    assert [next(iter(f["realtimeInput"])) for f in sent] == ["audio", "activityEnd"]


def test_cancelling_a_playing_answer_ends_it_cancelled_when_gemini_confirms() -> None:
    session = ready()
    asked(session)
    [started, _] = feed(session, serverContent=audio(b"\x00\x00"))
    frames(session.cancel_response())
    assert session.active_response == started.response_id  # cut locally; Gemini confirms later
    [done] = feed(session, serverContent={"interrupted": True})
    assert isinstance(done, ResponseDone) and done.status == "cancelled"
    assert session.active_response is None


# -- tools ---------------------------------------------------------------------------------


def tool_call(session: GeminiLiveSession, *calls: tuple[str, str, dict[str, Any]]) -> list[Any]:
    functions = [{"id": i, "name": n, "args": a} for i, n, a in calls]
    return feed(session, toolCall={"functionCalls": functions})


def test_a_tool_call_ends_the_response_and_its_result_is_a_tool_response() -> None:
    session = ready()
    asked(session)
    events = tool_call(session, ("call-1", "music_play", {"query": "jazz", "n": 2}))
    started, call, done = events
    assert isinstance(started, ResponseStarted)
    assert call == ToolCall(
        response_id=started.response_id,
        call_id="call-1",
        name="music_play",
        arguments='{"query":"jazz","n":2}',
    )
    assert done == ResponseDone(response_id=started.response_id, status="completed")
    assert feed(session, serverContent={"turnComplete": True}) == []  # some models send it
    [frame] = frames(session.tool_result("call-1", '{"playing": "So What"}'))
    assert frame == {
        "toolResponse": {
            "functionResponses": [
                {
                    "id": "call-1",
                    "name": "music_play",
                    "response": {"output": '{"playing": "So What"}'},
                }
            ]
        }
    }
    assert session.request_response() == []  # Gemini goes on by itself
    [next_started, _] = feed(session, serverContent=audio(b"\x00\x00"))
    assert next_started.response_id != started.response_id


def test_parallel_calls_wait_for_every_result_and_unknown_ids_are_refused() -> None:
    session = ready()
    asked(session)
    tool_call(session, ("a", "music_play", {}), ("b", "music_play", {"query": "x"}))
    frames(session.tool_result("a", "ok"))
    assert len(frames(session.request_response())) == 2  # not awaiting yet: an empty activity
    session = ready()
    asked(session)
    tool_call(session, ("a", "music_play", {}), ("b", "music_play", {}))
    frames(session.tool_result("b", "ok"))
    frames(session.tool_result("a", "ok"))
    assert session.request_response() == []
    with pytest.raises(ValueError, match="no Gemini tool call 'a' is waiting"):
        session.tool_result("a", "again")
    with pytest.raises(ValueError, match="needs the call id"):
        session.tool_result("", "x")


def test_a_cancelled_tool_call_is_reported_and_its_result_sends_nothing() -> None:
    session = ready()
    asked(session)
    tool_call(session, ("c1", "music_play", {}))
    [error] = feed(session, toolCallCancellation={"ids": ["c1"]})
    assert error == ProviderError(
        code="tool_calls_cancelled", message="Gemini cancelled the tool calls c1"
    )
    assert session.tool_result("c1", "too late") == []


# -- receiving -----------------------------------------------------------------------------


def test_setup_complete_is_ready_once() -> None:
    session = fresh()
    session.start(SessionConfig())
    assert feed(session, setupComplete={"sessionId": "s-1"}) == [
        SessionReady(provider="gemini", session_id="s-1")
    ]
    assert feed(session, setupComplete={}) == []
    assert session.ready and session.session_id == "s-1"


def test_an_answer_streams_audio_and_transcripts_and_ends_with_its_usage() -> None:
    session = ready()
    asked(session)
    [started, first] = feed(session, serverContent=audio(b"\x01\x00\x02\x00"))
    rid = started.response_id
    assert first == AudioDelta(
        response_id=rid, item_id=rid, pcm=b"\x01\x00\x02\x00", sample_rate=24000
    )
    assert session.active_response == rid
    [other_rate] = feed(session, serverContent=audio(b"\x03\x00", "audio/pcm;rate=16000"))
    assert other_rate.sample_rate == 16000
    assert feed(session, serverContent={"outputTranscription": {"text": "Hello "}}) == [
        OutputTranscript(response_id=rid, item_id=rid, text="Hello ", final=False)
    ]
    feed(session, serverContent={"outputTranscription": {"text": "there."}})
    assert feed(session, serverContent={"generationComplete": True}) == []
    usage = {
        "promptTokenCount": 40,
        "responseTokenCount": 30,
        "cachedContentTokenCount": 5,
        "promptTokensDetails": [
            {"modality": "AUDIO", "tokenCount": 25},
            {"modality": "TEXT", "tokenCount": 15},
        ],
        "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": 30}],
    }
    events = feed(session, serverContent={"turnComplete": True}, usageMetadata=usage)
    assert events == [
        OutputTranscript(response_id=rid, item_id=rid, text="Hello there.", final=True),
        ResponseDone(
            response_id=rid,
            status="completed",
            usage=Usage(audio_in=25, text_in=15, cached_in=5, audio_out=30),
        ),
    ]
    assert session.active_response is None


def test_usage_without_details_counts_as_text_with_thoughts_and_tool_use() -> None:
    session = ready()
    asked(session)
    feed(session, serverContent=audio(b"\x00\x00"))
    feed(
        session,
        usageMetadata={
            "promptTokenCount": 9,
            "responseTokenCount": 4,
            "thoughtsTokenCount": 2,
            "toolUsePromptTokenCount": 3,
        },
    )
    [done] = feed(session, serverContent={"turnComplete": True})
    assert done.usage == Usage(text_in=12, text_out=6)
    assert session.last_usage == done.usage


def test_a_transcript_before_the_audio_starts_the_response() -> None:
    session = ready()
    asked(session)
    started, said = feed(session, serverContent={"outputTranscription": {"text": "Hi"}})
    assert isinstance(started, ResponseStarted) and said.response_id == started.response_id


def test_input_transcripts_are_the_turns_item_and_final_when_finished_or_at_the_end() -> None:
    session = ready()
    session.append_audio(b"\x00\x00" * 100)
    session.commit_turn()
    frames(session.request_response())
    item = "gemini_in_1"
    assert feed(session, serverContent={"inputTranscription": {"text": "play "}}) == [
        InputTranscript(item_id=item, text="play ", final=False)
    ]
    assert feed(
        session, serverContent={"inputTranscription": {"text": "jazz", "finished": True}}
    ) == [
        InputTranscript(item_id=item, text="jazz", final=False),
        InputTranscript(item_id=item, text="play jazz", final=True),
    ]
    # Without "finished", the whole arrives when the answer ends.
    session.append_audio(b"\x00\x00" * 100)
    session.commit_turn()
    frames(session.request_response())
    feed(session, serverContent={"inputTranscription": {"text": "louder"}})
    [started, _] = feed(session, serverContent=audio(b"\x00\x00"))
    final, done = feed(session, serverContent={"turnComplete": True})
    assert final == InputTranscript(item_id="gemini_in_2", text="louder", final=True)
    assert isinstance(done, ResponseDone) and done.response_id == started.response_id


def test_an_interruption_gemini_made_is_interrupted_and_the_turn_complete_after_it_is_dropped() -> (
    None
):
    session = ready()
    asked(session)
    [started, _] = feed(session, serverContent=audio(b"\x00\x00"))
    feed(session, serverContent={"outputTranscription": {"text": "I was say"}})
    events = feed(session, serverContent={"interrupted": True})
    rid = started.response_id
    assert events == [
        OutputTranscript(response_id=rid, item_id=rid, text="I was say", final=True),
        ResponseDone(response_id=rid, status="interrupted", detail="Gemini interrupted"),
    ]
    assert feed(session, serverContent={"turnComplete": True}) == []
    # A late fragment of the cut answer still names it.
    assert feed(session, serverContent={"outputTranscription": {"text": "ing"}}) == [
        OutputTranscript(response_id=rid, item_id=rid, text="ing", final=False)
    ]


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        ("NEED_MORE_INPUT", "completed"),
        ("MALFORMED_FUNCTION_CALL", "failed"),
        ("PROHIBITED_INPUT_CONTENT", "incomplete"),
        ("RESPONSE_REJECTED", "incomplete"),
    ],
)
def test_turn_complete_reasons_become_statuses(reason: str, status: str) -> None:
    session = ready()
    asked(session)
    feed(session, serverContent=audio(b"\x00\x00"))
    [done] = feed(session, serverContent={"turnComplete": True, "turnCompleteReason": reason})
    assert (done.status, done.detail) == (status, reason)


def test_a_bare_turn_complete_is_an_empty_answer_only_when_one_was_asked_for() -> None:
    session = ready()
    assert feed(session, serverContent={"turnComplete": True}) == []
    asked(session)
    started, done = feed(session, serverContent={"turnComplete": True})
    assert isinstance(started, ResponseStarted)
    assert done == ResponseDone(response_id=started.response_id, status="completed")


def test_go_away_is_a_warning_not_a_fatal_error() -> None:
    session = ready()
    [warning] = feed(session, goAway={"timeLeft": "10s"})
    assert warning.code == "go_away" and not warning.fatal
    assert "in 10s" in warning.message and "nothing reconnects" in warning.message


def test_messages_the_session_does_not_use_are_ignored() -> None:
    session = ready()
    for message in (
        {"sessionResumptionUpdate": {"newHandle": "h", "resumable": True}},
        {"serverContent": {"generationComplete": True}},
        {"serverContent": {"modelTurn": {"parts": [{"text": "thinking", "thought": True}]}}},
        {"usageMetadata": {"promptTokenCount": 3}},
        {},
    ):
        assert feed(session, **message) == []
    assert session.active_response is None
    assert session.receive('{"someFutureMessage": {}}') == []


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (b"not json", "not a Gemini Live server message"),
        (b"[]", "not a Gemini Live server message"),
        (b'"text"', "not a Gemini Live server message"),
        (b'{"serverContent": {"turnComplete": "yes"}}', "not a Gemini Live server message"),
        (b'{"setupComplete": []}', "not a Gemini Live server message"),
        (b'{"toolCall": {"functionCalls": [{"name": "x"}]}}', "without its id or name"),
        (
            b'{"serverContent": {"modelTurn": {"parts": [{"inlineData": '
            b'{"mimeType": "audio/pcm;rate=24000", "data": "@@@"}}]}}}',
            "not base64",
        ),
        (
            b'{"serverContent": {"modelTurn": {"parts": [{"inlineData": '
            b'{"mimeType": "audio/pcm;rate=fast", "data": "AAA="}}]}}}',
            "bad rate",
        ),
    ],
)
def test_a_frame_the_session_cannot_read_is_a_bad_frame_error(frame: bytes, problem: str) -> None:
    session = ready()
    asked(session)
    [error] = session.receive(frame)
    assert isinstance(error, ProviderError) and error.code == "bad_frame" and not error.fatal
    assert problem in error.message
    assert session.active_response is None  # nothing half-started


@given(st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_receive_never_raises(frame: str | bytes) -> None:
    for event in ready().receive(frame):
        assert isinstance(event, ProviderError)


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


@given(
    st.sampled_from(
        ["setupComplete", "serverContent", "toolCall", "toolCallCancellation", "usageMetadata"]
    ),
    _JSONISH,
)
def test_receive_never_raises_on_misshapen_known_messages(kind: str, body: Any) -> None:
    session = ready()
    asked(session)
    session.receive(json.dumps({kind: body}))


def test_a_lost_connection_fails_the_response_in_progress_and_is_fatal() -> None:
    session = ready()
    asked(session)
    [started, _] = feed(session, serverContent=audio(b"\x00\x00"))
    events = session.connection_lost(1011, "Internal error encountered.")
    assert events == [
        ResponseDone(response_id=started.response_id, status="failed", detail="connection lost"),
        ProviderError(
            code="internal_error",
            message=(
                "the Gemini Live socket closed (code 1011, reason 'Internal error encountered.')"
            ),
            fatal=True,
        ),
    ]
    assert session.active_response is None
    [key] = fresh().connection_lost(1007, "API key not valid. Please pass a valid API key.")
    assert key.code == "invalid_api_key" and key.fatal
    [model] = fresh().connection_lost(1008, "models/x is not found for API version v1beta")
    assert model.code == "policy_violation"
    [broken] = fresh().connection_lost(None, None)
    assert broken.code == "connection_lost" and "without a close frame" in broken.message


def test_close_sends_nothing() -> None:
    assert ready().close() == []


def test_the_sdk_check_refuses_snake_case_unknown_fields_and_bad_enums() -> None:
    with pytest.raises(AssertionError, match="does not survive"):
        client_message('{"realtimeInput": {"activity_start": {}}}')
    with pytest.raises(Exception, match="Extra inputs are not permitted"):
        client_message('{"realtimeInput": {"activityBegin": {}}}')
    with pytest.raises(Exception, match="not a valid ActivityHandling"):
        client_message(
            '{"setup": {"model": "models/m", "realtimeInputConfig": '
            '{"activityHandling": "SOMETIMES"}}}'
        )
    with pytest.raises(AssertionError, match="exactly one"):
        client_message('{"realtimeInput": {"text": "a"}, "clientContent": {}}')
    with pytest.raises(Exception, match="Extra inputs"):
        server_message({"serverContent": {"turnDone": True}})
    with pytest.raises(Exception, match="base64"):
        server_message(
            {"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": "!!"}}]}}}
        )
