"""The sandbox's REST API (`/api/v9/...`): routing, auth, fault injection and recording.

Only what discord.py-self calls at login and for the bot's everyday actions is routed. Every
request is recorded; unknown routes answer 404 with a Discord-style body and are recorded as such
so tests can assert there were none. JSON responses carry `Content-Type: application/json`
exactly: discord.py compares that header for equality (python-stack notes 3b).
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import trio

from clanker.sandbox import cdn, payloads, soundboard
from clanker.sandbox.faults import InjectedFailure, RestFaults
from clanker.sandbox.forms import FormDecodeError, parse_multipart
from clanker.sandbox.http_server import HttpRequest, HttpResponse
from clanker.sandbox.operations import SandboxOperations, SandboxPermissionError
from clanker.sandbox.world import ChannelKind, Emoji, Message, SandboxLookupError

_log = logging.getLogger(__name__)

API_PREFIX = "/api/v9"
_OWN_REACTION = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"
# discord.py-self removes its own reactions through the path with a reaction type (0 = normal).
_OWN_TYPED_REACTION = (
    "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{reaction_type}/@me"
)

ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", "/gateway"),
    ("GET", "/users/@me"),
    ("POST", "/users/@me/channels"),
    ("GET", "/channels/{channel_id}"),
    ("GET", "/channels/{channel_id}/messages"),
    ("POST", "/channels/{channel_id}/messages"),
    ("GET", "/channels/{channel_id}/messages/{message_id}"),
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"),
    ("DELETE", "/channels/{channel_id}/messages/{message_id}"),
    ("POST", "/channels/{channel_id}/typing"),
    ("PUT", _OWN_REACTION),
    ("DELETE", _OWN_REACTION),
    ("DELETE", _OWN_TYPED_REACTION),
    ("GET", "/soundboard-default-sounds"),
    ("GET", "/guilds/{guild_id}/soundboard-sounds"),
    ("POST", "/channels/{channel_id}/send-soundboard-sound"),
)
ROUTE_KEYS = frozenset(f"{method} {path}" for method, path in ROUTES)


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str
    content_type: str | None
    data: bytes


@dataclass
class RestCall:
    """One request the sandbox answered. `route` is None for an unknown route. `at` is the trio
    time the whole request had been received (before faults and the handler ran)."""

    method: str
    path: str
    route: str | None
    query: dict[str, str]
    status: int = 0
    json: Any = None
    files: list[UploadedFile] = field(default_factory=list)
    at: float = 0.0


class _BadRequest(Exception):
    def __init__(self, message: str, *, code: int = 50035) -> None:
        super().__init__(message)
        self.code = code


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> HttpResponse:
    """A JSON response with the exact Content-Type discord.py expects."""
    return HttpResponse(status, json.dumps(body).encode(), "application/json", headers or {})


_NO_CONTENT = HttpResponse(204)


def _snowflake(raw: str, what: str, code: int) -> int:
    try:
        return int(raw)
    except ValueError:
        raise SandboxLookupError(f"{what} id {raw!r} is not a snowflake", code=code) from None


def _failure_response(failure: InjectedFailure) -> HttpResponse:
    if failure.status == 429:
        retry_after = failure.retry_after or 0.0
        body = payloads.error("You are being rate limited.", 0, retry_after=retry_after)
        body["global"] = failure.is_global
        # `Via` marks the 429 as Discord's own limiter rather than Cloudflare's.
        headers = {"Retry-After": f"{retry_after:g}", "Via": "1.1 google"}
        return json_response(body, 429, headers)
    body = payloads.error(f"{failure.status}: injected by the sandbox", 0)
    return json_response(body, failure.status)


@dataclass(frozen=True)
class _Parsed:
    json: Any
    files: list[UploadedFile]


Handler = Callable[[HttpRequest, _Parsed, dict[str, str]], Awaitable[HttpResponse]]


class RestApi:
    """Answers HTTP requests for the sandbox world; `calls` records every one of them."""

    def __init__(
        self,
        ops: SandboxOperations,
        faults: RestFaults,
        *,
        gateway_url: Callable[[], str],
        on_change: Callable[[], None],
    ) -> None:
        self.ops = ops
        self.world = ops.world
        self.faults = faults
        self.calls: list[RestCall] = []
        self.cdn_requests: list[HttpRequest] = []  # attachment downloads (not REST calls)
        # Exceptions raised by the handlers themselves (sandbox bugs), answered with 500.
        self.internal_errors: list[BaseException] = []
        self._gateway_url = gateway_url
        self._on_change = on_change
        handlers: dict[str, Handler] = {
            "GET /gateway": self._get_gateway,
            "GET /users/@me": self._get_me,
            "POST /users/@me/channels": self._open_dm,
            "GET /channels/{channel_id}": self._get_channel,
            "GET /channels/{channel_id}/messages": self._get_messages,
            "POST /channels/{channel_id}/messages": self._post_message,
            "GET /channels/{channel_id}/messages/{message_id}": self._get_message,
            "PATCH /channels/{channel_id}/messages/{message_id}": self._patch_message,
            "DELETE /channels/{channel_id}/messages/{message_id}": self._delete_message,
            "POST /channels/{channel_id}/typing": self._post_typing,
            f"PUT {_OWN_REACTION}": self._put_reaction,
            f"DELETE {_OWN_REACTION}": self._delete_reaction,
            f"DELETE {_OWN_TYPED_REACTION}": self._delete_reaction,
            "GET /soundboard-default-sounds": self._default_sounds,
            "GET /guilds/{guild_id}/soundboard-sounds": self._guild_sounds,
            "POST /channels/{channel_id}/send-soundboard-sound": self._send_sound,
        }
        assert set(handlers) == ROUTE_KEYS, "every route in ROUTES needs exactly one handler"
        self._routes = [
            (
                method,
                re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$"),
                f"{method} {path}",
            )
            for method, path in ROUTES
        ]
        self._handlers = handlers

    async def handle(self, request: HttpRequest) -> HttpResponse:
        """Route, authorize, apply faults, run the handler, record the call."""
        if request.path.startswith(cdn.CDN_PREFIX):  # the attachment CDN: no token, not REST
            self.cdn_requests.append(request)
            return cdn.serve(
                request,
                secret=self.world.cdn_secret,
                find=self.world.attachments_by_id(),
                now_s=self.world.snowflakes.now_ms() // 1000,
            )
        route, params = self._match(request)
        call = RestCall(
            request.method, request.path, route, dict(request.query), at=trio.current_time()
        )
        self.calls.append(call)
        try:
            parsed = self._parse(request)
            call.json, call.files = parsed.json, parsed.files
            response = await self._respond(request, route, params, parsed)
        except _BadRequest as exc:
            response = json_response(payloads.error(str(exc), exc.code), 400)
        call.status = response.status
        self._on_change()
        return response

    async def _respond(
        self, request: HttpRequest, route: str | None, params: dict[str, str], parsed: _Parsed
    ) -> HttpResponse:
        if route is None:
            _log.warning("sandbox REST: unknown route %s %s", request.method, request.path)
            return json_response(payloads.error("404: Not Found", 0), 404)
        if request.headers.get("authorization") != self.world.token:
            return json_response(payloads.error("401: Unauthorized", 0), 401)
        decision = self.faults.take(route, params)
        if decision.delay:
            await trio.sleep(decision.delay)
        if decision.failure is not None:
            return _failure_response(decision.failure)
        try:
            return await self._handlers[route](request, parsed, params)
        except SandboxLookupError as exc:
            return json_response(payloads.error(str(exc), exc.code), 404)
        except SandboxPermissionError as exc:
            return json_response(payloads.error(str(exc), exc.code), 403)
        except _BadRequest:
            raise
        except Exception as exc:
            # A sandbox bug: answer like Discord's 500 and keep it for tests to find.
            _log.exception("sandbox REST handler for %s failed", route)
            self.internal_errors.append(exc)
            return json_response(payloads.error("500: Internal Server Error", 0), 500)

    def _match(self, request: HttpRequest) -> tuple[str | None, dict[str, str]]:
        if not request.path.startswith(API_PREFIX + "/"):
            return None, {}
        path = request.path.removeprefix(API_PREFIX)
        for method, pattern, key in self._routes:
            match = pattern.match(path)
            if match and method == request.method:
                return key, {k: unquote(v) for k, v in match.groupdict().items()}
        return None, {}

    @staticmethod
    def _parse(request: HttpRequest) -> _Parsed:
        """The JSON body: plain, or multipart's `payload_json` plus `files[n]` parts."""
        if request.mimetype == "multipart/form-data":
            try:
                parts = parse_multipart(request.headers["content-type"], request.body)
            except FormDecodeError as exc:
                raise _BadRequest(str(exc)) from exc
            body: Any = None
            files = []
            for part in parts:
                if part.name == "payload_json":
                    body = _loads(part.data)
                elif part.filename is not None:
                    # Discord derives the type from the name; curl labels every part octet-stream.
                    guessed, _ = mimetypes.guess_type(part.filename)
                    content_type = guessed or part.content_type
                    files.append(UploadedFile(part.name, part.filename, content_type, part.data))
            return _Parsed(body, files)
        if request.mimetype == "application/json":
            return _Parsed(_loads(request.body), [])
        return _Parsed(None, [])

    # -- handlers -----------------------------------------------------------------------------

    def _message_json(self, message: Message) -> HttpResponse:
        return json_response(payloads.message(self.world, message, viewer_id=self.world.bot.id))

    def _message_in(self, params: dict[str, str]) -> Message:
        channel = self.world.channel(_snowflake(params["channel_id"], "channel", 10003))
        message = self.world.message(_snowflake(params["message_id"], "message", 10008))
        if message.channel_id != channel.id:
            raise SandboxLookupError(
                f"message {message.id} is not in channel {channel.id}", code=10008
            )
        return message

    async def _get_gateway(
        self, r: HttpRequest, p: _Parsed, params: dict[str, str]
    ) -> HttpResponse:
        return json_response({"url": self._gateway_url()})

    async def _get_me(self, r: HttpRequest, p: _Parsed, params: dict[str, str]) -> HttpResponse:
        return json_response(payloads.client_user(self.world.bot))

    async def _open_dm(self, r: HttpRequest, p: _Parsed, params: dict[str, str]) -> HttpResponse:
        # A user account sends {"recipients": [id]} (a bot: {"recipient_id": id}); one
        # recipient opens (or returns) the DM; more would be a group DM, not emulated.
        body = _object(p.json)
        recipients = body.get("recipients")
        if recipients is None and "recipient_id" in body:
            recipients = [body["recipient_id"]]
        if not isinstance(recipients, list) or len(recipients) != 1:
            raise _BadRequest(
                "recipients must list exactly one user (group DMs are not emulated), "
                f"got {recipients!r}"
            )
        user_id = _snowflake(str(recipients[0]), "user", 10013)
        channel = self.ops.open_dm(user_id)
        return json_response(payloads.dm_channel(self.world, channel))

    async def _get_channel(
        self, r: HttpRequest, p: _Parsed, params: dict[str, str]
    ) -> HttpResponse:
        channel = self.world.channel(_snowflake(params["channel_id"], "channel", 10003))
        if channel.kind is ChannelKind.DM:
            return json_response(payloads.dm_channel(self.world, channel))
        return json_response(payloads.channel(channel))

    async def _get_messages(
        self, r: HttpRequest, p: _Parsed, params: dict[str, str]
    ) -> HttpResponse:
        channel_id = _snowflake(params["channel_id"], "channel", 10003)
        try:
            limit = int(r.query.get("limit", "50"))
        except ValueError:
            raise _BadRequest(f"limit must be an integer, got {r.query['limit']!r}") from None
        if not 1 <= limit <= 100:
            raise _BadRequest(f"limit must be between 1 and 100, got {limit}")
        bounds = {
            key: _snowflake(r.query[key], "message", 10008)
            for key in ("before", "after", "around")
            if key in r.query
        }
        history = self.world.history(channel_id, limit=limit, **bounds)
        bot_id = self.world.bot.id
        return json_response([payloads.message(self.world, m, viewer_id=bot_id) for m in history])

    async def _post_message(
        self, r: HttpRequest, p: _Parsed, params: dict[str, str]
    ) -> HttpResponse:
        channel_id = _snowflake(params["channel_id"], "channel", 10003)
        body = _object(p.json)
        content = str(body.get("content") or "")
        if not content and not p.files:
            raise _BadRequest("Cannot send an empty message", code=50006)
        reference = body.get("message_reference") or None
        reference_id = None
        if reference is not None:
            reference_id = _snowflake(str(reference.get("message_id")), "message", 10008)
        message = self.ops.post_message(
            self.world.bot.id,
            channel_id,
            content,
            reference_id=reference_id,
            nonce=body.get("nonce"),
            attachments=[(f.filename, f.content_type, f.data) for f in p.files],
            allowed_mentions=body.get("allowed_mentions"),
        )
        return self._message_json(message)

    async def _get_message(
        self, r: HttpRequest, p: _Parsed, params: dict[str, str]
    ) -> HttpResponse:
        return self._message_json(self._message_in(params))

    async def _patch_message(
        self, r: HttpRequest, p: _Parsed, params: dict[str, str]
    ) -> HttpResponse:
        message = self._message_in(params)
        content = _object(p.json).get("content")
        if content is not None:
            self.ops.edit_message(message.id, str(content), editor_id=self.world.bot.id)
        return self._message_json(message)

    async def _delete_message(
        self, r: HttpRequest, p: _Parsed, params: dict[str, str]
    ) -> HttpResponse:
        message = self._message_in(params)
        self.ops.delete_message(message.id, deleter_id=self.world.bot.id)
        return _NO_CONTENT

    async def _post_typing(
        self, r: HttpRequest, p: _Parsed, params: dict[str, str]
    ) -> HttpResponse:
        channel_id = _snowflake(params["channel_id"], "channel", 10003)
        self.ops.start_typing(channel_id, self.world.bot.id)
        return _NO_CONTENT

    async def _put_reaction(
        self, r: HttpRequest, p: _Parsed, params: dict[str, str]
    ) -> HttpResponse:
        message = self._message_in(params)
        self.ops.add_reaction(message.id, self.world.bot.id, Emoji.parse(params["emoji"]))
        return _NO_CONTENT

    async def _delete_reaction(
        self, r: HttpRequest, p: _Parsed, params: dict[str, str]
    ) -> HttpResponse:
        message = self._message_in(params)
        self.ops.remove_reaction(message.id, self.world.bot.id, Emoji.parse(params["emoji"]))
        return _NO_CONTENT

    async def _default_sounds(
        self, r: HttpRequest, p: _Parsed, params: dict[str, str]
    ) -> HttpResponse:
        return json_response([soundboard.sound_json(s) for s in soundboard.DEFAULT_SOUNDS])

    async def _guild_sounds(
        self, r: HttpRequest, p: _Parsed, params: dict[str, str]
    ) -> HttpResponse:
        guild = self.world.guild(_snowflake(params["guild_id"], "guild", 10004))
        self.world.member(guild.id, self.world.bot.id)
        items = [
            soundboard.sound_json(
                s, None if s.user_id is None else payloads.user(self.world.user(s.user_id))
            )
            for s in self.world.soundboard.guild_sounds.get(guild.id, [])
        ]
        return json_response({"items": items})

    async def _send_sound(self, r: HttpRequest, p: _Parsed, params: dict[str, str]) -> HttpResponse:
        channel_id = _snowflake(params["channel_id"], "channel", 10003)
        body = _object(p.json)
        raw_sound = body.get("sound_id")
        if raw_sound is None:
            raise _BadRequest("sound_id: This field is required")
        sound_id = _snowflake(str(raw_sound), "sound", 10097)
        source = body.get("source_guild_id")
        source_guild = None if source is None else _snowflake(str(source), "guild", 10004)
        try:
            self.ops.play_sound(self.world.bot.id, channel_id, sound_id, source_guild)
        except soundboard.SoundboardRefused as exc:
            return json_response(payloads.error(str(exc), exc.code), exc.status)
        return _NO_CONTENT


def _loads(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _BadRequest(f"request body is not valid JSON: {exc}") from exc


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _BadRequest("request body must be a JSON object")
    return body
