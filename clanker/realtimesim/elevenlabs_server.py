"""`ElevenLabsAgentSim`: a local server speaking the ElevenLabs agent WebSocket
(``/v1/convai/conversation``).

    async with open_elevenlabs_agent_sim(api_key="k", agent_id="agent_1") as sim:
        sim.script(Say("hello there"), CallTool("music_play", {"query": "jazz"}))
        session = ElevenLabsAgentSession("agent_1", api_key="k", base_url=sim.url)
        ...

It is the OpenAI sim (`RealtimeSim`: the script, the transcripts to hear, the records,
`wait_until`) with an agent's handshake and connection (`ElevenLabsLink`). Per connection:
it waits for ``conversation_initiation_client_data`` (checked field by field; overrides
refused when ``allow_overrides`` is off), answers ``conversation_initiation_metadata`` with
the agent's audio formats, and says the first message if there is one (``first_message``,
unless the client overrode it with ""). Then the agent takes turns itself (see
`clanker.realtimesim.elevenlabs_link`). The handshake needs ``agent_id`` (another is
refused with an error and a 1008 close); with ``api_key`` set it also needs the
``xi-api-key`` header or the sim's signature (`signed_url`). ``ping_interval`` makes it ping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import trio
import trio_websocket
from trio_websocket import WebSocketRequest

from clanker.realtimesim import elevenlabs_events as ev
from clanker.realtimesim.elevenlabs_link import ElevenLabsLink
from clanker.realtimesim.script import Responder, Say, SimConnection, Turn
from clanker.realtimesim.server import RealtimeSim

PATH = "/v1/convai/conversation"
SIGNATURE = "sim-conversation-signature"


@dataclass
class ElevenLabsConnection(SimConnection):
    """`SimConnection` (``model`` is the agent id; ``session`` the initiation and formats)
    plus what only an agent conversation has."""

    text_turns: list[str] = field(default_factory=list)
    """``user_message`` texts, oldest first."""
    contexts: list[str] = field(default_factory=list)
    """``contextual_update`` texts."""
    activity: list[float] = field(default_factory=list)
    """Trio times of ``user_activity`` messages."""
    tool_results: list[dict[str, Any]] = field(default_factory=list)
    pongs: list[int] = field(default_factory=list)
    interruptions: list[int] = field(default_factory=list)
    """Agent event ids the member interrupted."""


def agent_echo(connection: SimConnection) -> Turn:
    """The default turn: names the last text turn, or the length of the last audio turn."""
    if isinstance(connection, ElevenLabsConnection) and connection.text_turns:
        return Say(f"you said {connection.text_turns[-1]}")
    if connection.turns:
        rate = ev.rate_of(str(connection.session.get("input_format", ev.DEFAULT_FORMAT)))
        return Say(f"I heard {len(connection.turns[-1]) * 1000 // (rate * 2)} ms")
    return Say("hello")


class ElevenLabsAgentSim(RealtimeSim):
    """A scripted fake ElevenLabs agent (see the module docstring). Build it with
    `open_elevenlabs_agent_sim`."""

    def __init__(
        self,
        *,
        agent_id: str = "agent_sim",
        api_key: str | None = None,
        default: Responder = agent_echo,
        input_format: str = ev.DEFAULT_FORMAT,
        output_format: str = ev.DEFAULT_FORMAT,
        first_message: str = "",
        allow_overrides: bool = True,
        ping_interval: float | None = None,
        speech_threshold: float = 500.0,
        end_of_turn_ms: int = 500,
        barge_in_ms: int = 200,
    ) -> None:
        super().__init__(api_key=api_key, default=default)
        for name, fmt in (("input_format", input_format), ("output_format", output_format)):
            if fmt not in ev.FORMATS:
                raise ValueError(f"{name} is one of {sorted(ev.FORMATS)}; got {fmt!r}")
        if ping_interval is not None and ping_interval <= 0:
            raise ValueError(f"ping_interval must be positive seconds; got {ping_interval}")
        if end_of_turn_ms <= 0 or barge_in_ms <= 0:
            raise ValueError("end_of_turn_ms and barge_in_ms must be positive milliseconds")
        self.agent_id = agent_id
        self.input_format = input_format
        self.output_format = output_format
        self.first_message = first_message
        self.allow_overrides = allow_overrides
        self.ping_interval = ping_interval
        self.speech_threshold = speech_threshold
        self.end_of_turn_ms = end_of_turn_ms
        self.barge_in_ms = barge_in_ms

    def conversation(self, index: int = 0) -> ElevenLabsConnection:
        """``connections[index]``, typed as the agent conversation it is."""
        record = self.connections[index]
        assert isinstance(record, ElevenLabsConnection)
        return record

    @property
    def signed_url(self) -> str:
        """A URL that needs no key, as ``GET …/get-signed-url`` would hand out."""
        agent = quote(self.agent_id, safe="")
        return f"{self.url}?agent_id={agent}&conversation_signature={SIGNATURE}"

    async def _handle(self, request: WebSocketRequest) -> None:
        split = urlsplit(request.path)
        if split.path.rstrip("/") != PATH:
            await request.reject(404, body=f"ElevenLabs sim has no route {split.path}".encode())
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers}
        query = parse_qs(split.query)
        signed = query.get("conversation_signature", [""])[0] == SIGNATURE
        authorised = self.api_key is None or signed or headers.get("xi-api-key") == self.api_key
        if "xi-api-key" in headers:
            headers["xi-api-key"] = "<redacted>"
        ws = await request.accept()
        record = ElevenLabsConnection(
            path=split.path,
            model=query.get("agent_id", [""])[0],
            headers=headers,
            opened_at=trio.current_time(),
            authorised=authorised,
        )
        self.connections.append(record)
        self._change()
        await ElevenLabsLink(self, ws, record).run()


@asynccontextmanager
async def open_elevenlabs_agent_sim(
    *, host: str = "127.0.0.1", **options: Any
) -> AsyncIterator[ElevenLabsAgentSim]:
    """Run an `ElevenLabsAgentSim` (``options`` are its keyword arguments) on ``host`` at an
    ephemeral port for the block; ``sim.url`` is ``ws://<host>:<port>/v1/convai/conversation``."""
    sim = ElevenLabsAgentSim(**options)
    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            partial(trio_websocket.serve_websocket, sim.handle, host, 0, ssl_context=None)
        )
        sim.url = f"ws://{host}:{server.port}{PATH}"
        try:
            yield sim
        finally:
            nursery.cancel_scope.cancel()
