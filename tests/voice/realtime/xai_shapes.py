"""The Grok Voice Agent's events as documented, checked strictly.

xAI publishes no SDK with typed models of its Voice Agent events (its Python SDK speaks
gRPC and has no realtime client), so these msgspec structs encode the shapes from xAI's
Voice Agent documentation and the event models of xAI's own example client
(``xai-org/xai-cookbook``, the Android voice example), field for field. Every struct forbids
unknown fields: a misspelt or invented field fails `client_event` / `server_event`, which
the tests call on every frame the session writes and every event the sim sends or a test
feeds the session.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import msgspec


class _Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, tag_field="type"):
    pass


class _Plain(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


# -- the session -----------------------------------------------------------------------------


class Pcm(_Strict, kw_only=True, tag="audio/pcm"):
    rate: Literal[8000, 16000, 22050, 24000, 32000, 44100, 48000] = 24000


class Pcmu(_Strict, kw_only=True, tag="audio/pcmu"):
    pass


class Pcma(_Strict, kw_only=True, tag="audio/pcma"):
    pass


AudioFormat = Pcm | Pcmu | Pcma


class Transcription(_Plain, kw_only=True):
    language_hint: str | None = None
    keyterms: list[str] | None = None
    model: str | None = None


class AudioInput(_Plain, kw_only=True):
    format: AudioFormat | None = None
    transcription: Transcription | None = None


class AudioOutput(_Plain, kw_only=True):
    format: AudioFormat | None = None
    speed: float | None = None


class Audio(_Plain, kw_only=True):
    input: AudioInput | None = None
    output: AudioOutput | None = None


class TurnDetection(_Plain, kw_only=True):
    type: Literal["server_vad"]
    threshold: float | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None
    idle_timeout_ms: int | None = None


class Reasoning(_Plain, kw_only=True):
    effort: Literal["high", "none"]


class FunctionTool(_Strict, kw_only=True, tag="function"):
    name: str
    description: str = ""
    parameters: dict[str, Any]


class WebSearch(_Strict, kw_only=True, tag="web_search"):
    pass


class XSearch(_Strict, kw_only=True, tag="x_search"):
    allowed_x_handles: list[str] | None = None


class FileSearch(_Strict, kw_only=True, tag="file_search"):
    vector_store_ids: list[str]
    max_num_results: int | None = None


Tool = FunctionTool | WebSearch | XSearch | FileSearch


class Session(_Plain, kw_only=True):
    """``session.update``'s session; the server's also names the model."""

    model: str | None = None
    instructions: str | None = None
    voice: str | None = None
    turn_detection: TurnDetection | None = None
    audio: Audio | None = None
    tools: list[Tool] | None = None
    reasoning: Reasoning | None = None


# -- items -------------------------------------------------------------------------------------


class Content(_Plain, kw_only=True):
    type: Literal["input_text", "input_audio", "output_text", "output_audio", "text", "audio"]
    text: str | None = None
    audio: str | None = None
    transcript: str | None = None


class MessageItem(_Strict, kw_only=True, tag="message"):
    id: str | None = None
    object: Literal["realtime.item"] | None = None
    status: Literal["completed", "in_progress", "incomplete"] | None = None
    role: Literal["user", "assistant", "system"]
    content: list[Content]


class FunctionCallItem(_Strict, kw_only=True, tag="function_call"):
    id: str | None = None
    object: Literal["realtime.item"] | None = None
    status: Literal["completed", "in_progress", "incomplete"] | None = None
    call_id: str
    name: str
    arguments: str


class FunctionCallOutputItem(_Strict, kw_only=True, tag="function_call_output"):
    id: str | None = None
    object: Literal["realtime.item"] | None = None
    status: Literal["completed", "in_progress", "incomplete"] | None = None
    call_id: str
    output: str


class ForceText(_Plain, kw_only=True):
    type: Literal["output_text", "text"]
    text: str


class ForceMessageItem(_Strict, kw_only=True, tag="force_message"):
    """A line for xAI's TTS to say verbatim (no inference)."""

    role: Literal["assistant"] = "assistant"
    content: list[ForceText]
    interruptible: bool | None = None
    voice: str | None = None


