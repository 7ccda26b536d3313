"""`RealtimeLink` in a real runtime tree, against the realtimesim's servers over loopback.

Each test runs a small tree: an `Owner` (a test actor that records every notice it is told,
with the trio time) and the link under test, a transient child. The far end is the sim
(OpenAI, xAI, ElevenLabs), speaking its real wire format; nothing of ours is faked. The
clock is this directory's MockClock (autojump after 50 ms of real idleness), so pacing is
the sim's and times are exact virtual times.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

import numpy as np
import pytest
import trio
import trio.testing
import trio_websocket
from trio.testing import MockClock

from clanker.realtimesim import (
    CallTool,
    Fail,
    RealtimeSim,
    Say,
    open_elevenlabs_agent_sim,
    open_gemini_live_sim,
    open_xai_realtime_sim,
)
from clanker.runtime import (
    Actor,
    ActorStopped,
    AnyRuntimeEvent,
    ChildSpec,
    MailboxSpec,
    Message,
    NotRegistered,
    Runtime,
    Subscriber,
    SupervisorSpec,
    handles,
    open_runtime,
)
from clanker.runtime import events as ev
from clanker.voice.realtime.actor import RealtimeLinkConfig, realtime_link_child
from clanker.voice.realtime.api import (
    AudioDelta,
    ProviderError,
    RealtimeSession,
    ResponseDone,
    ResponseStarted,
    SessionConfig,
    SessionReady,
    ToolCall,
    ToolSpec,
)
from clanker.voice.realtime.elevenlabs import ElevenLabsAgentSession
from clanker.voice.realtime.gemini import GeminiLiveSession
from clanker.voice.realtime.link_messages import (
    AppendAudio,
    CancelResponse,
    Close,
    CommandRefused,
    CommandSent,
    CommitTurn,
    GetLinkStatus,
    LinkNotice,
    LinkStatus,
    RealtimeClosed,
    RealtimeConnected,
    RealtimeConnectFailed,
    RealtimeDropped,
    RealtimeLinkEvent,
    RequestResponse,
    SpeakExact,
    ToolResult,
    Truncate,
    Update,
)
from clanker.voice.realtime.openai import OpenAIRealtimeSession
from clanker.voice.realtime.xai import XaiRealtimeSession
from clanker.voicesim import speech_pcm

from .conftest import KEY

TIMEOUT = 30.0  # virtual seconds: a hang jumps here and fails instead of blocking
LINK = "root/link"
E = TypeVar("E")
TOOL = ToolSpec(
    name="music_play",
    description="Play a song",
    parameters={"type": "object", "properties": {"query": {"type": "string"}}},
)


@dataclass
class Heard:
    """What the owner was told, with the trio time of each notice."""

    notices: list[LinkNotice] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    changed: trio.Event = field(default_factory=trio.Event)
    hold: trio.Event | None = None
    """When set, the owner waits on it while handling the first `ResponseStarted`."""
    holding: bool = False

    def events(self, kind: type[E]) -> list[E]:
        return [
            n.event
            for n in self.notices
            if isinstance(n, RealtimeLinkEvent) and isinstance(n.event, kind)
        ]

    def of(self, kind: type[E]) -> list[E]:
        return [n for n in self.notices if isinstance(n, kind)]

    def at(self, notice: object) -> float:
        return self.times[self.notices.index(notice)]  # type: ignore[arg-type]

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        with trio.fail_after(TIMEOUT):
            while not predicate():
                await self.changed.wait()

    async def event(self, kind: type[E], count: int = 1) -> list[E]:
        await self.wait_for(lambda: len(self.events(kind)) >= count)
        return self.events(kind)

    async def notice(self, kind: type[E]) -> E:
        await self.wait_for(lambda: bool(self.of(kind)))
        return self.of(kind)[0]


class Owner(Actor):
    """The link's owner in these tests: it records every notice."""

    def __init__(self, heard: Heard) -> None:
        self.heard = heard

    @handles(
        RealtimeLinkEvent,
        RealtimeConnected,
        RealtimeConnectFailed,
        RealtimeDropped,
        RealtimeClosed,
        CommandRefused,
    )
    async def told(self, msg: LinkNotice) -> None:
        heard = self.heard
        heard.notices.append(msg)
        heard.times.append(trio.current_time())
        heard.changed.set()
        heard.changed = trio.Event()
        if (
            heard.hold is not None
            and isinstance(msg, RealtimeLinkEvent)
            and isinstance(msg.event, ResponseStarted)
            and not heard.holding
        ):
            heard.holding = True
            heard.changed.set()
            heard.changed = trio.Event()
            await heard.hold.wait()


