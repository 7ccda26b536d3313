"""An operator's "crash this actor" button, for actors that opt in.

The runtime has no hook to crash an arbitrary actor from outside (rightly: actors own their
state). An actor that mixes in `CrashOnRequest` handles `OperatorCrash` by raising, so the
operator can watch its supervisor restart it. The dashboard *asks*, so it learns whether the
actor crashed (`ActorCrashed`) or does not accept the request (`UnhandledMessage`).
"""

from __future__ import annotations

from clanker.runtime import Actor, ActorRef, Message, Runtime, SupervisorRef, handles


class OperatorCrash(Message, frozen=True):
    """Ask an actor that mixes in `CrashOnRequest` to crash."""

    reason: str = "crash requested from the dashboard"


class OperatorRequestedCrash(RuntimeError):
    """Raised by `CrashOnRequest`: the crash the operator asked for."""


class CrashOnRequest(Actor):
    """Mixin: crash when told `OperatorCrash` (a test and demo aid; opt-in per actor)."""

    @handles(OperatorCrash)
    async def crash_on_request(self, msg: OperatorCrash) -> None:
        raise OperatorRequestedCrash(msg.reason)


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
