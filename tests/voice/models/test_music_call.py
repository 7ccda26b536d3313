"""Music ducks under speech, end to end: a sandbox member in a DAVE call asks in text for the
test tune (a steady 440 Hz tone from the sandbox's generated library, served to the real
clankvox over the brain's loopback library server, decoded by its ffmpeg), then asks what is
playing; the bot answers aloud (Piper) over the music and what the sandbox receives is judged
by the tone's level.

The metric: the 440 Hz amplitude (Goertzel, 50 ms windows) of the mono mix the sandbox member
receives. Full = its median over the second before the question; ducked = the median over the
windows between the answer's first audio and its end. Passes when ducked / full is between
0.08 and 0.3 (clanker asks 0.15), when the ducked stretch lasts at least 0.8 s (the answer is
~1.5 s of speech), when the tone is back above 0.85 x full within 1.5 s after it, and when
the ducked stretch holds speech (90th percentile of the 50 ms RMS without the tone > 0.03;
< 0.01 before it). Measured here: full 0.300, ducked 0.150 x full for ~2 s, speech ~0.09.
The real clock: sockets, clankvox and ffmpeg, model threads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trio

from clanker.llm import LlmConfig, ProviderConfig
from clanker.llmsim import RecordedRequest, Text, open_llmsim
from clanker.sandbox.music import write_demo_library
from clanker.sandbox.voice.server import NoVoiceSession
from clanker.store import ActionRows, ActionsQuery
from clanker.voice.brain.config import VoiceBrainOptions, voice_brain_name
from clanker.voice.brain.music_actor import GetMusicStatus, MusicStatus
from clanker.voice.models.local import LocalModels

from ..voice_app import TIMEOUT, VoiceApp, open_voice_app
from .test_brain_call import bundle

RATE = 48_000
WINDOW = RATE // 20  # 50 ms
TONE_HZ = 440.0


def frames(app: VoiceApp) -> np.ndarray:
    """What the bot sent, mono, as rows of 50 ms (fractions of full scale)."""
    assert app.sandbox.voice is not None
    try:
        pcm = app.sandbox.voice.received_pcm(app.sandbox.world.bot).to_mono()
    except NoVoiceSession:
        return np.zeros((0, WINDOW))
    assert pcm.rate == RATE
    x = np.frombuffer(pcm.data, dtype="<i2").astype(np.float64) / 32768
    n = len(x) // WINDOW
    return x[: n * WINDOW].reshape(n, WINDOW)


def tone_levels(app: VoiceApp) -> np.ndarray:
    """The 440 Hz amplitude of each 50 ms of what the bot sent."""
    phase = np.exp(-2j * np.pi * TONE_HZ * np.arange(WINDOW) / RATE)
    return np.abs(frames(app) @ phase) * 2 / WINDOW


def not_tone(app: VoiceApp) -> np.ndarray:
    """The RMS of each 50 ms without the tone (a sine of amplitude A has RMS A / sqrt 2)."""
    f = frames(app)
    rms2 = np.mean(f * f, axis=1)
    return np.sqrt(np.maximum(rms2 - tone_levels(app) ** 2 / 2, 0.0))


async def wait_levels(app: VoiceApp, what: str, check: object) -> np.ndarray:
    with trio.move_on_after(TIMEOUT):
        while True:
            levels = tone_levels(app)
            if check(levels):  # type: ignore[operator]
                return levels
            await trio.sleep(0.25)
    raise AssertionError(f"{what}: levels {np.round(tone_levels(app)[-80:], 3)}")


def playing_for(seconds: float, at_least: float = 0.2) -> object:
    need = int(seconds * 20)
    return lambda lv: len(lv) >= need and bool(np.all(lv[-need:] > at_least))


async def test_music_ducks_under_speech(tmp_path: Path, local: LocalModels) -> None:
    library = write_demo_library(tmp_path / "music")

    def respond(request: RecordedRequest) -> Text:
        return Text("[SKIP]")  # the model is never needed: both requests are commands

    async with open_llmsim(default=respond) as sim:
        llm = LlmConfig(
            providers=(
                ProviderConfig(
                    name="sim", kind="openai_compatible", model="m", base_url=sim.openai_url
                ),
            )
        )
        brain = VoiceBrainOptions(
            load_models=lambda _settings: bundle(local), store="store", music_library=str(library)
        )
        async with open_voice_app(tmp_path, brain=brain, llm=llm, record_audio=False) as app:
            sb, world = app.sandbox, app.sandbox.world
            assert sb.voice is not None
            alice, general = world.user_named("alice"), world.channel_named("general")
            sb.join_voice(alice, world.channel_named("Lounge"))
            sb.post_message(alice, general, "clanker, come to voice")
            await app.wait_link()
            await app.wait_ready()
            await sb.voice.wait_for_session(world.bot)
            await app.wait_e2ee("alice")

            sb.post_message(alice, general, "clanker, play the test tune")
            with trio.fail_after(TIMEOUT):
                played = await sb.next_bot_message(general)
            assert played.content == "Playing Test Tune."
            # announced, then the track (fade-in 1.5 s): steady at full for a second
            await wait_levels(app, "the tune never played", playing_for(1.0))
            before = tone_levels(app)
            full = float(np.median(before[-20:]))

            sb.post_message(alice, general, "clanker, what's playing?")
            with trio.fail_after(TIMEOUT):
                answer = await sb.next_bot_message(general)
            assert answer.content == "Now playing: Test Tune."
            start = len(before)

            def ducked_and_back(lv: np.ndarray) -> bool:
                after = lv[start:]
                low = np.nonzero(after < 0.5 * full)[0]
                return len(low) > 0 and len(after) > low[-1] + 30

            levels = await wait_levels(app, "no duck and back", ducked_and_back)
            other = not_tone(app)
            status = await app.runtime.lookup(voice_brain_name(app.guild_key)).ask(
                GetMusicStatus(), MusicStatus
            )
            rows = await app.runtime.lookup("store").ask(ActionsQuery(limit=100), ActionRows)
    kinds = [r.kind for r in rows.rows]
    assert "voice_music_play" in kinds and "voice_music_now_playing" in kinds
    assert kinds.count("voice_music_requested") == 2
    assert (status.phase, status.now_playing) == ("playing", "Test Tune")
    assert 0.25 < full < 0.35, full  # the tune's own 0.3 of full scale, at unity gain
    after = levels[start:]
    low = np.nonzero(after < 0.5 * full)[0]
    first, last = int(low[0]), int(low[-1])
    stretch = after[first : last + 1]
    seconds = len(stretch) / 20
    ratio = float(np.median(stretch)) / full
    assert seconds >= 0.8, (seconds, np.round(after, 3))
    assert 0.08 <= ratio <= 0.3, (ratio, np.round(after, 3))
    recovered = after[last + 1 : last + 31]
    assert np.any(recovered > 0.85 * full), np.round(after, 3)
    # and it was speech that it ducked under: sound besides the tone while ducked (90th percentile
    # of the 50 ms RMS without the tone), next to none before
    speech = float(np.percentile(other[start + first : start + last + 1], 90))
    quiet = float(np.percentile(other[start - 20 : start], 90))
    print(f"not-tone RMS: {speech:.4f} while ducked, {quiet:.4f} before")
    assert speech > 0.03
    assert quiet < 0.01
    print(f"music duck: full {full:.3f}, ducked {ratio:.3f} x full for {seconds:.2f} s")