@dataclass
class Tree:
    runtime: Runtime
    heard: Heard
    events: Subscriber[AnyRuntimeEvent]

    @property
    def link(self):  # type: ignore[no-untyped-def]
        return self.runtime.lookup("link")

    async def ask(self, msg: Message) -> Message:
        reply = await self.link.ask(msg, timeout=TIMEOUT)
        assert isinstance(reply, Message)
        return reply

    def link_children(self) -> list[str]:
        return [c.name for c in self.runtime.root.children()]


@asynccontextmanager
async def tree(
    session: Callable[[], RealtimeSession],
    config: SessionConfig | None = None,
    *,
    owner_capacity: int = 64,
    hold: trio.Event | None = None,
    **options: float,
) -> AsyncIterator[Tree]:
    heard = Heard(hold=hold)
    link = RealtimeLinkConfig(
        session=session, owner="owner", start=config or SessionConfig(), **options
    )
    spec = SupervisorSpec(
        children=[
            ChildSpec(
                "owner",
                lambda: Owner(heard),
                register="owner",
                mailbox=MailboxSpec(capacity=owner_capacity),
            ),
            realtime_link_child("link", link, register="link"),
        ]
    )
    async with open_runtime(spec) as rt, rt.events.subscribe() as events:
        yield Tree(rt, heard, events)


def openai(sim: RealtimeSim, key: str = KEY) -> Callable[[], RealtimeSession]:
    return lambda: OpenAIRealtimeSession(key, base_url=sim.url)


