"""One ElevenLabs sim connection: the OpenAI sim's plumbing (`Link`: reader, writer, the
outbox) with an agent's messages and its server-side turn-taking.

The agent takes turns itself, as ElevenLabs agents do: a small voice activity detector on
the member's audio (a chunk is speech when its RMS is over ``speech_threshold``) opens a
turn; ``end_of_turn_ms`` of silent audio, or as long without audio at all, closes it (the
``user_transcript``), and the agent answers with the next scripted turn. Speech for
``barge_in_ms`` while the agent speaks interrupts it (``interruption``, then
``agent_response_correction`` with what it had said). A ``user_message`` is a turn too. A
message the API would refuse gets its ``error`` event and the connection closes (1008), as
the API closes on every error.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import trio
from trio_websocket import WebSocketConnection

from clanker.realtimesim import elevenlabs_events as ev
from clanker.realtimesim import elevenlabs_responses
from clanker.realtimesim._link import Link
from clanker.realtimesim.elevenlabs_responses import AgentTurn
from clanker.realtimesim.script import Say, SimResponse, Turn

if TYPE_CHECKING:
    from clanker.realtimesim.elevenlabs_server import ElevenLabsAgentSim, ElevenLabsConnection


class ElevenLabsLink(Link):
    """One conversation's state: initiation, the member's turn, the agent's turn."""

    sim: ElevenLabsAgentSim
    record: ElevenLabsConnection

    def __init__(
        self, sim: ElevenLabsAgentSim, ws: WebSocketConnection, record: ElevenLabsConnection
    ) -> None:
        super().__init__(sim, ws, record)
        self.initiated = False
        self.closing = False
        self.events = 0
        self.speaking: tuple[SimResponse, trio.CancelScope, AgentTurn] | None = None
        self.waiting: dict[str, str] = {}
        """Client tool calls the agent waits for: call id → tool name."""
        self.in_turn = False
        self.speech_ms = 0
        self.silence_ms = 0
        self.timer = trio.CancelScope()
        self.pinged: dict[int, float] = {}
        self.rtt_ms: int | None = None

    # -- plumbing --------------------------------------------------------------------------

    def send(self, event: dict[str, Any]) -> None:
        text = json.dumps(event)
        self.record.sent.append(json.loads(text))
        self.outbox_send.send_nowait(text)
        self.sim._change()

    def close(self, code: int, reason: str) -> None:
        self.closing = True
        self.timer.cancel()
        super().close(code, reason)

    def refuse(self, error_type: str | None, message: str, reason: str = "") -> None:
        """The API's answer to anything wrong: an ``error``, then a 1008 close."""
        self.send(ev.error(1008, message, error_type=error_type, reason=reason or message))
        self.close(1008, reason or error_type or "invalid input")

    async def run(self) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                nursery.start_soon(self._write)
                if not self.record.authorised:
                    self.refuse(
                        None, "Authentication failed (ElevenLabs sim).", "authentication failed"
                    )
                elif self.record.model != self.sim.agent_id:
                    self.refuse(None, f"Agent '{self.record.model}' not found.", "agent not found")
                elif self.sim.ping_interval is not None:
                    nursery.start_soon(self._ping, self.sim.ping_interval)
                await self._read()
                nursery.cancel_scope.cancel()
        finally:
            self.record.closed_at = trio.current_time()
            if not self.record.closed_by:
                self.record.closed_by = "client"
            self.sim._change()

    async def _ping(self, interval: float) -> None:
        serial = 0
        while True:
            await trio.sleep(interval)
            serial += 1
            self.pinged[serial] = trio.current_time()
            self.send(ev.ping(serial, self.rtt_ms))

    def next_event(self) -> int:
        self.events += 1
        return self.events

    # -- client messages -------------------------------------------------------------------

    def _on_message(self, message: str | bytes) -> None:
        if self.closing:
            return
        event: Any = None
        if isinstance(message, str):
            try:
                event = json.loads(message)
            except ValueError:
                event = None
        if not isinstance(event, dict):
            self.record.received.append({"type": None, "raw": message})
            self.refuse("invalid_message", "Invalid message: expected a JSON object.")
            return
        self.record.received.append(event)
        self.sim._change()
        kind = event.get("type", "user_audio_chunk" if "user_audio_chunk" in event else None)
        if not self.initiated and kind != "conversation_initiation_client_data":
            self.refuse(
                "invalid_message",
                "The first message must be conversation_initiation_client_data.",
            )
            return
        handler = self._MESSAGES.get(str(kind))
        if handler is None:
            self.refuse("invalid_message", f"Unknown message type '{kind}'.")
            return
        handler(self, event)

    def _on_initiation(self, event: dict[str, Any]) -> None:
        if self.initiated:
            self.refuse("invalid_message", "The conversation is already initiated.")
            return
        problem = ev.initiation_problem(event)
        if problem is not None:
            self.refuse(*problem)
            return
        override = event.get("conversation_config_override") or {}
        if override and not self.sim.allow_overrides:
            self.refuse(
                "override_error",
                "Overrides are not allowed for this agent (enable them in its security settings).",
            )
            return
        self.initiated = True
        agent = override.get("agent") or {}
        self.record.session = {
            "initiation": event,
            "prompt": (agent.get("prompt") or {}).get("prompt"),
            "first_message": agent.get("first_message", self.sim.first_message),
            "voice_id": (override.get("tts") or {}).get("voice_id"),
            "input_format": self.sim.input_format,
            "output_format": self.sim.output_format,
        }
        self.send(
            ev.metadata(
                self.conversation_id,
                output_format=self.sim.output_format,
                input_format=self.sim.input_format,
            )
        )
        first = self.record.session["first_message"]
        if first:
            self.start(Say(first))

    def _on_audio(self, event: dict[str, Any]) -> None:
        try:
            pcm = base64.b64decode(str(event.get("user_audio_chunk", "")), validate=True)
        except (binascii.Error, ValueError):
            self.refuse("invalid_message", "Invalid 'user_audio_chunk': expected base64 audio.")
            return
        self.hear(pcm)

    def hear(self, pcm: bytes) -> None:
        """The agent's voice activity detection on one chunk of the member's audio."""
        rate = ev.rate_of(self.sim.input_format)
        ms = len(pcm) * 1000 // (rate * 2)
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64)
        loud = (
            bool(samples.size) and float(np.sqrt(np.mean(samples**2))) > self.sim.speech_threshold
        )
        if loud:
            self.record.buffer.extend(pcm)
            self.in_turn = True
            self.speech_ms += ms
            self.silence_ms = 0
            if self.speaking is not None and self.speech_ms >= self.sim.barge_in_ms:
                self.interrupt()
            self.arm_timer()
        elif self.in_turn:
            self.record.buffer.extend(pcm)
            self.silence_ms += ms
            if self.silence_ms >= self.sim.end_of_turn_ms:
                self.end_turn()
            else:
                self.arm_timer()

    def arm_timer(self) -> None:
        """(Re)start the end of the member's turn: ``end_of_turn_ms`` of trio time from now."""
        self.timer.cancel()
        self.timer = trio.CancelScope()
        assert self.nursery is not None
        self.nursery.start_soon(self._turn_timer, self.timer)

    async def _turn_timer(self, scope: trio.CancelScope) -> None:
        with scope:
            await trio.sleep(self.sim.end_of_turn_ms / 1000)
            self.end_turn()

    def end_turn(self) -> None:
        if not self.in_turn:
            return
        self.timer.cancel()
        turn = bytes(self.record.buffer)
        self.record.buffer.clear()
        self.in_turn = False
        self.speech_ms = self.silence_ms = 0
        self.record.turns.append(turn)
        ms = len(turn) * 1000 // (ev.rate_of(self.sim.input_format) * 2)
        text = self.sim._heard.popleft() if self.sim._heard else f"({ms} ms of audio)"
        self.send(ev.user_transcript(text, self.next_event()))
        self.answer()

    def answer(self) -> None:
        """The agent answers, on its own: the next scripted turn (or the default)."""
        self.start(self.sim._next_turn(self.record))

    def start(self, script: Turn) -> None:
        event_id = self.next_event()
        response = SimResponse(
            id=str(event_id), turn=script, out_of_band=False, started_at=trio.current_time()
        )
        self.record.responses.append(response)
        turn = AgentTurn(event_id=event_id, rate=ev.rate_of(self.sim.output_format))
        scope = trio.CancelScope()
        self.speaking = (response, scope, turn)
        assert self.nursery is not None
        self.nursery.start_soon(elevenlabs_responses.respond, self, response, scope, turn)

    def interrupt(self) -> None:
        """The member spoke over the agent: it stops, and says what it had said."""
        if self.speaking is None:
            return
        response, scope, turn = self.speaking
        scope.cancel()
        self.speaking = None
        response.status = "interrupted"
        response.done_at = trio.current_time()
        self.record.interruptions.append(turn.event_id)
        self.send(ev.interruption(turn.event_id))
        if turn.text:
            self.send(ev.correction(turn.text, turn.said, turn.event_id))

    def _on_user_message(self, event: dict[str, Any]) -> None:
        text = event.get("text")
        if text is not None and not isinstance(text, str):
            self.refuse("missing_fields", "user_message.text must be a string or null.")
            return
        if not text:
            return  # null: the text-only mode signal, nothing to answer
        self.interrupt()
        self.record.text_turns.append(text)
        self.answer()

    def _on_user_activity(self, event: dict[str, Any]) -> None:
        self.record.activity.append(trio.current_time())
        if self.in_turn:
            self.arm_timer()

    def _on_contextual_update(self, event: dict[str, Any]) -> None:
        if not isinstance(event.get("text"), str):
            self.refuse("missing_fields", "contextual_update needs text.")
            return
        self.record.contexts.append(event["text"])

    def _on_pong(self, event: dict[str, Any]) -> None:
        event_id = event.get("event_id")
        if not isinstance(event_id, int) or isinstance(event_id, bool):
            self.refuse("missing_fields", "pong needs the ping's event_id (an integer).")
            return
        self.record.pongs.append(event_id)
        sent = self.pinged.pop(event_id, None)
        if sent is not None:
            self.rtt_ms = round((trio.current_time() - sent) * 1000)

    def _on_tool_result(self, event: dict[str, Any]) -> None:
        call_id = event.get("tool_call_id")
        if not isinstance(event.get("result"), str) or not isinstance(event.get("is_error"), bool):
            self.refuse(
                "missing_fields", "client_tool_result needs tool_call_id, result and is_error."
            )
            return
        if call_id not in self.waiting:
            self.refuse("value_error", f"No client tool call with id '{call_id}' is pending.")
            return
        del self.waiting[call_id]
        self.record.tool_results.append(event)
        self.answer()

    def _on_other(self, event: dict[str, Any]) -> None:
        """Documented messages the sim records and does nothing with."""

    _MESSAGES: dict[str, Callable[[ElevenLabsLink, dict[str, Any]], None]] = {
        "conversation_initiation_client_data": _on_initiation,
        "user_audio_chunk": _on_audio,
        "user_message": _on_user_message,
        "user_activity": _on_user_activity,
        "contextual_update": _on_contextual_update,
        "pong": _on_pong,
        "client_tool_result": _on_tool_result,
        "feedback": _on_other,
        "mcp_tool_approval_result": _on_other,
        "multimodal_message": _on_other,
    }
