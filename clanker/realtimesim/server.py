"""`RealtimeSim`: a local server speaking the OpenAI Realtime WebSocket API (GA events).

    async with open_openai_realtime_sim(api_key="k") as sim:
        sim.script(Say("hello there"), CallTool("music_play", {"query": "jazz"}))
        session = OpenAIRealtimeSession("k", base_url=sim.url)
        target = session.target()   # the url with ?model=, the Bearer header
        ...
        assert sim.connections[0].turns[0] == pcm

What it does per connection: ``session.created`` on connect; ``session.updated`` (the merged
configuration) after each ``session.update``; it keeps appended audio and makes a committed
turn of it (``input_audio_buffer.committed``, the user item, and transcription events when the
session asked for transcription: the next `RealtimeSim.hear` text, else a note of the length);
``conversation.item.create`` adds the item (a ``function_call_output`` must answer a call the
sim made); ``response.create`` streams the next scripted turn (see `clanker.realtimesim.script`)
paced on trio time; ``response.cancel`` stops it (``response.done`` status ``cancelled``);
``conversation.item.truncate`` cuts an assistant item at a played position no later than
what was streamed (``conversation.item.truncated``). Requests the API would refuse get its
``error`` event (a second in-band response while one runs, a commit under 100 ms, an unknown
call id, a truncate past the audio, a cancel with nothing running, bad base64, unknown event
types). With ``api_key`` set, a connection without ``Authorization: Bearer <key>`` gets an
``invalid_api_key`` error and a close with code 3000, as the real API does.

The sim has no voice activity detection: it answers only ``response.create``, whatever the
session's ``turn_detection`` says (clanker always sends ``turn_detection: null``).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from functools import partial
from urllib.parse import parse_qs, urlsplit

import trio
import trio_websocket
from trio_websocket import ConnectionClosed, WebSocketRequest

from clanker.realtimesim._link import Link
from clanker.realtimesim.script import (
    RATE,
    Responder,
    ScriptItem,
    SimConnection,
    Turn,
    echo,
)

MIN_COMMIT_MS = 100
_BYTES_PER_MS = RATE * 2 // 1000


class RealtimeSim:
    """A scripted fake OpenAI Realtime server (see the module docstring). Build it with
    `open_openai_realtime_sim`."""

    def __init__(self, *, api_key: str | None = None, default: Responder = echo) -> None:
        self.api_key = api_key
        self.default = default
        self.url = ""
        """``ws://127.0.0.1:<port>/v1/realtime`` (add ``?model=…``)."""
        self.connections: list[SimConnection] = []
        self._script: deque[ScriptItem] = deque()
        self._heard: deque[str] = deque()
        self._serial = itertools.count(1)
        self._changed = trio.Event()

    def script(self, *items: ScriptItem) -> None:
        """Queue turns (or responders) for the next in-band responses, in order."""
        self._script.extend(items)

    def hear(self, *transcripts: str) -> None:
        """Queue the input transcripts of the next committed turns (when transcribing)."""
        self._heard.extend(transcripts)

    @property
    def pending(self) -> int:
        """Scripted turns not yet used."""
        return len(self._script)

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds; checked whenever the sim receives, sends or
        closes anything."""
        while not predicate():
            await self._changed.wait()

    def _change(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def _id(self, prefix: str) -> str:
        return f"{prefix}_sim_{next(self._serial)}"

    def _next_turn(self, connection: SimConnection) -> Turn:
        item = self._script.popleft() if self._script else self.default
        return item(connection) if callable(item) else item

    async def handle(self, request: WebSocketRequest) -> None:
        """trio-websocket handler for one connection."""
        with suppress(ConnectionClosed):
            await self._handle(request)

    async def _handle(self, request: WebSocketRequest) -> None:
        split = urlsplit(request.path)
        if split.path.rstrip("/") != "/v1/realtime":
            await request.reject(404, body=f"realtimesim has no route {split.path}".encode())
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers}
        authorised = self.api_key is None or headers.get("authorization") == (
            f"Bearer {self.api_key}"
        )
        if "authorization" in headers:
            headers["authorization"] = "<redacted>"
        model = parse_qs(split.query).get("model", [""])[0]
        ws = await request.accept()
        record = SimConnection(
            path=split.path,
            model=model,
            headers=headers,
            opened_at=trio.current_time(),
            authorised=authorised,
        )
        self.connections.append(record)
        self._change()
        await Link(self, ws, record).run()


@asynccontextmanager
async def open_openai_realtime_sim(
    *, api_key: str | None = None, default: Responder = echo, host: str = "127.0.0.1"
) -> AsyncIterator[RealtimeSim]:
    """Run a `RealtimeSim` on ``host`` at an ephemeral port for the duration of the block."""
    sim = RealtimeSim(api_key=api_key, default=default)
    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            partial(trio_websocket.serve_websocket, sim.handle, host, 0, ssl_context=None)
        )
        sim.url = f"ws://{host}:{server.port}/v1/realtime"
        try:
            yield sim
        finally:
            nursery.cancel_scope.cancel()
