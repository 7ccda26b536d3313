"""The realtime provider interface: what every speech-to-speech provider's sans-IO session
takes and gives (issue 14).

A provider session is a pure state machine, one per provider (`openai.py`, `xai.py`,
`gemini.py`, `elevenlabs.py` beside this module). It never touches a socket:

* `target()` says where to connect (URL, headers) — the socket actor opens it;
* each command (`start`, `append_audio`, `commit_turn`, …) returns the frames to send, in
  order (`Outgoing`: a text frame is `str`, a binary frame `bytes`);
* `receive(frame)` turns one frame from the provider into `RealtimeEvent`s.

Turn control is always ours: every session switches server-side turn detection off (OpenAI
and xAI `turn_detection: null`, Gemini `automaticActivityDetection.disabled`), so a turn is
committed only when clanker's end-of-turn says so, and admission and barge-in stay ours.
The exception is ElevenLabs, whose agents detect turns on the server and cannot be told
otherwise: its session says so with `Capabilities.manual_turns` False.

A command a provider cannot honour raises `Unsupported` (the caller reads `capabilities`
first; raising is for bugs, not a path). A frame the session cannot parse gives a
`ProviderError(code="bad_frame")` event; it never raises out of `receive`.

This module imports nothing but msgspec (it is a sans-IO core).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from clanker.wire import Message

Outgoing = str | bytes
"""One frame to send: `str` is a text (JSON) frame, `bytes` a binary frame."""

Provider = Literal["openai", "xai", "gemini", "elevenlabs"]
PROVIDERS: tuple[Provider, ...] = ("openai", "xai", "gemini", "elevenlabs")

InterruptAck = Literal["immediate_provider_ack", "local_cut_async_confirmation"]


class Unsupported(Exception):
    """A command the provider's session cannot honour (see `Capabilities`)."""

    def __init__(self, provider: str, command: str) -> None:
        super().__init__(f"{provider} realtime sessions do not support {command}")
        self.provider = provider
        self.command = command


class Capabilities(msgspec.Struct, frozen=True, kw_only=True):
    """What one provider's session can do; the voice session honours it."""

    provider: Provider
    input_rate: int
    """Sample rate of the s16le mono PCM the provider takes (`append_audio`)."""
    output_rate: int
    """Sample rate of the s16le mono PCM it sends back (`AudioDelta.sample_rate`)."""
    audio_input: bool
    """Takes the members' audio itself (`realtime` mode). False: text in only."""
    text_input: bool
    """Takes a labelled text turn (`add_text_turn`; the `bridge` mode)."""
    exact_line: bool
    """Can be asked to speak a given line verbatim (`speak_exact`; the `hybrid` mode)."""
    cancel: bool
    """A response can be cancelled on the socket (`cancel_response`)."""
    truncate: bool
    """An output item can be cut at the played position (`truncate`)."""
    update_tools: bool
    """Tools can change mid-session (`update`)."""
    update_instructions: bool
    """Instructions can change mid-session on the socket (`update`)."""
    tools: bool
    """Issues tool calls at all."""
    interrupt_ack: InterruptAck
    """`immediate_provider_ack`: the cancel is answered by the provider; otherwise clanker
    cuts locally and the provider's confirmation (if any) arrives later."""
    manual_turns: bool = True
    """clanker ends the member's turns (`commit_turn`) and asks for answers. False: the
    provider detects the end of a turn in the audio and answers on its own (ElevenLabs);
    `commit_turn` and `clear_audio` raise `Unsupported`."""


class ToolSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A tool offered to the provider: a JSON-schema `parameters` object."""

    name: str
    description: str
    parameters: dict[str, object]


class SessionConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything `start` sends. Empty strings mean the provider's default."""

    model: str = ""
    voice: str = ""
    instructions: str = ""
    tools: tuple[ToolSpec, ...] = ()
    transcribe_input: bool = True
    """Ask the provider for transcripts of what it heard (where it can)."""


class ConnectTarget(msgspec.Struct, frozen=True, kw_only=True):
    """Where and how the socket actor connects."""

    url: str
    headers: tuple[tuple[str, str], ...] = ()
    subprotocols: tuple[str, ...] = ()


# -- events: provider → clanker -------------------------------------------------------------


