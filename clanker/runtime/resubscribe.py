"""Subscriptions that survive a restart of the publisher.

The settings actor and the pacing keeper keep their subscribers in memory, so a fresh
incarnation of either knows none. Each subscriber therefore watches the runtime's lifecycle
events: when a publisher it subscribed to starts again, it subscribes again (the reply carries
the publisher's current state, so nothing that changed meanwhile is missed).

`PublisherWatch` is the decision (sans-IO: fed events, answers which publishers to subscribe to
again); `watch_publishers` is the thin trio side an actor runs in a background task.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from clanker.runtime import Runtime, Subscriber
from clanker.runtime import events as rtev

WATCH_CAPACITY = 64
"""Lifecycle events a subscriber may fall behind by before it re-subscribes to everything."""


class PublisherWatch:
    """Which publishers to subscribe to again, given the runtime's lifecycle events.

    ``publishers`` maps each publisher's registered name to its tree path (as it was when the
    subscriber first subscribed).
    """

    def __init__(self, publishers: Mapping[str, str]) -> None:
        self.by_path = {path: name for name, path in publishers.items()}

    def on_event(self, event: rtev.RuntimeEvent) -> list[str]:
        """The publishers that ``event`` says were (re)started: subscribe to them again."""
        if isinstance(event, rtev.ActorStarted) and event.kind == "actor":
            name = self.by_path.get(event.path)
            if name is not None:
                return [name]
        return []

    def on_dropped(self) -> list[str]:
        """Events were lost (the watcher fell behind): a restart may be among them, so
        subscribe to every publisher again (subscribing twice is harmless)."""
        return sorted(self.by_path.values())


async def watch_publishers(
    runtime: Runtime,
    sub: Subscriber[rtev.AnyRuntimeEvent],
    watch: PublisherWatch,
    resubscribe: Callable[[str], Awaitable[None]],
) -> None:
    """Call ``resubscribe(name)`` for each publisher `watch` says restarted, until cancelled.

    ``sub`` is a subscription to ``runtime.events`` opened *before* the first subscribe (so no
    restart after it is missed); it is closed when this returns.
    """
    try:
        dropped = sub.dropped
        async for event in sub:
            names = watch.on_event(event)
            if sub.dropped != dropped:
                dropped = sub.dropped
                names = watch.on_dropped()
            for name in names:
                await resubscribe(name)
    finally:
        runtime.events.close(sub)
