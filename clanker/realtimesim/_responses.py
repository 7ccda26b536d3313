"""How the sim streams one response: its turn's events, paced on trio time.

`respond` runs in the connection's nursery inside a cancel scope; ``response.cancel`` cancels
the scope and the connection writes the cancelled ending itself (`finish`).
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from clanker.realtimesim import openai_events as ev
from clanker.realtimesim.script import RATE, CallTool, Fail, Say, SimResponse
from clanker.voicesim import speech_pcm

if TYPE_CHECKING:
    from clanker.realtimesim._link import Link

BYTES_PER_MS = RATE * 2 // 1000


@dataclass
class Context:
    """What a response in progress carries besides its `SimResponse`."""

    out_of_band: bool
    metadata: dict[str, str] | None
    output: list[dict[str, Any]] = field(default_factory=list)
    said: str = ""


def response_object(
    link: Link,
    response: SimResponse,
    context: Context,
    *,
    status_details: dict[str, Any] | None = None,
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return ev.response_object(
        response,
        conversation_id=None if context.out_of_band else link.conversation_id,
        voice=str(link.record.session["audio"]["output"].get("voice") or ev.DEFAULT_VOICE),
        output=list(context.output),
        metadata=context.metadata,
        status_details=status_details,
        usage=usage,
    )


async def respond(
    link: Link, response: SimResponse, scope: trio.CancelScope, context: Context
) -> None:
    with scope:
        if scope.cancel_called:
            return
        turn = response.turn
        link.send(
            {
                "type": "response.created",
                "response": response_object(link, response, context),
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
        del link.active[response.id]
        response.status = "completed"
        finish(link, response, context, None)


def fail_response(link: Link, response: SimResponse, context: Context, turn: Fail) -> None:
    del link.active[response.id]
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
    link: Link, response: SimResponse, context: Context, details: dict[str, Any] | None
) -> None:
    response.done_at = trio.current_time()
    heard_ms = sum(len(t) for t in link.record.turns) // BYTES_PER_MS
    text_chars = len(str(link.record.session.get("instructions") or "")) + sum(
        len(json.dumps(i.get("content", i.get("output", "")))) for i in link.record.items
    )
    turn = response.turn
    usage = ev.usage(
        turn.usage if isinstance(turn, (Say, CallTool)) else None,
        audio_in_ms=heard_ms,
        text_in_chars=text_chars,
        audio_out_ms=response.audio_ms,
        said=context.said,
    )
    body = response_object(link, response, context, status_details=details, usage=usage)
    link.send({"type": "response.done", "response": body})


async def speak(
    link: Link,
    response: SimResponse,
    context: Context,
    text: str,
    chunk_ms: int,
    chunk_delay: float,
    *,
    stop: int | None = None,
) -> None:
    output: list[dict[str, Any]] = context.output
    index = len(output)
    item_id = link.sim._id("item")
    response.item_id = item_id
    link.by_item[item_id] = response
    item = ev.assistant_item(item_id, "in_progress", None)
    output.append(item)
    where = {"response_id": response.id, "item_id": item_id, "output_index": index}
    link.send(
        {
            "type": "response.output_item.added",
            "response_id": response.id,
            "output_index": index,
            "item": item,
        }
    )
    if not context.out_of_band:
        link.send(
            {
                "type": "conversation.item.added",
                "previous_item_id": link.last_item,
                "item": item,
            }
        )
    part = {**where, "content_index": 0}
    link.send(
        {
            "type": "response.content_part.added",
            **part,
            "part": {"type": "audio", "transcript": ""},
        }
    )
    pcm = speech_pcm(text, RATE)
    step = chunk_ms * BYTES_PER_MS
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
    link.send({"type": "response.output_audio_transcript.done", **part, "transcript": text})
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
    if not context.out_of_band:
        link.items[item_id] = item
        link.last_item = item_id
        link.send({"type": "conversation.item.done", "item": item})


async def call_tool(link: Link, response: SimResponse, context: Context, turn: CallTool) -> None:
    output: list[dict[str, Any]] = context.output
    index = len(output)
    item_id = link.sim._id("item")
    call_id = turn.call_id or link.sim._id("call")
    arguments = json.dumps(turn.arguments)
    item = ev.function_call_item(item_id, "in_progress", call_id, turn.name, "")
    output.append(item)
    added = {"response_id": response.id, "output_index": index, "item": item}
    link.send({"type": "response.output_item.added", **added})
    if not context.out_of_band:
        link.send(
            {
                "type": "conversation.item.added",
                "previous_item_id": link.last_item,
                "item": item,
            }
        )
    where = {"response_id": response.id, "item_id": item_id, "output_index": index}
    third = max(1, math.ceil(len(arguments) / 3))
    for at in range(0, len(arguments), third):
        if at:
            await trio.sleep(turn.chunk_delay)
        link.send(
            {
                "type": "response.function_call_arguments.delta",
                **where,
                "call_id": call_id,
                "delta": arguments[at : at + third],
            }
        )
    link.send(
        {
            "type": "response.function_call_arguments.done",
            **where,
            "call_id": call_id,
            "name": turn.name,
            "arguments": arguments,
        }
    )
    item.update(ev.function_call_item(item_id, "completed", call_id, turn.name, arguments))
    link.calls.add(call_id)
    link.send({"type": "response.output_item.done", **added})
    if not context.out_of_band:
        link.items[item_id] = item
        link.last_item = item_id
        link.send({"type": "conversation.item.done", "item": item})
