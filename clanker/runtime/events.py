"""Runtime telemetry event types, one namespace (``from clanker.runtime import events``).

They live apart from the package root because some share names with errors (the
`events.ActorStopped` event vs the `ActorStopped` error a caller gets).
"""

from clanker.runtime._telemetry import (
    ActorCrashed,
    ActorRemoved,
    ActorRestarted,
    ActorStarted,
    ActorStopped,
    AnyRuntimeEvent,
    MailboxOverflow,
    RemovedWithMessages,
    RuntimeEvent,
    SupervisorEscalated,
    UnhandledDropped,
)

__all__ = [
    "ActorCrashed",
    "ActorRemoved",
    "ActorRestarted",
    "ActorStarted",
    "ActorStopped",
    "AnyRuntimeEvent",
    "MailboxOverflow",
    "RemovedWithMessages",
    "RuntimeEvent",
    "SupervisorEscalated",
    "UnhandledDropped",
]
