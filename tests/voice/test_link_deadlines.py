"""No join hangs (issue 12 item 5), on virtual time: a clankvox that never reports `ready`, one
that refuses the join, and one that only knows the original system's join flow. The clankvox
here is a scripted actor at the link's far end (commands in, events told back), as the pipe
actors would deliver them; the link is the real one."""

from __future__ import annotations

from typing import Literal

import trio
import trio.testing

from clanker.discord.events import Done, SendGatewayOp, VoiceServerChanged, VoiceStateChanged
from clanker.runtime import (
    Actor,
    ActorContext,
    ActorRef,
    ChildSpec,
    SupervisorSpec,
    handles,
    open_runtime,
)
from clanker.voice import GetVoiceLinkStatus, GetVoiceLog, VoiceLinkStatus, VoiceLog
from clanker.voice import commands as c
from clanker.voice.events import AdapterSend, Error, GatewayVoiceStateUpdate, Ready
from clanker.voice.events import VoiceStateRequest as Op4
from clanker.voice.link import VoiceLink, VoiceLinkConfig

GUILD, CHANNEL, BOT = 10, 20, 30
UNKNOWN_CONNECT = (
    "Invalid stdin JSON message: unknown variant `connect`, expected one of `join`, "
    "`voice_state`, `voice_server`, `destroy`"
)


class Bridge(Actor):
    def __init__(self, sent: list[tuple[float, int, dict[str, object]]]) -> None:
        self.sent = sent

    @handles(SendGatewayOp)
    async def op(self, msg: SendGatewayOp) -> Done:
        self.sent.append((trio.current_time(), msg.op, msg.data))
        return Done()


Behaviour = Literal["silent", "refuse", "original", "ready"]


class ScriptedClankvox(Actor):
    """Answers commands the way a clankvox of `behaviour` would."""

    def __init__(self, behaviour: Behaviour, got: list[tuple[float, str]]) -> None:
        self.behaviour = behaviour
        self.got = got
        self._state = False

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx

    @handles(c.ClankvoxCommand)
    async def command(self, cmd: c.ClankvoxCommand) -> None:
        kind = str(type(cmd).__struct_config__.tag)
        self.got.append((trio.current_time(), kind))
        link = self.ctx.lookup("link")
        if self.behaviour == "refuse" and isinstance(cmd, c.Connect):
            await link.tell(Error(code="invalid_request", message="endpoint is not usable"))
        elif self.behaviour == "ready" and isinstance(cmd, c.Connect):
            await link.tell(Ready())
        elif self.behaviour == "original":
            if isinstance(cmd, c.Connect):
                await link.tell(Error(code="invalid_json", message=UNKNOWN_CONNECT))
            elif isinstance(cmd, c.Join):
                op4 = Op4(guild_id=cmd.guild_id, channel_id=cmd.channel_id)
                await link.tell(AdapterSend(payload=GatewayVoiceStateUpdate(op=4, d=op4)))
            elif isinstance(cmd, c.VoiceState):
                self._state = True
            elif isinstance(cmd, c.VoiceServer) and self._state:
                await link.tell(Ready())


def _spec(
    behaviour: Behaviour,
    sent: list[tuple[float, int, dict[str, object]]],
    got: list[tuple[float, str]],
) -> SupervisorSpec:
    """The bridge, a clankvox of `behaviour` and the real link, in that order."""
    config = VoiceLinkConfig(guild_id=GUILD, channel_id=CHANNEL, user_id=BOT, clankvox="kvox")
    return SupervisorSpec(
        children=[
            ChildSpec("bridge", lambda: Bridge(sent), register="discord"),
            ChildSpec("kvox", lambda: ScriptedClankvox(behaviour, got), register="kvox"),
            ChildSpec(
                "link", lambda: VoiceLink(config), register="link", mailbox=VoiceLink.mailbox
            ),
        ]
    )


async def _join(link: ActorRef) -> None:
    """After 1 s, both voice updates the guild session would forward."""
    await trio.sleep(1.0)
    await link.tell(
        VoiceStateChanged(guild_id=GUILD, channel_id=CHANNEL, user_id=BOT, session_id="s1")
    )
    await link.tell(VoiceServerChanged(guild_id=GUILD, channel_id=None, token="t1", endpoint="h:1"))


