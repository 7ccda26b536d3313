"""The provider clients: the official SDKs, natively under trio, behind one small interface.

Each `ProviderClient` owns one SDK client (``AsyncAnthropic`` or ``AsyncOpenAI``, built with
``max_retries=0`` and no SDK timeout: retries and deadlines are `LlmService`'s, on trio time).
A call converts the neutral request with the provider's wire module, makes the HTTP call, and
converts back; any failure leaves as `ProviderFailure` carrying a classified `ProviderError`.
The SDK's own exceptions never escape this module.

The SDKs are imported when the first client is built (``import anthropic`` alone takes
seconds), so code that only needs the neutral model stays quick to import.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol

import trio

from clanker.llm import anthropic_wire, openai_chat_wire, openai_responses_wire
from clanker.llm.config import ProviderConfig
from clanker.llm.errors import ErrorKind, LlmConfigError, ProviderError
from clanker.llm.model import LlmRequest, ProviderOutput, StreamDelta
from clanker.llm.retry import parse_retry_after

log = logging.getLogger(__name__)

Emit = Callable[[StreamDelta], Awaitable[None]]

_MESSAGE_CHARS = 500
_CLOSE_GRACE = 5.0


class ProviderFailure(Exception):
    """One attempt failed; ``error`` says where and why."""

    def __init__(self, error: ProviderError) -> None:
        self.error = error
        super().__init__(error.describe())


class ProviderClient(Protocol):
    """What `LlmService` needs from a provider."""

    config: ProviderConfig

    async def complete(self, request: LlmRequest) -> ProviderOutput:
        """One non-streaming call; raises `ProviderFailure`."""
        ...

    async def stream(self, request: LlmRequest, emit: Emit) -> ProviderOutput:
        """One streaming call, handing each delta to ``emit``; raises `ProviderFailure`."""
        ...

    async def aclose(self) -> None:
        """Release the HTTP connections."""
        ...


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 1] + "…"


def _body_error(body: object) -> Mapping[str, Any]:
    """The ``error`` object of an error body (Anthropic nests it; OpenAI's SDK unwraps it)."""
    if isinstance(body, Mapping):
        inner = body.get("error")
        return inner if isinstance(inner, Mapping) else body
    return {}


def _transport_error(config: ProviderConfig, exc: BaseException) -> ProviderError | None:
    """Timeouts, refused connections and broken bodies, as either SDK or httpx2 reports them."""
    import anthropic
    import httpx2
    import openai

    timeouts = (anthropic.APITimeoutError, openai.APITimeoutError, httpx2.TimeoutException)
    if isinstance(exc, timeouts):
        kind, message = ErrorKind.TIMEOUT, "the HTTP request timed out"
    elif isinstance(exc, anthropic.APIConnectionError | openai.APIConnectionError):
        kind, message = ErrorKind.CONNECTION, f"could not reach {config.resolved_base_url}"
    elif isinstance(exc, httpx2.TransportError):
        kind, message = ErrorKind.CONNECTION, f"the connection failed: {type(exc).__name__}"
    elif isinstance(exc, json.JSONDecodeError):
        kind, message = ErrorKind.SERVER_ERROR, f"the provider sent malformed JSON: {exc}"
    else:
        return None
    cause = str(exc.__cause__ or "")
    if cause:
        message = f"{message} ({_short(cause)})"
    return ProviderError(provider=config.name, model=config.model, kind=kind, message=message)


def classify_anthropic(config: ProviderConfig, exc: BaseException) -> ProviderError:
    """A neutral error for whatever the Anthropic SDK raised."""
    import anthropic

    transport = _transport_error(config, exc)
    if transport is not None:
        return transport
    error = _body_error(getattr(exc, "body", None))
    error_type = error.get("type") if isinstance(error.get("type"), str) else None
    message = str(error.get("message") or exc)
    status: int | None = None
    retry_after: float | None = None
    if isinstance(exc, anthropic.APIStatusError):
        # An error event inside a 200 stream arrives as a status error with status 200.
        status = exc.status_code if exc.status_code >= 400 else None
        retry_after = parse_retry_after(exc.response.headers)
    return ProviderError(
        provider=config.name,
        model=config.model,
        kind=anthropic_wire.error_kind(status, error_type),
        message=_short(message),
        status=status,
        retry_after=retry_after,
    )


def classify_openai(config: ProviderConfig, exc: BaseException) -> ProviderError:
    """A neutral error for whatever the OpenAI SDK raised (also for xAI and local servers)."""
    import openai

    transport = _transport_error(config, exc)
    if transport is not None:
        return transport
    if isinstance(exc, openai_responses_wire.StreamFailed):
        return exc.to_error(config.name, config.model)
    error = _body_error(getattr(exc, "body", None))
    code = error.get("code")
    error_type = error.get("type")
    message = str(error.get("message") or getattr(exc, "message", None) or exc)
    status: int | None = None
    retry_after: float | None = None
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retry_after = parse_retry_after(exc.response.headers)
    return ProviderError(
        provider=config.name,
        model=config.model,
        kind=openai_responses_wire.error_kind(
            status,
            str(code) if code is not None else None,
            str(error_type) if error_type is not None else None,
        ),
        message=_short(message),
        status=status,
        retry_after=retry_after,
    )


def _anthropic_errors() -> tuple[type[BaseException], ...]:
    import anthropic
    import httpx2

    return (anthropic.AnthropicError, httpx2.HTTPError, json.JSONDecodeError)


def _openai_errors(*more: type[BaseException]) -> tuple[type[BaseException], ...]:
    import httpx2
    import openai

    return (openai.OpenAIError, httpx2.HTTPError, json.JSONDecodeError, *more)


async def _close_quietly(stream: Any) -> None:
    # Runs when a stream ends early (cancelled, or the consumer stopped): shielded, so the
    # connection is released even inside a cancelled scope, and bounded, so it cannot hang.
    with trio.CancelScope(shield=True), trio.move_on_after(_CLOSE_GRACE):
        await stream.close()


class _Feeds(Protocol):
    def feed(self, event: dict[str, Any]) -> Iterable[StreamDelta]: ...


async def _pump(stream: Any, state: _Feeds, emit: Emit) -> None:
    """Feed every SDK stream event to ``state`` and emit its deltas; always release the
    stream (see `_close_quietly`)."""
    try:
        async for event in stream:
            for delta in state.feed(_dict(event)):
                await emit(delta)
    finally:
        await _close_quietly(stream)


def _dict(obj: Any) -> dict[str, Any]:
    result: dict[str, Any] = obj.to_dict()
    return result


class AnthropicProvider:
    """The Anthropic Messages API through ``anthropic.AsyncAnthropic``."""

    def __init__(self, config: ProviderConfig, api_key: str) -> None:
        import anthropic

        self.config = config
        self.client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=config.resolved_base_url, max_retries=0, timeout=None
        )

    async def complete(self, request: LlmRequest) -> ProviderOutput:
        params = anthropic_wire.request_params(request, self.config.model)
        try:
            message = await self.client.messages.create(**params)
            return anthropic_wire.output_from_message(_dict(message))
        except _anthropic_errors() as exc:
            raise ProviderFailure(classify_anthropic(self.config, exc)) from exc

    async def stream(self, request: LlmRequest, emit: Emit) -> ProviderOutput:
        params = anthropic_wire.request_params(request, self.config.model)
        state = anthropic_wire.AnthropicStream()
        try:
            events = await self.client.messages.create(**params, stream=True)
            await _pump(events, state, emit)
        except _anthropic_errors() as exc:
            raise ProviderFailure(classify_anthropic(self.config, exc)) from exc
        return state.output()

    async def aclose(self) -> None:
        await self.client.close()