ServerItem = MessageItem | FunctionCallItem | FunctionCallOutputItem

# -- client events -------------------------------------------------------------------------------


class SessionUpdate(_Strict, kw_only=True, tag="session.update"):
    event_id: str | None = None
    session: Session


class AudioAppend(_Strict, kw_only=True, tag="input_audio_buffer.append"):
    event_id: str | None = None
    audio: str


class AudioCommit(_Strict, kw_only=True, tag="input_audio_buffer.commit"):
    event_id: str | None = None


class AudioClear(_Strict, kw_only=True, tag="input_audio_buffer.clear"):
    event_id: str | None = None


class ItemCreate(_Strict, kw_only=True, tag="conversation.item.create"):
    event_id: str | None = None
    previous_item_id: str | None = None
    item: MessageItem | FunctionCallOutputItem | ForceMessageItem


class ItemDelete(_Strict, kw_only=True, tag="conversation.item.delete"):
    event_id: str | None = None
    item_id: str


class ResponseParams(_Plain, kw_only=True):
    modalities: list[Literal["text", "audio"]] | None = None


class ResponseCreate(_Strict, kw_only=True, tag="response.create"):
    event_id: str | None = None
    response: ResponseParams | None = None


class ResponseCancel(_Strict, kw_only=True, tag="response.cancel"):
    event_id: str | None = None
    response_id: str | None = None


ClientEvent = (
    SessionUpdate
    | AudioAppend
    | AudioCommit
    | AudioClear
    | ItemCreate
    | ItemDelete
    | ResponseCreate
    | ResponseCancel
)

# -- server events -------------------------------------------------------------------------------


class Conversation(_Plain, kw_only=True):
    id: str
    object: Literal["realtime.conversation"]


class ConversationCreated(_Strict, kw_only=True, tag="conversation.created"):
    event_id: str
    conversation: Conversation


class SessionCreated(_Strict, kw_only=True, tag="session.created"):
    event_id: str
    session: Session


class SessionUpdated(_Strict, kw_only=True, tag="session.updated"):
    event_id: str
    session: Session


class ItemAdded(_Strict, kw_only=True, tag="conversation.item.added"):
    event_id: str
    previous_item_id: str | None = None
    item: ServerItem


class ItemDeleted(_Strict, kw_only=True, tag="conversation.item.deleted"):
    event_id: str
    item_id: str


class Committed(_Strict, kw_only=True, tag="input_audio_buffer.committed"):
    event_id: str
    previous_item_id: str | None = None
    item_id: str


class Cleared(_Strict, kw_only=True, tag="input_audio_buffer.cleared"):
    event_id: str


class SpeechStarted(_Strict, kw_only=True, tag="input_audio_buffer.speech_started"):
    event_id: str
    item_id: str
    audio_start_ms: int | None = None


class SpeechStopped(_Strict, kw_only=True, tag="input_audio_buffer.speech_stopped"):
    event_id: str
    item_id: str
    audio_end_ms: int | None = None


class InputTranscriptionCompleted(
    _Strict, kw_only=True, tag="conversation.item.input_audio_transcription.completed"
):
    event_id: str
    item_id: str
    transcript: str


class TokenUsage(_Plain, kw_only=True):
    total_tokens: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None


class Response(_Plain, kw_only=True):
    id: str
    object: Literal["realtime.response"]
    status: Literal["completed", "in_progress", "incomplete", "cancelled", "failed"]
    status_details: dict[str, Any] | None = None
    output: list[ServerItem]
    usage: TokenUsage | None = None


class ResponseCreated(_Strict, kw_only=True, tag="response.created"):
    event_id: str
    response: Response


