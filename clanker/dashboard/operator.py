"""The operator's "crash this actor" button: find an actor by its tree path.

Every actor handles the runtime's `OperatorCrash` by raising `OperatorRequestedCrash`, so the
operator can watch its supervisor restart it. The dashboard *asks*, so it learns that the actor
crashed (`ActorCrashed`). The button is off unless `DashboardConfig.allow_operator_crash`.
"""

from __future__ import annotations

from clanker.runtime import (
    ActorRef,
    OperatorCrash,
    OperatorRequestedCrash,
    Runtime,
    SupervisorRef,
)

__all__ = ["ActorPathError", "OperatorCrash", "OperatorRequestedCrash", "actor_at"]


class ActorPathError(LookupError):
    """No actor at that path (or it is a supervisor); the message says which."""


def actor_at(runtime: Runtime, path: str) -> ActorRef:
    """The actor at tree path ``path`` (e.g. ``root/responder``), via public refs only."""
    parts = [p for p in path.strip("/").split("/") if p]
    root = runtime.root
    if not parts or parts[0] != root.path:
        raise ActorPathError(f"actor paths start with {root.path!r}, got {path!r}")
    node: ActorRef | SupervisorRef = root
    for depth, name in enumerate(parts[1:], start=1):
        if not isinstance(node, SupervisorRef):
            raise ActorPathError(f"{'/'.join(parts[:depth])} is an actor; it has no children")
        try:
            node = node.child(name)
        except LookupError:
            raise ActorPathError(
                f"no actor at {path!r}: {node.path} has no child {name!r}"
            ) from None
    if not isinstance(node, ActorRef):
        raise ActorPathError(f"{path} is a supervisor; only actors can be crashed")
    return node
