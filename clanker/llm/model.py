"""The neutral LLM model: one request, response and tool-schema shape for every provider.

Every type is a frozen msgspec Struct, so a request or a response can travel in an actor message
(and across a process boundary) as it is. Provider converters (`anthropic_wire`,
`openai_responses_wire`, `openai_chat_wire`) translate these to and from each wire format.

JSON payloads (tool schemas, tool-call arguments, a structured-output schema) are plain dicts of
JSON values. They are normalised through a JSON round trip when built, so tuples become lists
and anything JSON cannot hold fails right there, naming the field.

Token accounting is the billing view: `Usage.input_tokens` counts only the prompt tokens billed
at the base input rate; tokens read from or written to a prompt cache are counted apart.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec

Role = Literal["user", "assistant"]
StopReason = Literal["end_turn", "tool_use", "max_tokens", "refusal", "other"]

MAX_CACHE_MARKS = 4
"""Anthropic honours at most four cache breakpoints per request."""

_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_json_encoder = msgspec.json.Encoder()


def normalize_json(owner: str, field: str, value: Any) -> Any:
    """``value`` as JSON would give it back (tuples → lists); ValueError if it is not JSON."""
    try:
        return msgspec.json.decode(_json_encoder.encode(value))
    except (TypeError, msgspec.EncodeError) as exc:
        raise ValueError(f"{owner}.{field} must hold only JSON values: {exc}") from None


def json_text(value: Any) -> str:
    """Compact JSON text for a JSON value."""
    return _json_encoder.encode(value).decode()


def _set_json_dict(obj: msgspec.Struct, field: str) -> None:
    owner = type(obj).__qualname__
    value = normalize_json(owner, field, getattr(obj, field))
    if not isinstance(value, dict):
        raise ValueError(f"{owner}.{field} must be a JSON object, got {type(value).__name__}")
    msgspec.structs.force_setattr(obj, field, value)


# --- message parts ----------------------------------------------------------------------------


class TextPart(msgspec.Struct, frozen=True, tag="text"):
    """Text. ``cache=True`` puts a prompt-cache breakpoint after it (Anthropic)."""

    text: str
    cache: bool = False


class ImagePart(msgspec.Struct, frozen=True, tag="image"):
    """An image by URL: ``https://…`` or a ``data:image/png;base64,…`` URL."""

    url: str

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://", "data:image/")):
            raise ValueError(
                f"ImagePart.url must be an http(s) URL or a data:image/… URL, got {self.url!r:.60}"
            )


class ToolUsePart(msgspec.Struct, frozen=True, tag="tool_use"):
    """The assistant called a tool (replayed from an earlier `LlmResponse.tool_calls`)."""

    id: str
    name: str
    arguments: dict[str, Any]

    def __post_init__(self) -> None:
        _set_json_dict(self, "arguments")


class ToolResultPart(msgspec.Struct, frozen=True, tag="tool_result"):
    """What a tool returned, answering the `ToolUsePart` with the same id."""

    tool_use_id: str
    content: str
    is_error: bool = False
    cache: bool = False


Part = TextPart | ImagePart | ToolUsePart | ToolResultPart

_ALLOWED: dict[str, tuple[type, ...]] = {
    "user": (TextPart, ImagePart, ToolResultPart),
    "assistant": (TextPart, ToolUsePart),
}


class LlmMessage(msgspec.Struct, frozen=True):
    """One turn of the conversation. Users send text, images and tool results; the assistant
    sends text and tool calls."""

    role: Role
    parts: tuple[Part, ...]

    def __post_init__(self) -> None:
        if not self.parts:
            raise ValueError(f"LlmMessage({self.role}) has no parts; give it at least one")
        for part in self.parts:
            if not isinstance(part, _ALLOWED[self.role]):
                allowed = ", ".join(t.__name__ for t in _ALLOWED[self.role])
                raise ValueError(
                    f"a {self.role} LlmMessage cannot hold a {type(part).__name__} "
                    f"(allowed: {allowed})"
                )

    @property
    def text(self) -> str:
        """The message's text parts joined."""
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))


def user(*parts: str | Part) -> LlmMessage:
    """A user message; plain strings become `TextPart`s."""
    return LlmMessage("user", tuple(TextPart(p) if isinstance(p, str) else p for p in parts))


