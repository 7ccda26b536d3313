"""`GeminiLiveSession`: the Gemini Live API (``BidiGenerateContent`` over a WebSocket) as a
sans-IO session.

Gemini keeps no items and no response ids; it streams one model turn at a time. Turn control
is manual: ``setup`` disables automatic activity detection, so the model hears a user turn only
between our ``activityStart`` and ``activityEnd``, and it answers every ``activityEnd``. The
session maps the interface onto that:

* ``append_audio`` / ``commit_turn`` / ``add_text_turn`` only collect the next user turn here,
  in order (audio is 16 kHz PCM; ``clear_audio`` drops what is not committed yet);
* ``request_response`` sends it as one activity: ``activityStart``, the audio in one-second
  ``realtimeInput.audio`` messages and the labelled texts as ``realtimeInput.text``, then
  ``activityEnd``, which is what asks Gemini to answer;
* ``cancel_response`` is an ``activityStart`` (activity handling ``START_OF_ACTIVITY_INTERRUPTS``
  cuts the model off); that activity stays open until the next ``request_response`` ends it;
* ``tool_result`` is a ``toolResponse``; Gemini goes on by itself once every call of a
  ``toolCall`` is answered, so no ``request_response`` is needed (one sends nothing).

Server messages it reads: ``setupComplete`` (`SessionReady`), ``serverContent`` (``modelTurn``
audio, ``outputTranscription``, ``inputTranscription``, ``interrupted``, ``turnComplete`` and its
``turnCompleteReason``), ``toolCall``, ``toolCallCancellation``, ``usageMetadata`` and
``goAway``; the response ids (``gemini_resp_<n>``) and input item ids (``gemini_in_<n>``) are
the session's own. Gemini reports errors by closing the socket: `connection_lost` makes
events of the close. It cannot say a line verbatim, truncate, or change tools or instructions
mid-session (the API reference has no such client message): those raise `Unsupported`.

This module imports nothing but msgspec and the standard library (a sans-IO core).
"""

from __future__ import annotations

import base64
from typing import Any

import msgspec

from clanker.voice.realtime import gemini_server_messages as wire
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
    Usage,
)
from clanker.voice.realtime.gemini_tools import function_declarations

DEFAULT_URL = (
    "wss://generativelanguage.googleapis.com/ws/"
    "google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
)
DEFAULT_MODEL = "gemini-3.1-flash-live-preview"
INPUT_RATE = 16_000
OUTPUT_RATE = wire.DEFAULT_OUTPUT_RATE
INPUT_MIME = f"audio/pcm;rate={INPUT_RATE}"
CHUNK_BYTES = INPUT_RATE * 2
"""One ``realtimeInput.audio`` message carries at most one second of the turn's audio."""

CAPABILITIES = Capabilities(
    provider="gemini",
    input_rate=INPUT_RATE,
    output_rate=OUTPUT_RATE,
    audio_input=True,
    text_input=True,
    exact_line=False,
    cancel=True,
    truncate=False,
    update_tools=False,
    update_instructions=False,
    tools=True,
    interrupt_ack="local_cut_async_confirmation",
)

CLOSE_CODES = {
    1000: "closed",
    1001: "going_away",
    1006: "connection_lost",
    1007: "invalid_argument",
    1008: "policy_violation",
    1011: "internal_error",
}
"""Our error codes for the close codes Gemini uses (it has no error message)."""

_DONE_REASONS: dict[str, ResponseStatus] = {
    "": "completed",
    "TURN_COMPLETE_REASON_UNSPECIFIED": "completed",
    "NEED_MORE_INPUT": "completed",
    "MALFORMED_FUNCTION_CALL": "failed",
}
"""``turnCompleteReason`` → status; any other reason (a refusal) is ``incomplete``."""

_encode = msgspec.json.Encoder()


