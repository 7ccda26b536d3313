"""Music in the voice brain on virtual time: a spoken "play" (announced, then clankvox starts
the track), ducking under the bot's speech at the exact times, the wake-word pause and its
resume after the reply drained, the wake latch, the queue, and requests from outside."""

from __future__ import annotations

import math
from collections import deque
from pathlib import Path

import pytest
import trio
import trio.testing

from clanker.runtime import OperatorCrash, Runtime, open_runtime
from clanker.voice import commands as c
from clanker.voice.brain.music_actor import GetMusicStatus, MusicReply, MusicRequest, MusicStatus

from .room import (
    ALICE,
    BOB,
    Playout,
    RoomProvider,
    StubModels,
    connect,
    member_says,
    room_spec,
    track_ends,
)

DUCK = c.MusicSetGain(target=0.15, fade_ms=300)
UNDUCK = c.MusicSetGain(target=1.0, fade_ms=300)


def near(x: float) -> object:
    return pytest.approx(x, abs=1e-6)


@pytest.fixture
def library(tmp_path: Path) -> str:
    root = tmp_path / "music"
    root.mkdir()
    for name in ("Test Tune.wav", "second_song.ogg"):
        (root / name).write_bytes(b"RIFF....")
    return str(root)


async def music_status(rt: Runtime) -> MusicStatus:
    return await rt.lookup("brain").ask(GetMusicStatus(), MusicStatus)


async def until(playout: Playout, check: object) -> None:
    with trio.fail_after(30):
        while not check():  # type: ignore[operator]
            await playout.changed.wait()


def sent(playout: Playout, kind: type) -> list[float]:
    return [t for t, cmd in playout.music if isinstance(cmd, kind)]


async def start_music(rt: Runtime, models: StubModels, playout: Playout) -> float:
    """Alice asks for the test tune; returns when clankvox started it."""
    models.transcripts.append("Clanker, play the test tune.")
    await member_says(rt, ALICE, 1.0)
    await until(playout, lambda: "playing" in [s for _, s in playout.player])
    return playout.player[-1][0]


async def test_play_by_voice_is_announced_then_the_track_starts(
    autojump_clock: trio.testing.MockClock, library: str
) -> None:
    models = StubModels(transcripts=deque(["Clanker, play the test tune."]))
    provider = RoomProvider(lambda p: "never asked")
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout, music_library=library)) as rt:
        await connect(rt)
        speech_end = await member_says(rt, ALICE, 1.0)
        await until(playout, lambda: playout.player)
        st = await music_status(rt)
    heard = speech_end + 0.2 + 0.03 + 0.1  # VAD stop, turn check, recognition
    ((t_play, play),) = playout.music
    assert isinstance(play, c.MusicPlay)
    assert t_play == near(heard)
    assert play.resolved_direct_url is True
    assert play.url.startswith("http://127.0.0.1:") and play.url.count("/") == 4
    # the announcement: synthesised in 0.05 s, 18 characters x 0.05 s of speech
    assert models.spoken == [(near(heard + 0.05), "Playing Test Tune.")]
    assert playout.audio[0][0] == near(heard + 0.05)
    # clankvox starts the track 0.5 s after the announcement drained (its 20 ms ticks)
    drained = playout.idle_at[0]
    assert drained == near(heard + 0.05 + 0.9)
    assert playout.player[0][1] == "playing"
    assert playout.player[0][0] == pytest.approx(drained + 0.5, abs=0.021)
    assert provider.prompts == []  # a command, not a question for the model
    assert (st.phase, st.now_playing, st.queue) == ("playing", "Test Tune", [])
    assert st.library_tracks == 2
    assert playout.dropped_audio == []


async def test_music_ducks_under_the_bots_speech_and_comes_back_after_it(
    autojump_clock: trio.testing.MockClock, library: str
) -> None:
    models = StubModels()
    provider = RoomProvider(lambda p: "never asked")
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout, music_library=library)) as rt:
        await connect(rt)
        await start_music(rt, models, playout)
        models.transcripts.append("Clanker, what's playing?")
        speech_end = await member_says(rt, ALICE, 1.0)
        await until(playout, lambda: len(sent(playout, c.MusicSetGain)) == 2)
        await trio.sleep(1.0)
    heard = speech_end + 0.33
    ducks = [(t, cmd) for t, cmd in playout.music if isinstance(cmd, c.MusicSetGain)]
    # ducked as the reply starts, before its first audio (speech over loud music is dropped)
    assert ducks[0] == (near(heard), DUCK)
    answer = [(t, s) for t, s in models.spoken if s.startswith("Now playing")]
    assert answer == [(near(heard + 0.05), "Now playing: Test Tune.")]
    assert playout.audio[-1][0] == near(heard + 0.05)
    # back to full once clankvox has played it all (23 characters: 1.15 s, in 20 ms ticks)
    drained = playout.idle_at[-1]
    assert drained == near(heard + 0.05 + math.ceil(1.15 * 50) * 0.02)
    assert ducks[1] == (near(drained), UNDUCK)
    assert playout.dropped_audio == []
    assert sent(playout, c.MusicPause) == []  # a command is not a wake word


