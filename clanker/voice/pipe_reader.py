"""The `PipeReader` actor: clankvox's stdout in, typed events out to a target actor.

It takes the current process's stdout from the session's `ClankvoxPipe`, feeds every chunk to
a `ClankvoxFrameDecoder` and tells each decoded event to the target (looked up by its registered
name, again after the target restarts). Malformed frames are counted and skipped by the decoder;
nothing on the pipe can crash the reader.

Delivery uses `tell`, so a target with a blocking mailbox slows the reader, the reader stops
draining the pipe, and clankvox's own bounded audio lane drops the newest audio: backpressure
ends where the protocol puts the loss. A target that wants the reader never to wait should use a
`drop_oldest` mailbox.

At the end of stdout the reader tells `PipeClosed` and then: if the process was asked to end, it
stops normally; otherwise it waits `eof_grace` seconds for the `Clankvox` actor to report the
crash (which restarts both), and crashes itself if nothing happened (stdout closed while the
process lives on).
"""

from __future__ import annotations

import logging

import trio

from clanker.runtime import Actor, ActorContext, ActorError, ActorRef, handles
from clanker.voice.events import AnyEvent
from clanker.voice.framing import DEFAULT_MAX_PAYLOAD, ClankvoxFrameDecoder
from clanker.voice.messages import GetPipeStats, PipeClosed, PipeStats
from clanker.voice.pipe import ClankvoxPipe

_log = logging.getLogger(__name__)

_READ_SIZE = 65_536


class PipeBroken(RuntimeError):
    """clankvox's stdout ended while the process was not asked to stop, and no crash followed."""


class PipeReader(Actor):
    """Decodes one clankvox process's stdout and tells its events to `target`."""

    def __init__(
        self,
        pipe: ClankvoxPipe,
        *,
        target: str | None,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        eof_grace: float = 5.0,
    ) -> None:
        self.pipe = pipe
        self.target = target
        self.decoder = ClankvoxFrameDecoder(max_payload=max_payload)
        self.eof_grace = eof_grace
        self.delivered = 0
        self.undelivered = 0
        self.eof = False
        self._target_ref: ActorRef | None = None
        self._ctx: ActorContext | None = None

    async def on_start(self, ctx: ActorContext) -> None:
        self._ctx = ctx
        stdout = self.pipe.take()
        ctx.start_soon(self._pump, stdout)

    @handles(GetPipeStats)
    async def stats(self, _: GetPipeStats) -> PipeStats:
        """The decoder's counters and delivery counts for the current process."""
        s = self.decoder.stats
        return PipeStats(
            bytes_received=s.bytes_received,
            frames=s.frames,
            json_events=s.json_events,
            audio_events=s.audio_events,
            malformed=s.malformed,
            unknown_format=s.unknown_format,
            unknown_type=s.unknown_type,
            oversized=s.oversized,
            truncated=s.truncated,
            delivered=self.delivered,
            undelivered=self.undelivered,
            eof=self.eof,
            recent_problems=list(s.recent_problems),
        )

    async def _pump(self, stdout: trio.abc.ReceiveStream) -> None:
        skipped = 0
        async with stdout:
            while True:
                try:
                    chunk = await stdout.receive_some(_READ_SIZE)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    chunk = b""
                if not chunk:
                    break
                for event in self.decoder.feed(chunk):
                    await self._deliver(event)
                if self.decoder.stats.skipped != skipped:
                    skipped = self.decoder.stats.skipped
                    _log.warning(
                        "clankvox pipe: skipped a frame (%d so far): %s",
                        skipped,
                        self.decoder.stats.recent_problems[-1],
                    )
        self.decoder.eof()
        self.eof = True
        expected = self.pipe.exit_expected
        await self._deliver(PipeClosed(expected=expected))
        if expected:
            assert self._ctx is not None
            self._ctx.stop()
            return
        await trio.sleep(self.eof_grace)
        raise PipeBroken(
            f"clankvox's stdout closed {self.eof_grace} s ago but no process exit was reported"
        )

    async def _deliver(self, event: AnyEvent | PipeClosed) -> None:
        if self.target is None or self._ctx is None:
            self.undelivered += 1
            return
        for attempt in range(2):
            try:
                if self._target_ref is None or attempt:
                    self._target_ref = self._ctx.lookup(self.target)
                await self._target_ref.tell(event)
            except ActorError as exc:
                if attempt:
                    self.undelivered += 1
                    _log.debug("clankvox pipe: cannot deliver to %s: %s", self.target, exc)
                continue
            self.delivered += 1
            return