class GeminiLiveSession(RealtimeSession):
    """One Gemini Live conversation (one socket), as a state machine.

    ``base_url`` is the ``BidiGenerateContent`` WebSocket endpoint (a test points it at the
    realtimesim's Gemini server); the key goes in the ``x-goog-api-key`` header, not the URL.
    The model is named in ``setup``: `SessionConfig.model` if given, else ``model``.
    """

    capabilities = CAPABILITIES

    def __init__(
        self, api_key: str, *, model: str = DEFAULT_MODEL, base_url: str = DEFAULT_URL
    ) -> None:
        if not api_key.strip():
            raise ValueError("a Gemini Live session needs an API key; it is empty")
        if not model.strip():
            raise ValueError("a Gemini Live session needs a model name; it is empty")
        if not base_url.startswith(("ws://", "wss://")):
            raise ValueError(f"the Gemini Live URL must be ws:// or wss://, not {base_url!r}")
        self.api_key = api_key
        self.model = model
        self.base_url = base_url
        self.session_id = ""
        self.ready = False
        self.active_response: str | None = None
        """The response in progress: from its first content to ``turnComplete``,
        ``interrupted`` or a ``toolCall``."""
        self.last_usage: Usage | None = None
        """The last ``usageMetadata`` seen, whether or not a response carried it."""
        self._started = False
        self._serial = 0
        self._buffer = bytearray()
        self._turn: list[bytes | str] = []
        """The next user turn: committed audio and labelled texts, in order."""
        self._activity_open = False
        self._awaiting = False
        """We asked for an answer (an activity ended, or every tool call was answered) and
        it has not started yet."""
        self._cut_by_us = False
        self._stale_turn_complete = False
        """``interrupted`` came; the ``turnComplete`` after it closes the cut turn."""
        self._last_response = ""
        self._said: list[str] = []
        self._usage: Usage | None = None
        self._input_item = ""
        self._heard: list[str] = []
        self._calls: dict[str, str] = {}
        """Tool calls waiting for a result: id → name."""
        self._cancelled: set[str] = set()

    # -- connecting ------------------------------------------------------------------------

    def target(self) -> ConnectTarget:
        return ConnectTarget(url=self.base_url, headers=(("x-goog-api-key", self.api_key),))

    def start(self, config: SessionConfig) -> list[Outgoing]:
        if self._started:
            raise ValueError("setup is sent once per Gemini Live connection; start ran already")
        model = config.model or self.model
        generation: dict[str, Any] = {"responseModalities": ["AUDIO"]}
        if config.voice:
            generation["speechConfig"] = {
                "voiceConfig": {"prebuiltVoiceConfig": {"voiceName": config.voice}}
            }
        setup: dict[str, Any] = {
            "model": model if model.startswith("models/") else f"models/{model}",
            "generationConfig": generation,
        }
        if config.instructions:
            setup["systemInstruction"] = {"parts": [{"text": config.instructions}]}
        if config.tools:
            setup["tools"] = [{"functionDeclarations": function_declarations(config.tools)}]
        setup["realtimeInputConfig"] = {
            "automaticActivityDetection": {"disabled": True},
            "activityHandling": "START_OF_ACTIVITY_INTERRUPTS",
            "turnCoverage": "TURN_INCLUDES_ONLY_ACTIVITY",
        }
        if config.transcribe_input:
            setup["inputAudioTranscription"] = {}
        setup["outputAudioTranscription"] = {}
        self._started = True
        return [_frame(setup=setup)]

    # -- commands --------------------------------------------------------------------------

    def append_audio(self, pcm: bytes) -> list[Outgoing]:
        if len(pcm) % 2:
            raise ValueError(
                f"s16le PCM has an even number of bytes; this chunk has {len(pcm)} "
                "(a half sample at its end)"
            )
        self._buffer.extend(pcm)
        return []

    def commit_turn(self) -> list[Outgoing]:
        if not self._buffer:
            raise ValueError("commit_turn has no audio to commit: append_audio first")
        self._turn.append(bytes(self._buffer))
        self._buffer.clear()
        return []

    def clear_audio(self) -> list[Outgoing]:
        self._buffer.clear()
        return []

    def add_text_turn(self, speaker: str, text: str) -> list[Outgoing]:
        name = " ".join(speaker.replace("[", " ").replace("]", " ").split())
        if not name:
            raise ValueError(f"a text turn needs a speaker's name; got {speaker!r}")
        if not text.strip():
            raise ValueError(f"{name}'s text turn is empty")
        self._turn.append(f"[{name}]: {text.strip()}")
        return []

    def request_response(self) -> list[Outgoing]:
        if not self._turn and (self._awaiting or self.active_response is not None):
            return []  # an answer is already coming
        frames: list[Outgoing] = []
        if not self._activity_open:
            frames += self._activity_start()
        audio = False
        for part in self._turn:
            if isinstance(part, str):
                frames.append(_frame(realtimeInput={"text": part}))
                continue
            audio = True
            for at in range(0, len(part), CHUNK_BYTES):
                blob = {
                    "data": base64.b64encode(part[at : at + CHUNK_BYTES]).decode("ascii"),
                    "mimeType": INPUT_MIME,
                }
                frames.append(_frame(realtimeInput={"audio": blob}))
        frames.append(_frame(realtimeInput={"activityEnd": {}}))
        self._turn.clear()
        self._activity_open = False
        self._awaiting = True
        self._serial += 1
        self._input_item = f"gemini_in_{self._serial}" if audio else ""
        self._heard.clear()
        return frames

    def cancel_response(self) -> list[Outgoing]:
        if self._activity_open or (self.active_response is None and not self._awaiting):
            return []
        return self._activity_start()

    def tool_result(self, call_id: str, output: str) -> list[Outgoing]:
        if not call_id:
            raise ValueError("a tool result needs the call id it answers; it is empty")
        if call_id in self._cancelled:
            self._cancelled.discard(call_id)
            return []  # Gemini cancelled the call (toolCallCancellation): nothing to answer
        name = self._calls.pop(call_id, None)
        if name is None:
            raise ValueError(f"no Gemini tool call {call_id!r} is waiting for a result")
        if not self._calls:
            self._awaiting = True
        response = {"id": call_id, "name": name, "response": {"output": output}}
        return [_frame(toolResponse={"functionResponses": [response]})]

    def _activity_start(self) -> list[Outgoing]:
        if self.active_response is not None or self._awaiting:
            self._cut_by_us = True
        self._awaiting = False
        self._activity_open = True
        return [_frame(realtimeInput={"activityStart": {}})]

    # -- beyond the interface --------------------------------------------------------------

    def connection_lost(self, code: int | None, reason: str | None) -> list[RealtimeEvent]:
        """The socket closed (``code`` None: it broke without a close frame). Gemini's only
        way to report an error is the close itself (1007 a refused message or key, 1008 an
        unknown model or entity, 1011 an internal error, the reason says which), so the
        response in progress, if any, ends as failed and a fatal `ProviderError` carries the
        code and reason. Nothing reconnects: the caller decides."""
        events: list[RealtimeEvent] = []
        if self.active_response is not None:
            events.append(
                ResponseDone(
                    response_id=self.active_response, status="failed", detail="connection lost"
                )
            )
            self.active_response = None
        self._awaiting = False
        said = f"code {code}" if code is not None else "without a close frame"
        if reason:
            said += f", reason {reason!r}"
        error_code = CLOSE_CODES.get(code or 1006, "connection_lost")
        if reason and "api key" in reason.lower():
            error_code = "invalid_api_key"
        events.append(
            ProviderError(
                code=error_code, message=f"the Gemini Live socket closed ({said})", fatal=True
            )
        )
        return events

    # -- receiving -------------------------------------------------------------------------

    def receive(self, frame: str | bytes) -> list[RealtimeEvent]:
        raw = frame.encode() if isinstance(frame, str) else frame
        try:
            message = wire.decode_server_message(raw)
        except msgspec.DecodeError as exc:
            return [_bad_frame(f"not a Gemini Live server message ({exc}): {_excerpt(raw)}")]
        try:
            return self._on_message(message)
        except ValueError as exc:
            return [_bad_frame(f"a Gemini Live server message the session cannot read ({exc})")]

    def _on_message(self, message: wire.ServerMessage) -> list[RealtimeEvent]:
        events: list[RealtimeEvent] = []
        if message.setup_complete is not None and not self.ready:
            self.ready = True
            self.session_id = message.setup_complete.session_id
            events.append(SessionReady(provider="gemini", session_id=self.session_id))
        if message.usage_metadata is not None:
            self.last_usage = wire.usage_of(message.usage_metadata)
            if self.active_response is not None:
                self._usage = self.last_usage
        if message.server_content is not None:
            events += self._on_content(message.server_content)
        if message.tool_call is not None:
            events += self._on_tool_call(message.tool_call)
        if message.tool_call_cancellation is not None:
            ids = [i for i in message.tool_call_cancellation.ids if i in self._calls]
            for call_id in ids:
                del self._calls[call_id]
                self._cancelled.add(call_id)
            events.append(
                ProviderError(
                    code="tool_calls_cancelled",
                    message=f"Gemini cancelled the tool calls {', '.join(ids) or '(none known)'}",
                )
            )
        if message.go_away is not None:
            left = message.go_away.time_left or "an unknown time"
            events.append(
                ProviderError(
                    code="go_away",
                    message=f"Gemini will close this connection in {left} (goAway); "
                    "nothing reconnects",
                )
            )
        return events

    def _on_content(self, content: wire.ServerContent) -> list[RealtimeEvent]:
        events: list[RealtimeEvent] = []
        if content.input_transcription is not None:
            events += self._on_heard(content.input_transcription)
        # Decoded before any state changes, so a bad piece leaves the session as it was.
        audio = [
            (wire.pcm_of(part.inline_data.data), wire.rate_of(part.inline_data.mime_type))
            for part in (content.model_turn.parts if content.model_turn else [])
            if part.inline_data is not None and part.inline_data.mime_type.startswith("audio/pcm")
        ]
        if audio:
            response = self._begin(events)
            for pcm, rate in audio:
                events.append(
                    AudioDelta(response_id=response, item_id=response, pcm=pcm, sample_rate=rate)
                )
        said = content.output_transcription
        if said is not None and said.text:
            if self.active_response is None and self._awaiting and not self._stale_turn_complete:
                self._begin(events)  # the transcript came before the audio
            if self.active_response is not None:
                self._said.append(said.text)
            if self.active_response or self._last_response:
                response = self.active_response or self._last_response
                events.append(
                    OutputTranscript(
                        response_id=response, item_id=response, text=said.text, final=False
                    )
                )
        if content.interrupted:
            if self.active_response is not None:
                status: ResponseStatus = "cancelled" if self._cut_by_us else "interrupted"
                detail = "cut by our activityStart" if self._cut_by_us else "Gemini interrupted"
                events += self._end(status, detail)
            self._stale_turn_complete = True
            self._cut_by_us = False
        if content.turn_complete:
            if self.active_response is not None:
                reason = content.turn_complete_reason
                events += self._end(_DONE_REASONS.get(reason, "incomplete"), reason)
            elif self._stale_turn_complete:
                self._stale_turn_complete = False
            elif self._awaiting:
                self._begin(events)
                events += self._end("completed", content.turn_complete_reason)
        return events

    def _on_heard(self, heard: wire.Transcription) -> list[RealtimeEvent]:
        events: list[RealtimeEvent] = []
        if heard.text:
            self._heard.append(heard.text)
            events.append(InputTranscript(item_id=self._input_item, text=heard.text, final=False))
        if heard.finished and self._heard:
            events.append(self._heard_all())
        return events

    def _heard_all(self) -> InputTranscript:
        text = "".join(self._heard).strip()
        self._heard.clear()
        return InputTranscript(item_id=self._input_item, text=text, final=True)

    def _on_tool_call(self, call: wire.ToolCall) -> list[RealtimeEvent]:
        if any(not function.id or not function.name for function in call.function_calls):
            raise ValueError("a functionCall without its id or name")
        events: list[RealtimeEvent] = []
        response = self._begin(events)
        for function in call.function_calls:
            self._calls[function.id] = function.name
            events.append(
                ToolCall(
                    response_id=response,
                    call_id=function.id,
                    name=function.name,
                    arguments=_encode.encode(function.args).decode(),
                )
            )
        # Gemini waits for the results now; its turn goes on after them, as a new response.
        events += self._end("completed", "")
        return events

    def _begin(self, events: list[RealtimeEvent]) -> str:
        if self.active_response is None:
            self._serial += 1
            self.active_response = f"gemini_resp_{self._serial}"
            self._awaiting = False
            self._stale_turn_complete = False
            self._said.clear()
            self._usage = None
            events.append(ResponseStarted(response_id=self.active_response))
        return self.active_response

    def _end(self, status: ResponseStatus, detail: str) -> list[RealtimeEvent]:
        response = self.active_response
        assert response is not None
        events: list[RealtimeEvent] = []
        if self._heard:
            events.append(self._heard_all())
        if self._said:
            text = "".join(self._said).strip()
            events.append(
                OutputTranscript(response_id=response, item_id=response, text=text, final=True)
            )
        events.append(
            ResponseDone(response_id=response, status=status, usage=self._usage, detail=detail)
        )
        self.active_response = None
        self._last_response = response
        self._cut_by_us = False
        return events


def _frame(**message: Any) -> str:
    return _encode.encode(message).decode()


def _bad_frame(message: str) -> ProviderError:
    return ProviderError(code="bad_frame", message=message)


def _excerpt(raw: bytes) -> str:
    text = raw[:80].decode("utf-8", "replace")
    return repr(text + ("…" if len(raw) > 80 else ""))
