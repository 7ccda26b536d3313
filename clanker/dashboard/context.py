"""`ApiContext`: everything the dashboard's routes use, and the helpers they share (JSON in
and out, query parameters, typed errors)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
import trio
from quart import Response, request

from clanker.dashboard.auth import TokenAuth
from clanker.dashboard.config import DashboardConfig
from clanker.dashboard.directory import Directory
from clanker.dashboard.redaction import SecretFilter
from clanker.dashboard.sandbox_chat import SandboxChat
from clanker.dashboard.settings_source import SettingsSource
from clanker.dashboard.shapes import ApiError, ChatMessage, FieldError, parse_id
from clanker.dashboard.sse import OpenStreams
from clanker.dashboard.telemetry import TelemetryHub
from clanker.dashboard.throttle import LoginThrottle
from clanker.runtime import ActorError, Broadcast, NotRegistered, Runtime
from clanker.store import STORE_NAME, StoreClient, StoreRejected

T = TypeVar("T")
R = TypeVar("R", bound=msgspec.Struct)


class ApiProblem(Exception):
    """Answer with ``status`` and an `ApiError` body saying what was wrong."""

    def __init__(self, status: int, message: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors
        self.headers: dict[str, str] = {}


@dataclass
class ApiContext:
    """The dashboard's dependencies, shared by every route of one server."""

    config: DashboardConfig
    auth: TokenAuth
    secrets: SecretFilter
    runtime: Runtime
    hub: TelemetryHub
    settings: SettingsSource
    directory: Directory
    sandbox: SandboxChat | None
    streams: OpenStreams
    version: str
    started_at: float
    chat_feed: Broadcast[ChatMessage] | None = None  # new sandbox messages (sandbox mode)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)

    def __post_init__(self) -> None:
        self._encoder = msgspec.json.Encoder()

    def encode(self, value: Any) -> bytes:
        """Compact JSON with every known secret replaced."""
        return self.secrets.scrub_bytes(self._encoder.encode(value))

    def json(self, value: Any, status: int = 200) -> Response:
        """A JSON response."""
        return Response(self.encode(value), status=status, content_type="application/json")

    def store(self) -> StoreClient:
        """The Store, looked up now (refs change when a supervisor above it restarts)."""
        try:
            return StoreClient(self.runtime.lookup(STORE_NAME))
        except NotRegistered:
            raise ApiProblem(503, "the store is not running; try again shortly") from None

    async def ask_store(self, msg: msgspec.Struct, reply_type: type[R], timeout: float = 10.0) -> R:
        """Ask the Store; a refusal is a 400 naming the problem, an unavailable Store a 503."""
        try:
            reply = await self.store().ref.ask(msg, timeout=timeout)
        except ActorError as exc:
            raise ApiProblem(503, f"the store did not answer: {exc}") from None
        if isinstance(reply, StoreRejected):
            raise ApiProblem(400, reply.problem)
        if not isinstance(reply, reply_type):
            raise ApiProblem(500, f"the store answered {type(reply).__name__}")
        return reply

    def uptime(self) -> float:
        """Seconds since this server started (trio time)."""
        return trio.current_time() - self.started_at


async def read_body(kind: type[T]) -> T:
    """The request's JSON body decoded as ``kind``; 415/400 naming the problem otherwise."""
    content_type = request.headers.get("Content-Type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise ApiProblem(
            415, f"send the body as JSON with Content-Type: application/json (got {content_type!r})"
        )
    data = await request.get_data(as_text=False)
    try:
        return msgspec.json.decode(data, type=kind)
    except msgspec.ValidationError as exc:
        raise ApiProblem(400, f"invalid request body: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ApiProblem(400, f"the request body is not valid JSON: {exc}") from None


def query_int(name: str, default: int, lo: int, hi: int) -> int:
    """An integer query parameter within ``lo..hi``."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiProblem(400, f"query parameter {name!r} must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ApiProblem(400, f"query parameter {name!r} must be in {lo}..{hi}, got {value}")
    return value


def query_id(name: str) -> int | None:
    """A Discord id query parameter (digits), or None when absent."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    return path_id(raw, f"query parameter {name!r}")


def path_id(raw: str, what: str) -> int:
    """A Discord id from the URL or a body; 400 naming ``what`` if malformed."""
    try:
        return parse_id(raw, what)
    except ValueError as exc:
        raise ApiProblem(400, str(exc)) from None


def problem_body(exc: ApiProblem) -> ApiError:
    """The JSON body of an `ApiProblem`."""
    return ApiError(error=str(exc), errors=exc.errors)


Route = Callable[..., Any]
