"""`clanker sandbox` with no keys at all posts on its own: the sandbox's feed sim serves the
sources, the offline demo brain shares the first fresh link. Real sockets, the real client and
the real Store: real clock."""

from __future__ import annotations

import json
from pathlib import Path

import trio

from clanker.cli.sandbox import open_sandbox_app
from clanker.initiative.actor import Checked, CheckNow
from clanker.settings import CurrentSettings, GetSettings, SettingsUpdated, UpdateSettings
from tests.dashboard.wiring import pause_initiative_tick

TIMEOUT = 90.0


async def test_the_sandbox_posts_a_feed_link_with_no_keys(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_sandbox_app(tmp_path / "i.db", env={}) as app:
            assert app.offline_demo and app.feeds is not None
            assert "SANDBOX FEED SIM" in app.feeds.describe()
            await pause_initiative_tick(app.runtime)  # no 10-minute mark can race the check
            world = app.sandbox.world
            general = world.channel_named("general")
            settings = app.runtime.lookup("settings")
            current = await settings.ask(GetSettings(), CurrentSettings)
            patch = {
                "initiative": {
                    "channel_ids": [general.id],
                    "eagerness": 100,
                    "feed_sources": ["r/otters", app.feeds.rss_url],
                }
            }
            reply = await settings.ask(
                UpdateSettings(patch=json.dumps(patch), expected_version=current.version)
            )
            assert isinstance(reply, SettingsUpdated), reply
            checked = await app.runtime.lookup("initiative").ask(CheckNow(), Checked, timeout=60)
            assert checked.detail.endswith(": post"), checked.detail
            posted = app.sandbox.bot_messages(general)
            assert [m.content for m in posted] == [
                "[offline demo brain] Found this in my feed: Two otters holding hands "
                "(sandbox feed) https://example.org/otters/hands"
            ]
