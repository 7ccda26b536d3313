"""`Lanes`: REST commands run in one lane per channel.

Commands for one channel run one at a time, in the order they arrived (a reply never overtakes
the one before it); commands for different channels run side by side, so a rate limit the
library waits out in one channel stalls no other. Each lane is bounded; a full lane, or too many
lanes, refuses the command at once (the caller gets a typed failure instead of waiting without
end). A lane with nothing to do for ``idle`` seconds ends and frees its task.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio

log = logging.getLogger("clanker.discord")

Job = Callable[[], Awaitable[None]]


class Lanes:
    """Per-key FIFO workers in ``nursery``; see the module docstring."""

    def __init__(
        self, nursery: trio.Nursery, *, depth: int = 64, max_lanes: int = 256, idle: float = 60.0
    ) -> None:
        if depth < 1 or max_lanes < 1:
            raise ValueError(f"lanes need depth >= 1 and max_lanes >= 1, got {depth}, {max_lanes}")
        self._nursery = nursery
        self.depth = depth
        self.max_lanes = max_lanes
        self.idle = idle
        self.refused = 0
        self._lanes: dict[int, trio.MemorySendChannel[Job]] = {}

    @property
    def active(self) -> int:
        """Lanes running now."""
        return len(self._lanes)

    def submit(self, key: int, job: Job) -> str | None:
        """Queue ``job`` on lane ``key``; None if queued, else why it was refused."""
        lane = self._lanes.get(key)
        if lane is None:
            if len(self._lanes) >= self.max_lanes:
                self.refused += 1
                return f"too many channels busy at once ({self.max_lanes} lanes)"
            lane, receive = trio.open_memory_channel[Job](self.depth)
            self._lanes[key] = lane
            self._nursery.start_soon(self._work, key, lane, receive, name=f"lane {key}")
        try:
            lane.send_nowait(job)
        except trio.WouldBlock:
            self.refused += 1
            return f"channel {key} already has {self.depth} command(s) waiting"
        return None

    async def _work(
        self,
        key: int,
        lane: trio.MemorySendChannel[Job],
        receive: trio.MemoryReceiveChannel[Job],
    ) -> None:
        while True:
            job: Job | None = None
            with trio.move_on_after(self.idle):
                job = await receive.receive()
            if job is None:
                # Idle: close the lane, unless a job slipped in meanwhile (it runs first).
                try:
                    job = receive.receive_nowait()
                except trio.WouldBlock:
                    if self._lanes.get(key) is lane:
                        del self._lanes[key]
                    lane.close()
                    return
            await job()
