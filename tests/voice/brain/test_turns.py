"""Noise gates, addressing, room coalescing, admission and deferred turns."""

from __future__ import annotations

import pytest

from clanker.voice.brain.turns import (
    DeferredTurns,
    RoomDesk,
    RoomTurn,
    Utterance,
    Verdict,
    addresses,
    admit,
    noise_gate,
)


def utt(user: int, text: str, at: float = 1.0, **kw: object) -> Utterance:
    fields: dict[str, object] = {
        "user_id": user,
        "name": f"user{user}",
        "text": text,
        "started_at": at - 1.0,
        "ended_at": at,
        "decided_at": at,
        "transcribed_at": at,
        "speech_seconds": 1.0,
    }
    fields.update(kw)
    return Utterance(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "kw", "reason"),
    [
        ("", {}, "empty"),
        ("  ", {}, "empty"),
        ("[BLANK_AUDIO]", {}, "control_token"),
        ("(music)", {}, "control_token"),
        ("...?!", {}, "punctuation_only"),
        ("hello there", {"avg_logprob": -1.4}, "low_confidence"),
        ("hello there", {"no_speech_prob": 0.9}, "no_speech"),
        ("uh", {"speech_seconds": 3.0}, "sparse"),
        ("hello there", {"avg_logprob": -0.3, "no_speech_prob": 0.1}, None),
        ("ok", {"speech_seconds": 0.5}, None),
    ],
)
def test_noise_gate(text: str, kw: dict[str, object], reason: str | None) -> None:
    assert noise_gate(utt(1, text, **kw)) == reason


def test_addressing_is_whole_word_and_any_case() -> None:
    names = ("clanker", "Clank")
    assert addresses("hey CLANKER, what's up", names)
    assert addresses("clank?", names)
    assert not addresses("clankers everywhere", ("clanker",))
    assert not addresses("nothing here", names)


def test_a_lone_speaker_is_answered_at_once() -> None:
    desk = RoomDesk(names=("clanker",))
    turn = desk.add(utt(1, "what time is it"), 1.0, busy=set())
    assert turn is not None and turn.speakers == (1,) and not turn.addressed


def test_hold_while_others_talk_then_one_turn_with_both_speakers() -> None:
    desk = RoomDesk(names=("clanker",), hold_max=4.0)
    assert desk.add(utt(1, "I think pizza", 1.0), 1.0, busy={1, 2}) is None
    assert desk.room_changed(1.5, busy={2}) is None
    turn = desk.add(utt(2, "no, tacos", 2.0), 2.0, busy={1})
    # 1 is held already, so nobody else is waited on
    assert turn is not None
    assert [u.user_id for u in turn.utterances] == [1, 2]
    assert turn.at == 2.0


def test_addressing_the_bot_skips_the_hold() -> None:
    desk = RoomDesk(names=("clanker",))
    turn = desk.add(utt(1, "clanker, settle this"), 1.0, busy={2})
    assert turn is not None and turn.addressed


def test_the_hold_failsafe() -> None:
    desk = RoomDesk(names=("clanker",), hold_max=4.0)
    desk.add(utt(1, "so anyway"), 1.0, busy={2})
    assert desk.next_deadline() == 5.0
    assert desk.tick(4.9) is None
    turn = desk.tick(5.0)
    assert turn is not None and turn.speakers == (1,)
    assert desk.next_deadline() is None


def test_banked_fragments_join_the_next_utterance() -> None:
    desk = RoomDesk(names=("clanker",))
    desk.bank(utt(1, "so the first thing is", 8.0, started_at=0.0, banked=True))
    turn = desk.add(utt(1, "we leave at noon", 10.0), 10.0, busy=set())
    assert turn is not None
    (u,) = turn.utterances
    assert u.text == "so the first thing is we leave at noon"
    assert u.started_at == 0.0 and not u.banked


def test_admission_order() -> None:
    plain = RoomTurn(utterances=(utt(1, "hi"),), addressed=False, at=1.0)
    named = RoomTurn(utterances=(utt(1, "hi clanker"),), addressed=True, at=1.0)
    kw = {"output_busy": False, "music_playing": False, "command_only": False}
    assert admit(plain, **{**kw, "output_busy": True}).verdict is Verdict.DEFER
    assert admit(named, **{**kw, "output_busy": True}).verdict is Verdict.DEFER
    assert admit(plain, **{**kw, "command_only": True}).reason == "command_only"
    assert admit(named, **{**kw, "command_only": True}).verdict is Verdict.ADMIT
    assert admit(plain, **{**kw, "music_playing": True}).reason == "music_playing"
    assert admit(plain, **kw).reason == "generation_decides"
    assert admit(named, **kw).reason == "addressed"
    # Muted, it answers nobody, named or not, busy or not.
    for turn in (plain, named):
        for busy in (False, True):
            verdict = admit(turn, **{**kw, "output_busy": busy}, muted=True)
            assert (verdict.verdict, verdict.reason) == (Verdict.DENY, "muted")


def test_deferred_turns_merge_expire_and_are_bounded() -> None:
    q = DeferredTurns(capacity=2, ttl=20.0)
    for i in range(3):
        q.push(RoomTurn(utterances=(utt(i, f"t{i}", float(i)),), addressed=i == 1, at=float(i)))
    assert len(q) == 2 and q.dropped == 1
    merged = q.take(21.5)  # turn at 1.0 is 20.5 s old: expired; turn at 2.0 is fresh
    assert merged is not None
    assert [u.text for u in merged.utterances] == ["t2"]
    assert q.dropped == 2 and len(q) == 0
    assert q.take(22.0) is None
