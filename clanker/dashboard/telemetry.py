"""`Telemetry`: the actor that fans the action log out to live subscribers (SSE streams).

The Store tells it an `ActionAppended` after each committed `LogAction` (configure the Store with
``store_child(path, action_listener=TELEMETRY_NAME)``). Its mailbox drops the oldest message
when full, so the Store never waits on it; it publishes each row to a `Broadcast` whose bounded
subscribers also drop their oldest items. The hub lives outside the actor, so subscribers keep
their subscription across a Telemetry restart.
"""

from __future__ import annotations

from collections.abc import Callable

from clanker.runtime import Actor, Broadcast, ChildSpec, MailboxSpec, Overflow, handles
from clanker.store import ActionAppended, ActionRow

TELEMETRY_NAME = "telemetry"
"""The runtime-wide name `telemetry_child` registers (the Store's ``action_listener``)."""


class LiveAction:
    """A committed action on its way to subscribers, with its JSON encoded once for all of them."""

    __slots__ = ("_json", "row")

    def __init__(self, row: ActionRow) -> None:
        self.row = row
        self._json: bytes | None = None

    def json(self, encode: Callable[[ActionRow], bytes]) -> bytes:
        """The row's JSON, encoded by ``encode`` on first use and reused after."""
        if self._json is None:
            self._json = encode(self.row)
        return self._json


class TelemetryHub:
    """The broadcast points subscribers read from: today the action log."""

    def __init__(self, *, capacity: int = 256) -> None:
        self.actions: Broadcast[LiveAction] = Broadcast(default_capacity=capacity)


class Telemetry(Actor):
    """Publishes every `ActionAppended` it is told to the hub's action broadcast, in order."""

    mailbox = MailboxSpec(capacity=4096, overflow=Overflow.DROP_OLDEST)

    def __init__(self, hub: TelemetryHub) -> None:
        self.hub = hub

    @handles(ActionAppended)
    async def appended(self, msg: ActionAppended) -> None:
        self.hub.actions.publish(LiveAction(msg.row))


def telemetry_child(hub: TelemetryHub, *, name: str = TELEMETRY_NAME) -> ChildSpec:
    """A child spec for `Telemetry` publishing into ``hub``, registered as ``name``."""
    return ChildSpec(name, lambda: Telemetry(hub), mailbox=Telemetry.mailbox, register=name)
