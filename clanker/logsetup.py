"""Logging for the command-line entry points: one format, and secrets scrubbed from every line.

Whatever runs (the dashboard or not), every log record the process makes has the values of
secret-looking environment variables (``*_TOKEN``, ``*_API_KEY``, ``*_SECRET``, ``*_PASSWORD``,
``*_KEY``) and any ``extra`` secrets replaced by ``[redacted]`` — message, arguments and
traceback alike (see `clanker.dashboard.redaction`).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Mapping

from clanker.dashboard.redaction import SecretFilter, scrub_all_log_records, secrets_from_env


def configure_logging(
    *,
    verbose: bool = False,
    environ: Mapping[str, str] | None = None,
    extra: Iterable[str] = (),
) -> SecretFilter:
    """Log to stderr (INFO when ``verbose``, else WARNING) with secrets scrubbed; returns the
    filter so callers can add what they learn later (e.g. a generated dashboard token)."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    env = os.environ if environ is None else environ
    secrets = SecretFilter([*secrets_from_env(env), *extra])
    scrub_all_log_records(secrets)
    return secrets
