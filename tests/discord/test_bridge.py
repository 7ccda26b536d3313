"""DiscordBridge against the sandbox: the real discord.py-self client, inside the runtime.

Real clock (see tests/sandbox/conftest.py for why MockClock cannot help with curl_cffi).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio
import trio_asyncio

from clanker.discord.bridge import BridgeConfig, DiscordBridge
from clanker.discord.events import (
    AddReaction,
    BridgeFailure,
    BridgeReady,
    Done,
    FetchHistory,
    FileUpload,
    History,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    ReactionChanged,
    SendMessage,
    Sent,
    StartTyping,
)
from clanker.runtime import (
    Actor,
    ChildSpec,
    Message,
    Runtime,
    SupervisorSpec,
    handles,
    open_runtime,
)
from clanker.sandbox import Sandbox, demo_world, open_sandbox

TIMEOUT = 30.0


class Collected(Message, frozen=True):
    events: tuple[
        BridgeReady | MessageCreated | MessageEdited | MessageDeleted | ReactionChanged, ...
    ]


class GetCollected(Message, frozen=True):
    pass


class Router(Actor):
    """Stands in for the Guilds router: keeps every event it is told."""

    def __init__(self) -> None:
        self.events: list[object] = []

    @handles(BridgeReady, MessageCreated, MessageEdited, MessageDeleted, ReactionChanged)
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


@pytest.fixture
async def bridge_runtime(sandbox: Sandbox) -> AsyncIterator[Runtime]:
    config = BridgeConfig(
        token=sandbox.token,
        route_to="router",
        rest_url=sandbox.rest_url,
        gateway_url=sandbox.gateway_url,
    )
    spec = SupervisorSpec(
        children=[
            ChildSpec("router", Router, register="router"),
            ChildSpec("bridge", lambda: DiscordBridge(config), register="bridge"),
        ]
    )
    async with trio_asyncio.open_loop(), open_runtime(spec) as rt:
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
