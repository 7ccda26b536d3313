"""The operator's "crash this actor" button: find an actor by its tree path.

Every actor handles the runtime's `OperatorCrash` by raising `OperatorRequestedCrash`, so the
operator can watch its supervisor restart it. The dashboard *asks*, so it learns that the actor
crashed (`ActorCrashed`). The button is off unless `DashboardConfig.allow_operator_crash`.
"""

from __future__ import annotations

from clanker.runtime import (
    ActorRef,
    NotRegistered,
    OperatorCrash,
    OperatorRequestedCrash,
    Runtime,
)

__all__ = ["ActorPathError", "OperatorCrash", "OperatorRequestedCrash", "actor_at"]


class ActorPathError(LookupError):
    """No actor at that path (or it is a supervisor); the message says which."""


def actor_at(runtime: Runtime, path: str) -> ActorRef:
    """The actor at tree path ``path`` (e.g. ``root/responder``)."""
    try:
        node = runtime.at(path)
    except NotRegistered as exc:
        raise ActorPathError(str(exc)) from None
    if not isinstance(node, ActorRef):
        raise ActorPathError(f"{path} is a supervisor; only actors can be crashed")
    return node
