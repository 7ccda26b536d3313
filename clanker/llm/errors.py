"""Typed LLM failures: a wire-safe record (`ProviderError`, `LlmFailure`) and the exceptions.

A `ProviderError` says what went wrong in one attempt at one provider. An `LlmFailure` is the
outcome of a whole call that found no answer: its kind, the provider and cause of the last
failure, and every attempt's error. Library callers get an `LlmError` subclass (one per kind);
the `Llm` actor replies with the `LlmFailure` itself, and `LlmClient` raises it again.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec


class ErrorKind(StrEnum):
    """Why an attempt failed; the retry policy decides by kind."""

    RATE_LIMITED = "rate_limited"  # 429
    OVERLOADED = "overloaded"  # Anthropic 529 / overloaded_error, 503
    SERVER_ERROR = "server_error"  # other 5xx, an error event mid-stream, a broken body
    TIMEOUT = "timeout"  # the attempt or the whole call ran out of time
    CONNECTION = "connection"  # could not connect / the connection dropped
    BAD_REQUEST = "bad_request"  # 400/404/413/422: the provider refused the request
    AUTH = "auth"  # 401/403: the key is missing, wrong or not allowed
    ALL_PROVIDERS_FAILED = "all_providers_failed"  # every provider in the order failed


RETRYABLE = frozenset(
    {ErrorKind.RATE_LIMITED, ErrorKind.OVERLOADED, ErrorKind.SERVER_ERROR, ErrorKind.CONNECTION}
)
"""Kinds worth another attempt at the same provider."""


def status_kind(status: int | None) -> ErrorKind:
    """The neutral kind of an HTTP error status from any provider."""
    if status is None:
        return ErrorKind.SERVER_ERROR
    if status == 429:
        return ErrorKind.RATE_LIMITED
    if status in (503, 529):
        return ErrorKind.OVERLOADED
    if status in (401, 403):
        return ErrorKind.AUTH
    if 400 <= status < 500 and status != 408:
        return ErrorKind.BAD_REQUEST
    return ErrorKind.SERVER_ERROR  # 5xx, and 408 (the server timed out waiting: try again)


class ProviderError(msgspec.Struct, frozen=True, kw_only=True):
    """One failed attempt: which provider and model, what kind, the HTTP status if any, the
    provider's own message, and the delay it asked for (``retry-after``), in seconds."""

    provider: str
    model: str
    kind: ErrorKind
    message: str
    status: int | None = None
    retry_after: float | None = None

    def describe(self) -> str:
        """One line naming the provider, the kind and the cause."""
        status = f" HTTP {self.status}" if self.status is not None else ""
        return f"{self.provider} ({self.model}): {self.kind.value}{status}: {self.message}"


class LlmFailure(msgspec.Struct, frozen=True, kw_only=True):
    """A call that produced no response. ``provider`` / ``model`` / ``status`` / ``message``
    come from the last attempt's error; ``errors`` lists every attempt's error in order."""

    kind: ErrorKind
    provider: str
    model: str
    message: str
    status: int | None = None
    errors: tuple[ProviderError, ...] = ()

    def describe(self) -> str:
        """A sentence naming the kind, the provider and the cause."""
        if self.kind is ErrorKind.ALL_PROVIDERS_FAILED:
            tried = "; ".join(e.describe() for e in self.errors) or "no provider was available"
            return f"every LLM provider failed: {tried}"
        status = f" HTTP {self.status}" if self.status is not None else ""
        return (
            f"LLM call failed at {self.provider} ({self.model}): {self.kind.value}{status}: "
            f"{self.message}"
        )

    def to_exception(self) -> LlmError:
        """The `LlmError` subclass for this failure's kind."""
        return _EXCEPTIONS.get(self.kind, LlmError)(self)


def failure_from(error: ProviderError, errors: tuple[ProviderError, ...]) -> LlmFailure:
    """The failure of a call whose last attempt failed with ``error``."""
    return LlmFailure(
        kind=error.kind,
        provider=error.provider,
        model=error.model,
        message=error.message,
        status=error.status,
        errors=errors,
    )


def all_failed(errors: tuple[ProviderError, ...]) -> LlmFailure:
    """The failure of a call after which no provider was left to try."""
    last = errors[-1] if errors else None
    return LlmFailure(
        kind=ErrorKind.ALL_PROVIDERS_FAILED,
        provider=last.provider if last else "",
        model=last.model if last else "",
        message=last.message if last else "no provider was configured or available",
        status=last.status if last else None,
        errors=errors,
    )


class LlmError(Exception):
    """An LLM call failed; ``failure`` carries the provider, the cause and every attempt."""

    def __init__(self, failure: LlmFailure) -> None:
        self.failure = failure
        super().__init__(failure.describe())

    @property
    def kind(self) -> ErrorKind:
        """Why it failed."""
        return self.failure.kind


class RateLimited(LlmError):
    """The provider answered 429 (and retries did not help)."""


class Overloaded(LlmError):
    """The provider was overloaded (Anthropic 529, 503)."""


class ServerError(LlmError):
    """The provider failed on its side (5xx, an error mid-stream)."""


class LlmTimeout(LlmError):
    """The call (or its last attempt) ran out of time."""


class ConnectionFailed(LlmError):
    """The provider could not be reached."""


class BadRequest(LlmError):
    """The provider refused the request as invalid."""


class AuthFailed(LlmError):
    """The provider refused the API key."""


class AllProvidersFailed(LlmError):
    """Every provider in the fallback order failed; ``failure.errors`` has each cause."""


_EXCEPTIONS: dict[ErrorKind, type[LlmError]] = {
    ErrorKind.RATE_LIMITED: RateLimited,
    ErrorKind.OVERLOADED: Overloaded,
    ErrorKind.SERVER_ERROR: ServerError,
    ErrorKind.TIMEOUT: LlmTimeout,
    ErrorKind.CONNECTION: ConnectionFailed,
    ErrorKind.BAD_REQUEST: BadRequest,
    ErrorKind.AUTH: AuthFailed,
    ErrorKind.ALL_PROVIDERS_FAILED: AllProvidersFailed,
}


class LlmConfigError(ValueError):
    """The LLM configuration cannot work (no usable provider, a missing key, a bad field)."""
