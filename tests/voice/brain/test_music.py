"""The music policy and its command parser, sans-IO: every phase change, the queue, ducking,
the wake-word pause and the wake latch."""

from __future__ import annotations

import pytest

from clanker.voice.brain.music import (
    MusicCommand,
    MusicPhase,
    MusicPolicy,
    MusicVerb,
    Track,
    parse_music_command,
)
from clanker.voice.commands import MusicPause, MusicPlay, MusicResume, MusicSetGain, MusicStop

NAMES = ("clanker", "clank")
A = Track("Test Tune", "http://127.0.0.1:1/t/a")
B = Track("Second Song", "http://127.0.0.1:1/t/b")
C = Track("Third", "http://127.0.0.1:1/t/c")
DUCK = MusicSetGain(target=0.15, fade_ms=300)
UNDUCK = MusicSetGain(target=1.0, fade_ms=300)


@pytest.mark.parametrize(
    ("text", "verb", "query"),
    [
        ("Clanker, play the test tune.", MusicVerb.PLAY, "the test tune"),
        ("clanker play some music called lofi beats", MusicVerb.PLAY, "lofi beats"),
        (
            "Hey clanker, can you play https://x.test/a.mp3 please",
            MusicVerb.PLAY,
            "https://x.test/a.mp3",
        ),
        ("<@30> play song two", MusicVerb.PLAY, "two"),
        ("clanker, add second song to the queue", MusicVerb.ADD, "second song"),
        ("queue up thunder", MusicVerb.ADD, "thunder"),
        ("Clanker, pause.", MusicVerb.PAUSE, ""),
        ("pause the music clanker", MusicVerb.PAUSE, ""),
        ("clanker resume", MusicVerb.RESUME, ""),
        ("clanker, play it again", MusicVerb.RESUME, ""),
        ("Clanker, skip!", MusicVerb.SKIP, ""),
        ("next song, clanker", MusicVerb.SKIP, ""),
        ("clanker, play the next one", MusicVerb.SKIP, ""),
        ("Clanker, stop the music.", MusicVerb.STOP, ""),
        ("clank stop", MusicVerb.STOP, ""),
        ("clanker, what's playing?", MusicVerb.NOW, ""),
        ("Clanker, what song is this?", MusicVerb.NOW, ""),
    ],
)
def test_commands_are_parsed(text: str, verb: MusicVerb, query: str) -> None:
    cmd = parse_music_command(text, NAMES)
    assert cmd is not None
    assert (cmd.verb, cmd.query) == (verb, query)


@pytest.mark.parametrize(
    "text",
    [
        "clanker, what is the capital of France?",
        "I paused the movie",
        "stop talking about it clanker",
        "clanker",
        "",
        "they played well",
    ],
)
def test_other_speech_is_not_a_command(text: str) -> None:
    assert parse_music_command(text, NAMES) is None


def test_musical_tells_a_song_from_a_game() -> None:
    assert parse_music_command("clanker play a game with me", NAMES) == MusicCommand(
        MusicVerb.PLAY, "a game with me", musical=False
    )
    song = parse_music_command("clanker play the song thunder", NAMES)
    assert song == MusicCommand(MusicVerb.PLAY, "thunder", musical=True)


def test_play_loads_then_plays_then_the_track_ends() -> None:
    p = MusicPolicy()
    out = p.play(A)
    assert out.actions == [MusicPlay(url=A.url, resolved_direct_url=True)]
    assert out.said == "Playing Test Tune."
    assert (p.phase, p.current) == (MusicPhase.LOADING, A)
    assert p.player_state("playing") == []
    assert p.phase is MusicPhase.PLAYING
    assert p.music_idle() == []
    assert (p.phase, p.current) == (MusicPhase.IDLE, None)


def test_the_queue_add_skip_next_and_stop_clears() -> None:
    p = MusicPolicy()
    assert p.add(A).actions == [
        MusicPlay(url=A.url, resolved_direct_url=True)
    ]  # nothing played: add plays at once
    p.player_state("playing")
    out = p.add(B)
    assert (out.actions, out.said) == ([], "Added Second Song, number 1 in the queue.")
    p.add(C)
    assert list(p.queue) == [B, C]
    out = p.skip()
    assert out.actions == [MusicPlay(url=B.url, resolved_direct_url=True)]
    assert (p.phase, p.current, list(p.queue)) == (MusicPhase.LOADING, B, [C])
    p.player_state("playing")
    assert p.music_idle() == [
        MusicPlay(url=C.url, resolved_direct_url=True)
    ]  # the end of a track plays the next
    p.player_state("playing")
    out = p.skip()  # the last one: skip stops
    assert out.actions == [MusicStop()]
    assert p.phase is MusicPhase.STOPPING
    assert p.music_idle() == []
    assert p.phase is MusicPhase.IDLE
    p.play(A)
    p.add(B)
    out = p.stop()
    assert (out.actions, out.said, list(p.queue)) == ([MusicStop()], "Stopped the music.", [])
    assert p.player_state("idle") == []
    p.music_idle()
    assert p.phase is MusicPhase.IDLE
    assert p.stop().ok is False
    assert p.skip().said == "Nothing is playing."


def test_play_now_replaces_and_keeps_the_queue() -> None:
    p = MusicPolicy()
    p.play(A)
    p.add(B)
    assert p.play(C).actions == [MusicPlay(url=C.url, resolved_direct_url=True)]
    assert (p.current, list(p.queue)) == (C, [B])


