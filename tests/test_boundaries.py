"""Architecture rules that are cheap to check mechanically."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "clanker"
# The one asyncio island (house rule 6): only these modules may import discord.py-self.
# (soundboard.py is a mixin of the bridge: its REST calls through discord.py-self's HTTP client.)
ISLAND = {
    "discord/bridge.py",
    "discord/convert.py",
    "discord/offline.py",
    "discord/soundboard.py",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_nothing_past_the_bridge_imports_discord() -> None:
    importers = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if any(m == "discord" or m.startswith("discord.") for m in imported_modules(path))
    }
    assert importers == ISLAND


def test_only_the_bridge_touches_asyncio_through_trio_asyncio() -> None:
    importers = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if any(m in ("asyncio", "trio_asyncio") for m in imported_modules(path))
    }
    # The bridge runs discord.py-self; the offline patches adjust trio-asyncio's loop for
    # curl_cffi; the CLI opens the one loop the bridge runs in; the browser agent runs
    # Playwright's async API on that same loop (clanker/browser/chromium.py explains why).
    assert importers <= {
        "discord/bridge.py",
        "discord/offline.py",
        "cli/sandbox.py",
        "cli/run.py",
        "browser/chromium.py",
        "browser/network.py",
    }
