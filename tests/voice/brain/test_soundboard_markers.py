"""Soundboard markers in a streamed reply, sans-IO: stripped from speech, kept in order, a
marker split across chunks held until complete, and names matched loosely."""

from __future__ import annotations

from clanker.voice.brain.soundboard import (
    MarkerFilter,
    SoundCue,
    find_sound,
    sounds_prompt,
    strip_markers,
)


def run(chunks: list[str]) -> list[object]:
    f = MarkerFilter()
    out: list[object] = []
    for c in chunks:
        out += f.feed(c)
    out += f.finish()
    # merge adjacent text for comparison
    merged: list[object] = []
    for p in out:
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] += p
        else:
            merged.append(p)
    return merged


def test_a_marker_in_one_piece_splits_the_speech() -> None:
    assert run(["Ha! [[SOUNDBOARD:rimshot]] Got you."]) == [
        "Ha! ",
        SoundCue("rimshot"),
        " Got you.",
    ]


def test_a_marker_split_at_every_character_is_found_and_never_spoken() -> None:
    text = "Drum roll [[SOUNDBOARD: ba dum tss ]] done."
    f = MarkerFilter()
    spoken = ""
    pieces: list[object] = []
    for ch in text:
        for p in f.feed(ch):
            pieces.append(p)
            if isinstance(p, str):
                spoken += p
                assert "[" not in p  # nothing of the marker leaks out while it streams
    pieces += f.finish()
    assert spoken == "Drum roll  done."
    assert SoundCue("ba dum tss") in pieces
    assert pieces.index(SoundCue("ba dum tss")) > 0


def test_text_that_only_looks_like_a_marker_start_is_spoken_in_the_end() -> None:
    assert run(["I said [[SOUND", "S]] and [maybe]"]) == ["I said [[SOUNDS]] and [maybe]"]
    assert run(["an open [[SOUNDBOARD:quack"]) == ["an open [[SOUNDBOARD:quack"]
    assert run(["[[soundboard:Quack]]"]) == [SoundCue("Quack")]  # any case
    assert run(["[[SOUNDBOARD:a]][[SOUNDBOARD:b]]"]) == [SoundCue("a"), SoundCue("b")]


def test_names_match_loosely_and_the_prompt_is_short() -> None:
    names = ["rimshot", "ba dum tss", "golf clap"]
    assert find_sound("Ba_Dum-Tss", names) == 1
    assert find_sound("GOLF  CLAP", names) == 2
    assert find_sound("kazoo", names) is None
    assert strip_markers("Ha! [[SOUNDBOARD:rimshot]] Got you.") == "Ha! Got you."
    assert sounds_prompt([]) == ""
    line = sounds_prompt([f"s{i}" for i in range(30)])
    assert "[[SOUNDBOARD:<name>]]" in line and "s19" in line and "s20" not in line


def test_drained_waits_for_the_estimate_and_clankvox() -> None:
    from clanker.voice.brain.output import OutputState

    out = OutputState(stale_after=1.6)
    assert out.drained(0.0)  # nothing queued
    out.reply_started(1, 0.0)
    assert out.drained(0.1)
    out.audio_queued(1, "Hello there.", 24_000, 24_000, 0.5)  # 1 s of speech
    out.tts_state(True, 0.52)
    assert not out.drained(1.0)  # half of it played
    assert not out.drained(1.6)  # the estimate says played, clankvox still holds some
    out.tts_state(False, 1.7)  # clankvox: drained
    assert out.drained(1.7)
    out.audio_queued(1, "More.", 4_800, 24_000, 1.8)
    out.tts_state(True, 1.8)
    assert not out.drained(1.85)
    assert out.drained(1.8 + 1.6)  # telemetry went stale after the estimate: not held forever
