"""DiscordBridge against the sandbox: the real discord.py-self client, inside the runtime.

Real clock (see tests/sandbox/conftest.py for why MockClock cannot help with curl_cffi).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
import trio_asyncio

from clanker.discord.bridge import BridgeConfig, DiscordBridge, wait_for_login
from clanker.discord.events import (
    AddReaction,
    BridgeFailure,
    BridgeNotReady,
    BridgeReady,
    BridgeStatus,
    DmOpened,
    Done,
    FetchHistory,
    FileUpload,
    GatewayEvent,
    GetBridgeStatus,
    GetGuild,
    GetIdentity,
    GuildAvailable,
    History,
    MemberJoined,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    OpenDm,
    RawDispatch,
    ReactionChanged,
    SendGatewayOp,
    SendMessage,
    Sent,
    StartTyping,
    TypingStarted,
    VoiceServerChanged,
    VoiceStateChanged,
)
from clanker.discord.watchdog import WatchdogConfig
from clanker.runtime import (
    Actor,
    ChildSpec,
    Message,
    Runtime,
    SupervisorSpec,
    handles,
    open_runtime,
)
from clanker.sandbox import Sandbox, SandboxLookupError, demo_world, open_sandbox

TIMEOUT = 30.0


class Collected(Message, frozen=True):
    events: tuple[GatewayEvent, ...]


class GetCollected(Message, frozen=True):
    pass


class Router(Actor):
    """Stands in for the Guilds router: keeps every event it is told."""

    def __init__(self) -> None:
        self.events: list[object] = []

    @handles(
        BridgeReady,
        MessageCreated,
        MessageEdited,
        MessageDeleted,
        ReactionChanged,
        MemberJoined,
        GuildAvailable,
        VoiceStateChanged,
        VoiceServerChanged,
        RawDispatch,
        TypingStarted,
    )
    async def keep(self, msg: object) -> None:
        self.events.append(msg)

    @handles(GetCollected)
    async def get(self, msg: GetCollected) -> Collected:
        return Collected(events=tuple(self.events))  # type: ignore[arg-type]


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with open_sandbox(demo_world()) as sb:
        yield sb
        assert sb.unknown_routes == []


def bridge_spec(sandbox: Sandbox, **overrides: Any) -> SupervisorSpec:
    config = BridgeConfig(
        token=sandbox.token,
        route_to="router",
        rest_url=sandbox.rest_url,
        gateway_url=sandbox.gateway_url,
        **overrides,
    )
    return SupervisorSpec(
        children=[
            ChildSpec("router", Router, register="router"),
            ChildSpec("bridge", lambda: DiscordBridge(config), register="bridge"),
        ]
    )


@pytest.fixture
async def bridge_runtime(sandbox: Sandbox) -> AsyncIterator[Runtime]:
    async with trio_asyncio.open_loop(), open_runtime(bridge_spec(sandbox)) as rt:
        await wait_for_login(rt, timeout=TIMEOUT, name="bridge")
        yield rt


async def events_until(rt: Runtime, predicate: object) -> tuple[object, ...]:
    with trio.fail_after(TIMEOUT):
        while True:
            got = (await rt.lookup("router").ask(GetCollected(), Collected)).events
            if predicate(got):  # type: ignore[operator]
                return got
            await trio.sleep(0.02)


async def test_inbound_events_reach_the_router(bridge_runtime: Runtime, sandbox: Sandbox) -> None:
    rt = bridge_runtime
    world = sandbox.world
    alice = world.user_named("alice")
    general = world.channel_named("general")
    posted = sandbox.post_message(alice, general, "hello clanker")
    got = await events_until(rt, lambda ev: any(isinstance(e, MessageCreated) for e in ev))
    ready = [e for e in got if isinstance(e, BridgeReady)]
    assert ready and ready[0].user_id == world.bot.id
    created = [e for e in got if isinstance(e, MessageCreated)]
    assert len(created) == 1
    m = created[0].message
    assert (m.message_id, m.channel_id, m.author_id, m.content, m.author_is_bot) == (
        posted.id,
        general.id,
        alice.id,
        "hello clanker",
        False,
    )
    sandbox.edit_message(posted, "hello again")
    sandbox.react(alice, posted, "👍")
    sandbox.delete_message(posted)
    got = await events_until(rt, lambda ev: any(isinstance(e, MessageDeleted) for e in ev))
    edits = [e for e in got if isinstance(e, MessageEdited)]
    reactions = [e for e in got if isinstance(e, ReactionChanged)]
    assert [(e.message_id, e.content) for e in edits] == [(posted.id, "hello again")]
    assert [(e.user_id, e.emoji, e.added) for e in reactions] == [(alice.id, "👍", True)]


async def test_dms_arrive_without_a_guild_and_replies_land_in_the_dm(
    bridge_runtime: Runtime, sandbox: Sandbox
) -> None:
    rt = bridge_runtime
    world = sandbox.world
    alice, bob = world.user_named("alice"), world.user_named("bob")
    dm = sandbox.open_dm(alice)  # alice opens it: CHANNEL_CREATE reaches the bot first
    assert sandbox.open_dm(alice) is dm  # one DM per pair
    posted = sandbox.post_message(alice, dm, "hey, got a minute?")
    got = await events_until(
        rt,
        lambda ev: any(isinstance(e, MessageCreated) and e.message.channel_id == dm.id for e in ev),
    )
    [created] = [e for e in got if isinstance(e, MessageCreated) and e.message.channel_id == dm.id]
    assert (created.message.message_id, created.message.guild_id) == (posted.id, None)
    bridge = rt.lookup("bridge")
    # The bot opens a DM the way discord.py-self does (POST /users/@me/channels): alice's is
    # found, bob's is made.
    found = await bridge.ask(OpenDm(user_id=alice.id), DmOpened, timeout=TIMEOUT)
    assert found.channel_id == dm.id
    made = await bridge.ask(OpenDm(user_id=bob.id), DmOpened, timeout=TIMEOUT)
    assert made.channel_id != dm.id and world.channel(made.channel_id).recipient_ids == [
        world.bot.id,
        bob.id,
    ]
    sent = await bridge.ask(
        SendMessage(channel_id=dm.id, content="sure", reply_to_message_id=posted.id),
        Sent,
        timeout=TIMEOUT,
    )
    assert (sent.message.channel_id, sent.message.guild_id) == (dm.id, None)
    assert [m.content for m in sandbox.bot_messages(dm)] == ["sure"]
    # Nobody else can post in alice's DM, and a user who does not exist gets a typed failure.
    with pytest.raises(SandboxLookupError, match="not a recipient"):
        sandbox.post_message(bob, dm, "let me in")
    unknown = await bridge.ask(OpenDm(user_id=12345), BridgeFailure, timeout=TIMEOUT)
    assert unknown.status == 404 and unknown.code == 10013


async def test_outbound_commands_answer_with_typed_results(
    bridge_runtime: Runtime, sandbox: Sandbox
) -> None:
    bridge = bridge_runtime.lookup("bridge")
    world = sandbox.world
    general = world.channel_named("general")
    alice = world.user_named("alice")
    question = sandbox.post_message(alice, general, "what's up?")

    sent = await bridge.ask(
        SendMessage(channel_id=general.id, content="not much", reply_to_message_id=question.id),
        Sent,
        timeout=TIMEOUT,
    )
    assert sent.message.reply_to_message_id == question.id
    stored = sandbox.bot_messages(general)[-1]
    assert (stored.id, stored.content) == (sent.message.message_id, "not much")

    with_file = await bridge.ask(
        SendMessage(
            channel_id=general.id,
            content="see attached",
            files=(FileUpload(filename="notes.txt", data=b"hello"),),
        ),
        Sent,
        timeout=TIMEOUT,
    )
    assert [a.filename for a in with_file.message.attachments] == ["notes.txt"]

    assert await bridge.ask(StartTyping(channel_id=general.id), Done, timeout=TIMEOUT) == Done()
    react = AddReaction(channel_id=general.id, message_id=question.id, emoji="🎉")
    assert await bridge.ask(react, Done, timeout=TIMEOUT) == Done()

    history = await bridge.ask(
        FetchHistory(channel_id=general.id, limit=10), History, timeout=TIMEOUT
    )
    assert [m.content for m in history.messages][:3] == ["see attached", "not much", "what's up?"]

    bad = await bridge.ask(FetchHistory(channel_id=general.id, limit=0), BridgeFailure)
    assert "limit must be between 1 and 100, got 0" in bad.detail

    sandbox.fail_route("POST /channels/{channel_id}/messages", status=403, times=1)
    refused = await bridge.ask(
        SendMessage(channel_id=general.id, content="denied"), BridgeFailure, timeout=TIMEOUT
    )
    assert (refused.command, refused.status) == ("SendMessage", 403)


async def test_guilds_and_channels_arrive_before_ready(
    bridge_runtime: Runtime, sandbox: Sandbox
) -> None:
    got = await events_until(bridge_runtime, lambda ev: any(isinstance(e, BridgeReady) for e in ev))
    kinds = [type(e).__name__ for e in got]
    assert kinds.index("GuildAvailable") < kinds.index("BridgeReady")
    guild = next(e for e in got if isinstance(e, GuildAvailable))
    world_guild = sandbox.world.channel_named("general").guild_id
    assert (guild.guild_id, guild.name) == (world_guild, "Sandbox")
    channels = {c.name: c.kind for c in guild.channels}
    assert channels["general"] == "text"
    assert channels["Lounge"] == "voice"
    # The same facts on request, for an actor rebuilding its state after a restart.
    bridge = bridge_runtime.lookup("bridge")
    ready = next(e for e in got if isinstance(e, BridgeReady))
    assert await bridge.ask(GetIdentity(), BridgeReady) == ready
    assert await bridge.ask(GetGuild(guild_id=world_guild), GuildAvailable) == guild
    missing = await bridge.ask(GetGuild(guild_id=12345), BridgeNotReady)
    assert missing.reason == "this account does not see guild 12345"


async def test_a_command_that_cannot_run_is_a_typed_failure_not_a_crash() -> None:
    # A bridge that has not logged in: every command fails with a reason, none raises.
    bridge = DiscordBridge(BridgeConfig(token="t", route_to="router"))
    failed = await bridge._send(SendMessage(channel_id=1, content="hi"))
    assert isinstance(failed, BridgeFailure)
    assert (failed.command, failed.detail) == (
        "SendMessage",
        "ConnectionError: not logged in to Discord yet",
    )
    typing = await bridge._typing(StartTyping(channel_id=1))
    assert isinstance(typing, BridgeFailure) and typing.command == "StartTyping"
    assert await bridge.identity(GetIdentity()) == BridgeNotReady(
        reason="the bridge has not finished logging in"
    )


async def test_raw_voice_op_gets_voice_state_and_server_updates(
    bridge_runtime: Runtime, sandbox: Sandbox
) -> None:
    world = sandbox.world
    lounge = world.channel_named("Lounge")
    join = SendGatewayOp(
        op=4,
        data={
            "guild_id": str(lounge.guild_id),
            "channel_id": str(lounge.id),
            "self_mute": False,
            "self_deaf": True,
        },
    )
    bridge = bridge_runtime.lookup("bridge")
    assert await bridge.ask(join, Done, timeout=TIMEOUT) == Done()
    got = await events_until(
        bridge_runtime, lambda ev: any(isinstance(e, VoiceServerChanged) for e in ev)
    )
    state = next(e for e in got if isinstance(e, VoiceStateChanged))
    server = next(e for e in got if isinstance(e, VoiceServerChanged))
    assert (state.guild_id, state.channel_id, state.user_id, state.self_deaf) == (
        lounge.guild_id,
        lounge.id,
        world.bot.id,
        True,
    )
    assert state.session_id  # what the voice gateway's IDENTIFY needs
    assert server.guild_id == lounge.guild_id
    assert server.token.startswith("sandbox-voice-token-")
    # As on Discord: a bare host:port, to which clients add wss://.
    assert sandbox.voice is not None and server.endpoint == sandbox.voice.endpoint
    assert server.endpoint.startswith("127.0.0.1:")
    assert sandbox.gateway_stats.voice_requests[-1]["channel_id"] == str(lounge.id)

    leave = SendGatewayOp(op=4, data={"guild_id": str(lounge.guild_id), "channel_id": None})
    assert await bridge.ask(leave, Done, timeout=TIMEOUT) == Done()
    got = await events_until(
        bridge_runtime,
        lambda ev: any(isinstance(e, VoiceStateChanged) and e.channel_id is None for e in ev),
    )
    assert (lounge.guild_id, world.bot.id) not in world.voice_states


async def test_raw_dispatches_pass_through_when_asked(sandbox: Sandbox) -> None:
    spec = bridge_spec(sandbox, raw_events=frozenset({"TYPING_START"}))
    async with trio_asyncio.open_loop(), open_runtime(spec) as rt:
        await wait_for_login(rt, timeout=TIMEOUT, name="bridge")
        alice = sandbox.world.user_named("alice")
        general = sandbox.world.channel_named("general")
        sandbox.start_typing(alice, general)
        got = await events_until(rt, lambda ev: any(isinstance(e, RawDispatch) for e in ev))
        typing = next(e for e in got if isinstance(e, RawDispatch))
        assert (typing.event, typing.guild_id) == ("TYPING_START", general.guild_id)
        assert int(typing.data["user_id"]) == alice.id
        assert int(typing.data["channel_id"]) == general.id


async def test_typing_arrives_as_typing_started_in_a_guild_and_a_dm(
    bridge_runtime: Runtime, sandbox: Sandbox
) -> None:
    world = sandbox.world
    alice, general = world.user_named("alice"), world.channel_named("general")
    dm = sandbox.open_dm(alice)
    sandbox.start_typing(alice, general)
    sandbox.start_typing(alice, dm)
    sandbox.start_typing(world.bot, general)  # one's own typing never comes back
    got = await events_until(
        bridge_runtime, lambda ev: sum(isinstance(e, TypingStarted) for e in ev) >= 2
    )
    typed = [e for e in got if isinstance(e, TypingStarted)]
    assert [(e.channel_id, e.guild_id, e.user_id, e.is_bot) for e in typed] == [
        (general.id, general.guild_id, alice.id, False),
        (dm.id, None, alice.id, False),
    ]
    stamps = [d.data["timestamp"] for d in sandbox.sent_dispatches if d.event == "TYPING_START"]
    assert [e.at for e in typed] == stamps  # Discord's own stamp (Unix seconds)


async def test_watchdog_logs_in_again_when_the_gateway_goes_silent() -> None:
    # The sandbox heartbeats every 0.25 s and the client gives up on a socket after 1 s without
    # an ACK; the watchdog re-logs in after 1.5 s of silence while not ready. A 4 s stall keeps
    # discord.py-self from reconnecting by itself, so only the watchdog's re-login (a fresh
    # IDENTIFY, not a RESUME) brings the bridge back.
    async with open_sandbox(demo_world(), heartbeat_interval_ms=250) as sandbox:
        spec = bridge_spec(
            sandbox,
            heartbeat_timeout=1.0,
            watchdog=WatchdogConfig(silence=1.5, backoff_initial=20.0, backoff_maximum=60.0),
        )
        async with trio_asyncio.open_loop(), open_runtime(spec) as rt:
            await wait_for_login(rt, timeout=TIMEOUT, name="bridge")
            bridge = rt.lookup("bridge")
            before = await bridge.ask(GetBridgeStatus(), BridgeStatus)
            assert (before.ready, before.relogins) == (True, 0)
            sandbox.stall_gateway(4.0)
            got = await events_until(
                rt, lambda ev: sum(isinstance(e, BridgeReady) for e in ev) == 2
            )
            after = await bridge.ask(GetBridgeStatus(), BridgeStatus)
            assert (after.ready, after.relogins) == (True, 1)
            # A second IDENTIFY: a new login, not the old client resuming. (The old client's
            # stalled reconnect may still deliver a RESUME once the stall ends; it goes nowhere.)
            assert sandbox.gateway_stats.identifies == 2
            # The bridge kept running: the supervisor never restarted it.
            node = rt.snapshot().find("root/bridge")
            assert node is not None and node.restarts == 0
            assert sum(isinstance(e, BridgeReady) for e in got) == 2


# -- login after start, lanes, the inbound FIFO ---------------------------------------------------

SEND_ROUTE = "POST /channels/{channel_id}/messages"


async def test_the_tree_starts_before_the_login_and_the_status_says_so(sandbox: Sandbox) -> None:
    sandbox.stall_gateway(2.0)  # Discord is slow to answer
    async with trio_asyncio.open_loop(), open_runtime(bridge_spec(sandbox)) as rt:
        # open_runtime returned: the bridge's start did not wait for the gateway.
        early = await rt.lookup("bridge").ask(GetBridgeStatus(), BridgeStatus)
        assert (early.ready, early.state) == (False, "logging_in")
        me = await wait_for_login(rt, timeout=TIMEOUT, name="bridge")
        assert me.user_id == sandbox.world.bot.id
        later = await rt.lookup("bridge").ask(GetBridgeStatus(), BridgeStatus)
        assert (later.ready, later.state) == (True, "ready")


async def test_a_login_that_does_not_complete_in_time_crashes_the_bridge_for_a_retry(
    sandbox: Sandbox,
) -> None:
    sandbox.stall_gateway(1.5)
    spec = bridge_spec(sandbox, login_timeout=1.0)
    async with trio_asyncio.open_loop(), open_runtime(spec) as rt, rt.events.subscribe() as sub:
        await wait_for_login(rt, timeout=TIMEOUT, name="bridge")
        crashes = [e for e in sub.pending() if type(e).__name__ == "ActorCrashed"]
        assert crashes, "the stalled login should have crashed the bridge at least once"
        assert all(e.path == "root/bridge" for e in crashes)  # type: ignore[attr-defined]
        assert "not logged in to Discord within 1 s" in crashes[0].error  # type: ignore[attr-defined]


async def test_a_rate_limit_in_one_channel_stalls_no_other(
    bridge_runtime: Runtime, sandbox: Sandbox
) -> None:
    bridge = bridge_runtime.lookup("bridge")
    general = sandbox.world.channel_named("general")
    random_ = sandbox.world.channel_named("random")
    before = len(sandbox.bot_messages(general))
    # general is rate limited for a long while; the library waits it out in general's lane.
    sandbox.fail_route(SEND_ROUTE, 429, retry_after=60.0, channel=general.id, times=1)
    await bridge.tell(SendMessage(channel_id=general.id, content="waits out the limit"))
    sent = await bridge.ask(
        SendMessage(channel_id=random_.id, content="goes ahead"), Sent, timeout=TIMEOUT
    )
    assert sent.message.channel_id == random_.id
    assert len(sandbox.bot_messages(general)) == before  # still waiting, in its own lane
    status = await bridge.ask(GetBridgeStatus(), BridgeStatus)
    assert status.lanes == 2


async def test_commands_keep_their_order_within_a_channel(
    bridge_runtime: Runtime, sandbox: Sandbox
) -> None:
    bridge = bridge_runtime.lookup("bridge")
    general = sandbox.world.channel_named("general")
    before = len(sandbox.bot_messages(general))
    sandbox.delay_route(SEND_ROUTE, 0.5, channel=general.id, times=1)  # the first one is slow
    for word in ("one", "two", "three"):
        await bridge.tell(SendMessage(channel_id=general.id, content=word))
    last = await bridge.ask(
        SendMessage(channel_id=general.id, content="four"), Sent, timeout=TIMEOUT
    )
    assert last.message.content == "four"
    posted = [m.content for m in sandbox.bot_messages(general)[before:]]
    assert posted == ["one", "two", "three", "four"]


async def test_a_send_whose_start_by_passed_in_its_lane_is_refused_unsent(
    bridge_runtime: Runtime, sandbox: Sandbox
) -> None:
    bridge = bridge_runtime.lookup("bridge")
    general = sandbox.world.channel_named("general")
    before = len(sandbox.bot_messages(general))
    sandbox.delay_route(SEND_ROUTE, 0.5, channel=general.id, times=1)
    await bridge.tell(SendMessage(channel_id=general.id, content="slow"))
    # Its turn comes after "slow" (0.5 s): by then its pacing slot has lapsed.
    late = await bridge.ask(
        SendMessage(channel_id=general.id, content="too late", start_by=trio.current_time() + 0.1),
        BridgeFailure,
        timeout=TIMEOUT,
    )
    assert late.expired and late.status is None
    assert "start_by passed" in late.detail
    in_time = await bridge.ask(
        SendMessage(channel_id=general.id, content="in time", start_by=trio.current_time() + 30),
        Sent,
        timeout=TIMEOUT,
    )
    assert in_time.message.content == "in time"
    posted = [m.content for m in sandbox.bot_messages(general)[before:]]
    assert posted == ["slow", "in time"]


async def test_a_full_lane_refuses_with_a_typed_failure(sandbox: Sandbox) -> None:
    spec = bridge_spec(sandbox, lane_depth=1)
    async with trio_asyncio.open_loop(), open_runtime(spec) as rt:
        await wait_for_login(rt, timeout=TIMEOUT, name="bridge")
        bridge = rt.lookup("bridge")
        general = sandbox.world.channel_named("general")
        sandbox.delay_route(SEND_ROUTE, 60.0, channel=general.id, times=1)
        await bridge.tell(SendMessage(channel_id=general.id, content="stuck"))
        # Wait until the stuck one is running (it left the queue), then fill the queue.
        with trio.fail_after(TIMEOUT):
            await sandbox.wait_until(lambda: any(c.route == SEND_ROUTE for c in sandbox.rest_calls))
        await bridge.tell(SendMessage(channel_id=general.id, content="queued"))
        refused = await bridge.ask(
            SendMessage(channel_id=general.id, content="no room"), BridgeFailure, timeout=TIMEOUT
        )
        assert refused.detail == f"channel {general.id} already has 1 command(s) waiting"
        status = await bridge.ask(GetBridgeStatus(), BridgeStatus)
        assert status.lane_refusals == 1


async def test_gateway_events_reach_the_router_in_the_order_they_happened(
    bridge_runtime: Runtime, sandbox: Sandbox
) -> None:
    world = sandbox.world
    alice = world.user_named("alice")
    general = world.channel_named("general")
    posted = [sandbox.post_message(alice, general, f"message {i}").id for i in range(30)]
    got = await events_until(
        bridge_runtime,
        lambda ev: sum(isinstance(e, MessageCreated) for e in ev) == 30,
    )
    assert [e.message.message_id for e in got if isinstance(e, MessageCreated)] == posted
    status = await bridge_runtime.lookup("bridge").ask(GetBridgeStatus(), BridgeStatus)
    assert (status.inbound_depth, status.inbound_dropped) == (0, 0)
    assert status.inbound_capacity == 10_000
