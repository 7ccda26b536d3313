"""Each sans-IO core imports without trio, SQLite, the network or Discord (issue 11).

The cores are tested without trio and must stay usable from any runtime; their packages'
``__init__`` modules export lazily (`clanker/_lazy.py`) so importing a core does not pull the
package's actors in. Each core is imported alone in a fresh interpreter, which then reports
which of the IO libraries got loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "clanker"
IO_LIBRARIES = (
    "trio",
    "trio_asyncio",
    "sqlite3",
    "pysqlite3",
    "sqlite_vec",
    "httpx",
    "discord",
    "anthropic",
    "openai",
)
TEXT_CORES = sorted(
    f"clanker.text.{p.stem}" for p in (PACKAGE / "text").glob("*.py") if p.stem != "__init__"
)
CORES = [
    "clanker.wire",
    "clanker.text",
    *TEXT_CORES,
    "clanker.voice.framing",
    "clanker.voice.join",
    "clanker.voice.commands",
    "clanker.voice.events",
    "clanker.voice.link_messages",
    "clanker.voice.brain.music",
    "clanker.voice.realtime.api",
    "clanker.voice.realtime.openai",
    "clanker.voice.realtime.xai",
    "clanker.voice.realtime.elevenlabs",
    "clanker.voice.realtime.gemini",
    "clanker.voice.realtime.gemini_server_messages",
    "clanker.voice.realtime.gemini_tools",
    "clanker.voice.realtime.link_messages",
    "clanker.llm.retry",
    "clanker.llm.model",
    "clanker.llm.errors",
    "clanker.llm.pricing",
    "clanker.llm.anthropic_wire",
    "clanker.llm.openai_chat_wire",
    "clanker.llm.openai_responses_wire",
    "clanker.store.messages",
    "clanker.store.content",
    "clanker.store.validation",
    "clanker.store.vector_codes",
    "clanker.store.wallclock",
    "clanker.discord.events",
    "clanker.discord.watchdog",
    "clanker.settings.model",
    "clanker.settings.patch",
    "clanker.settings.validation",
    "clanker.tools.netguard",
    "clanker.media.request",
    "clanker.browser.policy",
    "clanker.browser.snapshot",
    "clanker.browser.sessions",
    "clanker.memory.model",
    "clanker.memory.policy",
    "clanker.memory.ranking",
    "clanker.memory.rows",
    "clanker.memory.cache",
    "clanker.memory.owners",
    "clanker.memory.prompt",
    "clanker.memory.reflection",
    "clanker.memory.journal",
    "clanker.memory.profile",
    "clanker.memory.choice",
    "clanker.memory.progress",
    "clanker.memory.view",
    "clanker.automations.view",
    "clanker.automations.check_view",
    "clanker.feeds",
    "clanker.feeds.sources",
    "clanker.feeds.canonical",
    "clanker.feeds.model",
    "clanker.feeds.parse",
    "clanker.feeds.select",
    "clanker.initiative.policy",
    "clanker.text.catch_up",
]
PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(n for n in sys.argv[2:] if n in sys.modules)))
"""


def loaded_by(module: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, module, *IO_LIBRARIES],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"importing {module} failed:\n{done.stderr}"
    return list(json.loads(done.stdout))


@pytest.mark.parametrize("module", CORES)
def test_a_sans_io_core_imports_without_io(module: str) -> None:
    assert loaded_by(module) == [], f"{module} pulls in IO libraries"


def test_the_probe_sees_io_when_a_module_has_it() -> None:
    # The check can fail: the voice package's actor module does load trio.
    assert "trio" in loaded_by("clanker.voice.link")
    assert "sqlite3" in loaded_by("clanker.store.sqlite") or "pysqlite3" in loaded_by(
        "clanker.store.sqlite"
    )


def test_lazy_exports_still_behave_like_imports() -> None:
    import clanker.voice as voice
    from clanker.store import StoreClient

    assert voice.Clankvox.__name__ == "Clankvox"
    assert voice.framing.__name__ == "clanker.voice.framing"  # a submodule export
    assert "Clankvox" in dir(voice)
    assert StoreClient.__module__ == "clanker.store.client"
    with pytest.raises(ImportError, match="nope"):
        from clanker.store import nope  # type: ignore[attr-defined]  # noqa: F401
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = voice.nope  # type: ignore[attr-defined]