def assistant(*parts: str | Part) -> LlmMessage:
    """An assistant message; plain strings become `TextPart`s."""
    return LlmMessage("assistant", tuple(TextPart(p) if isinstance(p, str) else p for p in parts))


class SystemPart(msgspec.Struct, frozen=True):
    """A piece of the system prompt. Mark the stable prefix ``cache=True``: Anthropic caches
    everything up to it (tools included); OpenAI caches long prefixes on its own."""

    text: str
    cache: bool = False


class ToolSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A tool the model may call: a name, what it does, and a JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any] = msgspec.field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )
    strict: bool = False  # OpenAI strict mode: the schema must then forbid extra properties

    def __post_init__(self) -> None:
        if not _TOOL_NAME.fullmatch(self.name):
            raise ValueError(
                f"ToolSpec.name {self.name!r} must be 1-64 letters, digits, '_' or '-' "
                "(the rule both Anthropic and OpenAI enforce)"
            )
        _set_json_dict(self, "parameters")
        if self.parameters.get("type") != "object":
            raise ValueError(
                f"ToolSpec {self.name!r}: parameters must be a JSON schema with "
                f'"type": "object", got type {self.parameters.get("type")!r}'
            )


class OutputSchema(msgspec.Struct, frozen=True, kw_only=True):
    """Ask for structured output: the reply text is one JSON value matching ``schema``."""

    name: str = "output"
    schema: dict[str, Any]
    strict: bool = True

    def __post_init__(self) -> None:
        if not _TOOL_NAME.fullmatch(self.name):
            raise ValueError(f"OutputSchema.name {self.name!r} must be 1-64 of [A-Za-z0-9_-]")
        _set_json_dict(self, "schema")


class CallContext(msgspec.Struct, frozen=True, kw_only=True):
    """Who a call is for, copied onto its `llm_call` action row."""

    purpose: str = ""  # e.g. "reply", "initiative", "reflection"
    guild_id: int | None = None
    channel_id: int | None = None
    message_id: int | None = None
    user_id: int | None = None


class LlmRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One model call, provider-neutral.

    ``timeout`` bounds the whole call (retries and fallbacks included) in seconds; ``providers``
    restricts and orders the configured providers for this call (by name; empty: all, in the
    configured fallback order).
    """

    messages: tuple[LlmMessage, ...]
    system: tuple[SystemPart, ...] = ()
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: Literal["auto", "required", "none"] = "auto"
    max_tokens: int = 1024
    temperature: float | None = None
    output_schema: OutputSchema | None = None
    timeout: float | None = None
    providers: tuple[str, ...] = ()
    # Try this configured provider first (others stay as fallbacks), asking it for
    # ``prefer_model`` instead of its configured model; ignored when not configured. This is how
    # the live settings' reply_generation.provider / .model reach the call.
    prefer: str | None = None
    prefer_model: str | None = None
    context: CallContext = msgspec.field(default_factory=CallContext)

    def __post_init__(self) -> None:
        if not self.messages:
            raise ValueError("LlmRequest.messages is empty; a call needs at least one message")
        if self.messages[0].role != "user":
            raise ValueError("LlmRequest.messages must start with a user message")
        if self.max_tokens < 1:
            raise ValueError(f"LlmRequest.max_tokens must be >= 1, got {self.max_tokens}")
        if self.temperature is not None and not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"LlmRequest.temperature must be in 0..2, got {self.temperature}")
        if self.timeout is not None and not self.timeout > 0:
            raise ValueError(f"LlmRequest.timeout must be > 0 seconds, got {self.timeout}")
        names = [t.name for t in self.tools]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"LlmRequest.tools has duplicate names: {', '.join(duplicates)}")
        if self.tool_choice == "required" and not self.tools:
            raise ValueError("LlmRequest.tool_choice='required' needs at least one tool")
        marks = sum(p.cache for p in self.system) + sum(
            getattr(p, "cache", False) for m in self.messages for p in m.parts
        )
        if marks > MAX_CACHE_MARKS:
            raise ValueError(
                f"LlmRequest has {marks} cache marks; Anthropic allows at most {MAX_CACHE_MARKS}"
            )

    @property
    def system_text(self) -> str:
        """The system prompt as one text (parts joined by blank lines)."""
        return "\n\n".join(p.text for p in self.system)


# --- response ---------------------------------------------------------------------------------


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    """Tokens of one call as billed: base-rate input, cache reads, cache writes, output."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def prompt_tokens(self) -> int:
        """Every prompt token, cached or not."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
        )


class ToolCall(msgspec.Struct, frozen=True, kw_only=True):
    """The model asked to call a tool. ``arguments`` is ``{}`` when ``raw_arguments`` is not a
    JSON object (then ``arguments_error`` says why); the raw text is kept either way."""

    id: str
    name: str
    arguments: dict[str, Any]
    raw_arguments: str
    arguments_error: str | None = None

    def as_part(self) -> ToolUsePart:
        """This call as a part of the assistant message that replays it."""
        return ToolUsePart(self.id, self.name, self.arguments)


def tool_call(call_id: str, name: str, raw_arguments: str) -> ToolCall:
    """A `ToolCall` from the arguments text a provider sent (parsed leniently)."""
    text = raw_arguments.strip() or "{}"
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        return ToolCall(
            id=call_id,
            name=name,
            arguments={},
            raw_arguments=raw_arguments,
            arguments_error=f"not valid JSON: {exc}",
        )
    if not isinstance(value, dict):
        return ToolCall(
            id=call_id,
            name=name,
            arguments={},
            raw_arguments=raw_arguments,
            arguments_error=f"expected a JSON object, got {type(value).__name__}",
        )
    return ToolCall(id=call_id, name=name, arguments=value, raw_arguments=raw_arguments)


class ProviderOutput(msgspec.Struct, frozen=True, kw_only=True):
    """What one provider call produced, before cost and timing are added."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    stop_reason: StopReason = "end_turn"
    raw_stop_reason: str = ""
    usage: Usage = msgspec.field(default_factory=Usage)
    model: str = ""  # as the provider reported it ("" if it did not)


