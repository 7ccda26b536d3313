"""The ElevenLabs agent WebSocket's messages as its AsyncAPI contract defines them, checked
strictly.

ElevenLabs' Python SDK (``elevenlabs``) builds these messages as plain dicts and has no
typed models of them; the typed contract is its AsyncAPI document
(``elevenlabs/packages``: ``packages/types/schemas/agent.asyncapi.yaml``), from which its
JavaScript types are generated. These msgspec structs encode that contract field for field
(required fields without defaults, enums as literals) and forbid unknown fields, so a
misspelt or invented field fails `client_message` / `server_message`, which the tests call
on every frame the session writes and every event the sim sends or a test feeds.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import msgspec


class _Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, tag_field="type"):
    pass


class _Plain(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


AudioFormat = Literal[
    "pcm_8000", "pcm_16000", "pcm_22050", "pcm_24000", "pcm_44100", "pcm_48000", "ulaw_8000"
]
ServerEventName = Literal[
    "audio", "agent_response", "agent_response_correction", "agent_chat_response_part",
    "interruption", "user_transcript", "tentative_user_transcript",
    "conversation_initiation_metadata", "client_tool_call", "agent_tool_request",
    "agent_tool_response", "mcp_tool_call", "mcp_connection_status", "vad_score", "ping",
    "asr_initiation_metadata", "guardrail_triggered", "internal_turn_probability",
    "internal_tentative_agent_response",
]  # fmt: skip

# -- client → server ---------------------------------------------------------------------------


class UserAudio(_Plain, kw_only=True):
    """The one message without a ``type``: base64 audio."""

    user_audio_chunk: str


class PromptOverride(_Plain, kw_only=True):
    prompt: str | None = None


class AgentOverride(_Plain, kw_only=True):
    first_message: str | None = None
    language: str | None = None
    prompt: PromptOverride | None = None
    native_mcp_server_ids: list[str] | None = None


class TtsOverride(_Plain, kw_only=True):
    voice_id: str | None = None
    stability: float | None = None
    speed: float | None = None
    similarity_boost: float | None = None


class ConversationOverride(_Plain, kw_only=True):
    text_only: bool | None = None
    client_events: list[ServerEventName] | None = None


class ConfigOverride(_Plain, kw_only=True):
    agent: AgentOverride | None = None
    tts: TtsOverride | None = None
    conversation: ConversationOverride | None = None


class SourceInfo(_Plain, kw_only=True):
    source: str | None = None
    version: str | None = None


class ConversationInitiation(_Strict, kw_only=True, tag="conversation_initiation_client_data"):
    conversation_config_override: ConfigOverride | None = None
    custom_llm_extra_body: dict[str, Any] | None = None
    dynamic_variables: dict[str, Any] | None = None
    user_id: str | None = None
    source_info: SourceInfo | None = None
    tool_mock_config: dict[str, Any] | None = None


class Pong(_Strict, kw_only=True, tag="pong"):
    event_id: int


class UserMessage(_Strict, kw_only=True, tag="user_message"):
    text: str | None = None


class UserActivity(_Strict, kw_only=True, tag="user_activity"):
    pass


class UserFeedback(_Strict, kw_only=True, tag="feedback"):
    event_id: int
    score: Literal["like", "dislike"]


class ClientToolResult(_Strict, kw_only=True, tag="client_tool_result"):
    tool_call_id: str
    result: str
    is_error: bool


class McpToolApprovalResult(_Strict, kw_only=True, tag="mcp_tool_approval_result"):
    tool_call_id: str
    is_approved: bool


class ContextualUpdate(_Strict, kw_only=True, tag="contextual_update"):
    text: str


ClientMessage = (
    ConversationInitiation
    | Pong
    | UserMessage
    | UserActivity
    | UserFeedback
    | ClientToolResult
    | McpToolApprovalResult
    | ContextualUpdate
)

# -- server → client ---------------------------------------------------------------------------


class Alignment(_Plain, kw_only=True):
    chars: list[str]
    char_start_times_ms: list[int]
    char_durations_ms: list[int]


class AudioData(_Plain, kw_only=True):
    audio_base_64: str
    event_id: int
    alignment: Alignment | None = None


class Audio(_Strict, kw_only=True, tag="audio"):
    audio_event: AudioData


class TranscriptData(_Plain, kw_only=True):
    user_transcript: str
    event_id: int


class UserTranscript(_Strict, kw_only=True, tag="user_transcript"):
    user_transcription_event: TranscriptData


class TentativeUserTranscript(_Strict, kw_only=True, tag="tentative_user_transcript"):
    tentative_user_transcription_event: TranscriptData


class AgentResponseData(_Plain, kw_only=True):
    agent_response: str
    event_id: int


class AgentResponse(_Strict, kw_only=True, tag="agent_response"):
    agent_response_event: AgentResponseData


class CorrectionData(_Plain, kw_only=True):
    original_agent_response: str
    corrected_agent_response: str
    event_id: int


class AgentResponseCorrection(_Strict, kw_only=True, tag="agent_response_correction"):
    agent_response_correction_event: CorrectionData


class ChatPart(_Plain, kw_only=True):
    text: str
    type: Literal["start", "delta", "stop"]
    event_id: int


class AgentChatResponsePart(_Strict, kw_only=True, tag="agent_chat_response_part"):
    text_response_part: ChatPart


class InterruptionData(_Plain, kw_only=True):
    event_id: int


class Interruption(_Strict, kw_only=True, tag="interruption"):
    interruption_event: InterruptionData


class MetadataData(_Plain, kw_only=True):
    conversation_id: str
    agent_output_audio_format: AudioFormat
    user_input_audio_format: AudioFormat


class ConversationMetadata(_Strict, kw_only=True, tag="conversation_initiation_metadata"):
    conversation_initiation_metadata_event: MetadataData


class ToolCallData(_Plain, kw_only=True):
    tool_name: str
    tool_call_id: str
    parameters: dict[str, Any]
    event_id: int


class ClientToolCall(_Strict, kw_only=True, tag="client_tool_call"):
    client_tool_call: ToolCallData


class ToolRequestData(_Plain, kw_only=True):
    tool_name: str
    tool_call_id: str
    tool_type: str
    event_id: int


class AgentToolRequest(_Strict, kw_only=True, tag="agent_tool_request"):
    agent_tool_request: ToolRequestData


class ToolResponseData(_Plain, kw_only=True):
    tool_name: str
    tool_call_id: str
    tool_type: str
    is_error: bool
    is_called: bool
    event_id: int


class AgentToolResponse(_Strict, kw_only=True, tag="agent_tool_response"):
    agent_tool_response: ToolResponseData


class VadData(_Plain, kw_only=True):
    vad_score: float


class VadScore(_Strict, kw_only=True, tag="vad_score"):
    vad_score_event: VadData


class PingData(_Plain, kw_only=True):
    event_id: int
    ping_ms: int | None = None


class Ping(_Strict, kw_only=True, tag="ping"):
    ping_event: PingData


class TentativeAgentData(_Plain, kw_only=True):
    tentative_agent_response: str


class InternalTentativeAgentResponse(
    _Strict, kw_only=True, tag="internal_tentative_agent_response"
):
    tentative_agent_response_internal_event: TentativeAgentData


class ErrorData(_Plain, kw_only=True):
    code: Literal[1000, 1002, 1008, 1011]
    message: str | None = None
    error_type: (
        Literal[
            "unknown", "invalid_message", "telephony_agent_error", "mcp_tool_error",
            "mcp_https_error", "value_error", "missing_fields", "override_error",
            "missing_dynamic_variable_transfer", "missing_dynamic_variable",
            "websocket_disconnect", "safety_violation", "llm_timeout",
            "transport_receive_timeout", "asyncio_timeout", "http_exception",
            "max_duration_exceeded", "llm_error", "custom_llm_error", "cascade_brain_error",
            "asr_transcription_error", "vad_error", "turn_probability_error",
            "tts_cascade_error", "redis_timeout_error", "unknown_websocket_crash",
        ]
        | None
    ) = None  # fmt: skip
    reason: str | None = None
    debug_message: str | None = None
    details: dict[str, Any] | None = None


class Error(_Strict, kw_only=True, tag="error"):
    error_event: ErrorData


ServerMessage = (
    Audio
    | UserTranscript
    | TentativeUserTranscript
    | AgentResponse
    | AgentResponseCorrection
    | AgentChatResponsePart
    | Interruption
    | ConversationMetadata
    | ClientToolCall
    | AgentToolRequest
    | AgentToolResponse
    | VadScore
    | Ping
    | InternalTentativeAgentResponse
    | Error
)

_CLIENT = msgspec.json.Decoder(ClientMessage)
_AUDIO = msgspec.json.Decoder(UserAudio)
_SERVER = msgspec.json.Decoder(ServerMessage)


def client_message(frame: str | bytes) -> Any:
    """Check one frame the session wrote as a documented client message; returns it."""
    assert isinstance(frame, str), f"client messages are text frames, got {type(frame)}"
    try:
        parsed = json.loads(frame)
        if isinstance(parsed, dict) and "type" not in parsed:
            return _AUDIO.decode(frame)
        return _CLIENT.decode(frame)
    except msgspec.ValidationError as exc:
        raise AssertionError(
            f"not a documented ElevenLabs client message ({exc}): {frame}"
        ) from exc


def server_message(data: dict[str, Any] | str) -> Any:
    """Check one server message (a dict or its JSON) as a documented ElevenLabs one."""
    text = json.dumps(data) if isinstance(data, dict) else data
    try:
        return _SERVER.decode(text)
    except msgspec.ValidationError as exc:
        raise AssertionError(f"not a documented ElevenLabs server message ({exc}): {text}") from exc
