"""`RealtimeSim`: a local server speaking the OpenAI Realtime WebSocket API (GA events).

    async with open_openai_realtime_sim(api_key="k") as sim:
        sim.script(Say("hello there"), CallTool("music_play", {"query": "jazz"}))
        session = OpenAIRealtimeSession("k", base_url=sim.url)
        target = session.target()   # the url with ?model=, the Bearer header
        ...
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

import base64
import binascii
import itertools
import json
import math
import re
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trio
import trio_websocket
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest

from clanker.realtimesim import openai_events as ev
from clanker.realtimesim.script import (
    RATE,
    CallTool,
    Fail,
    Responder,
    Say,
    ScriptItem,
    SimConnection,
    SimResponse,
    Turn,
    echo,
)
from clanker.voicesim import speech_pcm

MIN_COMMIT_MS = 100
_BYTES_PER_MS = RATE * 2 // 1000


@dataclass
class _Context:
    """What a response in progress carries besides its `SimResponse`."""

    out_of_band: bool
    metadata: dict[str, str] | None
    output: list[dict[str, Any]] = field(default_factory=list)
    said: str = ""


class _Close:
    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


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
        await _Link(self, ws, record).run()


class _Link:
    """One connection's conversation state and its reader, writer and response tasks."""

    def __init__(self, sim: RealtimeSim, ws: WebSocketConnection, record: SimConnection) -> None:
        self.sim = sim
        self.ws = ws
        self.record = record
        self.outbox_send, self.outbox = trio.open_memory_channel[str | _Close](math.inf)
        self.conversation_id = sim._id("conv")
        self.items: dict[str, dict[str, Any]] = {}
        self.last_item: str | None = None
        self.calls: set[str] = set()
        self.by_item: dict[str, SimResponse] = {}
        self.active: dict[str, tuple[SimResponse, trio.CancelScope, _Context]] = {}
        self.nursery: trio.Nursery | None = None

    # -- plumbing --------------------------------------------------------------------------

    def send(self, event: dict[str, Any]) -> None:
        event.setdefault("event_id", self.sim._id("event"))
        # "type" first, as the API writes it.
        ordered = {"type": event.pop("type"), **event}
        self.record.sent.append(ordered)
        self.outbox_send.send_nowait(json.dumps(ordered))
        self.sim._change()

    def fail(self, message: str, *, code: str | None, answering: str | None, **kw: Any) -> None:
        self.send(ev.error(self.sim._id("event"), message, code=code, answering=answering, **kw))

    def close(self, code: int, reason: str) -> None:
        if not self.record.closed_by:
            self.record.closed_by = "server"
        self.outbox_send.send_nowait(_Close(code, reason))

    async def run(self) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                nursery.start_soon(self._write)
                if not self.record.authorised:
                    self.fail(
                        "Incorrect API key provided (realtimesim).",
                        code="invalid_api_key",
                        answering=None,
                    )
                    self.close(3000, "invalid_request_error.invalid_api_key")
                elif not self.record.model:
                    self.fail(
                        "Missing required parameter: 'model'.",
                        code="missing_required_parameter",
                        param="model",
                        answering=None,
                    )
                    self.close(3000, "invalid_request_error.missing_required_parameter")
                else:
                    self.record.session = ev.default_session(
                        self.sim._id("sess"), self.record.model
                    )
                    self.send({"type": "session.created", "session": self.record.session})
                await self._read()
                nursery.cancel_scope.cancel()
        finally:
            self.record.closed_at = trio.current_time()
            if not self.record.closed_by:
                self.record.closed_by = "client"
            self.sim._change()

    async def _write(self) -> None:
        async for item in self.outbox:
            if isinstance(item, _Close):
                with trio.move_on_after(1.0):
                    await self.ws.aclose(item.code, item.reason)
                # trio-websocket leaves the TCP stream open when the peer does not answer
                # the close; a dropped connection must really drop.
                await self.ws._stream.aclose()
                return
            try:
                await self.ws.send_message(item)
            except ConnectionClosed:
                return

    async def _read(self) -> None:
        while True:
            try:
                message = await self.ws.get_message()
            except ConnectionClosed:
                return
            self._on_message(message)

    # -- client events ---------------------------------------------------------------------

    def _on_message(self, message: str | bytes) -> None:
        event: Any = None
        if isinstance(message, str):
            try:
                event = json.loads(message)
            except ValueError:
                event = None
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            self.record.received.append({"type": None, "raw": message})
            self.fail(
                "Invalid JSON: every client event is a JSON object with a 'type' "
                "(realtimesim got a binary frame or something else).",
                code="invalid_json",
                answering=None,
            )
            return
        self.record.received.append(event)
        self.sim._change()
        if not self.record.session:
            return  # refused at connect: the close is on its way
        handler = self._HANDLERS.get(event["type"])
        if handler is None:
            self.fail(
                f"Invalid value: '{event['type']}'. The realtimesim does not know this event type.",
                code="invalid_value",
                param="type",
                answering=event.get("event_id"),
            )
            return
        handler(self, event)

    def _on_session_update(self, event: dict[str, Any]) -> None:
        update = event.get("session")
        answering = event.get("event_id")
        if not isinstance(update, dict) or update.get("type") != "realtime":
            self.fail(
                "Invalid value: session.type must be 'realtime'.",
                code="invalid_value",
                param="session.type",
                answering=answering,
            )
            return
        session = self.record.session
        output = session["audio"]["output"]
        new_voice = ((update.get("audio") or {}).get("output") or {}).get("voice")
        spoke = any(r.audio for r in self.record.responses)
        if new_voice is not None and new_voice != output.get("voice") and spoke:
            self.fail(
                "Cannot update a conversation's voice if assistant audio is present.",
                code="cannot_update_voice",
                param="session.audio.output.voice",
                answering=answering,
            )
            return
        _merge(session, update)
        self.send({"type": "session.updated", "session": session})

    def _on_append(self, event: dict[str, Any]) -> None:
        try:
            pcm = base64.b64decode(str(event.get("audio", "")), validate=True)
        except (binascii.Error, ValueError):
            self.fail(
                "Invalid 'audio'. Expected base64-encoded audio bytes.",
                code="invalid_value",
                param="audio",
                answering=event.get("event_id"),
            )
            return
        self.record.buffer.extend(pcm)

    def _on_commit(self, event: dict[str, Any]) -> None:
        held_ms = len(self.record.buffer) // _BYTES_PER_MS
        if held_ms < MIN_COMMIT_MS:
            self.fail(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {held_ms}.00ms of audio.",
                code="input_audio_buffer_commit_empty",
                answering=event.get("event_id"),
            )
            return
        turn = bytes(self.record.buffer)
        self.record.buffer.clear()
        self.record.turns.append(turn)
        item_id = self.sim._id("item")
        previous = self.last_item
        self.send(
            {
                "type": "input_audio_buffer.committed",
                "item_id": item_id,
                "previous_item_id": previous,
            }
        )
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        self._add_item(item)
        if (self.record.session["audio"]["input"] or {}).get("transcription"):
            self._transcribe(item_id, held_ms)

    def _transcribe(self, item_id: str, held_ms: int) -> None:
        text = self.sim._heard.popleft() if self.sim._heard else f"({held_ms} ms of audio)"
        for word in re.findall(r"\S+\s*", text):
            self.send(
                {
                    "type": "conversation.item.input_audio_transcription.delta",
                    "item_id": item_id,
                    "content_index": 0,
                    "delta": word,
                }
            )
        self.send(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": item_id,
                "content_index": 0,
                "transcript": text,
                "usage": {"type": "duration", "seconds": held_ms / 1000},
            }
        )

    def _on_clear(self, event: dict[str, Any]) -> None:
        self.record.buffer.clear()
        self.send({"type": "input_audio_buffer.cleared"})

    def _on_item_create(self, event: dict[str, Any]) -> None:
        item = event.get("item")
        answering = event.get("event_id")
        kinds = ("message", "function_call_output")
        if not isinstance(item, dict) or item.get("type") not in kinds:
            self.fail(
                "Invalid value: item.type must be 'message' or 'function_call_output' "
                "(realtimesim).",
                code="invalid_value",
                param="item.type",
                answering=answering,
            )
            return
        if item["type"] == "function_call_output" and item.get("call_id") not in self.calls:
            self.fail(
                f"Tool call ID '{item.get('call_id')}' not found in conversation.",
                code="invalid_tool_call_id",
                param="item.call_id",
                answering=answering,
            )
            return
        self.record.items.append(item)
        stored = {"id": item.get("id") or self.sim._id("item"), "object": "realtime.item"}
        stored.update({k: v for k, v in item.items() if k != "id"})
        stored["status"] = "completed"
        self._add_item(stored)

    def _add_item(self, item: dict[str, Any]) -> None:
        previous = self.last_item
        self.items[item["id"]] = item
        self.last_item = item["id"]
        self.send({"type": "conversation.item.added", "previous_item_id": previous, "item": item})
        self.send({"type": "conversation.item.done", "previous_item_id": previous, "item": item})

    def _on_response_create(self, event: dict[str, Any]) -> None:
        params = event.get("response") or {}
        out_of_band = params.get("conversation") == "none"
        if not out_of_band:
            running = [r for r, _, p in self.active.values() if not p.out_of_band]
            if running:
                self.fail(
                    "Conversation already has an active response in progress: "
                    f"{running[0].id}. Wait until the response is finished before creating "
                    "a new one.",
                    code="conversation_already_has_active_response",
                    answering=event.get("event_id"),
                )
                return
        given = _input_text(params) if out_of_band else None
        turn: Turn = Say(given) if given else self.sim._next_turn(self.record)
        response = SimResponse(
            id=self.sim._id("resp"),
            turn=turn,
            out_of_band=out_of_band,
            started_at=trio.current_time(),
        )
        self.record.responses.append(response)
        metadata = params.get("metadata")
        context = _Context(out_of_band, metadata if isinstance(metadata, dict) else None)
        scope = trio.CancelScope()
        self.active[response.id] = (response, scope, context)
        assert self.nursery is not None
        self.nursery.start_soon(self._respond, response, scope, context)

    def _on_cancel(self, event: dict[str, Any]) -> None:
        wanted = event.get("response_id")
        if wanted is not None:
            found = self.active.get(wanted)
        else:
            in_band = [v for v in self.active.values() if not v[2].out_of_band]
            found = in_band[0] if in_band else None
        if found is None:
            self.fail(
                "Cancellation failed: no active response found.",
                code="response_cancel_not_active",
                answering=event.get("event_id"),
            )
            return
        response, scope, context = found
        scope.cancel()
        del self.active[response.id]
        response.status = "cancelled"
        output = context.output
        if output and output[-1]["status"] == "in_progress":
            output[-1]["status"] = "incomplete"
            if output[-1]["type"] == "message":
                output[-1]["content"] = [{"type": "output_audio", "transcript": context.said}]
            self.send(
                {
                    "type": "response.output_item.done",
                    "response_id": response.id,
                    "output_index": len(output) - 1,
                    "item": output[-1],
                }
            )
        self._done(response, context, {"type": "cancelled", "reason": "client_cancelled"})

    def _on_truncate(self, event: dict[str, Any]) -> None:
        answering = event.get("event_id")
        item_id = event.get("item_id")
        spoken = self.by_item.get(str(item_id))
        if spoken is None:
            self.fail(
                f"Invalid 'item_id': no assistant audio item with id '{item_id}'.",
                code="invalid_value",
                param="item_id",
                answering=answering,
            )
            return
        end = event.get("audio_end_ms")
        if event.get("content_index") != 0 or not isinstance(end, int) or end < 0:
            self.fail(
                "Invalid truncate: content_index must be 0 and audio_end_ms a whole number "
                "of milliseconds >= 0.",
                code="invalid_value",
                param="audio_end_ms",
                answering=answering,
            )
            return
        if end > spoken.audio_ms:
            self.fail(
                f"Audio content of {spoken.audio_ms}ms is already shorter than {end}ms",
                code="invalid_value",
                param="audio_end_ms",
                answering=answering,
            )
            return
        self.record.truncations.append(event)
        self.send(
            {
                "type": "conversation.item.truncated",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": end,
            }
        )

    _HANDLERS: dict[str, Callable[[_Link, dict[str, Any]], None]] = {
        "session.update": _on_session_update,
        "input_audio_buffer.append": _on_append,
        "input_audio_buffer.commit": _on_commit,
        "input_audio_buffer.clear": _on_clear,
        "conversation.item.create": _on_item_create,
        "response.create": _on_response_create,
        "response.cancel": _on_cancel,
        "conversation.item.truncate": _on_truncate,
    }

    # -- responses -------------------------------------------------------------------------

    def _response_object(
        self,
        response: SimResponse,
        context: _Context,
        *,
        status_details: dict[str, Any] | None = None,
        usage: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return ev.response_object(
            response,
            conversation_id=None if context.out_of_band else self.conversation_id,
            voice=str(self.record.session["audio"]["output"].get("voice") or ev.DEFAULT_VOICE),
            output=list(context.output),
            metadata=context.metadata,
            status_details=status_details,
            usage=usage,
        )

    async def _respond(
        self, response: SimResponse, scope: trio.CancelScope, context: _Context
    ) -> None:
        with scope:
            if scope.cancel_called:
                return
            turn = response.turn
            self.send(
                {
                    "type": "response.created",
                    "response": self._response_object(response, context),
                }
            )
            if isinstance(turn, Say):
                await trio.sleep(turn.delay)
                await self._speak(response, context, turn.text, turn.chunk_ms, turn.chunk_delay)
            elif isinstance(turn, CallTool):
                await trio.sleep(turn.delay)
                if turn.text:
                    await self._speak(response, context, turn.text, 100, turn.chunk_delay)
                await self._call(response, context, turn)
            else:
                await self._speak(
                    response, context, turn.text, 100, turn.chunk_delay, stop=turn.after_chunks
                )
                self._fail(response, context, turn)
                return
            del self.active[response.id]
            response.status = "completed"
            self._done(response, context, None)

    def _fail(self, response: SimResponse, context: _Context, turn: Fail) -> None:
        del self.active[response.id]
        if turn.error:
            self.fail(turn.message, code=turn.code, answering=None, error_type=turn.error_type)
        if turn.drop:
            response.status = "dropped"
            response.done_at = trio.current_time()
            self.close(turn.close_code, turn.error_type)
            return
        response.status = "failed"
        error = {"type": turn.error_type, "code": turn.code, "message": turn.message}
        self._done(response, context, {"type": "failed", "error": error})

    def _done(
        self, response: SimResponse, context: _Context, details: dict[str, Any] | None
    ) -> None:
        response.done_at = trio.current_time()
        heard_ms = sum(len(t) for t in self.record.turns) // _BYTES_PER_MS
        text_chars = len(str(self.record.session.get("instructions") or "")) + sum(
            len(json.dumps(i.get("content", i.get("output", "")))) for i in self.record.items
        )
        turn = response.turn
        usage = ev.usage(
            turn.usage if isinstance(turn, (Say, CallTool)) else None,
            audio_in_ms=heard_ms,
            text_in_chars=text_chars,
            audio_out_ms=response.audio_ms,
            said=context.said,
        )
        body = self._response_object(response, context, status_details=details, usage=usage)
        self.send({"type": "response.done", "response": body})

    async def _speak(
        self,
        response: SimResponse,
        context: _Context,
        text: str,
        chunk_ms: int,
        chunk_delay: float,
        *,
        stop: int | None = None,
    ) -> None:
        output: list[dict[str, Any]] = context.output
        index = len(output)
        item_id = self.sim._id("item")
        response.item_id = item_id
        self.by_item[item_id] = response
        item = ev.assistant_item(item_id, "in_progress", None)
        output.append(item)
        where = {"response_id": response.id, "item_id": item_id, "output_index": index}
        self.send(
            {
                "type": "response.output_item.added",
                "response_id": response.id,
                "output_index": index,
                "item": item,
            }
        )
        if not context.out_of_band:
            self.send(
                {
                    "type": "conversation.item.added",
                    "previous_item_id": self.last_item,
                    "item": item,
                }
            )
        part = {**where, "content_index": 0}
        self.send(
            {
                "type": "response.content_part.added",
                **part,
                "part": {"type": "audio", "transcript": ""},
            }
        )
        pcm = speech_pcm(text, RATE)
        step = chunk_ms * _BYTES_PER_MS
        pieces = [pcm[at : at + step] for at in range(0, len(pcm), step)] or [b""]
        words = re.findall(r"\S+\s*", text)
        context.said = ""
        for k, piece in enumerate(pieces):
            if stop is not None and k >= stop:
                return
            if k:
                await trio.sleep(chunk_delay)
            self.send(
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
                self.send({"type": "response.output_audio_transcript.delta", **part, "delta": word})
            self.sim._change()
        if stop is not None:
            return
        self.send({"type": "response.output_audio.done", **part})
        self.send({"type": "response.output_audio_transcript.done", **part, "transcript": text})
        self.send(
            {
                "type": "response.content_part.done",
                **part,
                "part": {"type": "audio", "transcript": text},
            }
        )
        item.update(ev.assistant_item(item_id, "completed", text))
        self.send(
            {
                "type": "response.output_item.done",
                "response_id": response.id,
                "output_index": index,
                "item": item,
            }
        )
        if not context.out_of_band:
            self.items[item_id] = item
            self.last_item = item_id
            self.send({"type": "conversation.item.done", "item": item})

    async def _call(self, response: SimResponse, context: _Context, turn: CallTool) -> None:
        output: list[dict[str, Any]] = context.output
        index = len(output)
        item_id = self.sim._id("item")
        call_id = turn.call_id or self.sim._id("call")
        arguments = json.dumps(turn.arguments)
        item = ev.function_call_item(item_id, "in_progress", call_id, turn.name, "")
        output.append(item)
        added = {"response_id": response.id, "output_index": index, "item": item}
        self.send({"type": "response.output_item.added", **added})
        if not context.out_of_band:
            self.send(
                {
                    "type": "conversation.item.added",
                    "previous_item_id": self.last_item,
                    "item": item,
                }
            )
        where = {"response_id": response.id, "item_id": item_id, "output_index": index}
        third = max(1, math.ceil(len(arguments) / 3))
        for at in range(0, len(arguments), third):
            if at:
                await trio.sleep(turn.chunk_delay)
            self.send(
                {
                    "type": "response.function_call_arguments.delta",
                    **where,
                    "call_id": call_id,
                    "delta": arguments[at : at + third],
                }
            )
        self.send(
            {
                "type": "response.function_call_arguments.done",
                **where,
                "call_id": call_id,
                "name": turn.name,
                "arguments": arguments,
            }
        )
        item.update(ev.function_call_item(item_id, "completed", call_id, turn.name, arguments))
        self.calls.add(call_id)
        self.send({"type": "response.output_item.done", **added})
        if not context.out_of_band:
            self.items[item_id] = item
            self.last_item = item_id
            self.send({"type": "conversation.item.done", "item": item})


def _merge(into: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _input_text(params: dict[str, Any]) -> str:
    """The text of the last user message in a response's own ``input``, or ""."""
    items = params.get("input")
    for item in reversed(items if isinstance(items, list) else []):
        if isinstance(item, dict) and item.get("role") == "user":
            for part in item.get("content") or []:
                if isinstance(part, dict) and part.get("type") == "input_text":
                    return str(part.get("text", ""))
    return ""


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
