"""`XaiRealtimeSession`: xAI's Grok Voice Agent API (``wss://api.x.ai/v1/realtime``) as a
sans-IO session.

The Voice Agent API is a dialect of OpenAI's Realtime events (docs/voice-realtime.md, "xAI"),
close enough that most frames read the same and different enough that sharing openai.py's
state machine would hide the differences:

* ``session.update`` is flat: ``voice``, ``instructions`` and ``turn_detection`` sit at the
  top of the session, not under ``audio``; there is no ``session.type``, no
  ``output_modalities`` and no ``tool_choice``. PCM takes a rate (8 to 48 kHz), chosen here
  once for both directions.
* the first server event is ``conversation.created``; ``session.created`` may follow.
* ``response.output_audio_transcript.done`` carries no transcript: the session joins the
  deltas itself.
* ``response.function_call_arguments.done`` may lack ``response_id``: the call is then the
  response in progress's.
* usage is token totals without a split by modality (the API bills by the minute), so
  `ResponseDone.usage` stays None.
* a line to say verbatim is a ``force_message`` conversation item: xAI's TTS speaks it
  without inference and runs a normal response lifecycle for it (no ``response.create``).
* there is no ``conversation.item.truncate``: `truncate` raises `Unsupported`.
* input transcription is not switched on or off by the session (xAI transcribes committed
  audio and sends ``conversation.item.input_audio_transcription.completed``); with
  `SessionConfig.transcribe_input` off the session drops those events.
* an ``error`` event's ``error`` may be an object (OpenAI's shape) or a string with ``code``
  and ``message`` beside it; both are read.

Every client event carries an ``event_id`` (``clk_<n>``), so an error that names one tells
which of ours it answers (where xAI names it).

This module imports nothing but msgspec and the standard library (a sans-IO core).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import quote

import msgspec

from clanker.voice.realtime._frames import (
    EventWriter,
    bad_frame,
    check_pcm,
    excerpt,
    function_tools,
    labelled,
    pcm_of,
)
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
)

DEFAULT_URL = "wss://api.x.ai/v1/realtime"
DEFAULT_MODEL = "grok-voice-latest"
DEFAULT_RATE = 24_000
RATES = frozenset({8_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000})
"""The ``audio/pcm`` rates the Voice Agent API takes and gives."""

ReasoningEffort = Literal["high", "none"]

MAX_APPEND_SECONDS = 10
"""One ``input_audio_buffer.append`` carries at most 10 s of audio."""

FATAL_CODES = frozenset(
    {"invalid_api_key", "unauthorized", "authentication_error", "session_expired"}
)
"""Error codes (or types) after which the session cannot go on."""


# -- the server events read (unknown fields are ignored) ----------------------------------


class _Head(msgspec.Struct):
    type: str


class _Conversation(msgspec.Struct):
    id: str = ""


class _ConversationCreated(msgspec.Struct):
    conversation: _Conversation


class _SessionObject(msgspec.Struct):
    id: str = ""


class _SessionEvent(msgspec.Struct):
    session: _SessionObject


class _Item(msgspec.Struct):
    type: str
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None


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


class _ResponseEvent(msgspec.Struct):
    response: _Response


class _AudioDelta(msgspec.Struct):
    response_id: str
    item_id: str
    delta: str


class _TranscriptDelta(msgspec.Struct):
    response_id: str
    item_id: str
    delta: str


class _TranscriptDone(msgspec.Struct):
    response_id: str
    item_id: str
    transcript: str | None = None


class _InputDone(msgspec.Struct):
    item_id: str
    transcript: str


class _ArgumentsDone(msgspec.Struct):
    call_id: str
    name: str
    arguments: str
    response_id: str | None = None


class _ErrorBody(msgspec.Struct):
    message: str = ""
    type: str | None = None
    code: str | None = None
    param: str | None = None
    event_id: str | None = None


class _ErrorEvent(msgspec.Struct):
    error: _ErrorBody | str | None = None
    code: str | None = None
    message: str | None = None


_STATUSES: dict[str, ResponseStatus] = {
    "completed": "completed",
    "cancelled": "cancelled",
    "failed": "failed",
    "incomplete": "incomplete",
}


class XaiRealtimeSession(RealtimeSession):
    """One Grok Voice Agent conversation (one socket), as a state machine.

    ``base_url`` is the WebSocket endpoint (a test points it at the realtimesim's xAI
    server); the model goes in the URL (``?model=``), so it is a constructor argument, as is
    ``sample_rate`` (one ``audio/pcm`` rate for both directions) and ``reasoning_effort``
    (``"high"`` or ``"none"``, for the models that reason; None leaves xAI's default).
    """

    def __init__(
        self,
        api_key: str,
        *,
        model: str = DEFAULT_MODEL,
        base_url: str = DEFAULT_URL,
        sample_rate: int = DEFAULT_RATE,
        reasoning_effort: ReasoningEffort | None = None,
    ) -> None:
        if not api_key.strip():
            raise ValueError("an xAI realtime session needs an API key; it is empty")
        if not model.strip():
            raise ValueError("an xAI realtime session needs a model name; it is empty")
        if not base_url.startswith(("ws://", "wss://")):
            raise ValueError(f"the xAI realtime URL must be ws:// or wss://; got {base_url!r}")
        if sample_rate not in RATES:
            raise ValueError(
                f"xAI takes PCM at {sorted(RATES)} Hz; sample_rate {sample_rate} is none of them"
            )
        if reasoning_effort not in (None, "high", "none"):
            raise ValueError(
                f"reasoning_effort is 'high', 'none' or None; got {reasoning_effort!r}"
            )
        self.api_key = api_key
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.sample_rate = sample_rate
        self.reasoning_effort = reasoning_effort
        self.capabilities = Capabilities(
            provider="xai",
            input_rate=sample_rate,
            output_rate=sample_rate,
            audio_input=True,
            text_input=True,
            exact_line=True,
            cancel=True,
            truncate=False,
            update_tools=True,
            update_instructions=True,
            tools=True,
            interrupt_ack="local_cut_async_confirmation",
        )
        self.session_id = ""
        """The conversation's id (``conversation.created``), or the session's if it has one."""
        self.ready = False
        self.active_response: str | None = None
        """The response in progress (``response.created`` … ``response.done``)."""
        self.transcribe_input = True
        self._writer = EventWriter()
        self._start_event_id: str | None = None
        self._called: dict[str, set[str]] = {}
        self._said: dict[str, str] = {}
        self._handlers: dict[str, Callable[[bytes], list[RealtimeEvent]]] = {
            "conversation.created": self._on_conversation_created,
            "session.created": self._on_session_created,
            "session.updated": self._on_session_updated,
            "response.created": self._on_response_created,
            "response.output_audio.delta": self._on_audio_delta,
            "response.output_audio_transcript.delta": self._on_transcript_delta,
            "response.output_audio_transcript.done": self._on_transcript_done,
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
                f"the xAI realtime model is chosen when connecting ({self.model!r}); "
                f"the session config asks for {config.model!r}"
            )
        pcm = {"type": "audio/pcm", "rate": self.sample_rate}
        session: dict[str, Any] = {}
        if config.instructions:
            session["instructions"] = config.instructions
        if config.voice:
            session["voice"] = config.voice
        session["turn_detection"] = None
        session["audio"] = {"input": {"format": pcm}, "output": {"format": pcm}}
        if self.reasoning_effort is not None:
            session["reasoning"] = {"effort": self.reasoning_effort}
        session["tools"] = function_tools(config.tools, "xAI")
        self.transcribe_input = config.transcribe_input
        frame = self._writer.event("session.update", session=session)
        self._start_event_id = self._writer.last_id
        return [frame]

    # -- commands --------------------------------------------------------------------------

    def append_audio(self, pcm: bytes) -> list[Outgoing]:
        check_pcm(pcm)
        step = MAX_APPEND_SECONDS * self.sample_rate * 2
        return [
            self._writer.event(
                "input_audio_buffer.append",
                audio=base64.b64encode(pcm[at : at + step]).decode("ascii"),
            )
            for at in range(0, len(pcm), step)
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
        """A ``force_message`` item: xAI's TTS says the line verbatim, with no inference and
        no tools, and streams it as a response of its own. Unlike OpenAI's out-of-band
        response, the line becomes an assistant turn of the conversation."""
        if not text.strip():
            raise ValueError("speak_exact needs a line to say; it is empty")
        item = {
            "type": "force_message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text.strip()}],
        }
        return [self._writer.event("conversation.item.create", item=item)]

    def cancel_response(self) -> list[Outgoing]:
        if self.active_response is None:
            return [self._writer.event("response.cancel")]
        return [self._writer.event("response.cancel", response_id=self.active_response)]

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
        session: dict[str, Any] = {}
        if instructions is not None:
            session["instructions"] = instructions
        if tools is not None:
            session["tools"] = function_tools(tools, "xAI")
        return [self._writer.event("session.update", session=session)]

    # -- beyond the interface --------------------------------------------------------------

    def connection_lost(self, code: int | None, reason: str | None) -> list[RealtimeEvent]:
        """The socket closed (``code`` None: it broke without a close frame). The response in
        progress, if any, ends as failed, then a fatal `ProviderError` says how it closed.
        Nothing reconnects: the caller decides."""
        events: list[RealtimeEvent] = []
        if self.active_response is not None:
            events.append(
                ResponseDone(
                    response_id=self.active_response, status="failed", detail="connection lost"
                )
            )
            self._called.pop(self.active_response, None)
            self.active_response = None
        self._said.clear()
        said = f"code {code}" if code is not None else "without a close frame"
        if reason:
            said += f", reason {reason!r}"
        events.append(
            ProviderError(
                code="connection_lost",
                message=f"the xAI realtime socket closed ({said})",
                fatal=True,
            )
        )
        return events

    # -- receiving -------------------------------------------------------------------------

    def receive(self, frame: str | bytes) -> list[RealtimeEvent]:
        raw = frame.encode() if isinstance(frame, str) else frame
        try:
            head = msgspec.json.decode(raw, type=_Head)
        except msgspec.DecodeError as exc:
            return [bad_frame(f"not an xAI realtime server event ({exc}): {excerpt(raw)}")]
        handler = self._handlers.get(head.type)
        if handler is None:
            return []  # ping, conversation.item.added, VAD events … nothing for clanker
        try:
            return handler(raw)
        except (msgspec.DecodeError, ValueError) as exc:
            return [bad_frame(f"a {head.type} event the session cannot read ({exc})")]

    def _on_conversation_created(self, raw: bytes) -> list[RealtimeEvent]:
        self.session_id = msgspec.json.decode(raw, type=_ConversationCreated).conversation.id
        return []

    def _on_session_created(self, raw: bytes) -> list[RealtimeEvent]:
        self.session_id = msgspec.json.decode(raw, type=_SessionEvent).session.id or (
            self.session_id
        )
        return []

    def _on_session_updated(self, raw: bytes) -> list[RealtimeEvent]:
        event = msgspec.json.decode(raw, type=_SessionEvent)
        self.session_id = event.session.id or self.session_id
        if self.ready:
            return []
        self.ready = True
        return [SessionReady(provider="xai", session_id=self.session_id)]

    def _on_response_created(self, raw: bytes) -> list[RealtimeEvent]:
        response = msgspec.json.decode(raw, type=_ResponseEvent).response
        self.active_response = response.id
        self._called.setdefault(response.id, set())
        return [ResponseStarted(response_id=response.id)]

    def _on_audio_delta(self, raw: bytes) -> list[RealtimeEvent]:
        event = msgspec.json.decode(raw, type=_AudioDelta)
        pcm = pcm_of(event.delta)
        return [
            AudioDelta(
                response_id=event.response_id,
                item_id=event.item_id,
                pcm=pcm,
                sample_rate=self.sample_rate,
            )
        ]

    def _on_transcript_delta(self, raw: bytes) -> list[RealtimeEvent]:
        event = msgspec.json.decode(raw, type=_TranscriptDelta)
        self._said[event.item_id] = self._said.get(event.item_id, "") + event.delta
        return [
            OutputTranscript(
                response_id=event.response_id, item_id=event.item_id, text=event.delta, final=False
            )
        ]

    def _on_transcript_done(self, raw: bytes) -> list[RealtimeEvent]:
        event = msgspec.json.decode(raw, type=_TranscriptDone)
        joined = self._said.pop(event.item_id, "")
        text = event.transcript if event.transcript is not None else joined
        return [
            OutputTranscript(
                response_id=event.response_id, item_id=event.item_id, text=text, final=True
            )
        ]

    def _on_input_done(self, raw: bytes) -> list[RealtimeEvent]:
        event = msgspec.json.decode(raw, type=_InputDone)
        if not self.transcribe_input:
            return []
        return [InputTranscript(item_id=event.item_id, text=event.transcript, final=True)]

    def _on_arguments_done(self, raw: bytes) -> list[RealtimeEvent]:
        event = msgspec.json.decode(raw, type=_ArgumentsDone)
        response_id = event.response_id or self.active_response or ""
        return self._tool_call(response_id, event.call_id, event.name, event.arguments)

    def _tool_call(
        self, response_id: str, call_id: str | None, name: str | None, arguments: str | None
    ) -> list[RealtimeEvent]:
        if not call_id or not name:
            raise ValueError("a function call without its call_id or name")
        called = self._called.setdefault(response_id, set())
        if call_id in called:
            return []
        called.add(call_id)
        return [
            ToolCall(response_id=response_id, call_id=call_id, name=name, arguments=arguments or "")
        ]

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
        events.append(ResponseDone(response_id=response.id, status=status, detail=detail))
        return events

    def _on_error(self, raw: bytes) -> list[RealtimeEvent]:
        event = msgspec.json.decode(raw, type=_ErrorEvent)
        if isinstance(event.error, _ErrorBody):
            body = event.error
        else:  # the flat shape: "error" a string (or absent), code and message beside it
            body = _ErrorBody(message=event.message or event.error or "", code=event.code)
        message = body.message or "xAI reported an error without a message"
        if body.param:
            message += f" (param {body.param})"
        answering = self._writer.type_of(body.event_id or "")
        if answering is not None:
            message += f" [answering our {answering} {body.event_id}]"
        code = body.code or body.type or "error"
        fatal = (
            code in FATAL_CODES
            or (body.type or "") in FATAL_CODES
            or (body.event_id is not None and body.event_id == self._start_event_id)
        )
        return [ProviderError(code=code, message=message, fatal=fatal)]

    # -- writing ---------------------------------------------------------------------------
