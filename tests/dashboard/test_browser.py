"""The built dashboard in headless Chromium (Debian's ``chromium``, driven by playwright-core from
Node) against the real product in sandbox wiring (`open_sandbox_app`: the sandbox Discord, the
whole tree with the text brain, the model's far end scripted by llmsim): log in with the token,
see the tree, talk to the bot from the chat panel and watch the reply and its decision trail
appear, change settings (with a conflict) and see the change take effect, see the bot's voice
call in the Lounge end-to-end encrypted with the privacy code alice's libdave computes (grouped
in fives), crash #general's channel actor and watch it restart and answer again.

The steps are in ``dashboard/tests/browser.mjs``; this test runs the real server and the script,
then checks the effects on the Python side. Set ``CLANKER_SCREENSHOTS=docs/screenshots`` to
refresh the README's screenshots. A missing build, Node or Chromium fails the test (run
``scripts/bootstrap`` and ``npm run build``): it is never skipped.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import trio

from clanker.dashboard.config import default_static_dir
from clanker.settings import CurrentSettings, GetSettings
from tests.dashboard.wiring import grouped, join_lounge_end_to_end, wired_sandbox

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "dashboard" / "tests" / "browser.mjs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


VIEWS = (
    "login",
    "tree",
    "chat",
    "activity",
    "settings",
    "settings-conflict",
    "costs",
    "voice",
    "tree-restart",
)


def prerequisites(tmp_path: Path) -> tuple[str, str]:
    """Node and where screenshots go; fails (never skips) naming what is missing."""
    dist = default_static_dir()
    assert (dist / "index.html").is_file(), (
        f"the SPA is not built ({dist}): run `cd dashboard && npm ci && npm run build`"
    )
    node = shutil.which("node")
    assert node is not None, "node is not installed (Node 20 is part of the machine image)"
    assert os.path.isfile(CHROMIUM), f"{CHROMIUM} is missing: scripts/bootstrap installs chromium"
    assert os.path.isdir(REPO / "dashboard" / "node_modules" / "playwright-core"), (
        "playwright-core is not installed: run `cd dashboard && npm ci`"
    )
    shots = os.path.abspath(os.environ.get("CLANKER_SCREENSHOTS") or tmp_path / "screenshots")
    return node, shots


def screenshot_sizes(shots: str) -> dict[str, int]:
    return {view: os.path.getsize(os.path.join(shots, f"{view}.png")) for view in VIEWS}


async def test_the_dashboard_in_a_real_browser(tmp_path: Path) -> None:
    node, shots = prerequisites(tmp_path)
    async with wired_sandbox(tmp_path / "clanker.db", seed_history=True) as wired:
        general = wired.sandbox.world.channel_named("general")
        channel_actor = (
            f"root/guilds/sessions/guild-{general.guild_id}/channels/channel-{general.id}"
        )
        _, privacy_code = await join_lounge_end_to_end(wired, "alice")
        env = {
            "CHANNEL_ACTOR": channel_actor,
            "VOICE_PRIVACY_CODE": grouped(privacy_code),
            **os.environ,
            "DASHBOARD_URL": wired.url,
            "DASHBOARD_TOKEN": wired.token,
            "SCREENSHOT_DIR": shots,
            "CHROMIUM": CHROMIUM,
        }
        result = await trio.run_process(
            [node, str(SCRIPT)],
            cwd=REPO / "dashboard",
            env=env,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
        output = result.stdout.decode() + result.stderr.decode()
        assert result.returncode == 0, f"browser steps failed:\n{output}"
        assert "12 passed, 0 failed" in output, output

        # What the browser did, seen from the Python side.
        replies = [m.content for m in wired.sandbox.bot_messages()]
        assert replies == [
            "clanker here: got it, Alice ('hello from the browser, clanker')",
            "Botsworth here: got it, Alice ('Botsworth, what is your name now?')",
            "Botsworth here: got it, Alice ('Botsworth, still there?')",
        ]
        channel = wired.rt.snapshot().find(channel_actor)
        assert channel is not None and (channel.restarts, channel.status) == (1, "running")
        settings = await wired.rt.lookup("settings").ask(GetSettings(), CurrentSettings)
        assert settings.version == 4
        assert settings.settings.identity.bot_name == "Botsworth"
        assert settings.settings.reply_generation.temperature == 0.7
        assert wired.parts.setup.auth.session_count == 0  # logged out: the session is gone
    assert all(size > 10_000 for size in screenshot_sizes(shots).values())
