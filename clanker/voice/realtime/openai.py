"""`OpenAIRealtimeSession`: the OpenAI Realtime API (GA event names) as a sans-IO session.

Client events it writes: ``session.update`` (a ``type: "realtime"`` session, PCM 24 kHz both
ways, ``turn_detection: null`` so turns are ours, optional input transcription, function
tools), ``input_audio_buffer.append`` / ``.commit`` / ``.clear``, ``conversation.item.create``
(a labelled ``"[Name]: text"`` user message, or a ``function_call_output``),
``response.create`` (in the conversation, or out of band with ``conversation: "none"`` for a
line to say verbatim), ``response.cancel`` and ``conversation.item.truncate``. Every event
carries an ``event_id`` (``clk_<n>``) so an ``error`` naming it says which of ours it answers.

Server events it reads: ``session.created`` (the session id), ``session.updated`` (the first
one is `SessionReady`: our configuration is in effect), ``response.created``,
``response.output_audio.delta``, ``response.output_audio_transcript.delta`` / ``.done``,
``conversation.item.input_audio_transcription.delta`` / ``.completed``,
``response.function_call_arguments.done`` and ``response.done`` (a function call in its
output that was not announced yet becomes a `ToolCall` there: one per call id, never two),
``error``. Other event types are ignored; a frame that is not such JSON is a
``ProviderError(code="bad_frame")``.

This module imports nothing but msgspec and the standard library (a sans-IO core).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import msgspec

from clanker.voice.realtime._frames import EventWriter, check_pcm, function_tools, labelled
from clanker.voice.realtime.api import (
    AudioDelta,
    Capabilities,
    ConnectTarget,
    InputTranscript,
    Outgoing,
    OutputTranscript,
    ProviderError,
    RealtimeEvent,
    RealtimeSession,
    ResponseDone,
    ResponseStarted,
    ResponseStatus,
    SessionConfig,
    SessionReady,
    ToolCall,
    ToolSpec,
    Usage,
)

DEFAULT_URL = "wss://api.openai.com/v1/realtime"
DEFAULT_MODEL = "gpt-realtime"
DEFAULT_TRANSCRIPTION_MODEL = "gpt-4o-mini-transcribe"
RATE = 24_000
"""The only PCM rate the Realtime API takes and gives (``audio/pcm``)."""

MAX_APPEND_BYTES = 10 * RATE * 2
"""One ``input_audio_buffer.append`` carries at most 10 s of audio (the API takes up to
15 MiB per event; base64 of 10 s is about 640 kB)."""

FATAL_CODES = frozenset({"invalid_api_key", "session_expired", "insufficient_quota"})
"""Error codes after which the session cannot go on."""


CAPABILITIES = Capabilities(
    provider="openai",
    input_rate=RATE,
    output_rate=RATE,
    audio_input=True,
    text_input=True,
    exact_line=True,
    cancel=True,
    truncate=True,
    update_tools=True,
    update_instructions=True,
    tools=True,
    interrupt_ack="immediate_provider_ack",
)

EXACT_LINE_INSTRUCTIONS = (
    "Read the user's message aloud exactly as written, word for word. Do not add, drop, "
    "translate or answer anything; say nothing else."
)

# -- the server events read (unknown fields are ignored) ----------------------------------


class _Head(msgspec.Struct):
    type: str


class _SessionObject(msgspec.Struct):
    id: str = ""


class _SessionEvent(msgspec.Struct):
    session: _SessionObject


class _Item(msgspec.Struct):
    type: str
    id: str = ""
    call_id: str = ""
    name: str = ""
    arguments: str = ""


class _InputDetails(msgspec.Struct):
    audio_tokens: int = 0
    text_tokens: int = 0
    cached_tokens: int = 0


class _OutputDetails(msgspec.Struct):
    audio_tokens: int = 0
    text_tokens: int = 0


class _Usage(msgspec.Struct):
    input_token_details: _InputDetails | None = None
    output_token_details: _OutputDetails | None = None


class _StatusError(msgspec.Struct):
    code: str | None = None
    message: str | None = None
    type: str | None = None


class _StatusDetails(msgspec.Struct):
    reason: str | None = None
    error: _StatusError | None = None


class _Response(msgspec.Struct):
    id: str
    status: str = ""
    status_details: _StatusDetails | None = None
    output: list[_Item] = []
    usage: _Usage | None = None


class _ResponseEvent(msgspec.Struct):
    response: _Response


class _AudioDeltaEvent(msgspec.Struct):
    response_id: str
    item_id: str
    delta: str


class _TranscriptDeltaEvent(msgspec.Struct):
    response_id: str
    item_id: str
    delta: str


class _TranscriptDoneEvent(msgspec.Struct):
    response_id: str
    item_id: str
    transcript: str


class _InputDeltaEvent(msgspec.Struct):
    item_id: str
    delta: str | None = None


class _InputDoneEvent(msgspec.Struct):
    item_id: str
    transcript: str


class _ArgumentsDoneEvent(msgspec.Struct):
    response_id: str
    call_id: str
    name: str
    arguments: str


class _ErrorBody(msgspec.Struct):
    message: str
    type: str
    code: str | None = None
    event_id: str | None = None
    param: str | None = None


class _ErrorEvent(msgspec.Struct):
    error: _ErrorBody


_STATUSES: dict[str, ResponseStatus] = {
    "completed": "completed",
    "cancelled": "cancelled",
    "failed": "failed",
    "incomplete": "incomplete",
}


def _pcm_of(delta: str) -> bytes:
    try:
        return base64.b64decode(delta, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"the audio delta is not base64 ({exc})") from exc


class OpenAIRealtimeSession(RealtimeSession):
    """One OpenAI Realtime conversation (one socket), as a state machine.

    ``base_url`` is the WebSocket endpoint (a test points it at the realtimesim); the model
    is chosen at connect time (``?model=``), so it is a constructor argument, and a
    `SessionConfig.model` given to `start` must name the same one.
    """

    capabilities = CAPABILITIES

    def __init__(
        self,
        api_key: str,
        *,
        model: str = DEFAULT_MODEL,
        base_url: str = DEFAULT_URL,
        transcription_model: str = DEFAULT_TRANSCRIPTION_MODEL,
    ) -> None:
        if not api_key.strip():
            raise ValueError("an OpenAI realtime session needs an API key; it is empty")
        if not model.strip():
            raise ValueError("an OpenAI realtime session needs a model name; it is empty")
        if not base_url.startswith(("ws://", "wss://")):
            raise ValueError(f"the realtime base URL must be ws:// or wss://, not {base_url!r}")
        self.api_key = api_key
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.transcription_model = transcription_model
        self.session_id = ""
        self.ready = False
        self.active_response: str | None = None
        """The response in progress (between ``response.created`` and ``response.done``)."""
        self._writer = EventWriter()
        self._start_event_id: str | None = None
        self._called: dict[str, set[str]] = {}
        self._handlers: dict[str, Callable[[bytes], list[RealtimeEvent]]] = {
            "session.created": self._on_session_created,
            "session.updated": self._on_session_updated,
            "response.created": self._on_response_created,
            "response.output_audio.delta": self._on_audio_delta,
            "response.output_audio_transcript.delta": self._on_transcript_delta,
            "response.output_audio_transcript.done": self._on_transcript_done,
            "conversation.item.input_audio_transcription.delta": self._on_input_delta,
            "conversation.item.input_audio_transcription.completed": self._on_input_done,
            "response.function_call_arguments.done": self._on_arguments_done,
            "response.done": self._on_response_done,
            "error": self._on_error,
        }

    # -- connecting ------------------------------------------------------------------------

    def target(self) -> ConnectTarget:
        return ConnectTarget(
            url=f"{self.base_url}?model={quote(self.model, safe='')}",
            headers=(("Authorization", f"Bearer {self.api_key}"),),
        )

    def start(self, config: SessionConfig) -> list[Outgoing]:
        if config.model and config.model != self.model:
            raise ValueError(
                f"the OpenAI realtime model is chosen when connecting ({self.model!r}); "
                f"the session config asks for {config.model!r}"
            )
        session: dict[str, Any] = {"type": "realtime", "output_modalities": ["audio"]}
        if config.instructions:
            session["instructions"] = config.instructions
        pcm = {"type": "audio/pcm", "rate": RATE}
        transcription = {"model": self.transcription_model} if config.transcribe_input else None
        output: dict[str, Any] = {"format": pcm}
        if config.voice:
            output["voice"] = config.voice
        session["audio"] = {
            "input": {"format": pcm, "turn_detection": None, "transcription": transcription},
            "output": output,
        }
        session["tools"] = function_tools(config.tools, "OpenAI")
        session["tool_choice"] = "auto"
        frame = self._writer.event("session.update", session=session)
        self._start_event_id = self._writer.last_id
        return [frame]

    # -- commands --------------------------------------------------------------------------

    def append_audio(self, pcm: bytes) -> list[Outgoing]:
        check_pcm(pcm)
        return [
            self._writer.event(
                "input_audio_buffer.append",
                audio=base64.b64encode(pcm[at : at + MAX_APPEND_BYTES]).decode("ascii"),
            )
            for at in range(0, len(pcm), MAX_APPEND_BYTES)
        ]

    def commit_turn(self) -> list[Outgoing]:
        return [self._writer.event("input_audio_buffer.commit")]

    def clear_audio(self) -> list[Outgoing]:
        return [self._writer.event("input_audio_buffer.clear")]

    def add_text_turn(self, speaker: str, text: str) -> list[Outgoing]:
        item = {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": labelled(speaker, text)}],
        }
        return [self._writer.event("conversation.item.create", item=item)]

    def request_response(self) -> list[Outgoing]:
        return [self._writer.event("response.create")]

    def speak_exact(self, text: str) -> list[Outgoing]:
        if not text.strip():
            raise ValueError("speak_exact needs a line to say; it is empty")
        response = {
            "conversation": "none",
            "instructions": EXACT_LINE_INSTRUCTIONS,
            "input": [
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": text.strip()}],
                }
            ],
            "tools": [],
            "tool_choice": "none",
            "output_modalities": ["audio"],
            "metadata": {"clanker": "speak_exact"},
        }
        return [self._writer.event("response.create", response=response)]

    def cancel_response(self) -> list[Outgoing]:
        if self.active_response is None:
            return [self._writer.event("response.cancel")]
        return [self._writer.event("response.cancel", response_id=self.active_response)]

    def truncate(self, item_id: str, played_ms: int) -> list[Outgoing]:
        if not item_id:
            raise ValueError("truncate needs the id of the item to cut; it is empty")
        if played_ms < 0:
            raise ValueError(f"truncate needs the played milliseconds, >= 0; got {played_ms}")
        return [
            self._writer.event(
                "conversation.item.truncate",
                item_id=item_id,
                content_index=0,
                audio_end_ms=played_ms,
            )
        ]

    def tool_result(self, call_id: str, output: str) -> list[Outgoing]:
        if not call_id:
            raise ValueError("a tool result needs the call id it answers; it is empty")
        item = {"type": "function_call_output", "call_id": call_id, "output": output}
        return [self._writer.event("conversation.item.create", item=item)]

    def update(
        self, *, instructions: str | None = None, tools: tuple[ToolSpec, ...] | None = None
    ) -> list[Outgoing]:
        if instructions is None and tools is None:
            raise ValueError("update needs instructions or tools to change; it got neither")
        session: dict[str, Any] = {"type": "realtime"}
        if instructions is not None:
            session["instructions"] = instructions
        if tools is not None:
            session["tools"] = function_tools(tools, "OpenAI")
        return [self._writer.event("session.update", session=session)]

    # -- beyond the interface --------------------------------------------------------------

    def connection_lost(self, code: int | None, reason: str | None) -> list[RealtimeEvent]:
        """The socket closed (``code`` None: it broke without a close frame). The response in
        progress, if any, ends as failed, then a fatal `ProviderError` says how it closed
        (the API closes with reason ``<type>.<code>`` after a fatal error, e.g. 3000
        ``invalid_request_error.invalid_api_key``). Nothing reconnects: the caller decides."""
        events: list[RealtimeEvent] = []
        if self.active_response is not None:
            events.append(
                ResponseDone(
                    response_id=self.active_response, status="failed", detail="connection lost"
                )
            )
            self._called.pop(self.active_response, None)
            self.active_response = None
        said = f"code {code}" if code is not None else "without a close frame"
        if reason:
            said += f", reason {reason!r}"
        error_code = reason.rpartition(".")[2] if reason and "." in reason else "connection_lost"
        events.append(
            ProviderError(
                code=error_code, message=f"the realtime socket closed ({said})", fatal=True
            )
        )
        return events

    # -- receiving -------------------------------------------------------------------------

    def receive(self, frame: str | bytes) -> list[RealtimeEvent]:
        raw = frame.encode() if isinstance(frame, str) else frame
        try:
            head = msgspec.json.decode(raw, type=_Head)
        except msgspec.DecodeError as exc:
            return [_bad_frame(f"not a realtime server event ({exc}): {_excerpt(raw)}")]
        handler = self._handlers.get(head.type)
        if handler is None:
            return []
        try:
            return handler(raw)
        except (msgspec.DecodeError, ValueError) as exc:
            return [_bad_frame(f"a {head.type} event the session cannot read ({exc})")]

    def _on_session_created(self, raw: bytes) -> list[RealtimeEvent]:
        self.session_id = msgspec.json.decode(raw, type=_SessionEvent).session.id
        return []

    def _on_session_updated(self, raw: bytes) -> list[RealtimeEvent]:
        event = msgspec.json.decode(raw, type=_SessionEvent)
        self.session_id = event.session.id or self.session_id
        if self.ready:
            return []
        self.ready = True
        return [SessionReady(provider="openai", session_id=self.session_id)]

    def _on_response_created(self, raw: bytes) -> list[RealtimeEvent]:
        response = msgspec.json.decode(raw, type=_ResponseEvent).response
        self.active_response = response.id
        self._called.setdefault(response.id, set())
        return [ResponseStarted(response_id=response.id)]

    def _on_audio_delta(self, raw: bytes) -> list[RealtimeEvent]:
        event = msgspec.json.decode(raw, type=_AudioDeltaEvent)
        return [
            AudioDelta(
                response_id=event.response_id,
                item_id=event.item_id,
                pcm=_pcm_of(event.delta),
                sample_rate=RATE,
            )
        ]

    def _on_transcript_delta(self, raw: bytes) -> list[RealtimeEvent]:
        event = msgspec.json.decode(raw, type=_TranscriptDeltaEvent)
        return [
            OutputTranscript(
                response_id=event.response_id, item_id=event.item_id, text=event.delta, final=False
            )
        ]

    def _on_transcript_done(self, raw: bytes) -> list[RealtimeEvent]:
        event = msgspec.json.decode(raw, type=_TranscriptDoneEvent)
        return [
            OutputTranscript(
                response_id=event.response_id,
                item_id=event.item_id,
                text=event.transcript,
                final=True,
            )
        ]

    def _on_input_delta(self, raw: bytes) -> list[RealtimeEvent]:
        event = msgspec.json.decode(raw, type=_InputDeltaEvent)
        if not event.delta:
            return []
        return [InputTranscript(item_id=event.item_id, text=event.delta, final=False)]

    def _on_input_done(self, raw: bytes) -> list[RealtimeEvent]:
        event = msgspec.json.decode(raw, type=_InputDoneEvent)
        return [InputTranscript(item_id=event.item_id, text=event.transcript, final=True)]

    def _on_arguments_done(self, raw: bytes) -> list[RealtimeEvent]:
        event = msgspec.json.decode(raw, type=_ArgumentsDoneEvent)
        return self._tool_call(event.response_id, event.call_id, event.name, event.arguments)

    def _tool_call(
        self, response_id: str, call_id: str, name: str, arguments: str
    ) -> list[RealtimeEvent]:
        if not call_id or not name:
            raise ValueError("a function call without its call_id or name")
        called = self._called.setdefault(response_id, set())
        if call_id in called:
            return []
        called.add(call_id)
        return [ToolCall(response_id=response_id, call_id=call_id, name=name, arguments=arguments)]

    def _on_response_done(self, raw: bytes) -> list[RealtimeEvent]:
        response = msgspec.json.decode(raw, type=_ResponseEvent).response
        events: list[RealtimeEvent] = []
        for item in response.output:
            if item.type == "function_call":
                events.extend(self._tool_call(response.id, item.call_id, item.name, item.arguments))
        self._called.pop(response.id, None)
        if self.active_response == response.id:
            self.active_response = None
        status = _STATUSES.get(response.status)
        details = response.status_details
        detail = ""
        if details is not None:
            if details.error is not None:
                detail = details.error.message or details.error.code or details.error.type or ""
            elif details.reason:
                detail = details.reason
        if status is None:
            status, detail = "failed", f"the provider reported status {response.status!r}"
        elif status == "cancelled" and details is not None and details.reason == "turn_detected":
            status = "interrupted"
        events.append(
            ResponseDone(
                response_id=response.id, status=status, usage=_usage(response.usage), detail=detail
            )
        )
        return events

    def _on_error(self, raw: bytes) -> list[RealtimeEvent]:
        error = msgspec.json.decode(raw, type=_ErrorEvent).error
        message = error.message
        if error.param:
            message += f" (param {error.param})"
        answering = self._writer.type_of(error.event_id or "")
        if answering is not None:
            message += f" [answering our {answering} {error.event_id}]"
        fatal = (
            (error.code or "") in FATAL_CODES
            or error.type == "authentication_error"
            or (error.event_id is not None and error.event_id == self._start_event_id)
        )
        return [ProviderError(code=error.code or error.type, message=message, fatal=fatal)]

    # -- writing ---------------------------------------------------------------------------


def _usage(usage: _Usage | None) -> Usage | None:
    if usage is None:
        return None
    given = usage.input_token_details or _InputDetails()
    made = usage.output_token_details or _OutputDetails()
    return Usage(
        audio_in=given.audio_tokens,
        audio_out=made.audio_tokens,
        text_in=given.text_tokens,
        text_out=made.text_tokens,
        cached_in=given.cached_tokens,
    )


def _bad_frame(message: str) -> ProviderError:
    return ProviderError(code="bad_frame", message=message)


def _excerpt(raw: bytes) -> str:
    text = raw[:80].decode("utf-8", "replace")
    return repr(text + ("…" if len(raw) > 80 else ""))