async def test_the_wake_word_pauses_the_music_until_the_reply_drained(
    autojump_clock: trio.testing.MockClock, library: str
) -> None:
    models = StubModels()
    provider = RoomProvider(lambda p: "Paris.", delay=0.2)
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout, music_library=library)) as rt:
        await connect(rt)
        await start_music(rt, models, playout)
        models.transcripts.append("Clanker, what is the capital of France?")
        speech_end = await member_says(rt, ALICE, 1.2)
        await until(playout, lambda: sent(playout, c.MusicResume))
        st = await music_status(rt)
    heard = speech_end + 0.33
    assert sent(playout, c.MusicPause) == [near(heard)]
    assert provider.asked_at == [near(heard)]
    # the whole answer in one piece after 0.2 s + 0.05 s, synthesis 0.05 s, 6 chars: 0.3 s
    assert playout.audio[-1][0] == near(heard + 0.3)
    drained = playout.idle_at[-1]
    assert drained == near(heard + 0.3 + 0.3)
    assert sent(playout, c.MusicResume) == [near(drained)]
    assert sent(playout, c.MusicSetGain) == []  # paused, not ducked
    assert st.phase == "playing"
    assert [s for _, s in playout.player] == ["playing", "paused", "playing"]


async def test_after_the_wake_word_that_member_is_heard_over_the_music(
    autojump_clock: trio.testing.MockClock, library: str
) -> None:
    models = StubModels()
    answers = deque(["Paris.", "Madrid."])
    provider = RoomProvider(lambda p: answers.popleft(), delay=0.2)
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout, music_library=library)) as rt:
        await connect(rt)
        await start_music(rt, models, playout)
        models.transcripts.append("Clanker, capital of France?")
        await member_says(rt, ALICE, 1.0)
        await until(playout, lambda: sent(playout, c.MusicResume))
        models.transcripts.append("and of Spain")  # not named: inside the latch
        speech_end = await member_says(rt, ALICE, 1.0)
        await until(playout, lambda: len(sent(playout, c.MusicSetGain)) == 2)
        models.transcripts.append("nice weather")  # Bob never named the bot
        await member_says(rt, BOB, 1.0)
        await trio.sleep(2.0)
    heard = speech_end + 0.33
    assert len(provider.asked_at) == 2  # Bob's turn was denied (music playing)
    assert provider.asked_at[1] == near(heard)
    assert sent(playout, c.MusicPause) == [near(sent(playout, c.MusicPause)[0])]  # only once
    assert sent(playout, c.MusicSetGain)[0] == near(heard)  # ducked, not paused
    assert sent(playout, c.MusicSetGain)[1] == near(playout.idle_at[-1])
    assert playout.dropped_audio == []


async def test_skip_add_stop_and_the_end_of_a_track(
    autojump_clock: trio.testing.MockClock, library: str
) -> None:
    models = StubModels()
    provider = RoomProvider(lambda p: "never asked")
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout, music_library=library)) as rt:
        await connect(rt)
        await start_music(rt, models, playout)
        brain = rt.lookup("brain")
        added = await brain.ask(MusicRequest(verb="add", query="second song"), MusicReply)
        assert (added.ok, added.said) == (True, "Added second song, number 1 in the queue.")
        assert (await music_status(rt)).queue == ["second song"]
        await trio.sleep(3.0)
        await track_ends(rt, playout)  # the test tune ran out: the next one plays
        await until(playout, lambda: len(sent(playout, c.MusicPlay)) == 2)
        t_end = playout.player[-1][0]
        assert sent(playout, c.MusicPlay)[1] == near(t_end)
        await until(playout, lambda: playout.player[-1][1] == "playing")
        models.transcripts.append("Clanker, skip.")
        speech_end = await member_says(rt, ALICE, 0.6)
        await until(playout, lambda: sent(playout, c.MusicStop))
        assert sent(playout, c.MusicStop) == [near(speech_end + 0.33)]  # the last: skip stops
        await until(playout, lambda: playout.player[-1][1] == "idle")
        await trio.sleep(0.01)  # music_idle follows player_state idle
        st = await music_status(rt)
        assert (st.phase, st.now_playing) == ("idle", None)
        nothing = await brain.ask(MusicRequest(verb="stop"), MusicReply)
        assert (nothing.ok, nothing.said) == (False, "Nothing is playing.")
        missing = await brain.ask(MusicRequest(verb="play", query="thunder"), MusicReply)
        assert (missing.handled, missing.ok) == (True, False)
        assert missing.said == "I couldn't find thunder in the music library."
        game = await brain.ask(MusicRequest(verb="play", query="a game", musical=False), MusicReply)
        assert game.handled is False  # not music after all: for the model
        bad = await brain.ask(MusicRequest(verb="dance"), MusicReply)
        assert bad.handled is False and "Unknown music action 'dance'" in bad.said
        await trio.sleep(1.0)
    assert playout.dropped_audio == []
    said = [t for _, t in models.spoken]
    assert "Added second song, number 1 in the queue." in said  # an announcement is spoken
    assert not [t for t in said if "Nothing" in t or "find" in t]  # a request's failure is not


