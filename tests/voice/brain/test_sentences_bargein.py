"""SentenceSplitter on streamed text; the barge-in checks in order."""

from __future__ import annotations

import pytest

from clanker.voice.brain.bargein import BargeInConfig, BargeInPolicy, check_barge_in
from clanker.voice.brain.sentences import SentenceSplitter


def split_stream(text: str, step: int, **kw: int) -> list[str]:
    s = SentenceSplitter(**kw)
    out: list[str] = []
    for i in range(0, len(text), step):
        out += s.feed(text[i : i + step])
    return out + s.finish()


@pytest.mark.parametrize("step", [1, 3, 7, 1000])
def test_sentences_come_out_whole_whatever_the_chunking(step: int) -> None:
    text = (
        "Sure thing! Mr. Smith paid 3.50 dollars, e.g. a coffee. J. R. R. Tolkien wrote it… "
        "Ok. Then we go.\nNew line here"
    )
    assert split_stream(text, step) == [
        "Sure thing!",
        "Mr. Smith paid 3.50 dollars, e.g. a coffee.",
        "J. R. R. Tolkien wrote it…",
        "Ok. Then we go.",
        "New line here",
    ]


def test_the_first_sentence_leaves_as_soon_as_it_is_complete() -> None:
    s = SentenceSplitter()
    assert s.feed("Hi. ") == ["Hi."]
    assert s.feed("Ok. ") == []  # short: waits for company
    assert s.feed("That works for me. ") == ["Ok. That works for me."]


def test_overlong_text_is_cut_at_a_clause() -> None:
    s = SentenceSplitter(max_chars=40)
    out = s.feed("one two three four five six, seven eight nine ten eleven twelve thirteen")
    assert out == ["one two three four five six,", "seven eight nine ten eleven twelve"]
    assert s.finish() == ["thirteen"]


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="bad limits"):
        SentenceSplitter(max_chars=5)


def check(policy: BargeInPolicy = BargeInPolicy.SPEAKER, **kw: object) -> tuple[bool, str]:
    args: dict[str, object] = {
        "user_id": 1,
        "bot_audio_out": True,
        "bot_audio_started_at": 0.0,
        "reply_targets": (1,),
        "speech_seconds": 0.8,
        "named_bot": False,
        "now": 3.0,
    }
    args.update(kw)
    r = check_barge_in(BargeInConfig(policy=policy), **args)  # type: ignore[arg-type]
    return r.interrupt, r.reason


def test_barge_in_checks_in_order() -> None:
    assert check(BargeInPolicy.NOBODY) == (False, "policy_none")
    assert check(bot_audio_out=False) == (False, "not_speaking")
    assert check(now=0.5) == (False, "echo_guard")
    assert check(speech_seconds=0.3) == (False, "too_short")
    assert check() == (True, "reply_target")
    assert check(user_id=2) == (False, "not_target")
    assert check(user_id=2, named_bot=True) == (True, "wake_word")
    assert check(BargeInPolicy.ANYONE, user_id=2) == (True, "anyone")
