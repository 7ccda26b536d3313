"""What a cloud speech call raises: `CloudSpeechError` and `CloudConfigError`, both
`ModelError`s, so the brain handles a cloud failure like a local model's.

`CloudSpeechError` says which provider and model failed, how (``kind``: ``http`` with the HTTP
``status`` and the provider's own ``code`` and message, ``timeout`` or ``connection``) and what
to try. The SDKs' and httpx's exceptions never leave `clanker.voice.cloud`.
"""

from __future__ import annotations

from typing import Literal

from clanker.voice.models.base import ModelError

ErrorKind = Literal["http", "timeout", "connection"]

_MESSAGE_CHARS = 300
_HINTS: dict[int, str] = {
    400: "the request was refused as sent; check the model and voice settings",
    401: "check the API key",
    403: "the key may not use this model or voice",
    404: "check the model or voice id and the base URL",
    422: "the request was refused as sent; check the model and voice settings",
    429: "rate limited or out of quota",
}


def short(text: str) -> str:
    """``text`` on one line, at most a few hundred characters."""
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 1] + "…"


class CloudSpeechError(ModelError):
    """A cloud speech call failed. ``str()`` names the provider, the model, the HTTP status,
    the provider's message and a hint."""

    def __init__(
        self,
        provider: str,
        model: str,
        *,
        kind: ErrorKind,
        message: str,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.kind: ErrorKind = kind
        self.status = status
        self.code = code
        self.provider_message = short(message)
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = f"{self.provider} {self.model}"
        if self.kind == "timeout":
            return f"{where}: {self.provider_message} (raise the timeout or check the network)"
        if self.kind == "connection":
            return f"{where}: {self.provider_message} (check the base URL and the network)"
        code = f" {self.code}" if self.code else ""
        hint = _HINTS.get(self.status or 0, "the provider failed; try again later")
        if self.status is not None and 400 <= self.status < 500 and self.status not in _HINTS:
            hint = "the request was refused"
        return f"{where}: HTTP {self.status}{code}: {self.provider_message} ({hint})"


class CloudConfigError(ModelError):
    """A cloud provider was chosen in the settings but cannot be built (its key is missing)."""
