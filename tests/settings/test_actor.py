"""The Settings actor with a real Store on tmp_path: load, serve, CAS writes, notify, restart.

The Store runs inline (the same SQL on the trio thread), so these tests run on virtual time
(`MockClock`): they wait on replies and on events the subscriber sets.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import trio
import trio.testing

from clanker.runtime import (
    Actor,
    ActorContext,
    ChildSpec,
    Strategy,
    SupervisorSpec,
    handles,
    open_runtime,
)
from clanker.settings import (
    SETTINGS_KEY,
    ApplyPreset,
    CurrentSettings,
    GetSettings,
    Settings,
    SettingsChanged,
    SettingsConflict,
    SettingsRejected,
    SettingsUpdated,
    SubscribeSettings,
    Unsubscribed,
    UnsubscribeSettings,
    UpdateSettings,
    preset_settings,
    resolve_actor,
    settings_child,
)
from clanker.store import GetSetting, PutSetting, SettingStored, SettingValue, store_child


def patch(**sections: dict[str, object]) -> str:
    return msgspec.json.encode(sections).decode()


class Listener(Actor):
    """Subscribes in on_start (as a channel actor would) and records every notice."""

    def __init__(self, seen: list[SettingsChanged], got: list[trio.Event]) -> None:
        self.seen = seen
        self.got = got

    async def on_start(self, ctx: ActorContext) -> None:
        reply = await ctx.lookup("settings").ask(
            SubscribeSettings(subscriber=ctx.path), CurrentSettings
        )
        self.initial = reply

    @handles(SettingsChanged)
    async def changed(self, msg: SettingsChanged) -> None:
        self.seen.append(msg)
        self.got[len(self.seen) - 1].set()


def tree(path: Path, *extra: ChildSpec) -> SupervisorSpec:
    return SupervisorSpec(
        Strategy.ONE_FOR_ONE, [store_child(path, inline=True), settings_child(), *extra]
    )


async def test_unset_settings_are_the_defaults_at_version_zero(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_runtime(tree(tmp_path / "db")) as rt:
        current = await rt.lookup("settings").ask(GetSettings(), CurrentSettings)
    assert current.settings == Settings()
    assert (current.version, current.preset, current.overrides, current.problems) == (
        0,
        "default",
        "{}",
        (),
    )


async def test_a_write_is_validated_stored_with_cas_and_survives_a_restart(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    db = tmp_path / "db"
    async with open_runtime(tree(db)) as rt:
        settings = rt.lookup("settings")
        first = await settings.ask(
            UpdateSettings(patch=patch(activity={"min_gap_seconds": 8}), expected_version=0)
        )
        assert isinstance(first, SettingsUpdated) and first.version == 1
        assert first.settings.activity.min_gap_seconds == 8.0

        # A stale writer gets a typed conflict carrying the current version and settings.
        stale = await settings.ask(
            UpdateSettings(patch=patch(activity={"reactivity": 1}), expected_version=0)
        )
        assert isinstance(stale, SettingsConflict)
        assert (stale.expected_version, stale.current_version) == (0, 1)
        assert stale.settings.activity.min_gap_seconds == 8.0

        # An invalid write changes nothing and names the field.
        bad = await settings.ask(
            UpdateSettings(patch=patch(activity={"min_gap_seconds": -3}), expected_version=1)
        )
        assert isinstance(bad, SettingsRejected)
        assert [str(p) for p in bad.problems] == ["activity.min_gap_seconds: must be >= 0, got -3"]

        # The row holds only the override.
        row = await rt.lookup("store").ask(GetSetting(key=SETTINGS_KEY), SettingValue)
        assert row.version == 1
        assert msgspec.json.decode(row.value or "") == {
            "preset": "default",
            "overrides": {"activity": {"min_gap_seconds": 8.0}},
        }

    async with open_runtime(tree(db)) as rt:
        current = await rt.lookup("settings").ask(GetSettings(), CurrentSettings)
    assert current.version == 1 and current.settings.activity.min_gap_seconds == 8.0


async def test_a_write_that_changes_nothing_keeps_the_version(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_runtime(tree(tmp_path / "db")) as rt:
        settings = rt.lookup("settings")
        one = await settings.ask(
            UpdateSettings(patch=patch(activity={"reactivity": 9}), expected_version=0)
        )
        again = await settings.ask(
            UpdateSettings(patch=patch(activity={"reactivity": 9}), expected_version=1)
        )
    assert isinstance(one, SettingsUpdated) and isinstance(again, SettingsUpdated)
    assert one.version == again.version == 1


async def test_presets_switch_and_can_keep_the_overrides(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_runtime(tree(tmp_path / "db")) as rt:
        settings = rt.lookup("settings")
        await settings.ask(
            UpdateSettings(patch=patch(activity={"reactivity": 7}), expected_version=0)
        )
        kept = await settings.ask(
            ApplyPreset(preset="quiet", expected_version=1, keep_overrides=True)
        )
        assert isinstance(kept, SettingsUpdated) and kept.preset == "quiet"
        assert kept.settings.activity.reactivity == 7
        assert (
            kept.settings.activity.min_gap_seconds
            == preset_settings("quiet").activity.min_gap_seconds
        )

        # A null in a patch now resets to the *quiet* value.
        reset = await settings.ask(
            UpdateSettings(patch=patch(activity={"reactivity": None}), expected_version=2)
        )
        assert isinstance(reset, SettingsUpdated)
        assert reset.settings == preset_settings("quiet")

        plain = await settings.ask(ApplyPreset(preset="chatty", expected_version=3))
        assert isinstance(plain, SettingsUpdated) and plain.settings == preset_settings("chatty")

        unknown = await settings.ask(ApplyPreset(preset="loud", expected_version=4))
        assert isinstance(unknown, SettingsRejected)
        assert unknown.problems[0].path == "preset" and "quiet, default, chatty" in str(
            unknown.problems[0]
        )


async def test_subscribers_get_every_change_and_can_leave(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    seen: list[SettingsChanged] = []
    got = [trio.Event() for _ in range(3)]
    listener = ChildSpec("listener", lambda: Listener(seen, got))
    async with open_runtime(tree(tmp_path / "db", listener)) as rt:
        settings = rt.lookup("settings")
        assert resolve_actor(rt, "root/listener") is not None
        await settings.ask(
            UpdateSettings(patch=patch(activity={"min_gap_seconds": 1}), expected_version=0)
        )
        await got[0].wait()
        await settings.ask(ApplyPreset(preset="quiet", expected_version=1))
        await got[1].wait()
        assert [(n.version, n.settings.activity.min_gap_seconds) for n in seen] == [
            (1, 1.0),
            (2, 10.0),
        ]
        left = await settings.ask(UnsubscribeSettings(subscriber="root/listener"), Unsubscribed)
        assert left.was_subscribed
        await settings.ask(ApplyPreset(preset="chatty", expected_version=2))
        # The next request is handled after the notice would have been sent: none was.
        await settings.ask(GetSettings(), CurrentSettings)
        await trio.testing.wait_all_tasks_blocked()
        assert len(seen) == 2


async def test_a_write_behind_the_actors_back_is_a_conflict_then_adopted(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    seen: list[SettingsChanged] = []
    got = [trio.Event() for _ in range(2)]
    listener = ChildSpec("listener", lambda: Listener(seen, got))
    async with open_runtime(tree(tmp_path / "db", listener)) as rt:
        settings = rt.lookup("settings")
        # Another writer (another process, a manual edit) writes the row directly.
        outside = PutSetting(
            key=SETTINGS_KEY,
            value='{"preset": "chatty", "overrides": {}}',
            expected_version=0,
        )
        assert isinstance(await rt.lookup("store").ask(outside), SettingStored)

        reply = await settings.ask(
            UpdateSettings(patch=patch(activity={"reactivity": 1}), expected_version=0)
        )
        assert isinstance(reply, SettingsConflict) and reply.current_version == 1
        assert reply.settings == preset_settings("chatty")
        await got[0].wait()  # subscribers learn about the outside change too
        assert seen[-1].version == 1 and seen[-1].settings == preset_settings("chatty")

        retry = await settings.ask(
            UpdateSettings(patch=patch(activity={"reactivity": 1}), expected_version=1)
        )
        assert isinstance(retry, SettingsUpdated) and retry.version == 2
        assert retry.settings.activity.min_gap_seconds == 2.0  # still chatty underneath


async def test_a_damaged_row_loads_what_it_can_and_reports_the_rest(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    db = tmp_path / "db"
    async with open_runtime(SupervisorSpec(children=[store_child(db, inline=True)])) as rt:
        bad = PutSetting(
            key=SETTINGS_KEY,
            value='{"overrides": {"activity": {"min_gap_seconds": -1, "reactivity": 3}}}',
            expected_version=0,
        )
        await rt.lookup("store").ask(bad, SettingStored)
    async with open_runtime(tree(db)) as rt:
        settings = rt.lookup("settings")
        current = await settings.ask(GetSettings(), CurrentSettings)
        assert current.settings.activity.reactivity == 3
        assert current.settings.activity.min_gap_seconds == 5.0
        assert [str(p) for p in current.problems] == [
            "activity.min_gap_seconds: stored value ignored: must be >= 0, got -1"
        ]
        # The next write replaces the damaged row with a clean one.
        fixed = await settings.ask(
            UpdateSettings(patch=patch(activity={"reactivity": 4}), expected_version=1)
        )
        assert isinstance(fixed, SettingsUpdated) and fixed.version == 2
        row = await rt.lookup("store").ask(GetSetting(key=SETTINGS_KEY), SettingValue)
        assert msgspec.json.decode(row.value or "") == {
            "preset": "default",
            "overrides": {"activity": {"reactivity": 4}},
        }


async def test_a_gone_subscriber_is_dropped_quietly(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_runtime(tree(tmp_path / "db")) as rt:
        settings = rt.lookup("settings")
        await settings.ask(SubscribeSettings(subscriber="root/nobody"), CurrentSettings)
        await settings.ask(SubscribeSettings(subscriber="no-such-name"), CurrentSettings)
        reply = await settings.ask(
            UpdateSettings(patch=patch(activity={"reactivity": 2}), expected_version=0)
        )
        assert isinstance(reply, SettingsUpdated)
        left = await settings.ask(UnsubscribeSettings(subscriber="root/nobody"), Unsubscribed)
        assert not left.was_subscribed  # dropped at the first notice
