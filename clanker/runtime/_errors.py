"""Typed errors raised by the actor runtime's public API.

Callers of `tell`, `ask` and the supervisor API see exactly these, never a raw
``ExceptionGroup``: a crash inside an actor is reported to its supervisor, and what reaches the
caller is a small exception that names the target and says what happened.
"""

from __future__ import annotations


class ActorError(Exception):
    """Base class of every error the runtime raises to a caller."""


class AskTimeout(ActorError, TimeoutError):
    """An `ask` got no reply within its timeout."""

    def __init__(self, target: str, message_type: str, timeout: float) -> None:
        super().__init__(f"{target} did not answer {message_type} within {timeout:g} s")
        self.target = target
        self.message_type = message_type
        self.timeout = timeout


class ActorStopped(ActorError):
    """The target is not running (it stopped, or was removed) and will not handle the message."""

    def __init__(self, target: str, detail: str = "it has stopped") -> None:
        super().__init__(f"{target} cannot take messages: {detail}")
        self.target = target


class ActorCrashed(ActorError):
    """The target crashed while handling this very message; its supervisor has the details."""

    def __init__(self, target: str, message_type: str, error_type: str, error: str) -> None:
        super().__init__(f"{target} crashed handling {message_type}: {error_type}: {error}")
        self.target = target
        self.message_type = message_type
        self.error_type = error_type
        self.error = error


class UnhandledMessage(ActorError, TypeError):
    """The target has no handler for a message of this type."""

    def __init__(self, target: str, message_type: str, handled: list[str]) -> None:
        expected = ", ".join(handled) or "nothing"
        super().__init__(f"{target} does not handle {message_type}; it handles {expected}")
        self.target = target
        self.message_type = message_type


class MailboxFull(ActorError):
    """An `ask` met a full drop_newest mailbox: the request would have been dropped."""

    def __init__(self, target: str, capacity: int) -> None:
        super().__init__(f"{target}'s mailbox is full ({capacity} messages, policy drop_newest)")
        self.target = target


class MessageDropped(ActorError):
    """An `ask`'s request was evicted from a drop_oldest mailbox before it was handled."""

    def __init__(self, target: str, message_type: str) -> None:
        super().__init__(
            f"{target}'s mailbox overflowed (policy drop_oldest) and evicted this {message_type}"
        )
        self.target = target


class InvalidMessage(ActorError, TypeError):
    """The value sent is not a frozen msgspec Struct, so it is not an actor message."""


class WireCheckError(ActorError, TypeError):
    """Wire check is on and a message did not survive a msgpack round trip unchanged."""


class NotRegistered(ActorError, LookupError):
    """No actor or supervisor is registered under this name."""


class NameTaken(ActorError, ValueError):
    """A name is already registered, or a supervisor already has a child of that name."""


class ChildStartFailed(ActorError):
    """A dynamically started child crashed in `on_start`; it was not added."""


class SupervisionGaveUp(ActorError):
    """The root supervisor exceeded its restart intensity and stopped the whole tree."""


class Escalation(Exception):
    """Raised inside a supervisor that exceeded its restart intensity; its parent sees a crash.

    Not an `ActorError`: callers never receive it, only supervisors do.
    """

    def __init__(self, supervisor: str, child: str, restarts: int, period: float) -> None:
        super().__init__(
            f"{supervisor} gave up: more than {restarts} restarts within {period:g} s "
            f"(last exit: {child})"
        )
        self.supervisor = supervisor
        self.child = child


class UnexpectedReply(ActorError, TypeError):
    """An `ask` expecting one reply type got another (or none)."""

    def __init__(self, target: str, expected: str, got: str) -> None:
        super().__init__(f"{target} answered with {got}, expected {expected}")
        self.target = target
