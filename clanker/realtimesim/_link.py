"""One realtimesim connection: its conversation state, its reader and writer, and the
client events it honours (responses stream in `_responses`)."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection

from clanker.realtimesim import _responses
from clanker.realtimesim import openai_events as ev
from clanker.realtimesim._responses import BYTES_PER_MS, Context
from clanker.realtimesim.script import Say, SimConnection, SimResponse, Turn

if TYPE_CHECKING:
    from clanker.realtimesim.server import RealtimeSim

MIN_COMMIT_MS = 100


class _Close:
    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


class Link:
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
        self.active: dict[str, tuple[SimResponse, trio.CancelScope, Context]] = {}
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
        held_ms = len(self.record.buffer) // BYTES_PER_MS
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
        context = Context(out_of_band, metadata if isinstance(metadata, dict) else None)
        scope = trio.CancelScope()
        self.active[response.id] = (response, scope, context)
        assert self.nursery is not None
        self.nursery.start_soon(_responses.respond, self, response, scope, context)

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
        _responses.finish(
            self, response, context, {"type": "cancelled", "reason": "client_cancelled"}
        )

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

    _HANDLERS: dict[str, Callable[[Link, dict[str, Any]], None]] = {
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
