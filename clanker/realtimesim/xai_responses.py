"""How the xAI sim streams one response: its turn's events, paced on trio time.

`respond` runs in the connection's nursery inside a cancel scope; ``response.cancel``
cancels the scope and the connection writes the cancelled ending itself (`finish`). The
audio is voicesim's `speech_pcm` at the session's output rate.
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from clanker.realtimesim import xai_events as ev
from clanker.realtimesim.script import CallTool, Fail, Say, SimResponse
from clanker.voicesim import speech_pcm

if TYPE_CHECKING:
    from clanker.realtimesim.xai_link import XaiLink


@dataclass
class XaiContext:
    """What a response in progress carries besides its `SimResponse`."""

    rate: int
    """The output PCM rate when the response started."""
    output: list[dict[str, Any]] = field(default_factory=list)
    said: str = ""


async def respond(
    link: XaiLink, response: SimResponse, scope: trio.CancelScope, context: XaiContext
) -> None:
    with scope:
        if scope.cancel_called:
            return
        turn = response.turn
        link.send(
            {
                "type": "response.created",
                "response": ev.response_object(response.id, "in_progress", []),
            }
        )
        if isinstance(turn, Say):
            await trio.sleep(turn.delay)
            await speak(link, response, context, turn.text, turn.chunk_ms, turn.chunk_delay)
        elif isinstance(turn, CallTool):
            await trio.sleep(turn.delay)
            if turn.text:
                await speak(link, response, context, turn.text, 100, turn.chunk_delay)
            await call_tool(link, response, context, turn)
        else:
            await speak(
                link, response, context, turn.text, 100, turn.chunk_delay, stop=turn.after_chunks
            )
            fail_response(link, response, context, turn)
            return
        del link.running[response.id]
        response.status = "completed"
        finish(link, response, context, None)


def fail_response(link: XaiLink, response: SimResponse, context: XaiContext, turn: Fail) -> None:
    del link.running[response.id]
    if turn.error:
        link.fail(turn.message, code=turn.code, answering=None, error_type=turn.error_type)
    if turn.drop:
        response.status = "dropped"
        response.done_at = trio.current_time()
        link.close(turn.close_code, turn.error_type)
        return
    response.status = "failed"
    error = {"type": turn.error_type, "code": turn.code, "message": turn.message}
    finish(link, response, context, {"type": "failed", "error": error})


def finish(
    link: XaiLink, response: SimResponse, context: XaiContext, details: dict[str, Any] | None
) -> None:
    """``response.done`` with the usage (in the response and beside it, as xAI sends it)."""
    response.done_at = trio.current_time()
    in_rate = ev.rate_of(link.record.session, "input")
    heard_ms = sum(len(t) for t in link.record.turns) * 1000 // (in_rate * 2)
    text_chars = len(str(link.record.session.get("instructions") or "")) + sum(
        len(json.dumps(i.get("content", i.get("output", "")))) for i in link.record.items
    )
    spoken_ms = len(response.audio) * 1000 // (context.rate * 2)
    usage = ev.usage(
        heard_ms=heard_ms, text_chars=text_chars, spoken_ms=spoken_ms, said=context.said
    )
    body = ev.response_object(
        response.id,
        response.status,
        list(context.output),
        status_details=details,
        usage=usage,
    )
    link.send({"type": "response.done", "response": body, "usage": usage})


async def speak(
    link: XaiLink,
    response: SimResponse,
    context: XaiContext,
    text: str,
    chunk_ms: int,
    chunk_delay: float,
    *,
    stop: int | None = None,
) -> None:
    output = context.output
    index = len(output)
    item_id = link.sim._id("item")
    response.item_id = item_id
    item = ev.assistant_item(item_id, "in_progress", None)
    output.append(item)
    link.send(
        {
            "type": "response.output_item.added",
            "response_id": response.id,
            "output_index": index,
            "item": item,
        }
    )
    link.send({"type": "conversation.item.added", "previous_item_id": link.last_item, "item": item})
    part = {
        "response_id": response.id,
        "item_id": item_id,
        "output_index": index,
        "content_index": 0,
    }
    link.send(
        {
            "type": "response.content_part.added",
            **part,
            "part": {"type": "audio", "transcript": ""},
        }
    )
    pcm = speech_pcm(text, context.rate)
    step = chunk_ms * context.rate * 2 // 1000
    pieces = [pcm[at : at + step] for at in range(0, len(pcm), step)] or [b""]
    words = re.findall(r"\S+\s*", text)
    context.said = ""
    for k, piece in enumerate(pieces):
        if stop is not None and k >= stop:
            return
        if k:
            await trio.sleep(chunk_delay)
        link.send(
            {
                "type": "response.output_audio.delta",
                **part,
                "delta": base64.b64encode(piece).decode("ascii"),
            }
        )
        response.audio.extend(piece)
        mine = [w for i, w in enumerate(words) if i * len(pieces) // len(words) == k]
        for word in mine:
            context.said += word
            link.send({"type": "response.output_audio_transcript.delta", **part, "delta": word})
        link.sim._change()
    if stop is not None:
        return
    link.send({"type": "response.output_audio.done", **part})
    # xAI's transcript ``done`` names the item but does not repeat the transcript.
    link.send({"type": "response.output_audio_transcript.done", **part})
    link.send(
        {
            "type": "response.content_part.done",
            **part,
            "part": {"type": "audio", "transcript": text},
        }
    )
    item.update(ev.assistant_item(item_id, "completed", text))
    link.send(
        {
            "type": "response.output_item.done",
            "response_id": response.id,
            "output_index": index,
            "item": item,
        }
    )
    link.items[item_id] = item
    link.last_item = item_id


async def call_tool(
    link: XaiLink, response: SimResponse, context: XaiContext, turn: CallTool
) -> None:
    output = context.output
    index = len(output)
    item_id = link.sim._id("item")
    call_id = turn.call_id or link.sim._id("call")
    arguments = json.dumps(turn.arguments)
    item = ev.function_call_item(item_id, "in_progress", call_id, turn.name, "")
    output.append(item)
    added = {"response_id": response.id, "output_index": index, "item": item}
    link.send({"type": "response.output_item.added", **added})
    link.send({"type": "conversation.item.added", "previous_item_id": link.last_item, "item": item})
    where = {"response_id": response.id, "item_id": item_id, "call_id": call_id}
    third = max(1, math.ceil(len(arguments) / 3))
    for at in range(0, len(arguments), third):
        if at:
            await trio.sleep(turn.chunk_delay)
        link.send(
            {
                "type": "response.function_call_arguments.delta",
                **where,
                "delta": arguments[at : at + third],
            }
        )
    link.send(
        {
            "type": "response.function_call_arguments.done",
            **where,
            "name": turn.name,
            "arguments": arguments,
        }
    )
    item.update(ev.function_call_item(item_id, "completed", call_id, turn.name, arguments))
    link.calls.add(call_id)
    link.send({"type": "response.output_item.done", **added})
    link.items[item_id] = item
    link.last_item = item_id