class OpenAIResponsesProvider:
    """The OpenAI Responses API through ``openai.AsyncOpenAI``."""

    def __init__(self, config: ProviderConfig, api_key: str) -> None:
        import openai

        self.config = config
        self.client = openai.AsyncOpenAI(
            api_key=api_key, base_url=config.resolved_base_url, max_retries=0, timeout=None
        )

    def _failure(self, exc: BaseException) -> ProviderFailure:
        return ProviderFailure(classify_openai(self.config, exc))

    async def complete(self, request: LlmRequest) -> ProviderOutput:
        params = openai_responses_wire.request_params(request, self.config.model)
        try:
            response = await self.client.responses.create(**params)
            return openai_responses_wire.output_from_response(_dict(response))
        except _openai_errors() as exc:
            raise self._failure(exc) from exc

    async def stream(self, request: LlmRequest, emit: Emit) -> ProviderOutput:
        params = openai_responses_wire.request_params(request, self.config.model)
        state = openai_responses_wire.ResponsesStream()
        try:
            events = await self.client.responses.create(**params, stream=True)
            await _pump(events, state, emit)
        except _openai_errors(openai_responses_wire.StreamFailed) as exc:
            raise self._failure(exc) from exc
        if not state.finished:
            raise ProviderFailure(
                ProviderError(
                    provider=self.config.name,
                    model=self.config.model,
                    kind=ErrorKind.SERVER_ERROR,
                    message="the stream ended without response.completed",
                )
            )
        return state.output()

    async def aclose(self) -> None:
        await self.client.close()


class OpenAIChatProvider:
    """Chat Completions through ``openai.AsyncOpenAI``: xAI, OpenAI with ``api="chat"``, and
    OpenAI-compatible local servers."""

    def __init__(self, config: ProviderConfig, api_key: str) -> None:
        import openai

        self.config = config
        self.client = openai.AsyncOpenAI(
            api_key=api_key, base_url=config.resolved_base_url, max_retries=0, timeout=None
        )
        self.max_tokens_field = "max_completion_tokens" if config.kind == "openai" else "max_tokens"

    def _params(self, request: LlmRequest) -> dict[str, Any]:
        return openai_chat_wire.request_params(
            request, self.config.model, max_tokens_field=self.max_tokens_field
        )

    async def complete(self, request: LlmRequest) -> ProviderOutput:
        try:
            completion = await self.client.chat.completions.create(**self._params(request))
            return openai_chat_wire.output_from_completion(_dict(completion))
        except _openai_errors() as exc:
            raise ProviderFailure(classify_openai(self.config, exc)) from exc

    async def stream(self, request: LlmRequest, emit: Emit) -> ProviderOutput:
        state = openai_chat_wire.ChatStream()
        try:
            chunks = await self.client.chat.completions.create(
                **self._params(request), stream=True, stream_options={"include_usage": True}
            )
            await _pump(chunks, state, emit)
        except _openai_errors() as exc:
            raise ProviderFailure(classify_openai(self.config, exc)) from exc
        return state.output()

    async def aclose(self) -> None:
        await self.client.close()


def make_provider(
    config: ProviderConfig, environ: Mapping[str, str] | None = None
) -> ProviderClient:
    """The client for ``config``; raises `LlmConfigError` when its API key is missing."""
    key = config.resolve_key(environ)
    if key is None:
        raise LlmConfigError(
            f"provider {config.name!r} ({config.kind}) has no API key: set {config.key_source()} "
            "or give api_key in its config"
        )
    api = config.resolved_api
    if api == "messages":
        return AnthropicProvider(config, key)
    if api == "responses":
        return OpenAIResponsesProvider(config, key)
    return OpenAIChatProvider(config, key)