async def test_a_spoken_pause_and_resume_and_a_url(
    autojump_clock: trio.testing.MockClock, library: str
) -> None:
    models = StubModels()
    provider = RoomProvider(lambda p: "never asked")
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout, music_library=library)) as rt:
        await connect(rt)
        await start_music(rt, models, playout)
        models.transcripts.append("clanker, pause the music")
        end_pause = await member_says(rt, ALICE, 0.8)
        await until(playout, lambda: sent(playout, c.MusicPause))
        await trio.sleep(15.0)  # an explicit pause does not resume by itself
        assert sent(playout, c.MusicResume) == []
        models.transcripts.append("Clanker, resume.")
        end_resume = await member_says(rt, ALICE, 0.8)
        await until(playout, lambda: sent(playout, c.MusicResume))
        brain = rt.lookup("brain")
        url = "https://music.example/a.mp3"
        played = await brain.ask(MusicRequest(verb="play", query=url, by="Op"), MusicReply)
        refused = await brain.ask(
            MusicRequest(verb="play", query="http://a b", by="Op"), MusicReply
        )
    assert sent(playout, c.MusicPause) == [near(end_pause + 0.33)]
    assert sent(playout, c.MusicResume) == [near(end_resume + 0.33)]
    assert provider.prompts == []
    assert played.ok and played.said == f"Playing {url}."
    last = [cmd for _, cmd in playout.music if isinstance(cmd, c.MusicPlay)][-1]
    assert last == c.MusicPlay(url=url, resolved_direct_url=True)
    assert refused.ok is False
    assert refused.said.startswith("I can't play that link")


async def test_a_control_that_names_the_music_needs_no_name_while_it_plays(
    autojump_clock: trio.testing.MockClock, library: str
) -> None:
    models = StubModels()
    provider = RoomProvider(lambda p: "never asked")
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout, music_library=library)) as rt:
        await connect(rt)
        await start_music(rt, models, playout)
        models.transcripts.append("skip")  # Bob, unnamed, unlatched: not a command
        await member_says(rt, BOB, 0.6)
        await trio.sleep(2.0)
        assert sent(playout, c.MusicPlay)[1:] == [] and sent(playout, c.MusicStop) == []
        models.transcripts.append("Pause the music.")  # names the music: a command
        speech_end = await member_says(rt, BOB, 0.8)
        await until(playout, lambda: sent(playout, c.MusicPause))
        st = await music_status(rt)
    assert sent(playout, c.MusicPause) == [near(speech_end + 0.33)]
    assert st.phase == "paused"
    assert provider.prompts == []  # Bob's "skip" was denied, not answered


async def test_an_unnamed_play_counts_only_when_it_finds_the_title(
    autojump_clock: trio.testing.MockClock, library: str
) -> None:
    models = StubModels()
    provider = RoomProvider(lambda p: "Sure.")
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout, music_library=library)) as rt:
        await connect(rt)
        models.transcripts.append("play the song thunder")  # not in the library: the model
        await member_says(rt, BOB, 1.0)
        await trio.sleep(3.0)
        assert sent(playout, c.MusicPlay) == []
        assert len(provider.prompts) == 1
        models.transcripts.append("Play the test tune.")  # Whisper dropped "Clanker,"
        speech_end = await member_says(rt, BOB, 1.0)
        await until(playout, lambda: sent(playout, c.MusicPlay))
    assert sent(playout, c.MusicPlay) == [near(speech_end + 0.33)]
    assert len(provider.prompts) == 1


async def test_a_restarted_brain_stops_the_music_it_no_longer_knows(
    autojump_clock: trio.testing.MockClock, library: str
) -> None:
    models = StubModels()
    provider = RoomProvider(lambda p: "never asked")
    playout = Playout()
    async with open_runtime(room_spec(models, provider, playout, music_library=library)) as rt:
        await connect(rt)
        await start_music(rt, models, playout)
        assert sent(playout, c.MusicStop) == []
        crashed = trio.current_time()
        await rt.lookup("brain").tell(OperatorCrash())
        await until(playout, lambda: sent(playout, c.MusicStop))
        await until(playout, lambda: playout.player[-1][1] == "idle")
        await trio.sleep(0.01)
        st = await music_status(rt)
    assert sent(playout, c.MusicStop)[0] >= crashed
    assert (st.phase, st.now_playing) == ("idle", None)