class SessionReady(Message, frozen=True):
    """The provider accepted the configuration (`session.updated`, `setupComplete`, …)."""

    provider: str
    session_id: str = ""


class ResponseStarted(Message, frozen=True):
    response_id: str


class AudioDelta(Message, frozen=True):
    """A piece of the answer's audio: s16le mono PCM at `sample_rate`."""

    response_id: str
    item_id: str
    pcm: bytes
    sample_rate: int


class OutputTranscript(Message, frozen=True):
    """Text of what the provider is saying. `final` marks the item's whole transcript."""

    response_id: str
    item_id: str
    text: str
    final: bool


class InputTranscript(Message, frozen=True):
    """The provider's transcript of what it heard (when asked for, where it can)."""

    item_id: str
    text: str
    final: bool


class ToolCall(Message, frozen=True):
    """The provider asks for a tool: `arguments` is the JSON text it wrote."""

    response_id: str
    call_id: str
    name: str
    arguments: str


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    """Tokens a response cost, as the provider counted them (zeros where it does not say)."""

    audio_in: int = 0
    audio_out: int = 0
    text_in: int = 0
    text_out: int = 0
    cached_in: int = 0


ResponseStatus = Literal["completed", "cancelled", "interrupted", "failed", "incomplete"]


class ResponseDone(Message, frozen=True):
    """The response ended. `interrupted`: the provider cut it on its own (Gemini)."""

    response_id: str
    status: ResponseStatus
    usage: Usage | None = None
    detail: str = ""


class ProviderError(Message, frozen=True):
    """An error the provider reported (or a frame the session could not read). `fatal`: the
    session cannot go on (bad key, bad setup); otherwise the voice session decides."""

    code: str
    message: str
    fatal: bool = False


RealtimeEvent = (
    SessionReady
    | ResponseStarted
    | AudioDelta
    | OutputTranscript
    | InputTranscript
    | ToolCall
    | ResponseDone
    | ProviderError
)


class RealtimeSession:
    """The interface each provider's sans-IO session implements. The base answers every
    command with `Unsupported`; a provider overrides what it can do."""

    capabilities: Capabilities

    def target(self) -> ConnectTarget:
        raise NotImplementedError

    def start(self, config: SessionConfig) -> list[Outgoing]:
        """The frames to send as soon as the socket is open."""
        raise NotImplementedError

    def receive(self, frame: str | bytes) -> list[RealtimeEvent]:
        raise NotImplementedError

    def _no(self, command: str) -> Unsupported:
        return Unsupported(self.capabilities.provider, command)

    def append_audio(self, pcm: bytes) -> list[Outgoing]:
        """s16le mono PCM at `capabilities.input_rate`, any length."""
        raise self._no("append_audio")

    def commit_turn(self) -> list[Outgoing]:
        """The member's turn ended (our end-of-turn): the audio since the last commit is it."""
        raise self._no("commit_turn")

    def clear_audio(self) -> list[Outgoing]:
        """Drop the audio appended since the last commit (a turn our gates refused)."""
        raise self._no("clear_audio")

    def add_text_turn(self, speaker: str, text: str) -> list[Outgoing]:
        """A member's turn as labelled text (`bridge`): the provider knows who spoke."""
        raise self._no("add_text_turn")

    def request_response(self) -> list[Outgoing]:
        """Answer now (after `commit_turn` / `add_text_turn` / `tool_result`)."""
        raise self._no("request_response")

    def speak_exact(self, text: str) -> list[Outgoing]:
        """Say exactly this line, outside the conversation, no tools (`hybrid`)."""
        raise self._no("speak_exact")

    def cancel_response(self) -> list[Outgoing]:
        raise self._no("cancel_response")

    def truncate(self, item_id: str, played_ms: int) -> list[Outgoing]:
        """Cut the item's audio at what the room actually heard."""
        raise self._no("truncate")

    def tool_result(self, call_id: str, output: str) -> list[Outgoing]:
        raise self._no("tool_result")

    def update(
        self, *, instructions: str | None = None, tools: tuple[ToolSpec, ...] | None = None
    ) -> list[Outgoing]:
        raise self._no("update")

    def close(self) -> list[Outgoing]:
        """Frames to send before closing the socket (may be none)."""
        return []
