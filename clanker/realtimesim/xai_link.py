"""One xAI sim connection: the OpenAI sim's plumbing (`Link`: reader, writer, the outbox)
with the Grok Voice Agent's client events (responses stream in `xai_responses`).

What differs from the OpenAI connection: the session is flat (``voice``,
``turn_detection``, ``instructions`` at its top) and checked field by field; PCM takes a
rate; a committed turn is always transcribed (``…input_audio_transcription.completed``);
``conversation.item.create`` also takes a ``force_message`` (the line is spoken as a
response of its own, taking no scripted turn) and ``conversation.item.delete`` exists;
there is no truncate and no out-of-band response.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import trio
from trio_websocket import WebSocketConnection

from clanker.realtimesim import xai_events as ev
from clanker.realtimesim import xai_responses
from clanker.realtimesim._link import Link, _merge
from clanker.realtimesim.script import Say, SimConnection, SimResponse, Turn
from clanker.realtimesim.xai_responses import XaiContext

if TYPE_CHECKING:
    from clanker.realtimesim.xai_server import XaiRealtimeSim


class XaiLink(Link):
    """One connection's conversation state and its reader, writer and response tasks."""

    sim: XaiRealtimeSim

    def __init__(self, sim: XaiRealtimeSim, ws: WebSocketConnection, record: SimConnection) -> None:
        super().__init__(sim, ws, record)
        self.running: dict[str, tuple[SimResponse, trio.CancelScope, XaiContext]] = {}
        """The response in progress (at most one: xAI runs one at a time)."""

    # -- plumbing --------------------------------------------------------------------------

    def send(self, event: dict[str, Any]) -> None:
        event.setdefault("event_id", self.sim._id("event"))
        ordered = {"type": event.pop("type"), **event}
        text = json.dumps(ordered)
        self.record.sent.append(json.loads(text))  # a copy: later updates do not rewrite it
        self.outbox_send.send_nowait(text)
        self.sim._change()

    def fail(self, message: str, *, code: str | None, answering: str | None, **kw: Any) -> None:
        self.send(ev.error(self.sim._id("event"), message, code=code, answering=answering, **kw))

    async def run(self) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                nursery.start_soon(self._write)
                if self.sim.ping_interval is not None:
                    nursery.start_soon(self._ping, self.sim.ping_interval)
                self.record.session = ev.default_session(self.record.model)
                self.send(
                    {
                        "type": "conversation.created",
                        "conversation": {
                            "id": self.conversation_id,
                            "object": "realtime.conversation",
                        },
                    }
                )
                self.send({"type": "session.created", "session": self.record.session})
                await self._read()
                nursery.cancel_scope.cancel()
        finally:
            self.record.closed_at = trio.current_time()
            if not self.record.closed_by:
                self.record.closed_by = "client"
            self.sim._change()

    async def _ping(self, interval: float) -> None:
        while True:
            await trio.sleep(interval)
            self.send({"type": "ping", "timestamp": int(trio.current_time() * 1000)})

    # -- client events ---------------------------------------------------------------------

    def _refuse(
        self, event: dict[str, Any], message: str, param: str, code: str = "invalid_value"
    ) -> None:
        self.fail(message, code=code, param=param, answering=event.get("event_id"))

    def _on_session_update(self, event: dict[str, Any]) -> None:
        update = event.get("session")
        if not isinstance(update, dict):
            self._refuse(event, "Invalid 'session': expected an object.", "session")
            return
        problem = _session_problem(update)
        if problem is not None:
            self._refuse(event, *problem)
            return
        _merge(self.record.session, update)
        if "turn_detection" in update:  # null replaces, it does not merge
            self.record.session["turn_detection"] = update["turn_detection"]
        if "tools" in update:
            self.record.session["tools"] = update["tools"]
        for direction, config in (update.get("audio") or {}).items():
            if "format" in config:  # a format is replaced whole (a G.711 one has no rate)
                self.record.session["audio"][direction]["format"] = dict(config["format"])
        self.send({"type": "session.updated", "session": self.record.session})

    def _on_append(self, event: dict[str, Any]) -> None:
        try:
            pcm = base64.b64decode(str(event.get("audio", "")), validate=True)
        except (binascii.Error, ValueError):
            self._refuse(event, "Invalid 'audio': expected base64-encoded audio bytes.", "audio")
            return
        self.record.buffer.extend(pcm)

    def _on_commit(self, event: dict[str, Any]) -> None:
        if not self.record.buffer:
            self.fail(
                "Error committing input audio buffer: the buffer is empty.",
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
        item = ev.user_audio_item(item_id)
        self.items[item_id] = item
        self.last_item = item_id
        self.send({"type": "conversation.item.added", "previous_item_id": previous, "item": item})
        held_ms = len(turn) * 1000 // (ev.rate_of(self.record.session, "input") * 2)
        text = self.sim._heard.popleft() if self.sim._heard else f"({held_ms} ms of audio)"
        self.send(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": item_id,
                "transcript": text,
            }
        )

    def _on_clear(self, event: dict[str, Any]) -> None:
        self.record.buffer.clear()
        self.send({"type": "input_audio_buffer.cleared"})

    def _on_item_create(self, event: dict[str, Any]) -> None:
        item = event.get("item")
        kinds = ("message", "function_call_output", "force_message")
        if not isinstance(item, dict) or item.get("type") not in kinds:
            self._refuse(
                event,
                "Invalid value: item.type must be 'message', 'function_call_output' or "
                "'force_message' (xAI sim).",
                "item.type",
            )
            return
        if item["type"] == "function_call_output" and item.get("call_id") not in self.calls:
            self._refuse(
                event,
                f"Tool call ID '{item.get('call_id')}' not found in conversation.",
                "item.call_id",
                code="invalid_tool_call_id",
            )
            return
        if item["type"] == "force_message":
            self._force_message(event, item)
            return
        self.record.items.append(item)
        stored = {"id": item.get("id") or self.sim._id("item"), "object": "realtime.item"}
        stored.update({k: v for k, v in item.items() if k != "id"})
        stored["status"] = "completed"
        previous = self.last_item
        self.items[stored["id"]] = stored
        self.last_item = stored["id"]
        self.send({"type": "conversation.item.added", "previous_item_id": previous, "item": stored})

    def _force_message(self, event: dict[str, Any], item: dict[str, Any]) -> None:
        parts = item.get("content")
        texts = (
            [p.get("text") for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]
            if isinstance(parts, list)
            else []
        )
        line = "".join(t for t in texts if t)
        if not line.strip():
            self._refuse(
                event, "A force_message needs the text to say in item.content.", "item.content"
            )
            return
        if self._busy(event):
            return
        self.record.items.append(item)
        self._start(Say(line), exact=True)

    def _on_item_delete(self, event: dict[str, Any]) -> None:
        item_id = event.get("item_id")
        if not isinstance(item_id, str) or item_id not in self.items:
            self._refuse(
                event, f"Item with item_id '{item_id}' not found.", "item_id", code="item_not_found"
            )
            return
        del self.items[item_id]
        self.send({"type": "conversation.item.deleted", "item_id": item_id})

    def _busy(self, event: dict[str, Any]) -> bool:
        if not self.running:
            return False
        running = next(iter(self.running))
        self.fail(
            f"Conversation already has an active response in progress: {running}. Wait until "
            "the response is finished before creating a new one.",
            code="conversation_already_has_active_response",
            answering=event.get("event_id"),
        )
        return True

    def _on_response_create(self, event: dict[str, Any]) -> None:
        params = event.get("response")
        if params is not None and not isinstance(params, dict):
            self._refuse(event, "Invalid 'response': expected an object.", "response")
            return
        if self._busy(event):
            return
        self._start(self.sim._next_turn(self.record), exact=False)

    def _start(self, turn: Turn, *, exact: bool) -> None:
        """Stream ``turn``; ``exact`` (a force_message's line) is recorded as
        `SimResponse.out_of_band`, since it took no scripted turn."""
        response = SimResponse(
            id=self.sim._id("resp"), turn=turn, out_of_band=exact, started_at=trio.current_time()
        )
        self.record.responses.append(response)
        context = XaiContext(rate=ev.rate_of(self.record.session, "output"))
        scope = trio.CancelScope()
        self.running[response.id] = (response, scope, context)
        assert self.nursery is not None
        self.nursery.start_soon(xai_responses.respond, self, response, scope, context)

    def _on_cancel(self, event: dict[str, Any]) -> None:
        wanted = event.get("response_id")
        running = self.running.values()
        found = self.running.get(wanted) if wanted is not None else next(iter(running), None)
        if found is None:
            self.fail(
                "Cancellation failed: no active response found.",
                code="response_cancel_not_active",
                answering=event.get("event_id"),
            )
            return
        response, scope, context = found
        scope.cancel()
        del self.running[response.id]
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
        xai_responses.finish(
            self, response, context, {"type": "cancelled", "reason": "client_cancelled"}
        )

    # `Link._on_message` calls each handler with the link itself, an XaiLink here.
    _HANDLERS = cast(
        "dict[str, Callable[[Link, dict[str, Any]], None]]",
        {
            "session.update": _on_session_update,
            "input_audio_buffer.append": _on_append,
            "input_audio_buffer.commit": _on_commit,
            "input_audio_buffer.clear": _on_clear,
            "conversation.item.create": _on_item_create,
            "conversation.item.delete": _on_item_delete,
            "response.create": _on_response_create,
            "response.cancel": _on_cancel,
        },
    )


