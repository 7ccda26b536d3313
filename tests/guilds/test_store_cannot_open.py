"""Nothing runs above a Store that cannot open (OTP start semantics, the rule "stored before any
decision"): the product tree's later children never start, and the tree gives up with the
Store's error instead of routing messages it could not store."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing

from clanker.guilds import GuildsConfig, guilds_spec
from clanker.guilds.pacing import PACING_NAME, PacingKeeper
from clanker.runtime import (
    Actor,
    ActorContext,
    Backoff,
    ChildSpec,
    SupervisionGaveUp,
    SupervisorSpec,
    open_runtime,
)
from clanker.settings import settings_child
from clanker.store import store_child


class Recorder(Actor):
    def __init__(self, started: list[str]) -> None:
        self.started = started

    async def on_start(self, ctx: ActorContext) -> None:
        self.started.append(ctx.path)


async def test_a_store_that_cannot_open_holds_back_everything_above_it(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    started: list[str] = []
    unopenable = tmp_path / "not-a-file"
    unopenable.mkdir()  # SQLite cannot open a directory
    spec = SupervisorSpec(
        children=[
            store_child(unopenable, inline=True),
            ChildSpec("recorder", lambda: Recorder(started)),
            settings_child(),
            ChildSpec(PACING_NAME, PacingKeeper, register=PACING_NAME),
            guilds_spec(GuildsConfig()),
        ],
        intensity=2,
        period=60.0,
        backoff=Backoff(initial=1.0, factor=2.0),
    )
    with pytest.raises(SupervisionGaveUp) as caught:
        async with open_runtime(spec):
            started.append("the caller's block")
    # Retried after 1 s and 2 s, then the supervisor gave up at 3 s, with the Store's error.
    assert trio.current_time() == 3.0
    assert "store" in str(caught.value)
    assert "unable to open database" in repr(caught.value.__cause__.__cause__)  # type: ignore[union-attr]
    assert started == []  # neither the recorder right after the Store nor the caller ran