def test_pause_resume_and_now_playing() -> None:
    p = MusicPolicy()
    assert p.pause().ok is False
    assert p.now_playing().said == "Nothing is playing."
    p.play(A)
    p.player_state("playing")
    p.add(B)
    assert p.now_playing().said == "Now playing: Test Tune. 1 more queued."
    assert p.pause().actions == [MusicPause()]
    assert p.phase is MusicPhase.PAUSED
    assert p.player_state("paused") == []
    assert p.now_playing().said == "Now playing: Test Tune (paused). 1 more queued."
    assert p.resume().actions == [MusicResume()]
    assert p.phase is MusicPhase.PLAYING
    assert p.resume().ok is False


def test_an_error_plays_the_next_or_goes_idle() -> None:
    p = MusicPolicy()
    p.play(A)
    p.add(B)
    assert p.music_error("ffmpeg: 404") == [MusicPlay(url=B.url, resolved_direct_url=True)]
    assert p.last_error == "ffmpeg: 404"
    assert p.music_error("again") == []
    assert p.phase is MusicPhase.IDLE


def test_ducks_while_the_bot_speaks_and_comes_back_after() -> None:
    p = MusicPolicy()
    assert p.speaking(True, 0.0) == []  # no music: nothing to duck
    assert p.speaking(False, 0.1) == []
    p.play(A)
    assert p.speaking(True, 1.0) == []  # loading: clankvox waits for the announcement
    assert p.speaking(False, 2.0) == []
    p.player_state("playing")
    assert p.speaking(True, 3.0) == [DUCK]
    assert p.speaking(True, 3.1) == []  # no change, no command
    assert p.gain == 0.15
    p.gain_reached(0.15)
    assert p.speaking(False, 5.0) == [UNDUCK]
    assert p.gain == 1.0


def test_a_track_that_starts_while_the_bot_speaks_is_ducked() -> None:
    p = MusicPolicy()
    p.play(A)
    p.speaking(True, 0.0)
    assert p.player_state("playing") == [DUCK]  # clankvox faded it in to 1.0
    p.pause()
    p.speaking(False, 1.0)
    p.speaking(True, 2.0)
    assert p.resume().actions == [MusicResume(), DUCK]  # resume jumps to 1.0: duck again


def test_wake_word_pause_resumes_after_the_reply_drains() -> None:
    p = MusicPolicy()
    p.play(A)
    p.player_state("playing")
    assert p.addressed(101, 10.0) == [MusicPause()]
    assert p.phase is MusicPhase.PAUSED_WAKE_WORD
    assert p.next_deadline() == 18.0
    assert p.speaking(True, 10.2) == []  # paused: no duck
    assert p.next_deadline() is None  # a reply started: no timeout, wait for its drain
    assert p.tick(30.0) == []
    assert p.speaking(False, 31.0) == [MusicResume()]
    assert p.phase is MusicPhase.PLAYING


def test_wake_word_pause_times_out_when_nothing_was_asked() -> None:
    p = MusicPolicy()
    p.play(A)
    p.player_state("playing")
    p.addressed(101, 10.0)
    assert p.tick(17.9) == []
    assert p.tick(18.0) == [MusicResume()]
    assert p.phase is MusicPhase.PLAYING
    assert p.next_deadline() is None


def test_an_explicit_pause_is_not_resumed_by_itself() -> None:
    p = MusicPolicy()
    p.play(A)
    p.player_state("playing")
    p.addressed(101, 10.0)
    assert p.pause().actions == []  # already paused in clankvox
    assert p.phase is MusicPhase.PAUSED
    assert p.tick(100.0) == []
    p.speaking(True, 101.0)
    assert p.speaking(False, 102.0) == []
    assert p.addressed(101, 103.0) == []  # paused music is not paused again


def test_the_wake_latch_admits_that_member_for_a_while() -> None:
    p = MusicPolicy()
    assert p.addressed(101, 0.0) == []  # no music, no latch
    assert not p.latched(101, 0.0)
    p.play(A)
    p.player_state("playing")
    p.addressed(101, 10.0)
    assert p.latched(101, 21.9)
    assert not p.latched(102, 11.0)
    assert not p.latched(101, 22.0)


def test_a_full_queue_says_so() -> None:
    from clanker.voice.brain.music import MusicConfig

    p = MusicPolicy(MusicConfig(queue_max=1))
    p.play(A)
    assert p.add(B).ok
    out = p.add(C)
    assert (out.ok, out.said) == (False, "The queue is full (1).")


def test_a_stop_finishing_as_a_new_track_loads_does_not_end_it() -> None:
    p = MusicPolicy()
    p.play(A)
    p.stop()
    p.play(B)  # before clankvox's music_idle for the stop arrived
    assert p.music_idle() == []
    assert (p.phase, p.current) == (MusicPhase.LOADING, B)
    p.player_state("playing")
    assert p.phase is MusicPhase.PLAYING


def test_a_track_that_never_starts_makes_way_after_loading_max() -> None:
    p = MusicPolicy()
    p.play(A)
    p.add(B)
    assert p.next_deadline() is None  # not yet clocked
    p.clock(100.0)
    p.clock(101.0)  # the first send counts
    assert p.next_deadline() == 120.0
    assert p.tick(119.9) == []
    assert p.tick(120.0) == [MusicPlay(url=B.url, resolved_direct_url=True)]
    assert "did not start in 20 s" in p.last_error
    assert (p.phase, p.current) == (MusicPhase.LOADING, B)
    p.clock(120.0)
    p.player_state("playing")
    assert p.next_deadline() is None
    assert p.tick(500.0) == []
