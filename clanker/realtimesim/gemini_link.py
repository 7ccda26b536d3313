"""One Gemini Live sim connection: its reader and writer, and the client messages it honours
(model turns stream in `gemini_responses`).

Gemini has no error message: whatever it refuses ends the connection with a close code and a
reason (1007 for a message it cannot take, 1008 for an unknown model or entity), so every
refusal here is a `GeminiLink.close`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import TYPE_CHECKING, Any

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection

from clanker.realtimesim import gemini_messages as msg
from clanker.realtimesim import gemini_responses
from clanker.realtimesim.gemini_record import GeminiSimConnection, SimActivity
from clanker.realtimesim.gemini_responses import Context
from clanker.realtimesim.gemini_wire import WireError, read_client_message
from clanker.realtimesim.script import CallTool, Say, SimResponse

if TYPE_CHECKING:
    from clanker.realtimesim.gemini_server import GeminiLiveSim

MAX_REASON_BYTES = 123
"""A WebSocket close reason holds at most 123 bytes; longer reasons are cut, as Google's are."""

_MODEL = re.compile(r"^models/[A-Za-z0-9._-]+$")
_PCM = re.compile(r"^audio/pcm(?:;\s*rate=(\d+))?$")

BAD_KEY = "API key not valid. Please pass a valid API key."
GO_AWAY_ABORT = (
    "Connection aborted because the client failed to close the connection after receiving "
    "a GoAway signal once the session duration expired"
)


class _Close:
    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


