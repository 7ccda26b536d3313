"""The dashboard's sans-IO parts: fan-out, auth, cross-site rules, schema checks, merge patch,
cost summaries, secret scrubbing, configuration, SSE framing."""

from __future__ import annotations

import logging
import re
from datetime import date
from pathlib import Path

import msgspec
import pytest
import trio
import trio.testing

from clanker.dashboard import Broadcast, DashboardConfig, DashboardConfigError, PlaceholderSettings
from clanker.dashboard.auth import TokenAuth, cross_site_problem
from clanker.dashboard.costs import summarize
from clanker.dashboard.redaction import REDACTED, SecretFilter, secrets_from_env
from clanker.dashboard.schema_check import SchemaValidator
from clanker.dashboard.settings_source import merge_patch
from clanker.dashboard.shapes import parse_id
from clanker.dashboard.sse import OpenStreams, frame
from clanker.dashboard.throttle import LoginThrottle
from clanker.store import ActionTotalsRow

TOKEN = "a-long-enough-token-for-tests"


async def test_broadcast_drops_the_oldest_for_a_slow_subscriber_only(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub: Broadcast[int] = Broadcast(default_capacity=3)
    slow, fast = hub.open(), hub.open(capacity=100)
    for i in range(10):
        hub.publish(i)
    assert [slow.receive_nowait() for _ in range(3)] == [7, 8, 9]
    assert slow.dropped == 7 and fast.dropped == 0
    assert fast.queued == 10
    hub.close(slow)
    hub.publish(10)
    assert hub.subscriber_count == 1 and fast.queued == 11
    hub.close_all()
    got = [item async for item in fast]
    assert got == list(range(11))  # a closed subscription still yields what was queued


def test_broadcast_rejects_a_zero_capacity() -> None:
    with pytest.raises(ValueError, match="capacity must be"):
        Broadcast[int](default_capacity=0)
    with pytest.raises(ValueError, match="capacity must be an integer >= 1, got 0"):
        Broadcast[int]().open(0)


async def test_sessions_expire_and_close(autojump_clock: trio.testing.MockClock) -> None:
    auth = TokenAuth(TOKEN, ttl=60.0)
    session = auth.open_session()
    assert auth.authorise({}, session) == "cookie"
    assert auth.authorise({"Authorization": f"Bearer {TOKEN}"}, None) == "header"
    assert auth.authorise({"X-Dashboard-Token": TOKEN}, None) == "header"
    assert auth.authorise({"Authorization": f"Basic {TOKEN}"}, None) is None
    assert auth.authorise({"Authorization": "Bearer nope"}, "forged") is None
    await trio.sleep(59.9)
    assert auth.session_valid(session)
    await trio.sleep(0.1)
    assert trio.current_time() == 60.0
    assert not auth.session_valid(session)
    other = auth.open_session()
    auth.close_session(other)
    assert not auth.session_valid(other)
    with pytest.raises(ValueError, match="must not be empty"):
        TokenAuth("")


@pytest.mark.parametrize(
    ("method", "headers", "refused"),
    [
        ("GET", {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, None),
        ("POST", {}, None),  # not a browser: judged by its token alone
        ("POST", {"Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1:8780"}, None),
        ("PUT", {"Sec-Fetch-Site": "none"}, None),
        ("POST", {"Sec-Fetch-Site": "cross-site"}, "another site (cross-site)"),
        ("DELETE", {"Sec-Fetch-Site": "same-site"}, "another site (same-site)"),
        ("PUT", {"Origin": "http://localhost:8780"}, "is not this dashboard"),
        ("POST", {"Origin": "null"}, "opaque origin"),
    ],
)
def test_cross_site_rules(method: str, headers: dict[str, str], refused: str | None) -> None:
    problem = cross_site_problem(method, headers, "127.0.0.1:8780")
    if refused is None:
        assert problem is None
    else:
        assert problem is not None and refused in problem


def test_schema_check_collects_every_error_with_its_path() -> None:
    schema = msgspec.json.schema(PlaceholderSettings)
    check = SchemaValidator(schema)
    assert check.errors(msgspec.to_builtins(PlaceholderSettings())) == []
    errors = check.errors(
        {
            "identity": {"bot_name": "x" * 40},
            "activity": {"reply_eagerness": True, "min_seconds_between_messages": -1},
            "permissions": {"blocked_user_ids": "123"},
            "reply_generation": {"temperature": 2.5, "max_output_tokens": 1.5},
            "extra": {},
        }
    )
    assert [(e.path, e.message) for e in errors] == [
        ("identity.bot_name", "must be at most 32 characters, got 40"),
        ("activity.reply_eagerness", "must be an integer, got true or false"),
        ("activity.min_seconds_between_messages", "must be at least 0, got -1"),
        ("permissions.blocked_user_ids", "must be a list, got a string"),
        ("reply_generation.temperature", "must be at most 2, got 2.5"),
        ("reply_generation.max_output_tokens", "must be an integer, got a number"),
        (
            "extra",
            "is not a known setting (known here: activity, identity, permissions, "
            "reply_generation)",
        ),
    ]


def test_schema_check_handles_optional_and_required_fields() -> None:
    class Inner(msgspec.Struct, frozen=True):
        limit: int | None
        mode: str = "a"

    check = SchemaValidator(msgspec.json.schema(Inner))
    assert check.errors({"limit": None}) == []
    assert [(e.path, e.message) for e in check.errors({"limit": "x"})] == [
        ("limit", "must be an integer, got a string")
    ]
    assert [(e.path, e.message) for e in check.errors({})] == [("limit", "is required")]
    assert [e.message for e in check.errors([])] == ["must be an object, got a list"]


def test_merge_patch_follows_rfc_7386() -> None:
    target = {"a": {"b": 1, "c": [1, 2]}, "d": "x"}
    assert merge_patch(target, {"a": {"b": 2}}) == {"a": {"b": 2, "c": [1, 2]}, "d": "x"}
    assert merge_patch(target, {"a": {"c": [3]}, "d": None}) == {"a": {"b": 1, "c": [3]}}
    assert merge_patch(target, {"e": {"f": None, "g": 1}}) == {**target, "e": {"g": 1}}
    assert merge_patch(target, ["replace"]) == ["replace"]
    assert target == {"a": {"b": 1, "c": [1, 2]}, "d": "x"}  # untouched


def test_cost_summary_fills_every_day_and_ranks_models() -> None:
    def row(day: str, kind: str, model: str | None, cost: float, n: int = 1) -> ActionTotalsRow:
        return ActionTotalsRow(
            day=day,
            kind=kind,
            provider=None if model is None else "p",
            model=model,
            count=n,
            usd_cost=cost,
            input_tokens=10 * n,
            output_tokens=n,
        )

    summary = summarize(
        [
            row("2025-01-29", "llm_call", "big", 1.0),
            row("2025-01-31", "llm_call", "small", 0.25, 3),
            row("2025-01-31", "llm_call", "big", 0.5),
            row("2025-01-31", "sent_reply", None, 0.0, 4),
            row("2025-01-31", "sent_message", "big", 0.0, 2),  # names its model, costs nothing
            row("2025-01-01", "llm_call", "old", 9.0),  # outside the window
        ],
        today=date(2025, 1, 31),
        days=3,
    )
    assert [d.day for d in summary.days] == ["2025-01-29", "2025-01-30", "2025-01-31"]
    assert [(d.usd_cost, d.calls) for d in summary.days] == [(1.0, 1), (0.0, 0), (0.75, 4)]
    assert [(m.model, m.usd_cost, m.calls, m.input_tokens) for m in summary.models] == [
        ("big", 1.5, 2, 20),
        ("small", 0.25, 3, 30),
    ]
    assert [(k.kind, k.count) for k in summary.kinds] == [
        ("llm_call", 5),
        ("sent_reply", 4),
        ("sent_message", 2),
    ]
    assert summary.total_usd == 1.75 and summary.since == "2025-01-29"


def test_secret_filter_scrubs_text_bytes_and_log_records(
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = {
        "DISCORD_TOKEN": "discord-token-abcdef",
        "ANTHROPIC_API_KEY": "sk-ant-123456789",
        "OPENAI_API_KEY": "sk-123456",
        "HOME": "/root",
        "SHORT_TOKEN": "abc",
    }
    found = secrets_from_env(env)
    assert sorted(found) == ["abc", "discord-token-abcdef", "sk-123456", "sk-ant-123456789"]
    scrub = SecretFilter(found)
    assert len(scrub) == 3  # too-short values are not treated as secrets
    text = "keys: sk-ant-123456789 and discord-token-abcdef; home /root"
    assert scrub.scrub_text(text) == f"keys: {REDACTED} and {REDACTED}; home /root"
    assert scrub.scrub_bytes(text.encode()) == scrub.scrub_text(text).encode()
    log = logging.getLogger("clanker.dashboard.test")
    log.addFilter(scrub.logging_filter())
    try:
        with caplog.at_level(logging.INFO):
            log.info("calling with %s", "sk-ant-123456789")
            try:
                raise RuntimeError("bad key sk-123456")
            except RuntimeError:
                log.exception("failed")
    finally:
        log.filters.clear()
    assert "sk-ant" not in caplog.text and "sk-123456" not in caplog.text
    assert caplog.text.count(REDACTED) == 3  # the message, the traceback line, the error


def test_config_refuses_unsafe_or_broken_settings() -> None:
    with pytest.raises(DashboardConfigError, match="not a loopback address"):
        DashboardConfig(host="0.0.0.0")
    with pytest.raises(DashboardConfigError, match="not a loopback address"):
        DashboardConfig(host="dashboard.example")
    # A token is not enough off loopback: without TLS it would cross the network in clear.
    with pytest.raises(DashboardConfigError, match=re.escape("plain HTTP on '0.0.0.0'")):
        DashboardConfig(host="0.0.0.0", token="x" * 16)
    behind = DashboardConfig(host="0.0.0.0", token="x" * 16, behind_tls_proxy=True)
    assert behind.secure_cookies and not behind.tls
    assert not DashboardConfig().secure_cookies  # loopback HTTP: a Secure cookie would be lost
    with pytest.raises(DashboardConfigError, match="go together"):
        DashboardConfig(certfile=Path("/etc/hostname"))
    with pytest.raises(DashboardConfigError, match="no such TLS file"):
        DashboardConfig(certfile=Path("/nonexistent.pem"), keyfile=Path("/nonexistent.key"))
    from_env = DashboardConfig.from_env(
        {
            "DASHBOARD_HOST": "0.0.0.0",
            "DASHBOARD_TOKEN": "t" * 20,
            "DASHBOARD_BEHIND_TLS_PROXY": "1",
        }
    )
    assert from_env.behind_tls_proxy
    with pytest.raises(DashboardConfigError, match="DASHBOARD_BEHIND_TLS_PROXY must be"):
        DashboardConfig.from_env({"DASHBOARD_BEHIND_TLS_PROXY": "maybe"})
    assert DashboardConfig(host="::1").host == "::1"
    assert DashboardConfig(host="localhost").host == "localhost"
    with pytest.raises(DashboardConfigError, match="too short"):
        DashboardConfig(token="short")
    with pytest.raises(DashboardConfigError, match=r"DASHBOARD_PORT must be 0\.\.65535"):
        DashboardConfig(port=70000)
    with pytest.raises(DashboardConfigError, match="DASHBOARD_PORT must be a port number"):
        DashboardConfig.from_env({"DASHBOARD_PORT": "http"})
    cfg = DashboardConfig.from_env(
        {"DASHBOARD_HOST": "127.0.0.2", "DASHBOARD_PORT": "9000", "DASHBOARD_TOKEN": "t" * 20}
    )
    assert (cfg.host, cfg.port, cfg.token) == ("127.0.0.2", 9000, "t" * 20)


def test_sse_frames_and_ids() -> None:
    assert frame("action", b'{"a":1}', 7) == b'id: 7\nevent: action\ndata: {"a":1}\n\n'
    assert frame("snapshot", b"{}") == b"event: snapshot\ndata: {}\n\n"
    with pytest.raises(ValueError, match="single line"):
        frame("x", b"a\nb")
    streams = OpenStreams()
    closed: list[int] = []
    handle = streams.track(lambda: closed.append(1))
    streams.track(lambda: closed.append(2))
    streams.untrack(handle)
    streams.close_all()
    streams.track(lambda: closed.append(3))  # opened during shutdown: closed at once
    assert closed == [2, 3] and len(streams) == 0


def test_ids_from_the_browser_are_checked() -> None:
    assert parse_id(" 1323802873053577220 ", "channel_id") == 1323802873053577220
    for bad in ("", "-1", "1e5", "12a", str(2**63)):
        with pytest.raises(ValueError, match="channel_id must be a Discord id"):
            parse_id(bad, "channel_id")


def test_the_login_throttle_locks_an_address_out_for_the_rest_of_the_window() -> None:
    throttle = LoginThrottle(max_failures=3, window=60.0)
    for t in (0.0, 10.0, 20.0):
        assert throttle.retry_after("1.2.3.4", t) is None
        throttle.failed("1.2.3.4", t)
    assert throttle.retry_after("1.2.3.4", 30.0) == 30.0  # until the first failure is 60 s old
    assert throttle.retry_after("5.6.7.8", 30.0) is None  # other addresses are not affected
    assert throttle.retry_after("1.2.3.4", 60.0) is None  # the first failure left the window
    throttle.failed("1.2.3.4", 61.0)
    assert throttle.retry_after("1.2.3.4", 61.0) == 9.0
    throttle.succeeded("1.2.3.4")
    assert throttle.retry_after("1.2.3.4", 61.0) is None
