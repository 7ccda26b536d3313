"""`DashboardConfig`: where the dashboard listens, its token, and its limits.

Defaults are safe: loopback only, a token on every /api route (generated at start when
``DASHBOARD_TOKEN`` is unset). A non-loopback address is refused unless an explicit token is
configured, because anyone who can reach the port would otherwise only need the printed token.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PORT = 8780
MIN_TOKEN_CHARS = 16


class DashboardConfigError(ValueError):
    """The dashboard's configuration is unusable; the message names the setting and the fix."""


def default_static_dir() -> Path:
    """``dashboard/dist`` of this checkout (``npm run build`` writes it)."""
    return Path(__file__).resolve().parents[2] / "dashboard" / "dist"


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a hostname: it may resolve anywhere


def generate_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class DashboardConfig:
    """Every knob of the dashboard server (see docs/dashboard-api.md, "Configuration").

    ``token`` None means one is generated when the dashboard is set up and printed once.
    ``port`` 0 binds an ephemeral port (tests); a restart then gets a new port.
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    token: str | None = None
    static_dir: Path | None = field(default_factory=default_static_dir)
    graceful_timeout: float = 2.0
    heartbeat_seconds: float = 15.0
    snapshot_interval: float = 1.0
    subscriber_capacity: int = 256
    stream_flush_seconds: float = 0.03
    max_body_bytes: int = 64 * 1024
    session_ttl: float = 12 * 3600.0
    allow_operator_crash: bool = False
    # How long POST /api/initiative/check waits for the initiative actor (a model call may be
    # in it); past it the answer is 504 and the check goes on in the actor.
    initiative_check_timeout: float = 90.0
    extra_secrets: tuple[str, ...] = ()
    # HTTPS: serve TLS with this certificate chain and key (PEM files)...
    certfile: Path | None = None
    keyfile: Path | None = None
    # ...or say that a proxy in front terminates TLS (then the dashboard speaks plain HTTP to it).
    behind_tls_proxy: bool = False

    @property
    def tls(self) -> bool:
        """The dashboard serves HTTPS itself."""
        return self.certfile is not None

    @property
    def secure_cookies(self) -> bool:
        """Browsers reach the dashboard over HTTPS, so its cookie carries ``Secure``."""
        return self.tls or self.behind_tls_proxy

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise DashboardConfigError(f"DASHBOARD_PORT must be 0..65535, got {self.port}")
        if self.token is not None and len(self.token) < MIN_TOKEN_CHARS:
            raise DashboardConfigError(
                f"DASHBOARD_TOKEN is too short ({len(self.token)} characters): use at least "
                f"{MIN_TOKEN_CHARS} random characters, or unset it to have one generated"
            )
        if self.token is None and not is_loopback(self.host):
            raise DashboardConfigError(
                f"refusing to serve the dashboard on {self.host!r} (not a loopback address) "
                "without DASHBOARD_TOKEN: set DASHBOARD_TOKEN to a long random secret, or bind "
                "127.0.0.1"
            )
        if (self.certfile is None) != (self.keyfile is None):
            raise DashboardConfigError(
                "DASHBOARD_CERTFILE and DASHBOARD_KEYFILE go together: set both (PEM "
                "certificate chain and private key) or neither"
            )
        for path in (self.certfile, self.keyfile):
            if path is not None and not path.is_file():
                raise DashboardConfigError(f"no such TLS file: {path}")
        if not is_loopback(self.host) and not (self.tls or self.behind_tls_proxy):
            raise DashboardConfigError(
                f"refusing to serve the dashboard over plain HTTP on {self.host!r} (not a "
                "loopback address): the token and session cookie would cross the network in "
                "clear. Set DASHBOARD_CERTFILE and DASHBOARD_KEYFILE to serve HTTPS, or "
                "DASHBOARD_BEHIND_TLS_PROXY=1 if a proxy in front of it terminates TLS, or "
                "bind 127.0.0.1"
            )
        for name in (
            "graceful_timeout",
            "heartbeat_seconds",
            "snapshot_interval",
            "session_ttl",
            "initiative_check_timeout",
        ):
            if not getattr(self, name) > 0:
                raise DashboardConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0 <= self.stream_flush_seconds <= 1:
            raise DashboardConfigError(
                f"stream_flush_seconds must be within 0..1, got {self.stream_flush_seconds}"
            )
        if self.subscriber_capacity < 1 or self.max_body_bytes < 1:
            raise DashboardConfigError("subscriber_capacity and max_body_bytes must be >= 1")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> DashboardConfig:
        """Read ``DASHBOARD_HOST``, ``DASHBOARD_PORT``, ``DASHBOARD_TOKEN`` and
        ``CLANKER_DASHBOARD_DIST``; keyword ``overrides`` win over the environment."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        if env.get("DASHBOARD_HOST"):
            values["host"] = env["DASHBOARD_HOST"]
        if env.get("DASHBOARD_PORT"):
            raw = env["DASHBOARD_PORT"]
            try:
                values["port"] = int(raw)
            except ValueError:
                raise DashboardConfigError(
                    f"DASHBOARD_PORT must be a port number, got {raw!r}"
                ) from None
        if env.get("DASHBOARD_TOKEN"):
            values["token"] = env["DASHBOARD_TOKEN"]
        for key, name in (("DASHBOARD_CERTFILE", "certfile"), ("DASHBOARD_KEYFILE", "keyfile")):
            if env.get(key):
                values[name] = Path(env[key])
        proxy = env.get("DASHBOARD_BEHIND_TLS_PROXY", "").strip().lower()
        if proxy:
            if proxy not in ("1", "true", "yes", "0", "false", "no"):
                raise DashboardConfigError(
                    f"DASHBOARD_BEHIND_TLS_PROXY must be 1/true/yes or 0/false/no, got {proxy!r}"
                )
            values["behind_tls_proxy"] = proxy in ("1", "true", "yes")
        if env.get("CLANKER_DASHBOARD_DIST"):
            values["static_dir"] = Path(env["CLANKER_DASHBOARD_DIST"])
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
