"""A small HTTP/1.1 server on trio + h11 for the sandbox's REST API.

Why not Hypercorn: discord.py-self's libcurl sends `Upgrade: h2c` on body-less requests over
plain http, Hypercorn accepts the upgrade, and its HTTP/2 path then fails intermittently under
trio (`BusyResourceError` on the socket). Real Discord speaks HTTPS, where no h2c upgrade happens.
Ignoring an `Upgrade` header is what RFC 9110 allows, and that is all this server does about it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import parse_qsl, urlsplit

import h11
import trio

_log = logging.getLogger(__name__)

_MAX_RECEIVE = 64 * 1024


@dataclass(frozen=True)
class HttpRequest:
    """A complete request: header names lower-cased, query values first-wins."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    @property
    def mimetype(self) -> str:
        """The Content-Type without parameters, lower-cased."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass(frozen=True)
class HttpResponse:
    """A complete response. `content_type` is sent verbatim (no charset is added)."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


HttpHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]


async def serve_http(
    handler: HttpHandler,
    host: str,
    *,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `handler` on `host` at an ephemeral port; `nursery.start` returns the port."""
    listeners = await trio.open_tcp_listeners(0, host=host)
    port: int = listeners[0].socket.getsockname()[1]
    async with trio.open_nursery() as nursery:
        await nursery.start(
            partial(trio.serve_listeners, partial(_serve_connection, handler), listeners)
        )
        task_status.started(port)


async def _serve_connection(handler: HttpHandler, stream: trio.SocketStream) -> None:
    connection = h11.Connection(h11.SERVER)
    try:
        while True:
            request = await _read_request(stream, connection)
            if request is None:
                break
            response = await handler(request)
            await _send_response(stream, connection, response)
            if connection.our_state is not h11.DONE or connection.their_state is not h11.DONE:
                break
            connection.start_next_cycle()
    except h11.RemoteProtocolError as exc:
        _log.warning("sandbox HTTP: bad request from client: %s", exc)
        if connection.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            await _send_response(stream, connection, HttpResponse(400, b"bad request"))
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass  # the client went away; nothing to answer
    finally:
        await stream.aclose()


async def _read_request(
    stream: trio.SocketStream, connection: h11.Connection
) -> HttpRequest | None:
    head: h11.Request | None = None
    body = bytearray()
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            if connection.they_are_waiting_for_100_continue:
                await _send(
                    stream, connection, h11.InformationalResponse(status_code=100, headers=[])
                )
            connection.receive_data(await stream.receive_some(_MAX_RECEIVE))
        elif isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            assert head is not None  # h11 always yields the Request first
            return _to_request(head, bytes(body))
        elif isinstance(event, h11.ConnectionClosed):
            return None


def _to_request(head: h11.Request, body: bytes) -> HttpRequest:
    target = urlsplit(head.target.decode("latin-1"))
    headers: dict[str, str] = {}
    for name, value in head.headers:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    query: dict[str, str] = {}
    for key, item in parse_qsl(target.query, keep_blank_values=True):
        query.setdefault(key, item)
    return HttpRequest(head.method.decode("ascii"), target.path, query, headers, body)


async def _send_response(
    stream: trio.SocketStream, connection: h11.Connection, response: HttpResponse
) -> None:
    headers = [("server", "clanker-sandbox"), *response.headers.items()]
    if response.content_type is not None:
        headers.append(("content-type", response.content_type))
    if response.status != 204:
        headers.append(("content-length", str(len(response.body))))
    await _send(stream, connection, h11.Response(status_code=response.status, headers=headers))
    if response.body and response.status != 204:
        await _send(stream, connection, h11.Data(data=response.body))
    await _send(stream, connection, h11.EndOfMessage())


async def _send(stream: trio.SocketStream, connection: h11.Connection, event: h11.Event) -> None:
    data = connection.send(event)
    if data:
        await stream.send_all(data)
