"""`XaiRealtimeSim`: a local server speaking xAI's Grok Voice Agent API.

    async with open_xai_realtime_sim(api_key="k") as sim:
        sim.script(Say("hello there"), CallTool("music_play", {"query": "jazz"}))
        session = XaiRealtimeSession("k", base_url=sim.url)
        ...

It is the OpenAI sim (`RealtimeSim`: the script, the transcripts to hear, the records,
`wait_until`) with the xAI handshake and connection (`XaiLink`). Per connection:
``conversation.created`` then ``session.created`` (server VAD on, PCM 24 kHz, voice Eve);
``session.updated`` after each valid ``session.update``; committed audio becomes a user item
and is always transcribed; ``response.create`` streams the next scripted turn;
a ``force_message`` item is spoken as its own response; ``response.cancel`` stops a response.
With ``api_key`` set, a handshake without ``Authorization: Bearer <key>`` is refused with
HTTP 401. ``ping_interval`` makes it send xAI's keep-alive ``ping`` events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from urllib.parse import parse_qs, urlsplit

import trio
import trio_websocket
from trio_websocket import WebSocketRequest

from clanker.realtimesim.script import Responder, SimConnection, echo
from clanker.realtimesim.server import RealtimeSim
from clanker.realtimesim.xai_events import DEFAULT_MODEL
from clanker.realtimesim.xai_link import XaiLink


class XaiRealtimeSim(RealtimeSim):
    """A scripted fake Grok Voice Agent server (see the module docstring). Build it with
    `open_xai_realtime_sim`."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        default: Responder = echo,
        ping_interval: float | None = None,
    ) -> None:
        super().__init__(api_key=api_key, default=default)
        if ping_interval is not None and ping_interval <= 0:
            raise ValueError(f"ping_interval must be positive seconds; got {ping_interval}")
        self.ping_interval = ping_interval

    async def _handle(self, request: WebSocketRequest) -> None:
        split = urlsplit(request.path)
        if split.path.rstrip("/") != "/v1/realtime":
            await request.reject(404, body=f"xAI sim has no route {split.path}".encode())
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers}
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            body = b'{"code":"unauthorized","error":"Incorrect API key provided (xAI sim)."}'
            await request.reject(401, body=body)
            return
        if "authorization" in headers:
            headers["authorization"] = "<redacted>"
        model = parse_qs(split.query).get("model", [DEFAULT_MODEL])[0]
        ws = await request.accept()
        record = SimConnection(
            path=split.path, model=model, headers=headers, opened_at=trio.current_time()
        )
        self.connections.append(record)
        self._change()
        await XaiLink(self, ws, record).run()


@asynccontextmanager
async def open_xai_realtime_sim(
    *,
    api_key: str | None = None,
    default: Responder = echo,
    ping_interval: float | None = None,
    host: str = "127.0.0.1",
) -> AsyncIterator[XaiRealtimeSim]:
    """Run an `XaiRealtimeSim` on ``host`` at an ephemeral port for the duration of the
    block; ``sim.url`` is ``ws://<host>:<port>/v1/realtime``."""
    sim = XaiRealtimeSim(api_key=api_key, default=default, ping_interval=ping_interval)
    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            partial(trio_websocket.serve_websocket, sim.handle, host, 0, ssl_context=None)
        )
        sim.url = f"ws://{host}:{server.port}/v1/realtime"
        try:
            yield sim
        finally:
            nursery.cancel_scope.cancel()
