"""Push-to-talk from the browser's microphone, in headless Chromium with the fake microphone:
the product in sandbox mode with no keys (`open_sandbox_app`: the voice brain on, local models,
the offline demo brain), the bot and alice in the Lounge (end-to-end encrypted). Chromium's
fake capture device plays, looped, a WAV of Piper asking "What is the capital of France?"
then a second of silence; the page holds "Hold to talk" for two loops and releases
(``dashboard/tests/ptt_browser.mjs``). The device starts playing when the page opens the
microphone, and the page records once its audio graph runs, a moment later that varies with
the machine's load: looped, any two loops' worth holds the whole question once, unbroken.

Checked here: the sandbox received, as alice, audio that matches the source — the peak of the
normalized cross-correlation between the source and what was played into the call (both at
48 kHz) is at least 0.9 — and the voice brain recognised it (Whisper hears "capital" and
"France"). Never skipped: a missing build, Node, Chromium or clankvox fails it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import trio

from clanker.cli.sandbox import open_sandbox_app
from clanker.dashboard import DashboardConfig
from clanker.dashboard.sandbox_chat import WorldChat
from clanker.sandbox.voice.audio import Pcm, write_wav
from clanker.sandbox.voice.speech import piper_speech
from clanker.voice import DEFAULT_BINARY
from clanker.voice.brain.actor import GetVoiceBrainStatus, VoiceBrainStatus
from clanker.voice.brain.config import voice_brain_name
from tests.dashboard.test_browser import CHROMIUM, REPO, prerequisites
from tests.dashboard.test_browser_voice import CALL_TIMEOUT, call_ready, link_status

SCRIPT = REPO / "dashboard" / "tests" / "ptt_browser.mjs"
QUESTION = "What is the capital of France?"
MIN_CORRELATION = 0.9
PAUSE = 1.0  # seconds of silence after the question, in each loop of the fake microphone


def peak_correlation(source: np.ndarray, heard: np.ndarray) -> float:
    """The highest normalized cross-correlation of `source` against `heard` over every lag at
    which they fully overlap (`heard` is the longer: the hold outlasts the speech)."""
    n = len(source)
    if len(heard) < n:
        heard = np.concatenate([heard, np.zeros(n - len(heard))])
    size = 1 << (len(heard) + n).bit_length()
    raw = np.fft.irfft(np.fft.rfft(heard, size) * np.conj(np.fft.rfft(source, size)), size)
    lags = raw[: len(heard) - n + 1]
    energy = np.convolve(heard**2, np.ones(n), mode="valid")  # |heard[l:l+n]|^2 per lag
    ncc = lags / (np.linalg.norm(source) * np.sqrt(np.maximum(energy, 1e-12)))
    return float(ncc.max())


def floats(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0


async def test_push_to_talk_from_the_browser_microphone(tmp_path: Path) -> None:
    node, shots = prerequisites(tmp_path)
    assert DEFAULT_BINARY.exists(), f"clankvox is not built at {DEFAULT_BINARY}: scripts/bootstrap"
    source = await piper_speech(QUESTION)  # mono, 48 kHz (loads Piper before the call)
    mic = tmp_path / "question.wav"
    write_wav(mic, Pcm(source.data + bytes(2 * round(PAUSE * source.rate)), source.rate))
    loop = source.duration + PAUSE
    config = DashboardConfig(port=0, allow_operator_crash=True)
    async with open_sandbox_app(tmp_path / "clanker.db", env={}, dashboard=config) as app:
        assert app.offline_demo and app.dashboard is not None and app.dashboard_url
        sb, rt = app.sandbox, app.runtime
        alice = sb.world.user_named("alice")
        key = str(sb.world.guild_named("Sandbox").id)
        sb.join_voice(alice, sb.world.channel_named("Lounge"))
        sb.post_message(alice, sb.world.channel_named("general"), "clanker, come to voice")
        with trio.move_on_after(CALL_TIMEOUT):
            while True:
                if await call_ready(rt, sb, "alice"):
                    break
                await trio.sleep(0.1)  # polling the call, bounded by CALL_TIMEOUT
        assert await call_ready(rt, sb, "alice"), (
            f"the call never became end-to-end encrypted with alice: {await link_status(rt, key)}"
        )
        env = {
            **os.environ,
            "DASHBOARD_URL": app.dashboard_url,
            "DASHBOARD_TOKEN": app.dashboard.token,
            "MIC_WAV": str(mic),
            "HOLD_MS": str(int((2 * loop + 0.3) * 1000)),
            "SPEAKER": "Alice",
            "SCREENSHOT_DIR": shots,
            "CHROMIUM": CHROMIUM,
        }
        done: subprocess.CompletedProcess[bytes] = await trio.run_process(
            [node, str(SCRIPT)],
            cwd=REPO / "dashboard",
            env=env,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
        output = done.stdout.decode() + done.stderr.decode()
        assert done.returncode == 0, f"browser steps failed:\n{output}"
        assert "2 passed, 0 failed" in output, output

        chat = app.dashboard.setup.sandbox
        assert isinstance(chat, WorldChat)
        [(who, heard)] = chat.heard
        assert (who, heard.rate) == (alice.id, 48_000)
        correlation = peak_correlation(floats(source.data), floats(heard.data))
        print(f"push-to-talk: normalized cross-correlation {correlation:.3f}")
        assert correlation >= MIN_CORRELATION, correlation

        said = ""
        with trio.move_on_after(CALL_TIMEOUT):
            while "capital" not in said:
                status = await rt.lookup(voice_brain_name(key)).ask(
                    GetVoiceBrainStatus(), VoiceBrainStatus, timeout=5.0
                )
                said = " ".join(t.said for t in status.turns).lower()
                await trio.sleep(0.1)  # polling the brain, bounded by CALL_TIMEOUT
    assert "capital" in said and "france" in said, said
