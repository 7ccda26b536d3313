"""`ElevenLabsAgentSession`: an ElevenLabs conversational agent
(``wss://api.elevenlabs.io/v1/convai/conversation``) as a sans-IO session.

An ElevenLabs agent is not a model clanker drives turn by turn: it is a configured agent
(prompt, voice, LLM, client tools, audio formats, turn-taking) that listens to a stream of
audio and decides for itself when the member has finished and when to answer. So the
session's map of the interface is narrow, and says so (`CAPABILITIES`,
docs/voice-realtime.md, "ElevenLabs"):

* turn-taking is the agent's (`Capabilities.manual_turns` False): there is no commit and
  no clearing of sent audio (`commit_turn`, `clear_audio` raise `Unsupported`), and
  `request_response` sends nothing, since the agent answers every turn, text turn and tool
  result on its own;
* there is no cancel, truncate, exact line or live update on the socket (`Unsupported`):
  the agent stops only when its own voice activity detection hears the member
  (``interruption``), and then corrects its transcript itself
  (``agent_response_correction``);
* tools are the agent's client tools, defined on the agent, not sent per session (`start`
  refuses `SessionConfig.tools`); the agent calls them (``client_tool_call``) and takes
  ``client_tool_result``;
* instructions, voice and "wait for the member" (an empty ``first_message``) are sent as
  ``conversation_config_override`` in ``conversation_initiation_client_data``, which the
  agent must allow in its security settings;
* the audio formats are the agent's too: the session is built for one PCM rate each way
  and a ``conversation_initiation_metadata`` that reports others is a fatal error;
* the server sends no "response done": a response here is the audio and text of one agent
  ``event_id``; it ends ``interrupted`` at an ``interruption``, and ``completed`` when the
  next user transcript or agent response arrives (or right after a tool call);
* the server pings; the session owes a ``pong`` for each, which the socket owner takes with
  `take_frames` after every `receive`.

Beyond the interface: `add_context` (``contextual_update``), `user_activity`,
`take_frames` and `connection_lost`.

This module imports nothing but msgspec and the standard library (a sans-IO core).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import msgspec

from clanker.voice.realtime._frames import bad_frame, check_pcm, excerpt, labelled, pcm_of
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
    Unsupported,
)

DEFAULT_URL = "wss://api.elevenlabs.io/v1/convai/conversation"
DEFAULT_RATE = 16_000
RATES = frozenset({8_000, 16_000, 22_050, 24_000, 44_100, 48_000})
"""The ``pcm_<rate>`` formats an agent can be configured for (``ulaw_8000`` is not PCM)."""

MAX_CHUNK_SECONDS = 10
"""One ``user_audio_chunk`` carries at most 10 s of audio (the docs suggest ~250 ms)."""

CLOSE_CODES = {
    1000: "conversation_ended",
    1002: "provider_failed",
    1008: "invalid_input",
    1011: "server_error",
}
"""The close codes the conversation API documents, as `ProviderError` codes."""

# -- the server events read (unknown fields are ignored) ----------------------------------


class _Head(msgspec.Struct):
    type: str


class _Metadata(msgspec.Struct):
    conversation_id: str
    agent_output_audio_format: str
    user_input_audio_format: str


class _MetadataEvent(msgspec.Struct):
    conversation_initiation_metadata_event: _Metadata


class _Audio(msgspec.Struct):
    audio_base_64: str
    event_id: int


class _AudioEvent(msgspec.Struct):
    audio_event: _Audio


class _AgentResponse(msgspec.Struct):
    agent_response: str
    event_id: int | None = None


class _AgentResponseEvent(msgspec.Struct):
    agent_response_event: _AgentResponse


class _Correction(msgspec.Struct):
    corrected_agent_response: str
    event_id: int | None = None


class _CorrectionEvent(msgspec.Struct):
    agent_response_correction_event: _Correction


class _Interruption(msgspec.Struct):
    event_id: int


class _InterruptionEvent(msgspec.Struct):
    interruption_event: _Interruption


class _UserTranscript(msgspec.Struct):
    user_transcript: str
    event_id: int | None = None


class _UserTranscriptEvent(msgspec.Struct):
    user_transcription_event: _UserTranscript


class _ToolCall(msgspec.Struct):
    tool_name: str
    tool_call_id: str
    parameters: dict[str, Any] = {}
    event_id: int | None = None


class _ToolCallEvent(msgspec.Struct):
    client_tool_call: _ToolCall


class _Ping(msgspec.Struct):
    event_id: int


class _PingEvent(msgspec.Struct):
    ping_event: _Ping


class _Error(msgspec.Struct):
    code: int | None = None
    message: str | None = None
    error_type: str | None = None
    reason: str | None = None


class _ErrorEvent(msgspec.Struct):
    error_event: _Error


def _rate_of(audio_format: str) -> int | None:
    kind, _, rate = audio_format.partition("_")
    return int(rate) if kind == "pcm" and rate.isdigit() else None


class ElevenLabsAgentSession(RealtimeSession):
    """One conversation with an ElevenLabs agent (one socket), as a state machine.

    ``agent_id`` names the agent; a private agent needs ``api_key`` (sent as
    ``xi-api-key``) or a ``signed_url`` fetched for it beforehand (which then is the whole
    target). ``input_rate`` / ``output_rate`` are the PCM rates the agent is configured for
    (``pcm_16000`` by default, as new agents are). ``hold_first_message`` sends an empty
    ``first_message`` so the agent waits for the member instead of greeting.
    """

    def __init__(
        self,
        agent_id: str,
        *,
        api_key: str | None = None,
        signed_url: str | None = None,
        base_url: str = DEFAULT_URL,
        input_rate: int = DEFAULT_RATE,
        output_rate: int = DEFAULT_RATE,
        hold_first_message: bool = True,
    ) -> None:
        if not agent_id.strip():
            raise ValueError("an ElevenLabs session needs the agent's id; it is empty")
        if api_key is not None and not api_key.strip():
            raise ValueError("the ElevenLabs API key is empty; pass None for a public agent")
        for name, url in (("base_url", base_url), ("signed_url", signed_url or "wss://")):
            if not url.startswith(("ws://", "wss://")):
                raise ValueError(f"the ElevenLabs {name} must be ws:// or wss://; got {url!r}")
        for name, rate in (("input_rate", input_rate), ("output_rate", output_rate)):
            if rate not in RATES:
                raise ValueError(
                    f"ElevenLabs agents speak PCM at {sorted(RATES)} Hz; {name} {rate} is "
                    "none of them"
                )
        self.agent_id = agent_id
        self.api_key = api_key
        self.signed_url = signed_url
        self.base_url = base_url.rstrip("/")
        self.input_rate = input_rate
        self.output_rate = output_rate
        self.hold_first_message = hold_first_message
        self.capabilities = Capabilities(
            provider="elevenlabs",
            input_rate=input_rate,
            output_rate=output_rate,
            audio_input=True,
            text_input=True,
            exact_line=False,
            cancel=False,
            truncate=False,
            update_tools=False,
            update_instructions=False,
            tools=True,
            interrupt_ack="local_cut_async_confirmation",
            manual_turns=False,
        )
        self.session_id = ""
        """The conversation's id (``conversation_initiation_metadata``)."""
        self.ready = False
        self.active_response: str | None = None
        """The response in progress: the audio and text of one agent ``event_id``."""
        self.transcribe_input = True
        self._serial = 0
        self._active_event: int | None = None
        self._interrupted_upto = -1
        self._cut: dict[int, str] = {}
        """Interrupted agent event ids → their responses (for the corrections after)."""
        self._owed: list[Outgoing] = []
        self._handlers: dict[str, Callable[[bytes], list[RealtimeEvent]]] = {
            "conversation_initiation_metadata": self._on_metadata,
            "audio": self._on_audio,
            "agent_response": self._on_agent_response,
            "agent_response_correction": self._on_correction,
            "interruption": self._on_interruption,
            "user_transcript": self._on_user_transcript,
            "client_tool_call": self._on_tool_call,
            "ping": self._on_ping,
            "error": self._on_error,
        }

    # -- connecting ------------------------------------------------------------------------

    def target(self) -> ConnectTarget:
        headers = (("xi-api-key", self.api_key),) if self.api_key is not None else ()
        if self.signed_url is not None:
            return ConnectTarget(url=self.signed_url, headers=headers)
        return ConnectTarget(
            url=f"{self.base_url}?agent_id={quote(self.agent_id, safe='')}", headers=headers
        )

    def start(self, config: SessionConfig) -> list[Outgoing]:
        if config.model and config.model != self.agent_id:
            raise ValueError(
                f"an ElevenLabs session talks to the agent {self.agent_id!r}, which chooses "
                f"its own LLM; the session config asks for {config.model!r}"
            )
        if config.tools:
            raise Unsupported(
                "elevenlabs", "tools in the session config (client tools are defined on the agent)"
            )
        agent: dict[str, Any] = {}
        if config.instructions:
            agent["prompt"] = {"prompt": config.instructions}
        if self.hold_first_message:
            agent["first_message"] = ""
        override: dict[str, Any] = {}
        if agent:
            override["agent"] = agent
        if config.voice:
            override["tts"] = {"voice_id": config.voice}
        self.transcribe_input = config.transcribe_input
        message: dict[str, Any] = {"type": "conversation_initiation_client_data"}
        if override:
            message["conversation_config_override"] = override
        return [_json(message)]

    # -- commands --------------------------------------------------------------------------

    def append_audio(self, pcm: bytes) -> list[Outgoing]:
        check_pcm(pcm)
        step = MAX_CHUNK_SECONDS * self.input_rate * 2
        return [
            _json({"user_audio_chunk": base64.b64encode(pcm[at : at + step]).decode("ascii")})
            for at in range(0, len(pcm), step)
        ]

    def commit_turn(self) -> list[Outgoing]:
        raise Unsupported("elevenlabs", "commit_turn (the agent detects the end of a turn)")

    def clear_audio(self) -> list[Outgoing]:
        raise Unsupported("elevenlabs", "clear_audio (audio already sent is the agent's)")

    def add_text_turn(self, speaker: str, text: str) -> list[Outgoing]:
        return [_json({"type": "user_message", "text": labelled(speaker, text)})]

    def request_response(self) -> list[Outgoing]:
        """Nothing to send: the agent answers every turn, text turn and tool result on its
        own."""
        return []

    def tool_result(self, call_id: str, output: str, *, is_error: bool = False) -> list[Outgoing]:
        if not call_id:
            raise ValueError("a tool result needs the call id it answers; it is empty")
        message = {
            "type": "client_tool_result",
            "tool_call_id": call_id,
            "result": output,
            "is_error": is_error,
        }
        return [_json(message)]

    # -- beyond the interface --------------------------------------------------------------

    def add_context(self, text: str) -> list[Outgoing]:
        """Tell the agent something without asking for an answer (``contextual_update``):
        who joined, what is playing."""
        if not text.strip():
            raise ValueError("a contextual update needs text; it is empty")
        return [_json({"type": "contextual_update", "text": text.strip()})]

    def user_activity(self) -> list[Outgoing]:
        """Signal that the member is active (``user_activity``), which resets the agent's
        inactivity timer."""
        return [_json({"type": "user_activity"})]

    def take_frames(self) -> list[Outgoing]:
        """The frames the session owes the server (a ``pong`` per ``ping``), to send now; the
        socket owner calls it after every `receive`."""
        owed, self._owed = self._owed, []
        return owed

    def connection_lost(self, code: int | None, reason: str | None) -> list[RealtimeEvent]:
        """The socket closed (``code`` None: it broke without a close frame). The response in
        progress, if any, ends as failed, then a fatal `ProviderError` whose code names the
        close (1000 ``conversation_ended``, 1002 ``provider_failed``, 1008
        ``invalid_input``, 1011 ``server_error``). Nothing reconnects: the caller decides."""
        events = self._end("failed", "connection lost")
        said = f"code {code}" if code is not None else "without a close frame"
        if reason:
            said += f", reason {reason!r}"
        error_code = CLOSE_CODES.get(code or 0, "connection_lost")
        events.append(
            ProviderError(
                code=error_code,
                message=f"the ElevenLabs conversation socket closed ({said})",
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
            return [bad_frame(f"not an ElevenLabs agent event ({exc}): {excerpt(raw)}")]
        handler = self._handlers.get(head.type)
        if handler is None:
            return []  # vad_score, tentative transcripts, internal and MCP events …
        try:
            return handler(raw)
        except (msgspec.DecodeError, ValueError) as exc:
            return [bad_frame(f"a {head.type} event the session cannot read ({exc})")]

    def _on_metadata(self, raw: bytes) -> list[RealtimeEvent]:
        meta = msgspec.json.decode(raw, type=_MetadataEvent).conversation_initiation_metadata_event
        self.session_id = meta.conversation_id
        heard = _rate_of(meta.user_input_audio_format)
        spoken = _rate_of(meta.agent_output_audio_format)
        if (heard, spoken) != (self.input_rate, self.output_rate):
            return [
                ProviderError(
                    code="audio_format",
                    message=(
                        f"the agent takes {meta.user_input_audio_format} and speaks "
                        f"{meta.agent_output_audio_format}; this session was built for "
                        f"pcm_{self.input_rate} in and pcm_{self.output_rate} out (set the "
                        "agent's formats or the session's rates to match)"
                    ),
                    fatal=True,
                )
            ]
        if self.ready:
            return []
        self.ready = True
        return [SessionReady(provider="elevenlabs", session_id=meta.conversation_id)]

    def _begin(self, event_id: int) -> list[RealtimeEvent]:
        """Make ``event_id``'s response the active one (ending any other as completed)."""
        if self._active_event == event_id:
            return []
        events = self._end("completed", "")
        self._serial += 1
        self.active_response = f"el_resp_{self._serial}"
        self._active_event = event_id
        events.append(ResponseStarted(response_id=self.active_response))
        return events

    def _end(self, status: ResponseStatus, detail: str) -> list[RealtimeEvent]:
        if self.active_response is None:
            return []
        done = ResponseDone(response_id=self.active_response, status=status, detail=detail)
        self.active_response = None
        self._active_event = None
        return [done]

    def _on_audio(self, raw: bytes) -> list[RealtimeEvent]:
        audio = msgspec.json.decode(raw, type=_AudioEvent).audio_event
        pcm = pcm_of(audio.audio_base_64)
        if audio.event_id <= self._interrupted_upto:
            return []  # audio of a response the agent already cut off
        events = self._begin(audio.event_id)
        assert self.active_response is not None
        events.append(
            AudioDelta(
                response_id=self.active_response,
                item_id=f"el_item_{audio.event_id}",
                pcm=pcm,
                sample_rate=self.output_rate,
            )
        )
        return events

    def _on_agent_response(self, raw: bytes) -> list[RealtimeEvent]:
        said = msgspec.json.decode(raw, type=_AgentResponseEvent).agent_response_event
        event_id = said.event_id if said.event_id is not None else self._active_event
        if event_id is None:
            raise ValueError("an agent_response without an event_id, outside a response")
        if event_id <= self._interrupted_upto:
            return []
        events = self._begin(event_id)
        assert self.active_response is not None
        events.append(
            OutputTranscript(
                response_id=self.active_response,
                item_id=f"el_item_{event_id}",
                text=said.agent_response,
                final=True,
            )
        )
        return events

    def _on_correction(self, raw: bytes) -> list[RealtimeEvent]:
        fixed = msgspec.json.decode(raw, type=_CorrectionEvent).agent_response_correction_event
        response_id = self._cut.get(fixed.event_id) if fixed.event_id is not None else None
        if response_id is None:
            return []  # a correction of nothing we saw cut off
        return [
            OutputTranscript(
                response_id=response_id,
                item_id=f"el_item_{fixed.event_id}",
                text=fixed.corrected_agent_response,
                final=True,
            )
        ]

    def _on_interruption(self, raw: bytes) -> list[RealtimeEvent]:
        cut = msgspec.json.decode(raw, type=_InterruptionEvent).interruption_event
        self._interrupted_upto = max(self._interrupted_upto, cut.event_id)
        if self._active_event is None or self._active_event > cut.event_id:
            return []
        assert self.active_response is not None
        self._cut[self._active_event] = self.active_response
        if len(self._cut) > 32:  # a correction follows its interruption closely
            del self._cut[next(iter(self._cut))]
        return self._end("interrupted", "the agent heard the member")

    def _on_user_transcript(self, raw: bytes) -> list[RealtimeEvent]:
        heard = msgspec.json.decode(raw, type=_UserTranscriptEvent).user_transcription_event
        events = self._end("completed", "")
        if self.transcribe_input:
            item = f"el_user_{heard.event_id}" if heard.event_id is not None else "el_user"
            events.append(InputTranscript(item_id=item, text=heard.user_transcript, final=True))
        return events

    def _on_tool_call(self, raw: bytes) -> list[RealtimeEvent]:
        call = msgspec.json.decode(raw, type=_ToolCallEvent).client_tool_call
        if not call.tool_call_id or not call.tool_name:
            raise ValueError("a client tool call without its tool_call_id or tool_name")
        event_id = call.event_id if call.event_id is not None else self._active_event
        # Without an event id (and nothing running) the call is a response of its own.
        events = self._begin(event_id if event_id is not None else -1)
        assert self.active_response is not None
        events.append(
            ToolCall(
                response_id=self.active_response,
                call_id=call.tool_call_id,
                name=call.tool_name,
                arguments=json.dumps(call.parameters),
            )
        )
        # The agent now waits for the result; what it says after it is a new response.
        events += self._end("completed", "tool_call")
        return events

    def _on_ping(self, raw: bytes) -> list[RealtimeEvent]:
        ping = msgspec.json.decode(raw, type=_PingEvent).ping_event
        self._owed.append(_json({"type": "pong", "event_id": ping.event_id}))
        return []

    def _on_error(self, raw: bytes) -> list[RealtimeEvent]:
        error = msgspec.json.decode(raw, type=_ErrorEvent).error_event
        message = error.message or error.reason or "ElevenLabs reported an error"
        if error.reason and error.reason != message:
            message += f" ({error.reason})"
        code = error.error_type or CLOSE_CODES.get(error.code or 0, "error")
        # The API sends an error only when it is closing the conversation.
        events = self._end("failed", message)
        events.append(ProviderError(code=code, message=message, fatal=True))
        return events

    # -- the interface's commands the agent does not have ------------------------------------

    def speak_exact(self, text: str) -> list[Outgoing]:
        raise Unsupported("elevenlabs", "speak_exact (an agent says only what its LLM writes)")

    def cancel_response(self) -> list[Outgoing]:
        raise Unsupported("elevenlabs", "cancel_response (only the member's voice interrupts)")

    def update(
        self, *, instructions: str | None = None, tools: tuple[ToolSpec, ...] | None = None
    ) -> list[Outgoing]:
        raise Unsupported("elevenlabs", "update (the agent's configuration is fixed per call)")


def _json(message: dict[str, Any]) -> str:
    return msgspec.json.encode(message).decode()
