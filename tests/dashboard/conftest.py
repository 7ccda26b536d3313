"""Fixtures: the dashboard on a real Hypercorn server (ephemeral port) inside a real runtime.

These tests use the real clock: the server, the clients and the Store's worker thread are real,
and an autojumping clock would jump while a thread or a socket is busy (python-stack notes §12).
Waits are bounded generously, so a loaded machine makes them slower, never red.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from clanker.dashboard import (
    TELEMETRY_NAME,
    DashboardAddress,
    DashboardConfig,
    DashboardParts,
    GetAddress,
    dashboard_children,
)
from clanker.memory.service import MemoryConfig, memory_child
from clanker.runtime import (
    Actor,
    ChildSpec,
    Message,
    OperatorCrash,
    Runtime,
    SupervisorSpec,
    handles,
    open_runtime,
)
from clanker.store import StoreClient, store_child
from tests.dashboard.sse_client import SseStream, open_sse
from tests.memory.test_service import BagOfWords

SECRET = "sk-test-9f8e7d6c5b4a39281706"
TIMEOUT = 30.0


class Echo(Message, frozen=True):
    text: str


class Worker(Actor):
    """A plain actor (every actor handles the runtime's OperatorCrash by crashing)."""

    @handles(Echo)
    async def echo(self, msg: Echo) -> Echo:
        return msg


class Stubborn(Actor):
    """An actor that overrides the operator crash (and so survives it)."""

    @handles(Echo)
    async def echo(self, msg: Echo) -> Echo:
        return msg

    @handles(OperatorCrash)
    async def refuse(self, msg: OperatorCrash) -> None:
        return None


@dataclass
class Dash:
    """A running dashboard and what the tests need to talk to it."""

    rt: Runtime
    parts: DashboardParts
    url: str
    announced: list[str]

    @property
    def token(self) -> str:
        return self.parts.token

    def client(self, *, auth: bool = True, **kwargs: Any) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        headers.update(kwargs.pop("headers", {}))
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=TIMEOUT, **kwargs)

    def store(self) -> StoreClient:
        return StoreClient(self.rt.lookup("store"))

    def sse(
        self, path: str, headers: dict[str, str] | None = None, *, auth: bool = True
    ) -> AbstractAsyncContextManager[SseStream]:
        """Open an event stream on the dashboard (authorised by default)."""
        sent = {"Authorization": f"Bearer {self.token}"} if auth else {}
        return open_sse(self.url, path, {**sent, **(headers or {})})


def make_tree(
    db: Path,
    config: DashboardConfig,
    environ: dict[str, str],
    announced: list[str],
    extra: tuple[ChildSpec, ...] = (),
) -> tuple[SupervisorSpec, DashboardParts]:
    parts = dashboard_children(config, environ=environ, announce=announced.append)
    spec = SupervisorSpec(
        children=[
            parts.telemetry,
            store_child(db, action_listener=TELEMETRY_NAME),
            *extra,
            ChildSpec("worker", Worker, register="worker"),
            ChildSpec("stubborn", Stubborn),
            parts.dashboard,
        ],
        intensity=20,
        period=5.0,
    )
    return spec, parts


@pytest.fixture
def dash_config() -> DashboardConfig:
    return DashboardConfig(port=0, allow_operator_crash=True, graceful_timeout=5.0)


@asynccontextmanager
async def _running(
    tmp_path: Path, config: DashboardConfig, extra: tuple[ChildSpec, ...] = ()
) -> AsyncIterator[Dash]:
    announced: list[str] = []
    spec, parts = make_tree(
        tmp_path / "clanker.db", config, {"OPENAI_API_KEY": SECRET}, announced, extra
    )
    async with open_runtime(spec) as rt:
        address = await rt.lookup("dashboard").ask(GetAddress(), DashboardAddress)
        yield Dash(rt=rt, parts=parts, url=address.url, announced=announced)


@pytest.fixture
async def dash(tmp_path: Path, dash_config: DashboardConfig) -> AsyncIterator[Dash]:
    async with _running(tmp_path, dash_config) as running:
        yield running


@pytest.fixture
def stub_embedder() -> BagOfWords:
    return BagOfWords()


@pytest.fixture
async def memory_dash(
    tmp_path: Path, dash_config: DashboardConfig, stub_embedder: BagOfWords
) -> AsyncIterator[Dash]:
    """The dashboard with the real memory service beside the Store (a stub bag-of-words
    embedder, the far end; no background re-embedding, so every vector is the one a request
    wrote)."""
    service = memory_child(MemoryConfig(embedder=stub_embedder, reembed_every=None))
    async with _running(tmp_path, dash_config, (service,)) as running:
        yield running