_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _session_problem(update: dict[str, Any]) -> tuple[str, str] | None:
    """What is wrong with a ``session.update``'s session, as (message, param), or None."""
    for key in update:
        if key not in ev.SESSION_FIELDS:
            return (f"Unknown parameter: 'session.{key}'.", f"session.{key}")
    if "instructions" in update and not isinstance(update["instructions"], str):
        return ("Invalid 'session.instructions': expected a string.", "session.instructions")
    voice = update.get("voice")
    if "voice" in update and (not isinstance(voice, str) or voice.lower() not in ev.VOICES):
        return (
            f"Invalid value: '{voice}'. Supported voices are {sorted(ev.VOICES)} (xAI sim).",
            "session.voice",
        )
    if "turn_detection" in update:
        detection = update["turn_detection"]
        if detection is not None and (
            not isinstance(detection, dict) or detection.get("type") != "server_vad"
        ):
            return (
                'Invalid \'session.turn_detection\': null or {"type": "server_vad", …}.',
                "session.turn_detection",
            )
    audio = update.get("audio")
    if "audio" in update:
        if not isinstance(audio, dict) or set(audio) - {"input", "output"}:
            return ("Invalid 'session.audio': expected input and/or output.", "session.audio")
        for direction, config in audio.items():
            where = f"session.audio.{direction}"
            allowed = {"format", "transcription"} if direction == "input" else {"format", "speed"}
            if not isinstance(config, dict) or set(config) - allowed:
                return (f"Invalid '{where}': only {sorted(allowed)}.", where)
            fmt = config.get("format")
            if "format" in config and not _format_ok(fmt):
                return (
                    f"Invalid '{where}.format': audio/pcm at {sorted(ev.PCM_RATES)} Hz, "
                    "audio/pcmu or audio/pcma.",
                    f"{where}.format",
                )
    tools = update.get("tools")
    if "tools" in update:
        if not isinstance(tools, list):
            return ("Invalid 'session.tools': expected an array.", "session.tools")
        for i, tool in enumerate(tools):
            where = f"session.tools[{i}]"
            if not isinstance(tool, dict) or tool.get("type") not in ev.TOOL_TYPES:
                return (f"Invalid '{where}.type': one of {sorted(ev.TOOL_TYPES)}.", where)
            if tool["type"] == "function" and (
                not _NAME.match(str(tool.get("name", "")))
                or not isinstance(tool.get("parameters"), dict)
            ):
                return (f"Invalid '{where}': a function needs a name and parameters.", where)
    reasoning = update.get("reasoning")
    if "reasoning" in update and (
        not isinstance(reasoning, dict) or reasoning.get("effort") not in ("high", "none")
    ):
        return ("Invalid 'session.reasoning.effort': 'high' or 'none'.", "session.reasoning.effort")
    return None


def _format_ok(fmt: Any) -> bool:
    if not isinstance(fmt, dict):
        return False
    if fmt.get("type") in ev.G711:
        return set(fmt) <= {"type", "rate"} and fmt.get("rate", 8_000) == 8_000
    return (
        fmt.get("type") == "audio/pcm"
        and set(fmt) == {"type", "rate"}
        and fmt["rate"] in ev.PCM_RATES
    )
