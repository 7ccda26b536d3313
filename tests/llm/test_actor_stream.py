"""`StreamTo`: the Llm actor streams text deltas to an actor, ends with the response or the
failure, and cancels on `CancelStream`. Real Store, the SDK against llmsim, the real clock."""

from __future__ import annotations

from pathlib import Path

import trio

from clanker.llm import (
    CancelStream,
    LlmConfig,
    LlmRequest,
    LlmStreamEnded,
    LlmStreamStarted,
    LlmStreamText,
    StreamTo,
    llm_child,
    user,
)
from clanker.llm.errors import ErrorKind
from clanker.llmsim import LlmSim, Stall, Text, rate_limited
from clanker.runtime import Actor, ChildSpec, Message, SupervisorSpec, handles, open_runtime
from clanker.store import store_child

from .conftest import FAST_RETRY, provider_for


class Sink(Actor):
    def __init__(self, got: list[Message], changed: list[trio.Event]) -> None:
        self.got = got
        self.changed = changed

    @handles(LlmStreamText, LlmStreamEnded)
    async def take(self, msg: LlmStreamText | LlmStreamEnded) -> None:
        self.got.append(msg)
        self.changed[0].set()
        self.changed[0] = trio.Event()


async def wait_for(got: list[Message], changed: list[trio.Event], n: int) -> None:
    """Until at least `n` messages came and the last is the end."""
    with trio.fail_after(30):
        while len(got) < n or not isinstance(got[-1], LlmStreamEnded):
            await changed[0].wait()


def tree(
    db: Path, config: LlmConfig, got: list[Message], changed: list[trio.Event]
) -> SupervisorSpec:
    return SupervisorSpec(
        children=[
            store_child(db),
            llm_child(config),
            ChildSpec("sink", lambda: Sink(got, changed), register="sink"),
        ]
    )


REQUEST = LlmRequest(messages=(user("say hello"),))


async def test_text_streams_to_the_actor_then_the_response(tmp_path: Path, sim: LlmSim) -> None:
    sim.script(Text(chunks=("Hello ", "there. ", "How are ", "you?")))
    config = LlmConfig(providers=(provider_for(sim, "anthropic"),), retry=FAST_RETRY)
    got: list[Message] = []
    changed = [trio.Event()]
    async with open_runtime(tree(tmp_path / "s.db", config, got, changed)) as rt:
        started = await rt.lookup("llm").ask(
            StreamTo(request=REQUEST, deliver_to="sink", stream_id=5), timeout=10
        )
        assert started == LlmStreamStarted(stream_id=5)
        await wait_for(got, changed, 2)
    texts = [m.text for m in got if isinstance(m, LlmStreamText)]
    assert "".join(texts) == "Hello there. How are you?"
    assert len(texts) >= 2  # streamed, not in one piece
    end = got[-1]
    assert isinstance(end, LlmStreamEnded) and end.stream_id == 5
    assert end.response is not None and end.response.text == "Hello there. How are you?"
    assert all(m.stream_id == 5 for m in got)  # type: ignore[attr-defined]


async def test_a_failure_ends_the_stream_with_it(tmp_path: Path, sim: LlmSim) -> None:
    sim.script(rate_limited(), rate_limited(), rate_limited())
    config = LlmConfig(providers=(provider_for(sim, "openai"),), retry=FAST_RETRY)
    got: list[Message] = []
    changed = [trio.Event()]
    async with open_runtime(tree(tmp_path / "f.db", config, got, changed)) as rt:
        await rt.lookup("llm").ask(StreamTo(request=REQUEST, deliver_to="sink", stream_id=1))
        await wait_for(got, changed, 1)
    (end,) = got
    assert isinstance(end, LlmStreamEnded) and end.response is None
    assert end.failure is not None and end.failure.kind is ErrorKind.RATE_LIMITED


async def test_cancel_stops_a_stalled_stream(tmp_path: Path, sim: LlmSim) -> None:
    sim.script(Stall(after_chunks=2))
    config = LlmConfig(providers=(provider_for(sim, "anthropic"),), retry=FAST_RETRY)
    got: list[Message] = []
    changed = [trio.Event()]
    async with open_runtime(tree(tmp_path / "c.db", config, got, changed)) as rt:
        llm = rt.lookup("llm")
        await llm.ask(StreamTo(request=REQUEST, deliver_to="sink", stream_id=9))
        with trio.fail_after(30):
            while len(got) < 2:
                await changed[0].wait()
        await llm.tell(CancelStream(deliver_to="sink", stream_id=9))
        with trio.fail_after(30):
            await sim.wait_until(lambda: sim.requests[0].hung_up)  # the client really hung up
    assert all(isinstance(m, LlmStreamText) for m in got)  # no end: it was cancelled
    assert len(got) == 2
