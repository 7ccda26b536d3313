"""`LlmSim`: a local LLM server speaking the Anthropic and OpenAI wire formats, scripted.

    async with open_llmsim() as sim:
        sim.script(Text("hello"), rate_limited(retry_after=0.05), Text("again"))
        client = anthropic.AsyncAnthropic(base_url=sim.anthropic_url, api_key="k")
        ...
        assert sim.requests[0].body["model"] == "claude-sonnet-4-6"

One server is one fake provider: every endpoint takes turns from the same queue. Open two for
a fallback test. Routes: ``POST /v1/messages`` (Anthropic), ``POST /v1/responses`` and
``POST /v1/chat/completions`` (OpenAI), ``GET /v1/models``. With ``api_key`` set, a request
without that key (as ``Authorization: Bearer`` or ``x-api-key``) gets a 401 in the provider's
error shape and consumes no turn.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial

import trio

from clanker.llmsim import anthropic_api, openai_api
from clanker.llmsim._answer import answer_for, play
from clanker.llmsim._http import DropConnection, Reply, Request, serve
from clanker.llmsim.script import (
    Api,
    HttpError,
    RecordedRequest,
    Responder,
    ScriptItem,
    Stall,
    StreamError,
    Turn,
    echo,
)

_ROUTES: dict[tuple[str, str], Api] = {
    ("POST", "/v1/messages"): "anthropic",
    ("POST", "/v1/responses"): "responses",
    ("POST", "/v1/chat/completions"): "chat",
}
_SECRET_HEADERS = ("authorization", "x-api-key")
_CREATED = 1_767_225_600  # a fixed "created" stamp (2026-01-01): replies are reproducible


class LlmSim:
    """A scripted fake provider (see the module docstring). Build it with `open_llmsim`."""

    def __init__(self, *, api_key: str | None = None, default: Responder = echo) -> None:
        self.api_key = api_key
        self.default = default
        self.requests: list[RecordedRequest] = []
        self.url = ""
        self._script: deque[ScriptItem] = deque()
        self._serial = itertools.count(1)
        self._changed = trio.Event()
        self._by_request: dict[int, RecordedRequest] = {}

    @property
    def anthropic_url(self) -> str:
        """``base_url`` for ``anthropic.AsyncAnthropic``."""
        return self.url

    @property
    def openai_url(self) -> str:
        """``base_url`` for ``openai.AsyncOpenAI`` (and `ProviderConfig.base_url`)."""
        return f"{self.url}/v1"

    def script(self, *items: ScriptItem) -> None:
        """Queue turns (or responders) for the next requests, in order."""
        self._script.extend(items)

    @property
    def pending(self) -> int:
        """Scripted turns not yet used."""
        return len(self._script)

    async def wait_for_requests(self, count: int) -> list[RecordedRequest]:
        """Wait until at least ``count`` requests arrived; returns the recorded requests."""
        await self.wait_until(lambda: len(self.requests) >= count)
        return self.requests

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds; it is checked whenever a request arrives, finishes
        or is abandoned by its client."""
        while not predicate():
            await self._changed.wait()

    def _change(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    # --- serving ------------------------------------------------------------------------------

    def _record(self, request: Request, api: Api | None) -> RecordedRequest:
        try:
            body = json.loads(request.body) if request.body else None
        except ValueError:
            body = request.body.decode("utf-8", "replace")
        headers = {
            k: ("<redacted>" if k in _SECRET_HEADERS else v) for k, v in request.headers.items()
        }
        recorded = RecordedRequest(
            api=api,
            method=request.method,
            path=request.target.split("?")[0],
            headers=headers,
            body=body,
            at=trio.current_time(),
        )
        self.requests.append(recorded)
        self._by_request[id(request)] = recorded
        self._change()
        return recorded

    def _authorised(self, request: Request) -> bool:
        if self.api_key is None:
            return True
        bearer = request.headers.get("authorization", "")
        return (
            bearer == f"Bearer {self.api_key}" or request.headers.get("x-api-key") == self.api_key
        )

    def _hung_up(self, request: Request) -> None:
        recorded = self._by_request.pop(id(request), None)
        if recorded is not None:
            recorded.hung_up = True
            recorded.finished_at = trio.current_time()
            self._change()

    async def handle(self, request: Request) -> Reply:
        """Answer one HTTP request (the `_http.serve` handler)."""
        path = request.target.split("?")[0].rstrip("/")
        if (request.method, path) == ("GET", "/v1/models"):
            self._record(request, None)
            body = {"object": "list", "data": [{"id": "llmsim-model", "object": "model"}]}
            return Reply(200, [("content-type", "application/json")], json.dumps(body).encode())
        api = _ROUTES.get((request.method, path))
        recorded = self._record(request, api)
        serial = next(self._serial)
        if api is None:
            error = HttpError(404, f"llmsim has no route {request.method} {path}")
            return self._error_reply("chat", error, serial)
        if not isinstance(recorded.body, dict):
            return self._error_reply(api, HttpError(400, "the body is not a JSON object"), serial)
        if not self._authorised(request):
            return self._error_reply(api, HttpError(401, "invalid API key (llmsim)"), serial)
        item = self._script.popleft() if self._script else self.default
        turn: Turn = item(recorded) if callable(item) else item
        recorded.turn = turn
        reply = await self._reply(api, turn, recorded, request.body, serial)
        if reply.chunks is None:
            recorded.finished_at = trio.current_time()
            self._by_request.pop(id(request), None)
            self._change()
        else:
            reply.chunks = self._finishing(reply.chunks, recorded, request)
        return reply

    async def _finishing(
        self, chunks: AsyncIterator[bytes], recorded: RecordedRequest, request: Request
    ) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            yield chunk
        recorded.finished_at = trio.current_time()
        self._by_request.pop(id(request), None)
        self._change()

    def _error_reply(self, api: Api, error: HttpError, serial: int) -> Reply:
        request_id = f"req_llmsim_{serial}"
        render = anthropic_api.error_body if api == "anthropic" else openai_api.error_body
        status, headers, body = render(error, request_id)
        return Reply(status, headers, body)

    async def _reply(
        self, api: Api, turn: Turn, recorded: RecordedRequest, raw_body: bytes, serial: int
    ) -> Reply:
        if isinstance(turn, HttpError):
            if turn.delay > 0:
                await trio.sleep(turn.delay)
            return self._error_reply(api, turn, serial)
        if isinstance(turn, Stall) and turn.after_chunks is None:
            await trio.sleep_forever()
        if isinstance(turn, StreamError) and not recorded.stream:
            status = 529 if turn.error_type == "overloaded_error" else 500
            error = HttpError(status, turn.message, error_type=turn.error_type)
            return self._error_reply(api, error, serial)
        prefix = {"anthropic": "toolu_llmsim_", "responses": "call_llmsim_", "chat": "call_llmsim_"}
        answer = answer_for(turn, recorded, raw_body, prefix[api], serial)
        if not recorded.stream and answer.ending != "complete":
            # A non-streamed stall or drop: the response head never comes.
            if answer.ending == "stall":
                await trio.sleep_forever()
            raise DropConnection()
        json_headers = [
            ("content-type", "application/json"),
            ("request-id", f"req_llmsim_{serial}"),
        ]
        sse_headers = [("content-type", "text/event-stream"), ("cache-control", "no-cache")]
        if api == "anthropic":
            message_id = f"msg_llmsim_{serial}"
            if not recorded.stream:
                await trio.sleep(answer.delay)
                body = anthropic_api.message(answer, message_id)
                return Reply(200, json_headers, json.dumps(body).encode())
            steps = anthropic_api.stream_steps(answer, message_id)
        elif api == "responses":
            response_id = f"resp_llmsim_{serial}"
            if not recorded.stream:
                await trio.sleep(answer.delay)
                body = openai_api.response(answer, response_id, _CREATED)
                return Reply(200, json_headers, json.dumps(body).encode())
            steps = openai_api.responses_steps(answer, response_id, _CREATED)
        else:
            completion_id = f"chatcmpl-llmsim-{serial}"
            if not recorded.stream:
                await trio.sleep(answer.delay)
                body = openai_api.completion(answer, completion_id, _CREATED)
                return Reply(200, json_headers, json.dumps(body).encode())
            options = recorded.body.get("stream_options") or {}
            include_usage = bool(options.get("include_usage"))
            steps = openai_api.chat_steps(
                answer, completion_id, _CREATED, include_usage=include_usage
            )
        return Reply(200, sse_headers, chunks=play(steps, answer.ending))


@asynccontextmanager
async def open_llmsim(
    *,
    api_key: str | None = None,
    default: Responder = echo,
    host: str = "127.0.0.1",
    port: int = 0,
) -> AsyncIterator[LlmSim]:
    """Run an `LlmSim` on ``host`` (at an ephemeral port unless ``port`` is given) for the
    duration of the block."""
    sim = LlmSim(api_key=api_key, default=default)
    async with trio.open_nursery() as nursery:
        port = await nursery.start(
            partial(serve, sim.handle, host, port=port, on_hang_up=sim._hung_up)
        )
        sim.url = f"http://{host}:{port}"
        try:
            yield sim
        finally:
            nursery.cancel_scope.cancel()