class GeminiLink:
    """One connection's state and its reader, writer and model-turn tasks."""

    def __init__(
        self,
        sim: GeminiLiveSim,
        ws: WebSocketConnection,
        record: GeminiSimConnection,
        version: str,
    ) -> None:
        self.sim = sim
        self.ws = ws
        self.record = record
        self.version = version
        self.outbox_send, self.outbox = trio.open_memory_channel[bytes | _Close](math.inf)
        self.nursery: trio.Nursery | None = None
        self.closing = False
        self.streaming: tuple[SimResponse, trio.CancelScope, Context] | None = None
        self.calls: dict[str, str] = {}
        """Tool calls the model waits on: id → name."""

    # -- plumbing --------------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        """Queue one server message (Gemini sends JSON in binary frames)."""
        self.record.sent.append(message)
        self.outbox_send.send_nowait(json.dumps(message).encode())
        self.sim._change()

    def close(self, code: int, reason: str) -> None:
        """End the connection the way Gemini reports an error: a close code and reason."""
        if self.closing:
            return
        self.closing = True
        reason = reason.encode()[:MAX_REASON_BYTES].decode("utf-8", "ignore")
        self.record.closed_by = self.record.closed_by or "server"
        self.record.close_code, self.record.close_reason = code, reason
        self.outbox_send.send_nowait(_Close(code, reason))
        self.sim._change()

    async def run(self) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                nursery.start_soon(self._write)
                await self._read()
                nursery.cancel_scope.cancel()
        finally:
            self.record.closed_at = trio.current_time()
            self.record.closed_by = self.record.closed_by or "client"
            self.sim._change()

    async def _write(self) -> None:
        async for item in self.outbox:
            if isinstance(item, _Close):
                with trio.move_on_after(1.0):
                    await self.ws.aclose(item.code, item.reason)
                # trio-websocket leaves the TCP stream open when the peer does not answer
                # the close; a closed connection must really close.
                await self.ws._stream.aclose()
                return
            try:
                await self.ws.send_message(item)
            except ConnectionClosed:
                return

    async def _read(self) -> None:
        while True:
            try:
                frame = await self.ws.get_message()
            except ConnectionClosed:
                return
            self._on_frame(frame)

    # -- client messages -------------------------------------------------------------------

    def _on_frame(self, frame: str | bytes) -> None:
        if self.closing:
            return  # the close is on its way
        try:
            kind, body = read_client_message(frame)
        except WireError as exc:
            text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
            self.record.received.append({"unreadable": text})
            self.close(1007, str(exc))
            return
        self.record.received.append({kind: body})
        self.sim._change()
        if not self.record.setup:
            if kind != "setup":
                self.close(1007, "Invalid request: the first message must be a setup message.")
                return
            self._on_setup(body)
            return
        if kind == "setup":
            self.close(1007, "Invalid request: setup may only be sent once per connection.")
        elif kind == "realtimeInput":
            self._on_realtime_input(body)
        elif kind == "clientContent":
            self._on_client_content(body)
        else:
            self._on_tool_response(body)

    def _on_setup(self, setup: dict[str, Any]) -> None:
        if not self.record.authorised:
            self.close(1007, BAD_KEY)
            return
        model = str(setup.get("model", ""))
        known = self.sim.models is None or model.removeprefix("models/") in self.sim.models
        if not _MODEL.match(model) or not known:
            self.close(
                1008,
                f"{model or 'models/'} is not found for API version {self.version}, or is not "
                "supported for bidiGenerateContent. Call ListModels to see the list of "
                "available models and their supported methods.",
            )
            return
        self.record.setup = setup
        self.send(msg.setup_complete())

    @property
    def manual(self) -> bool:
        """Automatic activity detection is off: the client sends activity signals."""
        config = self.record.setup.get("realtimeInputConfig", {})
        return config.get("automaticActivityDetection", {}).get("disabled") is True

    def _on_realtime_input(self, body: dict[str, Any]) -> None:
        if ("activityStart" in body or "activityEnd" in body) and not self.manual:
            self.close(
                1007,
                "Explicit activity control is not supported when automatic activity "
                "detection is enabled.",
            )
            return
        if "activityStart" in body:
            if self.record.activity is not None:
                self.close(1007, "Invalid argument: activityStart while an activity is open.")
                return
            if self.calls:  # the user cut in while the model waited on its tool calls
                self.send(msg.tool_call_cancellation(list(self.calls)))
                self.calls.clear()
            if self.streaming is not None:
                self.interrupt()  # START_OF_ACTIVITY_INTERRUPTS, whatever the setup says
            self.record.activity = SimActivity(started_at=trio.current_time())
        blobs = ([body["audio"]] if "audio" in body else []) + body.get("mediaChunks", [])
        for blob in blobs:
            if not self._take_audio(blob):
                return
        if "text" in body and self.record.activity is not None:
            self.record.activity.texts.append(body["text"])
        if body.get("audioStreamEnd") and self.manual:
            self.close(
                1007,
                "Invalid argument: audioStreamEnd is only for automatic activity detection.",
            )
            return
        if "activityEnd" in body:
            turn = self.record.activity
            if turn is None:
                self.close(1007, "Invalid argument: activityEnd without an activityStart.")
                return
            turn.ended_at = trio.current_time()
            self.record.turns.append(turn)
            self.record.activity = None
            if "inputAudioTranscription" in self.record.setup and turn.audio:
                self._transcribe(turn)
            self.respond()

    def _take_audio(self, blob: dict[str, Any]) -> bool:
        mime = str(blob.get("mimeType", ""))
        match = _PCM.match(mime)
        if match is None:
            self.close(1007, f"Unsupported audio mime type {mime!r} (realtimesim takes audio/pcm).")
            return False
        data = str(blob.get("data", "")).replace("-", "+").replace("_", "/")
        try:
            pcm = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):  # read_client_message checked it already
            self.close(1007, "Invalid value at 'realtime_input.audio.data' (TYPE_BYTES)")
            return False
        activity = self.record.activity
        if activity is None:
            self.record.outside_audio += len(pcm)  # not in any turn (TURN_INCLUDES_ONLY_ACTIVITY)
        else:
            activity.audio.extend(pcm)
            activity.rate = int(match.group(1) or activity.rate)
        return True

    def _transcribe(self, turn: SimActivity) -> None:
        text = self.sim._heard.popleft() if self.sim._heard else f"({turn.audio_ms} ms of audio)"
        for word in re.findall(r"\S+\s*", text):
            self.send(msg.input_transcription(word))

    def _on_client_content(self, body: dict[str, Any]) -> None:
        for content in body.get("turns", []):
            if content.get("role", "user") != "user":
                continue
            for part in content.get("parts", []):
                if "text" in part:
                    self.record.content_texts.append(part["text"])
        if self.streaming is not None:
            self.interrupt()  # a clientContent message interrupts the model's generation
        if body.get("turnComplete"):
            self.respond()

    def _on_tool_response(self, body: dict[str, Any]) -> None:
        answered = False
        for response in body.get("functionResponses", []):
            call_id = response.get("id")
            if call_id not in self.calls:
                self.close(1008, "Requested entity was not found.")
                return
            del self.calls[call_id]
            self.record.tool_responses.append(response)
            answered = True
        if answered and not self.calls:
            self.respond()  # every call is answered: the model goes on by itself

    # -- model turns -----------------------------------------------------------------------

    def respond(self) -> None:
        """Start the next model turn (the next scripted one, else the sim's default)."""
        if self.streaming is not None:
            self.interrupt()
        turn = self.sim._next_turn(self.record)
        response = SimResponse(
            id=self.sim._id("turn"), turn=turn, out_of_band=False, started_at=trio.current_time()
        )
        response.item_id = response.id
        self.record.responses.append(response)
        scope = trio.CancelScope()
        context = Context()
        self.streaming = (response, scope, context)
        assert self.nursery is not None
        self.nursery.start_soon(gemini_responses.stream, self, response, scope, context)

    def interrupt(self) -> None:
        """Cut the model turn in progress: ``interrupted``, then its ``turnComplete``."""
        assert self.streaming is not None
        response, scope, _ = self.streaming
        scope.cancel()
        self.streaming = None
        response.status = "interrupted"
        response.done_at = trio.current_time()
        self.send(msg.interrupted())
        self.send(msg.turn_complete(self.usage(response)))

    def usage(self, response: SimResponse) -> dict[str, Any]:
        turn = response.turn
        instructions = self.record.setup.get("systemInstruction", {}).get("parts", [])
        texts = [str(p.get("text", "")) for p in instructions]
        texts += [t for turn_ in self.record.turns for t in turn_.texts]
        texts += self.record.content_texts
        return msg.usage(
            turn.usage if isinstance(turn, (Say, CallTool)) else None,
            audio_in_ms=sum(t.audio_ms for t in self.record.turns),
            text_in_chars=sum(len(t) for t in texts),
            audio_out_ms=response.audio_ms,
        )

    def go_away(self, seconds: float, close: bool) -> None:
        """Warn that the connection ends in ``seconds``; with ``close``, end it then."""
        self.send(msg.go_away(seconds))
        if close:
            assert self.nursery is not None
            self.nursery.start_soon(self._close_after, seconds)

    async def _close_after(self, seconds: float) -> None:
        await trio.sleep(seconds)
        self.close(1008, GO_AWAY_ABORT)
