"""How the ElevenLabs sim's agent speaks one turn: its events, paced on trio time.

A turn is one agent ``event_id``: ``agent_response`` (the whole text, sent with the first
audio chunk, as the API does), then ``audio`` chunks of voicesim's `speech_pcm` at the
agent's output rate. Nothing marks its end. `respond` runs in the connection's nursery in a
cancel scope; an interruption cancels it and the connection writes ``interruption`` and
``agent_response_correction`` itself.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio

from clanker.realtimesim import elevenlabs_events as ev
from clanker.realtimesim.script import CallTool, Fail, Say, SimResponse
from clanker.voicesim import speech_pcm

if TYPE_CHECKING:
    from clanker.realtimesim.elevenlabs_link import ElevenLabsLink


@dataclass
class AgentTurn:
    """A turn in progress besides its `SimResponse`: its event id and what it has said."""

    event_id: int
    rate: int
    text: str = ""
    said: str = ""


async def respond(
    link: ElevenLabsLink, response: SimResponse, scope: trio.CancelScope, turn: AgentTurn
) -> None:
    with scope:
        script = response.turn
        if isinstance(script, Say):
            await trio.sleep(script.delay)
            await speak(link, response, turn, script.text, script.chunk_ms, script.chunk_delay)
        elif isinstance(script, CallTool):
            await trio.sleep(script.delay)
            if script.text:
                await speak(link, response, turn, script.text, 100, script.chunk_delay)
            call_id = script.call_id or link.sim._id("call")
            link.waiting[call_id] = script.name
            link.send(ev.client_tool_call(script.name, call_id, script.arguments, turn.event_id))
        else:
            await speak(
                link, response, turn, script.text, 100, script.chunk_delay, stop=script.after_chunks
            )
            fail(link, response, script)
            return
        link.speaking = None
        response.status = "completed"
        response.done_at = trio.current_time()
        link.sim._change()


def fail(link: ElevenLabsLink, response: SimResponse, script: Fail) -> None:
    """The API reports a failure only as it closes: an ``error`` (unless only dropping),
    then the close."""
    link.speaking = None
    response.status = "failed" if script.error else "dropped"
    response.done_at = trio.current_time()
    error_type = script.code or "unknown_websocket_crash"
    if script.error:
        link.send(
            ev.error(script.close_code, script.message, error_type=error_type, reason=error_type)
        )
    link.close(script.close_code, error_type)


async def speak(
    link: ElevenLabsLink,
    response: SimResponse,
    turn: AgentTurn,
    text: str,
    chunk_ms: int,
    chunk_delay: float,
    *,
    stop: int | None = None,
) -> None:
    turn.text = text
    turn.said = ""
    pcm = speech_pcm(text, turn.rate)
    step = chunk_ms * turn.rate * 2 // 1000
    pieces = [pcm[at : at + step] for at in range(0, len(pcm), step)] or [b""]
    words = re.findall(r"\S+\s*", text)
    for k, piece in enumerate(pieces):
        if stop is not None and k >= stop:
            return
        if k:
            await trio.sleep(chunk_delay)
        else:
            link.send(ev.agent_response(text, turn.event_id))
        link.send(ev.audio(base64.b64encode(piece).decode("ascii"), turn.event_id))
        response.audio.extend(piece)
        turn.said += "".join(w for i, w in enumerate(words) if i * len(pieces) // len(words) == k)
        link.sim._change()
