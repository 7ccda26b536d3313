"""Prompt assembly: persona, limits, the transcript, participants, and the decision text."""

from __future__ import annotations

from clanker.text import (
    AdmissionReason,
    Attention,
    MessageView,
    Participant,
    ReplyJob,
    build_reply_prompt,
    participants_of,
)

from .helpers import ALICE, BOB, BOT, CAROL, CHANNEL, OTHER_BOT, msg, settings_with


def job_for(batch: list[MessageView], reason: AdmissionReason, attention: Attention) -> ReplyJob:
    target = batch[-1] if reason is AdmissionReason.ADDRESSED else None
    return ReplyJob(
        job_id=1,
        channel_id=batch[-1].channel_id,
        guild_id=batch[-1].guild_id,
        trigger=batch[-1],
        messages=tuple(batch),
        reply_target=target,
        reason=reason,
        attention=attention,
        started_at=0.0,
    )


def test_the_prompt_carries_persona_limits_transcript_and_contract() -> None:
    s = settings_with(
        persona={"flavor": "You are a grumpy pirate.", "hard_limits": ["no spoilers"]}
    )
    history = [
        msg("anyone seen the film", author=BOB),
        msg(f"<@{BOT}> have you?", author=ALICE),
        msg("not yet", author=BOT, reply_to_author=ALICE),
        msg("beep", author=OTHER_BOT),
    ]
    batch = [msg("clanker what did you think", author=ALICE)]
    later = msg("this came after", author=CAROL)
    prompt = build_reply_prompt(
        job_for(batch, AdmissionReason.ADDRESSED, Attention.ACTIVE),
        [*history, *batch, later],
        settings=s,
        bot_user_id=BOT,
        channel_name="movies",
    )
    assert prompt.system.startswith("PERSONA\nYou are a grumpy pirate.")
    assert "- no spoilers" in prompt.system
    assert "You are in the Discord channel #movies." in prompt.system
    assert '{"text": "<your message>", "skip": false, "reaction": null}' in prompt.system
    assert "[SKIP]" in prompt.system
    ((turn),) = prompt.turns
    assert turn.role == "user"
    text = turn.text
    assert "bob: anyone seen the film" in text
    assert "alice: @you have you?" in text  # ids become names
    assert "you (replying to alice): not yet" in text
    assert "robot [bot]: beep" in text
    new = text.index("NEW MESSAGES")
    assert text.index("alice: clanker what did you think") > new
    assert "this came after" not in text  # after the trigger: the next batch's business
    assert "Someone is talking to you directly" in text
    assert [p.user_id for p in prompt.participants] == [ALICE, OTHER_BOT, BOB]


def test_history_is_capped_by_the_setting() -> None:
    s = settings_with(reply_generation={"context_messages": 3})
    history = [msg(f"old {i}", author=BOB) for i in range(10)]
    batch = [msg("now", author=ALICE)]
    prompt = build_reply_prompt(
        job_for(batch, AdmissionReason.AMBIENT, Attention.AMBIENT),
        history,
        settings=s,
        bot_user_id=BOT,
    )
    text = prompt.turns[0].text
    assert "old 7" not in text and "old 8" in text and "old 9" in text and "now" in text


def test_ambient_instructions_follow_eagerness_and_reply_channels() -> None:
    batch = [msg("nice weather", author=ALICE)]
    job = job_for(batch, AdmissionReason.AMBIENT, Attention.AMBIENT)

    def decision(**patch: dict[str, object]) -> str:
        prompt = build_reply_prompt(job, [], settings=settings_with(**patch), bot_user_id=BOT)
        return prompt.turns[0].text.split("YOUR DECISION\n", 1)[1]

    shy = decision(activity={"ambient_reply_eagerness": 0})
    default = decision()
    eager = decision(activity={"ambient_reply_eagerness": 90})
    assert "Stay silent" in shy
    assert "skipping is the normal choice" in default
    assert "eager participant" in eager
    assert len({shy, default, eager}) == 3
    vibe = decision(permissions={"reply_channel_ids": [CHANNEL]})
    assert "meant for talking with you" in vibe
    no_reactions = build_reply_prompt(
        job, [], settings=settings_with(), bot_user_id=BOT, reactions_allowed=False
    )
    assert "always null" in no_reactions.system


def test_a_dm_says_so_and_extra_sections_are_included() -> None:
    batch = [msg("hey", author=ALICE, guild_id=None)]
    prompt = build_reply_prompt(
        job_for(batch, AdmissionReason.AMBIENT, Attention.AMBIENT),
        [],
        settings=settings_with(),
        bot_user_id=BOT,
        extra_sections=[("what you remember", "alice likes tea")],
    )
    assert "private conversation (DM) with alice" in prompt.system
    assert "WHAT YOU REMEMBER\nalice likes tea" in prompt.turns[0].text


def test_participants_most_recent_first_without_the_bot() -> None:
    history = [msg("a", author=ALICE), msg("b", author=BOT), msg("c", author=BOB)]
    assert participants_of(history, bot_user_id=BOT) == (
        Participant(user_id=BOB, name="bob"),
        Participant(user_id=ALICE, name="alice"),
    )