def tone(ms: int, rate: int = 24000) -> bytes:
    t = np.arange(rate * ms // 1000) / rate
    return (np.sin(2 * np.pi * 440.0 * t) * 8000).astype("<i2").tobytes()


def audio_of(heard: Heard, response_id: str) -> bytes:
    return b"".join(d.pcm for d in heard.events(AudioDelta) if d.response_id == response_id)


async def removed(t: Tree) -> None:
    """Wait until the link is removed; it must have stopped normally, never restarted."""
    seen: list[AnyRuntimeEvent] = []
    with trio.fail_after(TIMEOUT):
        async for event in t.events:
            if event.path == LINK:
                seen.append(event)
            if isinstance(event, ev.ActorRemoved) and event.path == LINK:
                break
    assert [type(e) for e in seen if not isinstance(e, ev.ActorStarted)] == [
        ev.ActorStopped,
        ev.ActorRemoved,
    ]
    assert [e.reason for e in seen if isinstance(e, ev.ActorStopped)] == ["normal"]
    assert "link" not in t.link_children()


# -- OpenAI ---------------------------------------------------------------------------------


async def test_connect_sends_the_configuration_and_the_owner_hears_ready(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    config = SessionConfig(instructions="be brief", voice="marin", tools=(TOOL,))
    async with tree(openai(sim), config) as t:
        [ready] = await t.heard.event(SessionReady)
        assert ready.provider == "openai" and ready.session_id
        first, second = t.heard.notices[:2]
        assert first == RealtimeConnected(link=LINK, provider="openai")
        assert second == RealtimeLinkEvent(link=LINK, event=ready)
        session = sim.connections[0].session
        assert session["instructions"] == "be brief"
        assert session["audio"]["input"]["turn_detection"] is None
        assert session["audio"]["output"]["voice"] == "marin"
        assert [tool["name"] for tool in session["tools"]] == ["music_play"]
        status = await t.ask(GetLinkStatus())
        assert isinstance(status, LinkStatus)
        assert (status.provider, status.state, status.frames_sent) == ("openai", "connected", 1)
        assert status.frames_received == 2  # session.created, session.updated
        assert status.events == 1 and status.undelivered == 0
    assert trio.current_time() == 0.0  # loopback, no pacing: nothing waited on a timer


async def test_a_turn_is_appended_committed_and_answered_in_audio(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    sim.script(Say("hi there"))
    async with tree(openai(sim)) as t:
        # Told at once, before the socket is up: the link keeps them behind `start`.
        await t.link.tell(AppendAudio(pcm=tone(300)))
        await t.link.tell(AppendAudio(pcm=tone(200)))
        await t.link.tell(CommitTurn())
        assert await t.ask(RequestResponse()) == CommandSent(command="RequestResponse", frames=1)
        [done] = await t.heard.event(ResponseDone)
        [started] = t.heard.events(ResponseStarted)
        assert done.response_id == started.response_id and done.status == "completed"
        assert audio_of(t.heard, done.response_id) == speech_pcm("hi there", 24000)
        connection = sim.connections[0]
        assert connection.turns == [tone(300) + tone(200)]
        assert [e["type"] for e in connection.received] == [
            "session.update",
            "input_audio_buffer.append",
            "input_audio_buffer.append",
            "input_audio_buffer.commit",
            "response.create",
        ]
        # "hi there": 8 characters of 60 ms = 480 ms, five 100 ms chunks 50 ms apart.
        deltas = [n for n in t.heard.notices if isinstance(n, RealtimeLinkEvent)]
        audio = [n for n in deltas if isinstance(n.event, AudioDelta)]
        assert len(audio) == 5
        assert [round(t.heard.at(n), 9) for n in audio] == [0.0, 0.05, 0.1, 0.15, 0.2]
        assert t.heard.at(t.heard.of(RealtimeLinkEvent)[-1]) == 0.2  # ResponseDone
        assert t.heard.of(CommandRefused) == []


async def test_cancel_mid_answer_stops_the_audio(sim: RealtimeSim, mock_clock: MockClock) -> None:
    sim.script(Say("a long answer that goes on and on", chunk_delay=0.1))
    async with tree(openai(sim)) as t:
        await t.heard.event(SessionReady)
        await t.link.tell(RequestResponse())
        await t.heard.event(AudioDelta, 3)
        assert await t.ask(CancelResponse()) == CommandSent(command="CancelResponse", frames=1)
        [done] = await t.heard.event(ResponseDone)
        assert done.status == "cancelled"
        heard = len(t.heard.events(AudioDelta))
        full = len(speech_pcm("a long answer that goes on and on", 24000)) // 4800
        assert 3 <= heard < full
        await trio.sleep(1.0)
        assert len(t.heard.events(AudioDelta)) == heard  # nothing after the cancel
        [cancel] = sim.connections[0].received_of("response.cancel")
        assert cancel["response_id"] == done.response_id


async def test_a_tool_call_round_trip(sim: RealtimeSim, mock_clock: MockClock) -> None:
    sim.script(CallTool("music_play", {"query": "jazz"}), Say("playing jazz"))
    async with tree(openai(sim), SessionConfig(tools=(TOOL,))) as t:
        await t.link.tell(RequestResponse())
        [call] = await t.heard.event(ToolCall)
        assert call.name == "music_play" and json.loads(call.arguments) == {"query": "jazz"}
        await t.heard.event(ResponseDone)
        sent = await t.ask(ToolResult(call_id=call.call_id, output='{"playing": "So What"}'))
        assert sent == CommandSent(command="ToolResult", frames=1)
        await t.link.tell(RequestResponse())
        [_, second] = await t.heard.event(ResponseDone, 2)
        assert second.status == "completed"
        assert audio_of(t.heard, second.response_id) == speech_pcm("playing jazz", 24000)
        assert sim.connections[0].tool_outputs == [
            {
                "type": "function_call_output",
                "call_id": call.call_id,
                "output": '{"playing": "So What"}',
            }
        ]
        # Tools can change mid-session, through the same kind of message.
        assert await t.ask(Update(tools=())) == CommandSent(command="Update", frames=1)
        await sim.wait_until(lambda: sim.connections[0].session.get("tools") == [])


async def test_bad_arguments_are_refused_and_the_link_goes_on(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    async with tree(openai(sim)) as t:
        odd = await t.ask(AppendAudio(pcm=b"\x00\x01\x02"))
        assert odd == CommandRefused(
            link=LINK,
            command="AppendAudio",
            kind="invalid",
            reason="s16le PCM has an even number of bytes; this chunk has 3 "
            "(a half sample at its end)",
        )
        # A told command's refusal reaches the owner instead.
        await t.link.tell(Truncate(item_id="", played_ms=10))
        refused = await t.heard.notice(CommandRefused)
        assert (refused.command, refused.kind) == ("Truncate", "invalid")
        assert "id of the item" in refused.reason
        assert await t.ask(Update()) == CommandRefused(
            link=LINK,
            command="Update",
            kind="invalid",
            reason="update needs instructions or tools to change; it got neither",
        )
        assert await t.ask(SpeakExact(text="hello")) == CommandSent(command="SpeakExact", frames=1)
        assert (await t.ask(GetLinkStatus())).state == "connected"  # type: ignore[attr-defined]


async def test_a_dropped_socket_is_told_and_the_link_ends_without_a_restart(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    sim.script(Fail(after_chunks=1, drop=True))
    async with tree(openai(sim)) as t:
        await t.link.tell(RequestResponse())
        dropped = await t.heard.notice(RealtimeDropped)
        assert dropped == RealtimeDropped(
            link=LINK, provider="openai", code=1011, reason="server_error", error="connection_lost"
        )
        [started] = t.heard.events(ResponseStarted)
        [done] = t.heard.events(ResponseDone)
        assert done == ResponseDone(
            response_id=started.response_id, status="failed", detail="connection lost"
        )
        errors = t.heard.events(ProviderError)
        assert [(e.code, e.fatal) for e in errors] == [
            ("server_error", False),
            ("connection_lost", True),
        ]
        assert t.heard.notices[-1] == dropped  # the last word
        await removed(t)  # transient, ended normally: not restarted
        with pytest.raises(NotRegistered):
            t.runtime.lookup("link")
        assert len(sim.connections) == 1  # and nothing reconnected


async def test_a_wrong_key_is_a_fatal_error_then_the_drop(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    async with tree(openai(sim, key="sk-wrong")) as t:
        dropped = await t.heard.notice(RealtimeDropped)
        assert (dropped.code, dropped.reason, dropped.error) == (
            3000,
            "invalid_request_error.invalid_api_key",
            "invalid_api_key",
        )
        fatal = [e for e in t.heard.events(ProviderError) if e.fatal]
        assert fatal[0].code == "invalid_api_key"
        assert t.heard.events(SessionReady) == []
        await removed(t)


async def test_close_ends_the_link_and_later_commands_are_refused(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    async with tree(openai(sim)) as t:
        await t.heard.event(SessionReady)
        link = t.link
        await link.tell(RequestResponse())
        assert await link.ask(Close(), timeout=TIMEOUT) == CommandSent(command="Close", frames=0)
        closed = await t.heard.notice(RealtimeClosed)
        assert closed == RealtimeClosed(link=LINK, provider="openai")
        assert t.heard.of(RealtimeDropped) == []  # our own close is no drop
        await sim.wait_until(lambda: sim.connections[0].closed_at is not None)
        assert sim.connections[0].closed_by == "client"
        await removed(t)
        with pytest.raises(ActorStopped):
            await link.tell(CommitTurn())


async def test_a_command_after_the_drop_is_refused_with_the_reason(
    sim: RealtimeSim, mock_clock: MockClock
) -> None:
    sim.script(Fail(after_chunks=0, drop=True))
    # The owner holds its first ResponseStarted until the gate opens, and its mailbox holds
    # one notice: so the link, reporting the drop, waits on the owner, still running. A
    # command handled in that window is refused with the drop's reason.
    gate = trio.Event()
    async with tree(openai(sim), owner_capacity=1, hold=gate) as t:
        await t.heard.event(SessionReady)
        await t.link.tell(RequestResponse())
        await t.heard.wait_for(lambda: t.heard.holding)
        await sim.wait_until(lambda: sim.connections[0].closed_at is not None)
        await trio.testing.wait_all_tasks_blocked()  # the link has read the close
        status = await t.ask(GetLinkStatus())
        assert isinstance(status, LinkStatus) and status.state == "ended"
        assert await t.ask(CommitTurn()) == CommandRefused(
            link=LINK,
            command="CommitTurn",
            kind="not_connected",
            reason="no socket: the socket closed (code 1011, server_error)",
        )
        gate.set()
        dropped = await t.heard.notice(RealtimeDropped)
        assert dropped.code == 1011
        await removed(t)


# -- xAI ------------------------------------------------------------------------------------

XAI_KEY = "xai-realtimesim-test-key"


async def test_xai_unsupported_command_is_refused_with_the_reason(mock_clock: MockClock) -> None:
    async with open_xai_realtime_sim(api_key=XAI_KEY) as sim:
        sim.script(Say("one two three"))

        def session() -> RealtimeSession:
            return XaiRealtimeSession(XAI_KEY, base_url=sim.url)

        async with tree(session) as t:
            refused = await t.ask(Truncate(item_id="item_1", played_ms=100))
            assert refused == CommandRefused(
                link=LINK,
                command="Truncate",
                kind="unsupported",
                reason="xai realtime sessions do not support truncate",
            )
            # The link goes on: a whole turn after the refusal.
            await t.link.tell(AppendAudio(pcm=tone(200)))
            await t.link.tell(CommitTurn())
            await t.link.tell(RequestResponse())
            [done] = await t.heard.event(ResponseDone)
            assert audio_of(t.heard, done.response_id) == speech_pcm("one two three", 24000)
            assert t.heard.notices[0] == RealtimeConnected(link=LINK, provider="xai")


async def test_xai_wrong_key_is_refused_at_the_handshake(mock_clock: MockClock) -> None:
    async with open_xai_realtime_sim(api_key=XAI_KEY) as sim:

        def session() -> RealtimeSession:
            return XaiRealtimeSession("xai-wrong", base_url=sim.url)

        async with tree(session) as t:
            failed = await t.heard.notice(RealtimeConnectFailed)
            assert failed.status == 401 and failed.provider == "xai"
            assert failed.reason.startswith("the provider refused the handshake with HTTP 401")
            assert "Incorrect API key" in failed.reason
            assert t.heard.notices == [failed]
            await removed(t)
            assert sim.connections == []


# -- ElevenLabs -----------------------------------------------------------------------------


async def test_elevenlabs_pings_are_answered_and_its_limits_refused(
    mock_clock: MockClock,
) -> None:
    async with open_elevenlabs_agent_sim(agent_id="agent_sim", ping_interval=2.0) as sim:

        def session() -> RealtimeSession:
            return ElevenLabsAgentSession("agent_sim", base_url=sim.url)

        async with tree(session) as t:
            await t.heard.event(SessionReady)
            await sim.wait_until(lambda: len(sim.conversation().pongs) == 2)
            assert sim.conversation().pongs == [1, 2]  # take_frames, sent by the link
            assert trio.current_time() - sim.conversation().opened_at == 4.0
            refused = await t.ask(CommitTurn())
            assert isinstance(refused, CommandRefused) and refused.kind == "unsupported"
            assert refused.reason == (
                "elevenlabs realtime sessions do not support commit_turn "
                "(the agent detects the end of a turn)"
            )
            # request_response owes nothing: sent, zero frames.
            assert await t.ask(RequestResponse()) == CommandSent(
                command="RequestResponse", frames=0
            )


# -- Gemini ---------------------------------------------------------------------------------

GEMINI_KEY = "gemini-sim-test-key"


async def test_gemini_a_spoken_turn_over_binary_frames(mock_clock: MockClock) -> None:
    async with open_gemini_live_sim(api_key=GEMINI_KEY) as sim:
        sim.script(Say("hi there Ana"))

        def session() -> RealtimeSession:
            return GeminiLiveSession(GEMINI_KEY, base_url=sim.url)

        async with tree(session) as t:
            await t.heard.event(SessionReady)
            spoken = tone(600, rate=16000)
            for at in range(0, len(spoken), 640):  # 20 ms frames, as clankvox hands them on
                assert t.link.try_tell(AppendAudio(pcm=spoken[at : at + 640]))
            await t.link.tell(CommitTurn())
            await t.link.tell(RequestResponse())
            [done] = await t.heard.event(ResponseDone)
            assert done.status == "completed"
            assert audio_of(t.heard, done.response_id) == speech_pcm("hi there Ana", 24000)
            [turn] = sim.connections[0].turns
            assert bytes(turn.audio) == spoken
            refused = await t.ask(SpeakExact(text="hello"))
            assert isinstance(refused, CommandRefused) and refused.kind == "unsupported"
            assert refused.reason.startswith("gemini realtime sessions do not support speak_exact")


# -- connecting -----------------------------------------------------------------------------


async def test_a_provider_that_never_answers_times_out_at_exactly_the_connect_timeout(
    mock_clock: MockClock,
) -> None:
    async def silent(stream: trio.SocketStream) -> None:
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        [listener] = await nursery.start(partial(trio.serve_tcp, silent, 0, host="127.0.0.1"))
        port = listener.socket.getsockname()[1]

        def session() -> RealtimeSession:
            return OpenAIRealtimeSession(KEY, base_url=f"ws://127.0.0.1:{port}/v1/realtime")

        async with tree(session, connect_timeout=3.0) as t:
            # A command sent meanwhile waits for the attempt, then is refused with its end.
            refused = await t.ask(CommitTurn())
            failed = await t.heard.notice(RealtimeConnectFailed)
            assert failed.reason == "the provider did not answer within 3.0 s"
            assert failed.status is None
            assert t.heard.at(failed) == 3.0
            assert refused == CommandRefused(
                link=LINK,
                command="CommitTurn",
                kind="not_connected",
                reason="no socket: the provider did not answer within 3.0 s",
            )
            await removed(t)
        nursery.cancel_scope.cancel()


async def test_a_provider_that_stops_reading_ends_the_link_at_the_send_timeout(
    mock_clock: MockClock,
) -> None:
    async def deaf(request: trio_websocket.WebSocketRequest) -> None:
        await request.accept()
        await trio.sleep_forever()  # never reads: the loopback buffers fill

    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            partial(trio_websocket.serve_websocket, deaf, "127.0.0.1", 0, ssl_context=None)
        )

        def session() -> RealtimeSession:
            return OpenAIRealtimeSession(KEY, base_url=f"ws://127.0.0.1:{server.port}/v1")

        async with tree(session, send_timeout=4.0) as t:
            await t.heard.notice(RealtimeConnected)
            # 40 appends of 10 s each (640 kB of base64 apiece): far more than loopback holds.
            refused = await t.ask(AppendAudio(pcm=bytes(400 * 24000 * 2)))
            assert refused == CommandRefused(
                link=LINK,
                command="AppendAudio",
                kind="not_connected",
                reason="the provider took no frame for 4.0 s",
            )
            dropped = await t.heard.notice(RealtimeDropped)
            assert (dropped.code, dropped.reason, dropped.error) == (
                None,
                "send stalled",
                "connection_lost",
            )
            assert t.heard.at(dropped) == 4.0
            await removed(t)
        nursery.cancel_scope.cancel()


async def test_nothing_listening_is_a_clear_connect_failure(mock_clock: MockClock) -> None:
    with trio.socket.socket() as probe:  # a port nobody listens on
        await probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def session() -> RealtimeSession:
        return OpenAIRealtimeSession(KEY, base_url=f"ws://127.0.0.1:{port}/v1/realtime")

    async with tree(session) as t:
        failed = await t.heard.notice(RealtimeConnectFailed)
        assert failed.reason.startswith("could not connect to the provider: OSError")
        await removed(t)


def test_bad_link_configuration_is_refused() -> None:
    def factory() -> RealtimeSession:
        return OpenAIRealtimeSession(KEY)

    with pytest.raises(ValueError, match="connect_timeout must be > 0 seconds, got 0"):
        RealtimeLinkConfig(session=factory, owner="o", connect_timeout=0)
    with pytest.raises(ValueError, match="owner must name an actor"):
        RealtimeLinkConfig(session=factory, owner="")
