"""The product tree on virtual time: inline Store, settings, pacing, guilds, a test Llm and a
test bridge. No socket, no thread: tests run on `trio.testing.MockClock` and can assert exact
times. What the test actors know lives in a `World` outside them, so it survives their crashes
(as Discord's state survives the bridge's)."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.lowlevel

from clanker.discord.events import (
    AddReaction,
    AwaitReady,
    BridgeFailure,
    BridgeNotReady,
    BridgeReady,
    ChannelInfo,
    DiscordMessage,
    Done,
    GetGuild,
    GetIdentity,
    GuildAvailable,
    MemberInfo,
    MessageCreated,
    SendGatewayOp,
    SendMessage,
    Sent,
    StartTyping,
)
from clanker.guilds import ROUTER_NAME, GuildsConfig, guilds_spec
from clanker.guilds.pacing import PACING_NAME, PacingKeeper
from clanker.llm.actor import Complete, LlmCompleted
from clanker.llm.model import LlmRequest, LlmResponse, ToolCall, Usage
from clanker.runtime import (
    Actor,
    ActorContext,
    ActorCrashed,
    ChildSpec,
    OperatorCrash,
    Runtime,
    Strategy,
    SupervisorSpec,
    handles,
    open_runtime,
)
from clanker.settings import (
    CurrentSettings,
    GetSettings,
    SettingsUpdated,
    SubscribeSettings,
    UpdateSettings,
)
from clanker.settings.actor import SettingsActor
from clanker.store import ActionRow, ActionRows, ActionsQuery, store_child

BOT_ID = 999
BOT_NAME = "clanker"
GUILD = 100
GUILD_NAME = "testers"
ALICE = 1
BOB = 2


@dataclass
class SentMessage:
    at: float
    channel_id: int
    content: str
    reply_to: int | None


@dataclass
class World:
    """Discord as the test bridge sees it, and what the test Llm answers."""

    ready: bool = True
    channels: list[ChannelInfo] = field(
        default_factory=lambda: (
            [ChannelInfo(channel_id=c, name=f"chan-{c}", kind="text") for c in (10, 11, 12, 13)]
            + [ChannelInfo(channel_id=50, name="lounge", kind="voice")]
            + [ChannelInfo(channel_id=23, name="a thread", kind="public_thread", parent_id=10)]
        )
    )
    members: list[MemberInfo] = field(default_factory=lambda: [MemberInfo(user_id=3, name="carol")])
    sent: list[SentMessage] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)  # each call's user turns, joined
    gateway_ops: list[tuple[int, dict[str, Any] | None]] = field(default_factory=list)
    llm_calls: int = 0
    llm_times: list[float] = field(default_factory=list)  # when each model call was asked
    llm_delay: float = 0.0  # seconds each model call takes
    # Seconds the bridge holds each send before its turn (one per send, first first): a slow
    # lane or a restarting bridge. A send whose ``start_by`` passed meanwhile is refused, as
    # the real bridge does, and listed in ``expired``.
    send_delays: list[float] = field(default_factory=list)
    expired: list[SentMessage] = field(default_factory=list)
    typing: list[tuple[float, int]] = field(default_factory=list)  # (trio time, channel)
    answer: Callable[[int], str] = lambda n: json.dumps({"text": f"answer {n}"})
    # The tool calls the n-th model call makes (none by default), and each call's request.
    tool_calls: Callable[[int], tuple[ToolCall, ...]] = lambda n: ()
    requests: list[LlmRequest] = field(default_factory=list)
    reactions: list[tuple[float, int, str]] = field(default_factory=list)  # (time, message, emoji)
    fail_subscribes: int = 0  # the settings actor crashes on this many SubscribeSettings
    logged_in: bool = False  # the first bridge start pushes READY; restarts do not (a RESUME)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(10_000))

    def guild(self) -> GuildAvailable:
        return GuildAvailable(
            guild_id=GUILD,
            name=GUILD_NAME,
            channels=tuple(self.channels),
            member_count=3,
            members=tuple(self.members),
        )

    def texts(self, channel_id: int | None = None) -> list[str]:
        return [s.content for s in self.sent if channel_id is None or s.channel_id == channel_id]


class TestBridge(Actor):
    """Stands in for `DiscordBridge`: answers identity/guild questions and commands."""

    def __init__(self, world: World) -> None:
        self.world = world

    async def on_start(self, ctx: ActorContext) -> None:
        if self.world.ready and not self.world.logged_in:
            self.world.logged_in = True
            router = ctx.lookup(ROUTER_NAME)
            await router.tell(BridgeReady(user_id=BOT_ID, user_name=BOT_NAME, guild_ids=(GUILD,)))
            await router.tell(self.world.guild())

    @handles(GetIdentity)
    async def identity(self, msg: GetIdentity) -> BridgeReady | BridgeNotReady:
        if not self.world.ready:
            return BridgeNotReady(reason="logging in")
        return BridgeReady(user_id=BOT_ID, user_name=BOT_NAME, guild_ids=(GUILD,))

    @handles(GetGuild)
    async def get_guild(self, msg: GetGuild) -> GuildAvailable | BridgeNotReady:
        if not self.world.ready or msg.guild_id != GUILD:
            return BridgeNotReady(reason=f"guild {msg.guild_id} not seen")
        return self.world.guild()

    @handles(AwaitReady)
    async def await_ready(self, msg: AwaitReady) -> BridgeReady:
        return BridgeReady(user_id=BOT_ID, user_name=BOT_NAME, guild_ids=(GUILD,))

    @handles(SendMessage)
    async def send(self, msg: SendMessage) -> Sent | BridgeFailure:
        if self.world.send_delays:
            await trio.sleep(self.world.send_delays.pop(0))
        now = trio.current_time()
        if msg.start_by is not None and now > msg.start_by:
            self.world.expired.append(SentMessage(now, msg.channel_id, msg.content, None))
            return BridgeFailure(
                command="SendMessage", status=None, code=None, detail="late", expired=True
            )
        self.world.sent.append(
            SentMessage(
                at=now,
                channel_id=msg.channel_id,
                content=msg.content,
                reply_to=msg.reply_to_message_id,
            )
        )
        return Sent(
            message=DiscordMessage(
                message_id=next(self.world.ids),
                channel_id=msg.channel_id,
                guild_id=GUILD,
                author_id=BOT_ID,
                author_name=BOT_NAME,
                author_is_bot=False,
                content=msg.content,
                created_at="2026-01-01T00:00:00+00:00",
            )
        )

    @handles(StartTyping)
    async def typing(self, msg: StartTyping) -> Done:
        self.world.typing.append((trio.current_time(), msg.channel_id))
        return Done()

    @handles(AddReaction)
    async def done(self, msg: AddReaction) -> Done:
        self.world.reactions.append((trio.current_time(), msg.message_id, msg.emoji))
        return Done()

    @handles(SendGatewayOp)
    async def gateway_op(self, msg: SendGatewayOp) -> Done:
        self.world.gateway_ops.append((msg.op, msg.data))
        return Done()


class TestLlm(Actor):
    """Stands in for `Llm`: answers every `Complete` with ``world.answer(n)``."""

    def __init__(self, world: World) -> None:
        self.world = world

    @handles(Complete)
    async def complete(self, msg: Complete) -> LlmCompleted:
        self.world.llm_calls += 1
        self.world.llm_times.append(trio.current_time())
        self.world.requests.append(msg.request)
        calls = self.world.tool_calls(self.world.llm_calls)
        if self.world.llm_delay:
            await trio.sleep(self.world.llm_delay)
        self.world.prompts.append(
            "\n".join(
                part.text for m in msg.request.messages for part in m.parts if hasattr(part, "text")
            )
        )
        return LlmCompleted(
            response=LlmResponse(
                text="" if calls else self.world.answer(self.world.llm_calls),
                tool_calls=calls,
                stop_reason="tool_use" if calls else "end_turn",
                raw_stop_reason="tool_use" if calls else "end_turn",
                usage=Usage(input_tokens=10, output_tokens=5),
                usd_cost=0.0,
                provider="test",
                model="test-model",
                latency=0.0,
                attempts=1,
            )
        )


class FlakySettings(SettingsActor):
    """The settings actor, crashing on ``world.fail_subscribes`` subscribes (a channel actor's
    start then fails: `ChildStartFailed` for its session)."""

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world

    @handles(SubscribeSettings)
    async def subscribe(self, msg: SubscribeSettings) -> CurrentSettings:
        if self.world.fail_subscribes > 0:
            self.world.fail_subscribes -= 1
            raise RuntimeError("settings: simulated failure")
        return await super().subscribe(msg)


def tree_spec(
    db: Path,
    world: World,
    config: GuildsConfig | None = None,
    extra: Sequence[ChildSpec] = (),
    late: Sequence[ChildSpec] = (),
) -> SupervisorSpec:
    """The product tree of `clanker.app.app_spec`, with the test Llm and bridge; ``extra``
    children (e.g. the memory service) start after pacing, before the guilds, ``late`` ones
    (the scheduler) after the guilds, before the bridge."""
    return SupervisorSpec(
        Strategy.ONE_FOR_ONE,
        [
            store_child(db, inline=True),
            ChildSpec(
                "settings",
                lambda: FlakySettings(world),
                register="settings",
                mailbox=SettingsActor.mailbox,
            ),
            ChildSpec("llm", lambda: TestLlm(world), register="llm"),
            ChildSpec(PACING_NAME, PacingKeeper, register=PACING_NAME),
            *extra,
            guilds_spec(config or GuildsConfig()),
            *late,
            ChildSpec("discord", lambda: TestBridge(world), register="discord"),
        ],
        intensity=50,
        period=1.0,
    )


@asynccontextmanager
async def product_tree(
    tmp_path: Path,
    world: World | None = None,
    config: GuildsConfig | None = None,
    extra: Sequence[ChildSpec] = (),
    late: Sequence[ChildSpec] = (),
) -> AsyncIterator[tuple[Runtime, World]]:
    w = world or World()
    async with open_runtime(tree_spec(tmp_path / "tree.db", w, config, extra, late)) as rt:
        await trio.lowlevel.checkpoint()  # let the bridge's READY reach the router
        yield rt, w
        await rt.shutdown()


_message_ids = itertools.count(1)


def message(
    channel_id: int,
    content: str,
    *,
    author: int = ALICE,
    guild_id: int | None = GUILD,
    parent_channel_id: int | None = None,
    mention_ids: tuple[int, ...] = (),
) -> MessageCreated:
    return MessageCreated(
        message=DiscordMessage(
            message_id=next(_message_ids),
            channel_id=channel_id,
            guild_id=guild_id,
            author_id=author,
            author_name={ALICE: "alice", BOB: "bob"}.get(author, f"user{author}"),
            author_is_bot=False,
            content=content,
            created_at="2026-01-01T00:00:00+00:00",
            parent_channel_id=parent_channel_id,
            mention_ids=mention_ids,
        )
    )


async def post(rt: Runtime, msg: MessageCreated) -> int:
    """Deliver ``msg`` as the bridge would; its message id."""
    await rt.lookup(ROUTER_NAME).tell(msg)
    return msg.message.message_id


async def crash(rt: Runtime, name: str) -> None:
    """Crash the actor registered as ``name`` through the runtime, and let it restart."""
    ref = rt.lookup(name)
    before = _incarnation(rt, ref.path)
    with pytest.raises(ActorCrashed):
        await ref.ask(OperatorCrash(reason=f"test crashes {name}"))
    await trio.sleep(0.01)  # the supervisor's restart (virtual time)
    assert _incarnation(rt, ref.path) > before, f"{name} was not restarted"


def _incarnation(rt: Runtime, path: str) -> int:
    node = rt.snapshot().find(path)
    assert node is not None, path
    return node.incarnation


async def configure(rt: Runtime, patch: dict[str, Any]) -> None:
    """Save ``patch`` through the settings actor, as the dashboard does."""
    ref = rt.lookup("settings")
    current = await ref.ask(GetSettings(), CurrentSettings)
    reply = await ref.ask(UpdateSettings(patch=json.dumps(patch), expected_version=current.version))
    assert isinstance(reply, SettingsUpdated), reply


async def decisions(rt: Runtime) -> list[str]:
    """Every decision logged, oldest first (``decision: reason``)."""
    return [row.content for row in await actions(rt, "reply_decision")]


async def actions(rt: Runtime, kind: str) -> list[ActionRow]:
    rows = await rt.lookup("store").ask(ActionsQuery(kind=kind, limit=500), ActionRows)
    return list(reversed(rows.rows))


FAST = {"activity": {"coalesce_window_seconds": 1.0, "min_gap_seconds": 0}}
