"""The OpenAI SDK client both OpenAI providers use, and its exceptions as `CloudSpeechError`.

The client runs natively on trio (as in `clanker.llm.providers`). It is built with the
SDK's own timeout (per connect, read and write: a stream that goes silent that long fails)
and ``max_retries=1``: one retry of a 408/409/429/5xx answer, a timeout or a refused
connection, after the SDK's back-off or the server's ``retry-after``. The SDK is imported
when the first client is built (importing it takes a while).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from clanker.voice.cloud.errors import CloudSpeechError

if TYPE_CHECKING:
    import openai

PROVIDER = "openai"
MAX_RETRIES = 1


def make_client(
    api_key: str, base_url: str, *, timeout: float, max_retries: int
) -> openai.AsyncOpenAI:
    """An ``AsyncOpenAI`` for ``base_url`` (e.g. ``https://api.openai.com/v1``)."""
    import openai

    if not api_key:
        raise ValueError("an OpenAI API key is required (got an empty one)")
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
    return openai.AsyncOpenAI(
        api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
    )


def errors() -> tuple[type[BaseException], ...]:
    """What an SDK call or its streamed body can raise."""
    import httpx2
    import openai

    return (openai.OpenAIError, httpx2.HTTPError)


def _error_object(body: object) -> Mapping[str, Any]:
    # The SDK unwraps {"error": {...}}; a proxy's own error page may not be wrapped at all.
    if isinstance(body, Mapping):
        inner = body.get("error")
        return inner if isinstance(inner, Mapping) else body
    return {}


def to_error(model: str, base_url: str, timeout: float, exc: BaseException) -> CloudSpeechError:
    """``exc`` (from `errors`) as a `CloudSpeechError` naming what happened."""
    import httpx2
    import openai

    if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
        message = f"no answer within {timeout:g} s (timed out)"
        return CloudSpeechError(PROVIDER, model, kind="timeout", message=message)
    if isinstance(exc, openai.APIStatusError):
        error = _error_object(exc.body)
        message = str(error.get("message") or exc.message)
        code = error.get("code") or error.get("type")
        return CloudSpeechError(
            PROVIDER,
            model,
            kind="http",
            status=exc.status_code,
            code=str(code) if code else None,
            message=message,
        )
    cause = exc.__cause__ or exc
    detail = f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__
    if isinstance(exc, openai.APIConnectionError | httpx2.ConnectError):
        message = f"could not reach {base_url} ({detail})"
    else:
        message = f"the connection to {base_url} failed ({detail})"
    return CloudSpeechError(PROVIDER, model, kind="connection", message=message)
