"""The command-line entry points scrub secrets from every log line, dashboard or not."""

from __future__ import annotations

import logging

import pytest

from clanker.dashboard.redaction import REDACTED, stop_scrubbing
from clanker.logsetup import configure_logging


def test_every_log_line_has_environment_secrets_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    env = {"DISCORD_TOKEN": "mfa.discord-user-token-1234", "ANTHROPIC_API_KEY": "sk-ant-abcdef12"}
    secrets = configure_logging(environ=env, extra=["dashboard-token-xyz"])
    try:
        log = logging.getLogger("clanker.some.module")
        with caplog.at_level(logging.INFO):
            log.warning("logging in with %s", "mfa.discord-user-token-1234")
            log.info("key sk-ant-abcdef12 and dashboard-token-xyz in one line")
            try:
                raise RuntimeError("bad token mfa.discord-user-token-1234")
            except RuntimeError:
                log.exception("failed")
    finally:
        stop_scrubbing(secrets)
    for secret in (*env.values(), "dashboard-token-xyz"):
        assert secret not in caplog.text
    assert caplog.text.count(REDACTED) == 5
