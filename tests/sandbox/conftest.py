"""Fixtures for running the real discord.py-self client against the sandbox.

These tests use the real clock. A `MockClock(autojump_threshold=0.25)` gains nothing here:
curl_cffi (discord.py-self's HTTP client) runs a `_force_timeout` task that sleeps 0.1 s in a
loop, so the run is never idle long enough to jump, and virtual time then crawls slower than real
time. Waits are kept short instead (retry-after, delays and stalls of about a second), and
timeouts are generous, so a slow machine makes tests slower, not red.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import discord
import pytest
import trio
import trio_asyncio

from clanker.discord.offline import apply_offline_patches
from clanker.sandbox import Sandbox, demo_world, open_sandbox

READY_TIMEOUT = 30.0
EVENT_TIMEOUT = 30.0
# A short heartbeat so the long-stall test can use a short client heartbeat_timeout.
HEARTBEAT_INTERVAL_MS = 500


class RecordingClient(discord.Client):
    """A discord.py-self client that records the events tests care about, in arrival order."""

    def __init__(self, **options: Any) -> None:
        # chunk_guilds_at_startup=False: otherwise the client waits to chunk members before ready.
        super().__init__(chunk_guilds_at_startup=False, **options)
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        self._changed = trio.Event()

    def _record(self, name: str, *args: Any) -> None:
        # Event handlers run as asyncio tasks inside trio-asyncio, i.e. in a trio task of this
        # thread, so setting a trio.Event from here is safe.
        self.events.append((name, args))
        self._changed.set()
        self._changed = trio.Event()

    def of(self, name: str) -> list[tuple[Any, ...]]:
        """The argument tuples of every recorded `name` event."""
        return [args for event, args in self.events if event == name]

    def messages(self) -> list[discord.Message]:
        """Every on_message message, in arrival order."""
        return [args[0] for args in self.of("message")]

    async def wait_until(
        self, predicate: Callable[[], bool], timeout: float = EVENT_TIMEOUT
    ) -> None:
        """Wait (trio side) until `predicate()` holds after some recorded event."""
        with trio.fail_after(timeout):
            while not predicate():
                await self._changed.wait()

    async def on_ready(self) -> None:
        self._record("ready")

    async def on_resumed(self) -> None:
        self._record("resumed")

    async def on_message(self, message: discord.Message) -> None:
        self._record("message", message)

    async def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        self._record("message_edit", before, after)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        self._record("raw_message_edit", payload)

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        self._record("raw_message_delete", payload)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        self._record("raw_reaction_add", payload)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        self._record("raw_reaction_remove", payload)

    async def on_member_join(self, member: discord.Member) -> None:
        self._record("member_join", member)

    async def on_typing(self, channel: Any, user: Any, when: Any) -> None:
        self._record("typing", channel, user, when)

    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        self._record("voice_state_update", member, before, after)


@asynccontextmanager
async def _running_client(
    sandbox: Sandbox, *, token: str | None = None, **client_options: Any
) -> AsyncIterator[RecordingClient]:
    """Run a RecordingClient against `sandbox` until the block ends; yields once on_ready fired.

    The "sibling" shape of python-stack notes 3e: `client.start` runs in a child task and the
    shielded `client.close()` in this task, so shutdown never relies on cancelling `start`.
    """
    apply_offline_patches(rest_url=sandbox.rest_url, gateway_url=sandbox.gateway_url)
    client = RecordingClient(**client_options)
    async with trio.open_nursery() as nursery:

        async def run() -> None:
            await trio_asyncio.aio_as_trio(client.start)(token or sandbox.token)
            nursery.cancel_scope.cancel()  # start() returned: close() ran, nothing left to do

        nursery.start_soon(run)
        try:
            await client.wait_until(lambda: bool(client.of("ready")), READY_TIMEOUT)
            yield client
        finally:
            with trio.CancelScope(shield=True):
                await trio_asyncio.aio_as_trio(client.close)()


@pytest.fixture
async def aio_loop() -> AsyncIterator[Any]:
    """The one asyncio island, as in production."""
    async with trio_asyncio.open_loop() as loop:
        yield loop


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A demo-world sandbox; fails the test if any unknown REST route was called."""
    async with open_sandbox(demo_world(), heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS) as sb:
        yield sb
        assert sb.unknown_routes == [], f"unexpected REST routes: {sb.unknown_routes}"
        assert sb.gateway.rejected == [], f"rejected gateway connections: {sb.gateway.rejected}"
        assert sb.rest.internal_errors == [], f"sandbox REST bugs: {sb.rest.internal_errors}"


@pytest.fixture
def connect(
    aio_loop: Any, sandbox: Sandbox
) -> Callable[..., AbstractAsyncContextManager[RecordingClient]]:
    """`async with connect() as client:` runs a logged-in client against the `sandbox` fixture."""

    def _connect(
        *, token: str | None = None, **client_options: Any
    ) -> AbstractAsyncContextManager[RecordingClient]:
        return _running_client(sandbox, token=token, **client_options)

    return _connect


async def aio(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call an asyncio coroutine function from a trio test."""
    return await trio_asyncio.aio_as_trio(fn)(*args, **kwargs)


@pytest.fixture
def call_aio() -> Callable[..., Any]:
    """`await call_aio(channel.send, "hi")`: run a discord.py coroutine from trio."""
    return aio
