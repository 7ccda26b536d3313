"""A bounded mailbox over a trio memory channel, with an overflow policy and counters.

The mailbox belongs to the child's slot in its supervisor, not to one incarnation, so messages
queued while an actor restarts are handled by the next incarnation instead of being lost. Each
incarnation reads through its own clone of the receive channel: closing that clone wakes a
receive in progress (graceful stop) without discarding what is buffered.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from clanker.runtime._specs import MailboxSpec, Overflow


class Mailbox:
    """Bounded queue of messages (or ask envelopes) for one child."""

    __slots__ = (
        "_recv",
        "_send",
        "capacity",
        "closed",
        "dropped",
        "on_evict",
        "on_full",
        "overflow",
        "unhandled",
    )

    def __init__(
        self,
        spec: MailboxSpec,
        on_full: Callable[[Mailbox], None],
        on_evict: Callable[[object], None],
    ) -> None:
        self._send, self._recv = trio.open_memory_channel[object](spec.capacity)
        self.capacity = spec.capacity
        self.overflow = spec.overflow
        self.dropped = 0
        self.unhandled = 0
        self.closed = False
        self.on_full = on_full  # telemetry hook, called when a put meets a full mailbox
        self.on_evict = on_evict  # called with an item dropped from the queue (fail its ask)

    @property
    def depth(self) -> int:
        """Messages waiting right now."""
        return self._send.statistics().current_buffer_used

    def reader(self) -> trio.MemoryReceiveChannel[object]:
        """A receive handle for one incarnation; close it to end that incarnation's loop."""
        return self._recv.clone()

    async def put(self, item: object) -> bool:
        """Queue ``item`` under the overflow policy; False if it was dropped (drop_newest).

        Always a trio checkpoint, like a channel send. Raises ``trio.BrokenResourceError`` if the
        mailbox is closed while waiting.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            self._send.send_nowait(item)
        except trio.WouldBlock:
            if self.overflow is Overflow.BLOCK:
                self.on_full(self)
                await self._send.send(item)
                return True
            delivered = self._overflow(item)
            await trio.lowlevel.cancel_shielded_checkpoint()
            return delivered
        await trio.lowlevel.cancel_shielded_checkpoint()
        return True

    def put_nowait(self, item: object) -> bool:
        """Queue without waiting; False if full under block or dropped under drop_newest."""
        try:
            self._send.send_nowait(item)
        except trio.WouldBlock:
            if self.overflow is Overflow.BLOCK:
                self.on_full(self)
                return False
            return self._overflow(item)
        return True

    def _overflow(self, item: object) -> bool:
        self.dropped += 1
        if self.overflow is Overflow.DROP_NEWEST:
            self.on_full(self)
            self.on_evict(item)
            return False
        evicted = self._recv.receive_nowait()
        self._send.send_nowait(item)
        self.on_full(self)
        self.on_evict(evicted)
        return True

    def take_nowait(self) -> object:
        """The oldest queued item; raises ``trio.WouldBlock`` when empty (used to drain on a
        graceful stop, after the incarnation's reader was closed)."""
        try:
            return self._recv.receive_nowait()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise trio.WouldBlock from None

    def is_full(self) -> bool:
        """Whether a put would overflow right now."""
        return self.depth >= self.capacity

    def close(self) -> list[object]:
        """Close for good and return what was still queued (so pending asks can be failed)."""
        left: list[object] = []
        if self.closed:
            return left
        self.closed = True
        while True:
            try:
                left.append(self._recv.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                break
        self._send.close()
        self._recv.close()
        return left