class ResponseDone(_Strict, kw_only=True, tag="response.done"):
    event_id: str
    response: Response
    usage: TokenUsage | None = None


class OutputItemAdded(_Strict, kw_only=True, tag="response.output_item.added"):
    event_id: str
    response_id: str
    output_index: int
    item: ServerItem


class OutputItemDone(_Strict, kw_only=True, tag="response.output_item.done"):
    event_id: str
    response_id: str
    output_index: int
    item: ServerItem


class Part(_Plain, kw_only=True):
    type: str
    transcript: str | None = None


class ContentPartAdded(_Strict, kw_only=True, tag="response.content_part.added"):
    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    part: Part


class ContentPartDone(_Strict, kw_only=True, tag="response.content_part.done"):
    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    part: Part | None = None


class OutputAudioDelta(_Strict, kw_only=True, tag="response.output_audio.delta"):
    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    delta: str


class OutputAudioDone(_Strict, kw_only=True, tag="response.output_audio.done"):
    event_id: str
    response_id: str
    item_id: str
    output_index: int | None = None
    content_index: int | None = None


class TranscriptDelta(_Strict, kw_only=True, tag="response.output_audio_transcript.delta"):
    event_id: str
    response_id: str
    item_id: str
    output_index: int | None = None
    content_index: int | None = None
    delta: str


class TranscriptDone(_Strict, kw_only=True, tag="response.output_audio_transcript.done"):
    """xAI's ``done`` names the item; it does not repeat the transcript."""

    event_id: str
    response_id: str
    item_id: str
    output_index: int | None = None
    content_index: int | None = None


class ArgumentsDelta(_Strict, kw_only=True, tag="response.function_call_arguments.delta"):
    event_id: str
    response_id: str | None = None
    item_id: str | None = None
    previous_item_id: str | None = None
    call_id: str
    delta: str


class ArgumentsDone(_Strict, kw_only=True, tag="response.function_call_arguments.done"):
    event_id: str
    response_id: str | None = None
    item_id: str | None = None
    call_id: str
    name: str
    arguments: str


class Ping(_Strict, kw_only=True, tag="ping"):
    event_id: str | None = None
    timestamp: int


class ErrorBody(_Plain, kw_only=True):
    type: str | None = None
    code: str | None = None
    message: str
    param: str | None = None
    event_id: str | None = None


class Error(_Strict, kw_only=True, tag="error"):
    event_id: str
    error: ErrorBody


ServerEvent = (
    ConversationCreated
    | SessionCreated
    | SessionUpdated
    | ItemAdded
    | ItemDeleted
    | Committed
    | Cleared
    | SpeechStarted
    | SpeechStopped
    | InputTranscriptionCompleted
    | ResponseCreated
    | ResponseDone
    | OutputItemAdded
    | OutputItemDone
    | ContentPartAdded
    | ContentPartDone
    | OutputAudioDelta
    | OutputAudioDone
    | TranscriptDelta
    | TranscriptDone
    | ArgumentsDelta
    | ArgumentsDone
    | Ping
    | Error
)

_CLIENT = msgspec.json.Decoder(ClientEvent)
_SERVER = msgspec.json.Decoder(ServerEvent)


def client_event(frame: str | bytes) -> Any:
    """Check one frame the session wrote as a documented client event; returns the struct."""
    assert isinstance(frame, str), f"client events are text frames, got {type(frame)}"
    try:
        return _CLIENT.decode(frame)
    except msgspec.ValidationError as exc:
        raise AssertionError(f"not a documented xAI client event ({exc}): {frame}") from exc


def server_event(data: dict[str, Any] | str) -> Any:
    """Check one server event (a dict or its JSON) as a documented xAI server event."""
    text = json.dumps(data) if isinstance(data, dict) else data
    try:
        return _SERVER.decode(text)
    except msgspec.ValidationError as exc:
        raise AssertionError(f"not a documented xAI server event ({exc}): {text}") from exc
