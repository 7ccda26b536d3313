"""A small Server-Sent-Events client over h11 and a trio socket, for the tests and the benchmark.

httpx could read the streams too, but its chain of async generators cannot all be closed when a
test stops reading early, and trio (rightly) warns about each one. Here nothing is left behind:
the socket is closed when the block ends, and a stream the server finished properly (the final
empty chunk) is told apart from a connection that was cut.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11
import trio

TIMEOUT = 30.0


@dataclass
class SseEvent:
    """One event: its name (``message`` by default), data and id. The opening ``retry:`` line
    comes out as a ``retry`` event: once it has arrived, the server has subscribed the stream."""

    event: str
    data: str
    id: str | None


class StreamEnded(Exception):
    """The server ended the stream (``clean``: with the final chunk, not by cutting it)."""

    def __init__(self, clean: bool) -> None:
        super().__init__("the stream ended" + ("" if clean else " without its final chunk"))
        self.clean = clean


class SseStream:
    """An open event stream: read it with `next`, `subscribed` and `until`."""

    def __init__(
        self, stream: trio.SocketStream, conn: h11.Connection, status: int, headers: dict[str, str]
    ) -> None:
        self._stream = stream
        self._conn = conn
        self.status = status
        self.headers = headers
        self._buffer = ""
        self._pending: list[SseEvent] = []
        self._event, self._data, self._id, self._retry = "message", [], None, None  # type: ignore[var-annotated]

    async def _more(self) -> None:
        while True:
            event = self._conn.next_event()
            if event is h11.NEED_DATA:
                try:
                    data = await self._stream.receive_some(65536)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    data = b""
                try:
                    self._conn.receive_data(data)
                except h11.RemoteProtocolError:
                    raise StreamEnded(clean=False) from None
                continue
            if isinstance(event, h11.Data):
                self._feed(bytes(event.data).decode())
                return
            if isinstance(event, h11.EndOfMessage):
                raise StreamEnded(clean=True)
            if isinstance(event, h11.ConnectionClosed):
                raise StreamEnded(clean=False)

    def _feed(self, text: str) -> None:
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            line = line.rstrip("\r")
            if line == "":
                if self._data:
                    self._pending.append(SseEvent(self._event, "\n".join(self._data), self._id))
                elif self._retry is not None:
                    self._pending.append(SseEvent("retry", self._retry, None))
                self._event, self._data, self._id, self._retry = "message", [], None, None
            elif not line.startswith(":"):
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "event":
                    self._event = value
                elif field == "data":
                    self._data.append(value)
                elif field == "id":
                    self._id = value
                elif field == "retry":
                    self._retry = value

    async def next(self, timeout: float = TIMEOUT) -> SseEvent:
        """The next event; raises `StreamEnded` when the server ends the stream."""
        with trio.fail_after(timeout):
            while not self._pending:
                await self._more()
        return self._pending.pop(0)

    async def subscribed(self) -> None:
        """Wait for the opening ``retry`` line (the server has subscribed this stream)."""
        first = await self.next()
        assert first.event == "retry", first

    async def until(self, predicate: Callable[[list[SseEvent]], bool]) -> list[SseEvent]:
        """Events until ``predicate(events)`` holds (bounded by TIMEOUT)."""
        got: list[SseEvent] = []
        with trio.fail_after(TIMEOUT):
            while not got or not predicate(got):
                got.append(await self.next(timeout=TIMEOUT))
        return got

    async def drain(self) -> bool:
        """Read to the end; True if the server ended the stream properly."""
        while True:
            try:
                await self.next(timeout=float("inf"))
            except StreamEnded as end:
                return end.clean


@asynccontextmanager
async def open_sse(
    base_url: str, path: str, headers: Mapping[str, str] | None = None
) -> AsyncIterator[SseStream]:
    """GET ``path`` on ``base_url`` as an event stream; the socket closes when the block ends."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    stream = await trio.open_tcp_stream(host, port)
    try:
        conn = h11.Connection(h11.CLIENT)
        request = h11.Request(
            method="GET",
            target=path,
            headers=[
                ("Host", f"{host}:{port}"),
                ("Accept", "text/event-stream"),
                *(headers or {}).items(),
            ],
        )
        await stream.send_all(conn.send(request) + conn.send(h11.EndOfMessage()))
        with trio.fail_after(TIMEOUT):
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await stream.receive_some(65536))
                    continue
                if isinstance(event, h11.Response):
                    break
        response_headers = {k.decode().lower(): v.decode() for k, v in event.headers}
        yield SseStream(stream, conn, event.status_code, response_headers)
    finally:
        await stream.aclose()
