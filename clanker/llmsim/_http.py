"""A small HTTP/1.1 server on trio + h11 that can stream (chunked) and notices hang-ups.

The sandbox's `clanker.sandbox.http_server` answers with complete bodies only; an LLM server
must also stream Server-Sent Events, stall on purpose, and see a client leave in the middle.
While a response is being produced, a watcher reads the socket: end-of-file means the client
hung up, and the response is cancelled (so a stalled or slow stream never outlives its client).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from typing import Literal

import h11
import trio

_log = logging.getLogger(__name__)

_MAX_RECEIVE = 64 * 1024


@dataclass(frozen=True)
class Request:
    """A complete request; header names lower-cased (first value wins)."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    """A response: a complete ``body``, or ``chunks`` streamed with chunked encoding."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    chunks: AsyncIterator[bytes] | None = None


class DropConnection(Exception):
    """Raised by a reply's chunks to cut the connection without finishing the response."""


Handler = Callable[[Request], Awaitable[Reply]]
HangUp = Callable[[Request], None]


async def serve(
    handler: Handler,
    host: str,
    *,
    port: int = 0,
    on_hang_up: HangUp | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``handler`` on ``host`` (``port`` 0: an ephemeral one); ``nursery.start`` returns
    the port.

    ``on_hang_up(request)`` is called when a client leaves before its response was complete.
    """
    listeners = await trio.open_tcp_listeners(port, host=host)
    bound: int = listeners[0].socket.getsockname()[1]
    async with trio.open_nursery() as nursery:
        await nursery.start(
            partial(trio.serve_listeners, partial(_connection, handler, on_hang_up), listeners)
        )
        task_status.started(bound)


async def _connection(
    handler: Handler, on_hang_up: HangUp | None, stream: trio.SocketStream
) -> None:
    conn = h11.Connection(h11.SERVER)
    try:
        while True:
            request = await _read_request(stream, conn)
            if request is None:
                return
            outcome = await _exchange(handler, stream, conn, request)
            if outcome == "hung_up" and on_hang_up is not None:
                on_hang_up(request)
            if outcome != "done":
                return
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()
    except h11.RemoteProtocolError as exc:
        # Typically a client that gave up halfway through sending its request.
        _log.info("llmsim: incomplete or bad HTTP from the client: %s", exc)
        if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await _respond(stream, conn, Reply(400, body=b"bad request"))
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass  # the client went away between requests
    finally:
        with trio.CancelScope(shield=True):
            await stream.aclose()


async def _exchange(
    handler: Handler, stream: trio.SocketStream, conn: h11.Connection, request: Request
) -> Literal["done", "hung_up", "dropped"]:
    """Produce the response while watching the socket for the client hanging up."""
    outcome: Literal["done", "hung_up", "dropped"] = "done"

    async def watch(scope: trio.CancelScope) -> None:
        nonlocal outcome
        while True:
            try:
                data = await stream.receive_some(_MAX_RECEIVE)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""  # reset by the client: a hang-up too
            if not data:
                outcome = "hung_up"
                scope.cancel()
                return
            conn.receive_data(data)  # a pipelined request: h11 keeps it for the next cycle

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch, nursery.cancel_scope)
        try:
            await _respond(stream, conn, await handler(request))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            outcome = "hung_up"
        except DropConnection:
            outcome = "dropped"
        nursery.cancel_scope.cancel()
    return outcome


async def _read_request(stream: trio.SocketStream, conn: h11.Connection) -> Request | None:
    head: h11.Request | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            if conn.they_are_waiting_for_100_continue:
                await _send(stream, conn, h11.InformationalResponse(status_code=100, headers=[]))
            conn.receive_data(await stream.receive_some(_MAX_RECEIVE))
        elif isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            assert head is not None  # h11 yields the Request first
            headers: dict[str, str] = {}
            for name, value in head.headers:
                headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
            return Request(
                head.method.decode("ascii"), head.target.decode("latin-1"), headers, bytes(body)
            )
        elif isinstance(event, h11.ConnectionClosed):
            return None


async def _respond(stream: trio.SocketStream, conn: h11.Connection, reply: Reply) -> None:
    headers = [("server", "clanker-llmsim"), *reply.headers]
    reason = _reason(reply.status)
    if reply.chunks is None:
        headers.append(("content-length", str(len(reply.body))))
        await _send(
            stream, conn, h11.Response(status_code=reply.status, headers=headers, reason=reason)
        )
        if reply.body:
            await _send(stream, conn, h11.Data(data=reply.body))
    else:
        # No content-length: h11 uses chunked transfer encoding on HTTP/1.1.
        chunks = reply.chunks
        try:
            # Inside the try: a client gone before the head is sent still gets the chunks
            # closed here, not by the garbage collector.
            await _send(
                stream, conn, h11.Response(status_code=reply.status, headers=headers, reason=reason)
            )
            async for chunk in chunks:
                if chunk:
                    await _send(stream, conn, h11.Data(data=chunk))
        finally:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                with trio.CancelScope(shield=True):
                    await aclose()
    await _send(stream, conn, h11.EndOfMessage())


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b"Site Overloaded" if status == 529 else b""


async def _send(stream: trio.SocketStream, conn: h11.Connection, event: h11.Event) -> None:
    data = conn.send(event)
    if data:
        await stream.send_all(data)
