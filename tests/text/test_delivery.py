"""Mentions, stop words, reply-or-send, and the delivery plan."""

from __future__ import annotations

import pytest

from clanker.text import (
    AdmissionReason,
    Attention,
    ParseState,
    Participant,
    ReplyJob,
    ReplyOutput,
    choose_reply_to,
    is_stop_request,
    plan_delivery,
    resolve_mentions,
)

from .helpers import ALICE, BOB, CHANNEL, GUILD, msg

PEOPLE = (
    Participant(user_id=1, name="Ann"),
    Participant(user_id=2, name="Ann Marie"),
    Participant(user_id=3, name="bob"),
    Participant(user_id=4, name="everyone"),
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hey @bob", "hey <@3>"),
        ("@BOB!", "<@3>!"),
        ("@Ann Marie and @Ann", "<@2> and <@1>"),
        ("@bobby", "@bobby"),  # not a whole-word match
        ("mail bob@bob.com", "mail bob@bob.com"),
        ("@carol", "@carol"),  # unknown: left alone
        ("@everyone look", "@everyone look"),  # reserved, never resolved
        ("`@bob` stays code", "`@bob` stays code"),
        ("```\n@bob\n``` but @bob", "```\n@bob\n``` but <@3>"),
        ("already <@3>", "already <@3>"),
    ],
)
def test_resolve_mentions(text: str, expected: str) -> None:
    assert resolve_mentions(text, PEOPLE) == expected


@pytest.mark.parametrize(
    ("text", "stop"),
    [
        ("stop", True),
        ("STOP!", True),
        ("ok stop", True),
        ("please stop now", True),
        ("never mind", True),
        ("nevermind.", True),
        ("nvm", True),
        ("forget it", True),
        ("cancel that please", True),
        ("abort", True),
        ("shut up", True),
        ("clanker stop", True),
        ("clanker, never mind", True),
        ("<@900> cancel", True),
        ("stop it", True),
        ("don't stop the music", False),
        ("stop talking about cats", False),
        ("bus stop", False),
        ("never mind the weather, what's up", False),
        ("", False),
    ],
)
def test_stop_requests(text: str, stop: bool) -> None:
    assert is_stop_request(text, ("clanker", "clank")) is stop


def job(*, target: bool, dm: bool = False) -> ReplyJob:
    asked = msg("clanker?", author=ALICE, guild_id=None if dm else GUILD)
    return ReplyJob(
        job_id=1,
        channel_id=CHANNEL,
        guild_id=None if dm else GUILD,
        trigger=asked,
        messages=(asked,),
        reply_target=asked if target else None,
        reason=AdmissionReason.ADDRESSED if target else AdmissionReason.AMBIENT,
        attention=Attention.ACTIVE,
        started_at=0.0,
    )


def test_reply_or_plain_send() -> None:
    addressed = job(target=True)
    asked_id = addressed.trigger.message_id
    # The answered message is still the latest: plain send.
    assert choose_reply_to(addressed, asked_id) is None
    # Someone spoke after it: quote it, so it is clear what is answered.
    assert choose_reply_to(addressed, asked_id + 5) == asked_id
    # Joining in unaddressed: never a reply.
    assert choose_reply_to(job(target=False), asked_id + 5) is None
    # DMs: never a reply.
    dm = job(target=True, dm=True)
    assert choose_reply_to(dm, dm.trigger.message_id + 5) is None


def output(text: str = "", skip: bool = False, reaction: str | None = None) -> ReplyOutput:
    return ReplyOutput(
        text=text,
        skip=skip,
        reaction=reaction,
        state=ParseState.JSON,
        skip_reason="llm_skip" if skip else None,
    )


def test_a_reaction_is_applied_even_when_the_text_is_skipped() -> None:
    j = job(target=True)
    plan = plan_delivery(
        output(skip=True, reaction="🔥"),
        j,
        participants=PEOPLE,
        latest_message_id=None,
        reactions_allowed=True,
    )
    assert not plan.sends_text and plan.skip_reason == "llm_skip"
    assert (plan.reaction, plan.reaction_message_id) == ("🔥", j.trigger.message_id)


def test_reactions_respect_the_switch_and_the_allowed_set() -> None:
    j = job(target=True)
    off = plan_delivery(
        output("hi", reaction="🔥"),
        j,
        participants=(),
        latest_message_id=None,
        reactions_allowed=False,
    )
    assert off.reaction is None and off.reaction_message_id is None and off.chunks == ("hi",)
    unlisted = plan_delivery(
        output("hi", reaction="🔥"),
        j,
        participants=(),
        latest_message_id=None,
        reactions_allowed=True,
        allowed_reactions={"👍"},
    )
    assert unlisted.reaction is None


def test_a_long_reply_with_mentions_is_resolved_then_split_and_only_the_first_quotes() -> None:
    j = job(target=True)
    text = "@bob " + "word " * 500
    plan = plan_delivery(
        output(text),
        j,
        participants=PEOPLE,
        latest_message_id=j.trigger.message_id + 1,
        reactions_allowed=True,
        limit=1000,
    )
    assert plan.chunks[0].startswith("<@3> ")
    assert len(plan.chunks) == 3 and all(len(c) <= 1000 for c in plan.chunks)
    assert plan.reply_to_message_id == j.trigger.message_id
    assert plan.channel_id == CHANNEL and plan.skip_reason is None


def test_nothing_to_send_after_cleanup_is_an_empty_reply_skip() -> None:
    plan = plan_delivery(
        ReplyOutput(text=" \n ", skip=False, state=ParseState.PROSE),
        job(target=False),
        participants=(),
        latest_message_id=None,
        reactions_allowed=True,
    )
    assert not plan.sends_text and plan.skip_reason == "empty_reply"


def test_participants_by_recency_for_bob() -> None:
    # The first listed participant wins a name clash (the most recent speaker).
    people = (Participant(user_id=BOB, name="sam"), Participant(user_id=ALICE, name="Sam"))
    assert resolve_mentions("@sam", people) == f"<@{BOB}>"
