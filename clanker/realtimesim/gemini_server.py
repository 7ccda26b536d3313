"""`GeminiLiveSim`: a local server speaking the Gemini Live API (``BidiGenerateContent``).

    async with open_gemini_live_sim(api_key="k") as sim:
        sim.script(Say("hello there"), CallTool("music_play", {"query": "jazz"}))
        session = GeminiLiveSession("k", base_url=sim.url)
        ...
        assert sim.connections[0].turns[0].audio == pcm

Per connection: the first client message must be ``setup`` (a wrong key, a missing one when
the sim has ``api_key``, or an unknown model ends the connection with the API's close codes);
it is answered by ``setupComplete``. With automatic activity detection disabled the client
marks each user turn with ``activityStart`` / ``activityEnd``: the audio and texts between
them are the turn (``inputTranscription`` fragments follow when the setup asked for them:
the next `GeminiLiveSim.hear` text, else a note of the length), and the end of the activity
starts the next scripted model turn (see `clanker.realtimesim.gemini_responses`), paced on
trio time. An ``activityStart`` during a model turn interrupts it (``interrupted``, then
``turnComplete``), whatever ``activityHandling`` says; one while the model waits on tool
calls cancels them (``toolCallCancellation``). A ``toolResponse`` must answer a call
the sim made; once every call is answered, the next scripted turn continues. Every client
frame is checked like the API's proto-JSON parser (`gemini_wire`): whatever it refuses closes
the connection with code 1007 and the parser's message. Every client message and server
message is recorded (`GeminiSimConnection`).

The sim has no voice activity detection: with automatic activity detection on, audio is kept
but never answered. It does not do session resumption, context window compression, video,
images, Google Search or code execution.
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

from clanker.realtimesim.gemini_link import GeminiLink
from clanker.realtimesim.gemini_record import (
    GeminiResponder,
    GeminiScriptItem,
    GeminiSimConnection,
    gemini_echo,
)
from clanker.realtimesim.script import Turn

VERSIONS = ("v1beta", "v1alpha")
PATHS = {
    f"/ws/google.ai.generativelanguage.{v}.GenerativeService.BidiGenerateContent": v
    for v in VERSIONS
}


class GeminiLiveSim:
    """A scripted fake Gemini Live server (see the module docstring). Build it with
    `open_gemini_live_sim`. ``models``: the model names (without ``models/``) it knows; None
    takes any well-formed name."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        default: GeminiResponder = gemini_echo,
        models: tuple[str, ...] | None = None,
    ) -> None:
        self.api_key = api_key
        self.default = default
        self.models = models
        self.url = ""
        """``ws://127.0.0.1:<port>/ws/google.ai.generativelanguage.v1beta.GenerativeService.
        BidiGenerateContent``."""
        self.connections: list[GeminiSimConnection] = []
        self._links: list[GeminiLink] = []
        self._script: deque[GeminiScriptItem] = deque()
        self._heard: deque[str] = deque()
        self._serial = itertools.count(1)
        self._changed = trio.Event()

    def script(self, *items: GeminiScriptItem) -> None:
        """Queue model turns (or responders) for the next answers, in order."""
        self._script.extend(items)

    def hear(self, *transcripts: str) -> None:
        """Queue the input transcripts of the next user turns with audio (when transcribing)."""
        self._heard.extend(transcripts)

    @property
    def pending(self) -> int:
        """Scripted turns not yet used."""
        return len(self._script)

    def go_away(self, seconds: float = 10.0, *, close: bool = True, connection: int = -1) -> None:
        """Send a connection ``goAway`` with ``seconds`` left; with ``close``, close it with
        1008 when they are up (as Gemini does to a client that stayed)."""
        self._links[connection].go_away(seconds, close)

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

    def _next_turn(self, connection: GeminiSimConnection) -> Turn:
        item = self._script.popleft() if self._script else self.default
        return item(connection) if callable(item) else item

    async def handle(self, request: WebSocketRequest) -> None:
        """trio-websocket handler for one connection."""
        with suppress(ConnectionClosed):
            await self._handle(request)

    async def _handle(self, request: WebSocketRequest) -> None:
        split = urlsplit(request.path)
        version = PATHS.get(split.path)
        if version is None:
            await request.reject(404, body=f"realtimesim has no route {split.path}".encode())
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers}
        key = headers.get("x-goog-api-key") or parse_qs(split.query).get("key", [""])[0]
        authorised = self.api_key is None or key == self.api_key
        if "x-goog-api-key" in headers:
            headers["x-goog-api-key"] = "<redacted>"
        ws = await request.accept()
        record = GeminiSimConnection(
            path=split.path, headers=headers, opened_at=trio.current_time(), authorised=authorised
        )
        link = GeminiLink(self, ws, record, version)
        self.connections.append(record)
        self._links.append(link)
        self._change()
        await link.run()


@asynccontextmanager
async def open_gemini_live_sim(
    *,
    api_key: str | None = None,
    default: GeminiResponder = gemini_echo,
    models: tuple[str, ...] | None = None,
    host: str = "127.0.0.1",
) -> AsyncIterator[GeminiLiveSim]:
    """Run a `GeminiLiveSim` on ``host`` at an ephemeral port for the duration of the block."""
    sim = GeminiLiveSim(api_key=api_key, default=default, models=models)
    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            partial(trio_websocket.serve_websocket, sim.handle, host, 0, ssl_context=None)
        )
        sim.url = f"ws://{host}:{server.port}{next(iter(PATHS))}"
        try:
            yield sim
        finally:
            nursery.cancel_scope.cancel()