class LlmResponse(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to an `LlmRequest`.

    ``latency`` is seconds of trio time from the call's start to its end (retries included);
    ``attempts`` counts HTTP attempts across providers; ``first_delta_after`` is the time to the
    first streamed delta (None when not streamed).
    """

    text: str
    tool_calls: tuple[ToolCall, ...]
    stop_reason: StopReason
    raw_stop_reason: str
    usage: Usage
    usd_cost: float
    provider: str
    model: str
    latency: float
    attempts: int
    first_delta_after: float | None = None

    def as_message(self) -> LlmMessage:
        """This reply as the assistant turn of the next request (text, then its tool calls),
        for tool loops: append it, then a user message with a `ToolResultPart` per call."""
        parts: list[Part] = [TextPart(self.text)] if self.text or not self.tool_calls else []
        parts.extend(call.as_part() for call in self.tool_calls)
        return LlmMessage("assistant", tuple(parts))

    def json(self) -> Any:
        """The text parsed as JSON (for structured output). Tolerates a Markdown code fence and
        text around one JSON object; raises ValueError naming the problem otherwise."""
        return parse_json_leniently(self.text)


def parse_json_leniently(text: str) -> Any:
    """JSON from model text: as is, else inside a ``` fence, else the outermost {...}."""
    candidates = [text.strip()]
    fence = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    if fence:
        candidates.append(fence.group(1).strip())
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            return msgspec.json.decode(candidate)
        except msgspec.DecodeError:
            continue
    raise ValueError(f"the model's reply is not JSON: {text!r:.120}")


# --- streaming --------------------------------------------------------------------------------


class TextDelta(msgspec.Struct, frozen=True, tag="text_delta"):
    """More reply text."""

    text: str


class ToolCallDelta(msgspec.Struct, frozen=True, tag="tool_call_delta"):
    """A piece of a tool call's arguments as they stream (``index`` orders the calls)."""

    index: int
    id: str
    name: str
    arguments_delta: str


class ToolCallDone(msgspec.Struct, frozen=True, tag="tool_call_done"):
    """A tool call is complete."""

    index: int
    call: ToolCall


class StreamDone(msgspec.Struct, frozen=True, tag="done"):
    """The stream ended; the full response (text, tool calls, usage, cost)."""

    response: LlmResponse


StreamDelta = TextDelta | ToolCallDelta | ToolCallDone | StreamDone
