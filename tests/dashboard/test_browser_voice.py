"""The Voice view in headless Chromium with a real voice brain: the product in sandbox mode with
no keys (`open_sandbox_app`: the voice brain on, local models, the offline demo brain answering),
alice in the Lounge. The browser joins the bot through the Join button (``POST
/api/voice/join``); once the call is end-to-end encrypted both ways, alice says "clanker, can
you hear me?" in Piper's voice; the browser shows the turn (Alice, what Whisper heard, the demo
brain's reply, spoken, speech end → first audio and its stages), plays music from the sandbox's
generated library (play, pause, resume, queue, stop: ``POST /api/voice/music``), then presses
Stop speaking and Leave.

The steps are in ``dashboard/tests/voice_browser.mjs``. ``CLANKER_SCREENSHOTS=docs/screenshots``
refreshes the README's ``voice-brain.png``. Never skipped: a missing build, Node, Chromium or
clankvox fails it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import trio

from clanker.cli.sandbox import open_sandbox_app
from clanker.dashboard import DashboardConfig
from clanker.guilds.messages import voice_link_name
from clanker.runtime import ActorError, NotRegistered, Runtime
from clanker.sandbox import Sandbox
from clanker.sandbox.voice.speech import piper_speech
from clanker.store import ActionRows, ActionsQuery
from clanker.voice import DEFAULT_BINARY, GetVoiceLinkStatus, VoiceLinkStatus
from clanker.voice.brain.actor import GetVoiceBrainStatus, VoiceBrainStatus
from clanker.voice.brain.config import voice_brain_name
from clanker.voice.brain.prompt import JOIN_EVENT
from tests.dashboard.test_browser import CHROMIUM, REPO, prerequisites

SCRIPT = REPO / "dashboard" / "tests" / "voice_browser.mjs"
SAID = "clanker, can you hear me?"
HEARD = "hear me"  # what the browser waits for in the transcript (Whisper may drop a word)
CALL_TIMEOUT = 120.0  # the browser's join loads the local models; a real clankvox and MLS group


async def call_ready(rt: Runtime, sb: Sandbox, member: str) -> bool:
    """The bot's call is up and DAVE holds keys both ways with ``member`` (she is heard)."""
    voice = sb.voice
    assert voice is not None
    guild, user = sb.world.guild_named("Sandbox"), sb.world.user_named(member)
    status = await link_status(rt, str(guild.id))
    if isinstance(status, str):
        return False  # the browser has not joined yet
    dave = status.dave
    if status.phase != "ready" or dave is None or dave.status != "ready":
        return False
    participant = voice.dave_participant(user)
    return (
        voice.member(user).ready
        and participant.in_group
        and participant.epoch == dave.epoch
        and voice.dave.pending(sb.world.channel_named("Lounge").id) is None
    )


async def link_status(rt: Runtime, key: str) -> VoiceLinkStatus | str:
    try:
        return await rt.lookup(voice_link_name(key)).ask(
            GetVoiceLinkStatus(), VoiceLinkStatus, timeout=5.0
        )
    except ActorError as exc:
        return f"no answer ({exc!r})"


async def test_the_voice_view_shows_a_spoken_turn_and_its_controls_work(tmp_path: Path) -> None:
    node, shots = prerequisites(tmp_path)
    assert DEFAULT_BINARY.exists(), f"clankvox is not built at {DEFAULT_BINARY}: scripts/bootstrap"
    pcm = await piper_speech(SAID)  # loads Piper before the clock of the call starts
    config = DashboardConfig(port=0, allow_operator_crash=True)
    async with open_sandbox_app(tmp_path / "clanker.db", env={}, dashboard=config) as app:
        assert app.offline_demo and app.dashboard is not None and app.dashboard_url
        sb, rt = app.sandbox, app.runtime
        assert sb.voice is not None
        alice, lounge = sb.world.user_named("alice"), sb.world.channel_named("Lounge")
        key = str(sb.world.guild_named("Sandbox").id)
        sb.join_voice(alice, lounge)
        env = {
            **os.environ,
            "DASHBOARD_URL": app.dashboard_url,
            "DASHBOARD_TOKEN": app.dashboard.token,
            "VOICE_SAID": HEARD,
            "SCREENSHOT_DIR": shots,
            "CHROMIUM": CHROMIUM,
            "TURN_WAIT_MS": str(int(CALL_TIMEOUT * 1000)),
        }
        result: list[subprocess.CompletedProcess[bytes]] = []
        turns: list[VoiceBrainStatus] = []
        shown_muted: list[bool] = []
        connects_muted: list[int] = []

        async def browser() -> None:
            done = await trio.run_process(
                [node, str(SCRIPT)],
                cwd=REPO / "dashboard",
                env=env,
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
            result.append(done)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(browser)
            with trio.move_on_after(CALL_TIMEOUT):
                while not result:
                    if await call_ready(rt, sb, "alice"):
                        break
                    await trio.sleep(0.1)  # polling the call, bounded by CALL_TIMEOUT
            if not await call_ready(rt, sb, "alice"):
                nursery.cancel_scope.cancel()
                shown = (result[0].stdout + result[0].stderr).decode() if result else "(running)"
                raise AssertionError(
                    f"the call never became end-to-end encrypted with alice; the link: "
                    f"{await link_status(rt, key)}; the browser: {shown}"
                )
            turns.append(
                await rt.lookup(voice_brain_name(key)).ask(
                    GetVoiceBrainStatus(), VoiceBrainStatus, timeout=5.0
                )
            )
            await sb.voice.play(alice, pcm)
            connects_before = await link_status(rt, key)
            # What the sandbox Discord shows of the bot while the browser mutes and unmutes it,
            # and the link's connects meanwhile (a mute must not reconnect the call).
            while not result:
                state = sb.world.voice_states.get((int(key), sb.world.bot.id))
                shown_muted.append(state is not None and state.self_mute)
                link = await link_status(rt, key)
                if isinstance(link, VoiceLinkStatus) and link.self_mute:
                    connects_muted.append(link.connects)
                await trio.sleep(0.05)  # sampling until the browser is done
        [done] = result
        output = done.stdout.decode() + done.stderr.decode()
        assert done.returncode == 0, f"browser steps failed:\n{output}"
        assert "7 passed, 0 failed" in output, output
        assert True in shown_muted and shown_muted[-1] is False, "Discord never showed the mute"
        assert isinstance(connects_before, VoiceLinkStatus)
        assert connects_muted and set(connects_muted) == {connects_before.connects}

        # What the browser did, seen from the Python side.
        # nothing was answered before alice spoke (the join greeting is not an answer)
        assert [t for t in turns[0].turns if t.said != JOIN_EVENT] == []
        rows = await rt.lookup("store").ask(ActionsQuery(limit=200), ActionRows)
        kinds = [r.kind for r in reversed(rows.rows)]
        operator = [k for k in kinds if k.startswith("operator_")]
        music = ["operator_voice_music"] * 5  # play, pause, resume, add, stop
        assert operator == [
            "operator_voice_join",
            *music,
            "operator_voice_mute",
            "operator_voice_mute",
            "operator_stop_speaking",
            "operator_voice_leave",
        ]
        assert "voice_music_play" in kinds and "voice_music_stop" in kinds
        assert kinds.count("voice_mute") == 2  # the brain was muted, then unmuted
        assert "voice_turn" in kinds
        with pytest.raises(NotRegistered):  # the leave was answered once the link stopped
            rt.lookup(voice_link_name(key))
    assert screenshot_size(shots) > 10_000


def screenshot_size(shots: str) -> int:
    return os.path.getsize(os.path.join(shots, "voice-brain.png"))
