"""Keep secrets (API keys, the Discord token, the dashboard token) out of responses and logs.

`SecretFilter` knows the secret *values* (from the environment and the configuration) and
replaces every occurrence in what the dashboard sends or logs with ``[redacted]``. It is the
last line of defence: an LLM prompt logged in an action's metadata, an exception message, a
setting pasted in by mistake — none of them can carry a key out through the dashboard.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"
MIN_SECRET_CHARS = 8
_SECRET_NAME = re.compile(r"(TOKEN|API_KEY|SECRET|PASSWORD|_KEY)$", re.IGNORECASE)


def secrets_from_env(environ: Mapping[str, str]) -> list[str]:
    """Values of variables whose names mark them as secrets (``*_TOKEN``, ``*_API_KEY``,
    ``*_SECRET``, ``*_PASSWORD``, ``*_KEY``)."""
    return [value for name, value in environ.items() if _SECRET_NAME.search(name) and value]


class SecretFilter:
    """Replaces known secret values in text and bytes."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        unique = {s for s in secrets if len(s) >= MIN_SECRET_CHARS}
        self._text = sorted(unique, key=len, reverse=True)
        self._bytes = [s.encode() for s in self._text]

    def __len__(self) -> int:
        return len(self._text)

    def scrub_text(self, text: str) -> str:
        """``text`` with every secret replaced."""
        for secret in self._text:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def scrub_bytes(self, data: bytes) -> bytes:
        """``data`` with every secret replaced (UTF-8)."""
        for secret in self._bytes:
            if secret in data:
                data = data.replace(secret, REDACTED.encode())
        return data

    def scrub_record(self, record: logging.LogRecord) -> None:
        """Rewrite a log record's message (and its formatted traceback) without secrets."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return  # a malformed call: logging reports it when the record is formatted
        scrubbed = self.scrub_text(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub_text(record.exc_text)

    def logging_filter(self) -> logging.Filter:
        """A `logging.Filter` that scrubs each record it sees (for one logger or handler)."""
        return _LogScrubber(self)


class _LogScrubber(logging.Filter):
    def __init__(self, secrets: SecretFilter) -> None:
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        self._secrets.scrub_record(record)
        return True


_active: list[SecretFilter] = []
_installed = False


def scrub_all_log_records(secrets: SecretFilter) -> None:
    """Scrub ``secrets`` from every log record this process makes, whatever the logger or
    handler, until `stop_scrubbing`. (Filters on loggers or handlers miss records propagated
    from child loggers or handlers added later; the record factory sees them all.)"""
    global _installed
    if not _installed:
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            for active in tuple(_active):
                active.scrub_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
    if secrets not in _active:
        _active.append(secrets)


def stop_scrubbing(secrets: SecretFilter) -> None:
    """Stop scrubbing ``secrets`` (the factory stays, doing nothing for them)."""
    if secrets in _active:
        _active.remove(secrets)
