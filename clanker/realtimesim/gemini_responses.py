"""How the Gemini sim streams one model turn, paced on trio time.

`stream` runs in the connection's nursery inside a cancel scope; an interruption cancels the
scope and the connection writes the ``interrupted`` / ``turnComplete`` ending itself.

The family's turns, read for Gemini:

* `Say` — the audio (24 kHz ``inlineData`` pieces of ``chunk_ms``, ``chunk_delay`` apart) with
  its ``outputTranscription`` in word fragments when the setup asked for it, then
  ``generationComplete`` and ``turnComplete`` with ``usageMetadata``.
* `CallTool` — optional speech first, then a ``toolCall``; the model waits for the
  ``toolResponse`` and its next turn is the continuation.
* `Fail` — ``after_chunks`` pieces of ``text``, then with ``drop=True`` the socket closes with
  ``close_code`` and ``message`` as the reason (how Gemini reports an internal error);
  otherwise the turn ends early with ``turnComplete`` and ``turnCompleteReason`` ``code`` (by
  default ``RESPONSE_REJECTED``). ``error`` and ``error_type`` are not used: Gemini has no
  error message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio

from clanker.realtimesim import gemini_messages as msg
from clanker.realtimesim.script import RATE, CallTool, Say, SimResponse
from clanker.voicesim import speech_pcm

if TYPE_CHECKING:
    from clanker.realtimesim.gemini_link import GeminiLink

BYTES_PER_MS = RATE * 2 // 1000
REJECTED = "RESPONSE_REJECTED"


@dataclass
class Context:
    """What a model turn in progress carries besides its `SimResponse`."""

    said: str = ""


async def stream(
    link: GeminiLink, response: SimResponse, scope: trio.CancelScope, context: Context
) -> None:
    with scope:
        turn = response.turn
        if isinstance(turn, Say):
            await trio.sleep(turn.delay)
            await speak(link, response, context, turn.text, turn.chunk_ms, turn.chunk_delay)
            link.streaming = None
            response.status = "completed"
            response.done_at = trio.current_time()
            link.send(msg.generation_complete())
            link.send(msg.turn_complete(link.usage(response)))
        elif isinstance(turn, CallTool):
            await trio.sleep(turn.delay)
            if turn.text:
                await speak(link, response, context, turn.text, 100, turn.chunk_delay)
            call_id = turn.call_id or link.sim._id("call")
            link.streaming = None
            link.calls[call_id] = turn.name
            response.status = "tool_call"
            response.done_at = trio.current_time()
            link.send(msg.tool_call([(call_id, turn.name, dict(turn.arguments))]))
        else:
            await speak(
                link, response, context, turn.text, 100, turn.chunk_delay, stop=turn.after_chunks
            )
            link.streaming = None
            response.done_at = trio.current_time()
            if turn.drop:
                response.status = "dropped"
                link.close(turn.close_code, turn.message)
                return
            response.status = "failed"
            link.send(msg.turn_complete(link.usage(response), reason=turn.code or REJECTED))


async def speak(
    link: GeminiLink,
    response: SimResponse,
    context: Context,
    text: str,
    chunk_ms: int,
    chunk_delay: float,
    *,
    stop: int | None = None,
) -> None:
    """Stream ``text`` as voicesim speech; the transcript goes along in word fragments."""
    pcm = speech_pcm(text, RATE)
    step = chunk_ms * BYTES_PER_MS
    pieces = [pcm[at : at + step] for at in range(0, len(pcm), step)] or [b""]
    words = re.findall(r"\S+\s*", text)
    transcribe = "outputAudioTranscription" in link.record.setup
    for k, piece in enumerate(pieces):
        if stop is not None and k >= stop:
            return
        if k:
            await trio.sleep(chunk_delay)
        link.send(msg.audio(piece))
        response.audio.extend(piece)
        for i, word in enumerate(words):
            if i * len(pieces) // len(words) == k:
                context.said += word
                if transcribe:
                    link.send(msg.output_transcription(word))
        link.sim._change()
