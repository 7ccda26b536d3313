"""`OperatorCrash`: every actor crashes on request (the dashboard's crash button) and its
supervisor restarts it like after any other crash."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from clanker.runtime import (
    Actor,
    ActorCrashed,
    OperatorCrash,
    SupervisorSpec,
    UnhandledMessage,
    open_runtime,
)
from clanker.runtime import events as ev

from .helpers import Ping, Pong, Unknown, of_type, probe


async def test_any_actor_crashes_on_request_and_is_restarted(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_runtime(SupervisorSpec(children=[probe("a", [])])) as rt:
        a = rt.lookup("a")
        async with rt.events.subscribe() as events:
            with pytest.raises(ActorCrashed) as info:
                await a.ask(OperatorCrash(reason="show me a restart"))
            assert "OperatorRequestedCrash" in str(info.value)
            assert "show me a restart" in str(info.value)
            assert await a.ask(Ping(n=1), Pong) == Pong(n=1, incarnation=2)
            crashed = of_type(events.pending(), ev.ActorCrashed)
        assert [(c.path, c.error_type) for c in crashed] == [("root/a", "OperatorRequestedCrash")]
        node = rt.snapshot().find("root/a")
        assert node is not None and node.restarts == 1


async def test_the_crash_handler_is_not_listed_as_what_an_actor_handles(
    autojump_clock: trio.testing.MockClock,
) -> None:
    class Quiet(Actor):
        pass

    async with open_runtime(SupervisorSpec(children=[probe("a", [])])) as rt:
        with pytest.raises(UnhandledMessage) as info:
            await rt.lookup("a").ask(Unknown())
        assert "OperatorCrash" not in str(info.value)
    assert Quiet.handled_types() == []
