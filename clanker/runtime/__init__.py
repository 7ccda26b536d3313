"""clanker's actor kernel: supervised trio actors exchanging frozen msgspec messages.

The public surface is small; the rooms behind it (``_mailbox``, ``_cell``, ``_supervisor``,
``_policy`` …) are private. See docs/runtime.md for the semantics and a worked example.
"""

from clanker.runtime._actor import (
    Actor,
    ActorContext,
    OperatorCrash,
    OperatorRequestedCrash,
    handles,
)
from clanker.runtime._broadcast import Broadcast, Subscriber
from clanker.runtime._errors import (
    ActorCrashed,
    ActorError,
    ActorStopped,
    AskTimeout,
    ChildStartFailed,
    Escalation,
    InvalidMessage,
    MailboxFull,
    MessageDropped,
    NameTaken,
    NotRegistered,
    SupervisionGaveUp,
    UnexpectedReply,
    UnhandledMessage,
    WireCheckError,
)
from clanker.runtime._policy import Decision, RestartIntensity, SupervisionPolicy
from clanker.runtime._ref import ActorRef, Reply, SupervisorRef
from clanker.runtime._specs import (
    Backoff,
    ChildSpec,
    MailboxSpec,
    Overflow,
    Restart,
    Strategy,
    SupervisorSpec,
)
from clanker.runtime._system import Runtime, open_runtime
from clanker.runtime._telemetry import (
    ActorNode,
    AnyRuntimeEvent,
    EventBus,
    MailboxStats,
    RuntimeEvent,
    Subscription,
)
from clanker.runtime._wire import WIRE_CHECK_ENV, validate_message, wire_roundtrip
from clanker.wire import Message

__all__ = [
    "WIRE_CHECK_ENV",
    "Actor",
    "ActorContext",
    "ActorCrashed",
    "ActorError",
    "ActorNode",
    "ActorRef",
    "ActorStopped",
    "AnyRuntimeEvent",
    "AskTimeout",
    "Backoff",
    "Broadcast",
    "ChildSpec",
    "ChildStartFailed",
    "Decision",
    "Escalation",
    "EventBus",
    "InvalidMessage",
    "MailboxFull",
    "MailboxSpec",
    "MailboxStats",
    "Message",
    "MessageDropped",
    "NameTaken",
    "NotRegistered",
    "OperatorCrash",
    "OperatorRequestedCrash",
    "Overflow",
    "Reply",
    "Restart",
    "RestartIntensity",
    "Runtime",
    "RuntimeEvent",
    "Strategy",
    "Subscriber",
    "Subscription",
    "SupervisionGaveUp",
    "SupervisionPolicy",
    "SupervisorRef",
    "SupervisorSpec",
    "UnexpectedReply",
    "UnhandledMessage",
    "WireCheckError",
    "handles",
    "open_runtime",
    "validate_message",
    "wire_roundtrip",
]