async def _run(behaviour: Behaviour, *, seconds: float):
    sent: list[tuple[float, int, dict[str, object]]] = []
    got: list[tuple[float, str]] = []
    spec = _spec(behaviour, sent, got)
    t0 = trio.current_time()
    async with open_runtime(spec) as rt:
        link = rt.lookup("link")
        await _join(link)
        await trio.sleep(seconds)
        status = await link.ask(GetVoiceLinkStatus(), VoiceLinkStatus)
        log = await link.ask(GetVoiceLog(), VoiceLog)
    rel = [(round(t - t0, 3), kind) for t, kind in got]
    return rel, status, [e for e in log.entries if e.kind == "join_failed"], sent


async def test_no_ready_within_the_deadline_is_retried_with_backoff(
    autojump_clock: trio.testing.MockClock,
) -> None:
    got, status, failures, _ = await _run("silent", seconds=95.0)
    # Connect at 1 s; not ready by 31 s → retry 1 s later (32 s); not ready by 62 s → retry
    # 2 s later (64 s); not ready by 94 s → the next retry is due at 98 s.
    assert got == [(1.0, "connect"), (32.0, "connect"), (64.0, "connect")]
    assert (status.phase, status.failures) == ("retrying", 3)
    assert status.retry_at is not None and status.last_error is not None
    assert "not ready 30 s after the connect" in status.last_error
    assert [e.at - failures[0].at for e in failures] == [0.0, 31.0, 63.0]
    assert failures[2].detail.endswith("retrying in 4 s")


async def test_a_refused_join_is_an_error_event_and_a_backed_off_retry(
    autojump_clock: trio.testing.MockClock,
) -> None:
    got, status, failures, _ = await _run("refuse", seconds=10.0)
    # Refused at once, each time: retries after 1, 2 and 4 s (at 2, 4 and 8 s).
    assert got == [(1.0, "connect"), (2.0, "connect"), (4.0, "connect"), (8.0, "connect")]
    assert (status.phase, status.failures) == ("retrying", 4)
    assert status.last_error == (
        "clankvox refused the join (invalid_request: endpoint is not usable)"
    )
    assert len(failures) == 4


async def test_the_original_join_flow_is_used_when_connect_is_unknown(
    autojump_clock: trio.testing.MockClock,
) -> None:
    got, status, failures, sent = await _run("original", seconds=5.0)
    assert got == [
        (1.0, "connect"),
        (1.0, "join"),
        (1.0, "voice_state"),
        (1.0, "voice_server"),
    ]
    assert (status.phase, status.legacy_join, status.failures) == ("ready", True, 0)
    assert failures == []
    # clankvox's adapter_send asked for the op 4 the link had already sent: not sent again
    # (the second op 4 is the leave when the tree stops).
    assert [(op, data["channel_id"]) for _, op, data in sent] == [(4, str(CHANNEL)), (4, None)]


async def test_a_ready_join_has_no_timers_left(autojump_clock: trio.testing.MockClock) -> None:
    got, status, failures, _ = await _run("ready", seconds=1000.0)
    assert got == [(1.0, "connect")]
    assert (status.phase, status.failures, status.retry_at, failures) == ("ready", 0, None, [])


async def test_stopping_after_the_bridge_sends_no_retried_leave(
    autojump_clock: trio.testing.MockClock, caplog
) -> None:
    # The bridge goes first (as in the product's shutdown): the link's leave finds no bridge,
    # says so once, and the link stops at once (no retries, no warnings).
    sent: list[tuple[float, int, dict[str, object]]] = []
    got: list[tuple[float, str]] = []
    spec = _spec("ready", sent, got)
    caplog.set_level("INFO", logger="clanker.voice")
    async with open_runtime(spec) as rt:
        link = rt.lookup("link")
        await _join(link)
        await trio.sleep(5.0)
        await rt.root.terminate_child("bridge")
        stopping = trio.current_time()
        await rt.root.terminate_child("link")
        assert trio.current_time() == stopping
    assert [op for _, op, _ in sent] == [4]  # the join only: the leave had nowhere to go
    voice = [r for r in caplog.records if r.name == "clanker.voice"]
    assert [r.getMessage() for r in voice if r.levelname != "INFO"] == []
    assert sum("no bridge to send the leave" in r.getMessage() for r in voice) == 1
