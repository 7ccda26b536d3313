"""Address signal, attention and admission: the decision table, row by row."""

from __future__ import annotations

from typing import Any

import pytest

from clanker.settings import Identity
from clanker.text import (
    AddressKind,
    AdmissionReason,
    Attention,
    MessageView,
    address_signal,
    admit,
    attention_state,
    response_window_size,
)

from .helpers import (
    ALICE,
    BOB,
    BOT,
    CAROL,
    CHANNEL,
    OTHER_BOT,
    THREAD,
    msg,
    settings_with,
)

R = AdmissionReason
A = AddressKind

# (id, message, settings patch, expected admitted, reason, address kind)
TABLE: list[tuple[str, MessageView, dict[str, Any], bool, AdmissionReason, AddressKind]] = [
    ("mention", msg("yo", mentions=(BOT,)), {}, True, R.ADDRESSED, A.MENTION),
    ("mention markup", msg(f"<@{BOT}> yo"), {}, True, R.ADDRESSED, A.MENTION),
    ("nick mention markup", msg(f"hi <@!{BOT}>"), {}, True, R.ADDRESSED, A.MENTION),
    ("reply to bot", msg("ok", reply_to_author=BOT), {}, True, R.ADDRESSED, A.REPLY_TO_BOT),
    ("name", msg("Clanker, thoughts?"), {}, True, R.ADDRESSED, A.NAME),
    ("name possessive", msg("is that clanker's job"), {}, True, R.ADDRESSED, A.NAME),
    ("alias", msg("ask clanky"), {}, True, R.ADDRESSED, A.ALIAS),
    ("name inside word", msg("the clankerverse"), {}, True, R.AMBIENT, A.NONE),
    ("ambient", msg("what a day"), {}, True, R.AMBIENT, A.NONE),
    ("forced", msg("task done", force=True), {}, True, R.FORCED, A.NONE),
    ("a DM is addressed", msg("what a day", guild_id=None), {}, True, R.ADDRESSED, A.DM),
    (
        "a DM, unsolicited off",
        msg("what a day", guild_id=None),
        {"permissions": {"allow_unsolicited_replies": False}},
        True,
        R.ADDRESSED,
        A.DM,
    ),
    (
        "ambient, unsolicited off",
        msg("what a day"),
        {"permissions": {"allow_unsolicited_replies": False}},
        False,
        R.UNSOLICITED_DISABLED,
        A.NONE,
    ),
    (
        "addressed, unsolicited off",
        msg("clanker?"),
        {"permissions": {"allow_unsolicited_replies": False}},
        True,
        R.ADDRESSED,
        A.NAME,
    ),
    ("own message", msg("hi", author=BOT), {}, False, R.OWN_MESSAGE, A.NONE),
    (
        "replies off",
        msg("clanker?"),
        {"permissions": {"allow_replies": False}},
        False,
        R.REPLIES_DISABLED,
        A.NONE,
    ),
    (
        "channel blocked",
        msg("clanker?"),
        {"permissions": {"blocked_channel_ids": [CHANNEL]}},
        False,
        R.CHANNEL_BLOCKED,
        A.NONE,
    ),
    (
        "thread of a blocked channel",
        msg("clanker?", channel_id=THREAD, parent=CHANNEL),
        {"permissions": {"blocked_channel_ids": [CHANNEL]}},
        False,
        R.CHANNEL_BLOCKED,
        A.NONE,
    ),
    (
        "channel not in allow list",
        msg("clanker?"),
        {"permissions": {"allowed_channel_ids": [77]}},
        False,
        R.CHANNEL_NOT_ALLOWED,
        A.NONE,
    ),
    (
        "channel in allow list",
        msg("clanker?"),
        {"permissions": {"allowed_channel_ids": [CHANNEL]}},
        True,
        R.ADDRESSED,
        A.NAME,
    ),
    (
        "thread of an allowed channel",
        msg("clanker?", channel_id=THREAD, parent=CHANNEL),
        {"permissions": {"allowed_channel_ids": [CHANNEL]}},
        True,
        R.ADDRESSED,
        A.NAME,
    ),
    (
        "blocked and allowed: blocked wins",
        msg("clanker?"),
        {"permissions": {"allowed_channel_ids": [CHANNEL], "blocked_channel_ids": [CHANNEL]}},
        False,
        R.CHANNEL_BLOCKED,
        A.NONE,
    ),
    (
        "DM ignores channel lists",
        msg("hi", guild_id=None),
        {"permissions": {"allowed_channel_ids": [77], "blocked_channel_ids": [CHANNEL]}},
        True,
        R.ADDRESSED,
        A.DM,
    ),
    (
        "blocked user",
        msg("clanker?", author=BOB),
        {"permissions": {"blocked_user_ids": [BOB]}},
        False,
        R.USER_BLOCKED,
        A.NONE,
    ),
    (
        "blocked user in a DM",
        msg("hi", author=BOB, guild_id=None),
        {"permissions": {"blocked_user_ids": [BOB]}},
        False,
        R.USER_BLOCKED,
        A.NONE,
    ),
    ("other bot", msg("clanker?", author=OTHER_BOT), {}, False, R.OTHER_BOT, A.NONE),
    (
        "allowed bot",
        msg("clanker?", author=OTHER_BOT),
        {"permissions": {"allowed_bot_ids": [OTHER_BOT]}},
        True,
        R.ADDRESSED,
        A.NAME,
    ),
    ("blank", msg("   \n"), {}, False, R.EMPTY_MESSAGE, A.NONE),
    (
        "renamed bot: old name no longer addresses",
        msg("clanker?"),
        {"identity": {"bot_name": "zed", "aliases": []}},
        True,
        R.AMBIENT,
        A.NONE,
    ),
    (
        "renamed bot: new name addresses",
        msg("hey Zed"),
        {"identity": {"bot_name": "zed", "aliases": []}},
        True,
        R.ADDRESSED,
        A.NAME,
    ),
]


@pytest.mark.parametrize(
    ("message", "patch", "admitted", "reason", "kind"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
def test_admission_table(
    message: MessageView,
    patch: dict[str, Any],
    admitted: bool,
    reason: AdmissionReason,
    kind: AddressKind,
) -> None:
    decision = admit(message, bot_user_id=BOT, settings=settings_with(**patch))
    assert (decision.admitted, decision.reason, decision.address.kind) == (admitted, reason, kind)


def test_the_admission_rules_never_roll_dice() -> None:
    # The same input always gives the same answer (no random gate anywhere).
    s = settings_with(activity={"ambient_reply_eagerness": 1})
    decisions = {admit(msg("meh", message_id=5), bot_user_id=BOT, settings=s) for _ in range(50)}
    assert len(decisions) == 1


def test_the_name_match_reports_what_matched() -> None:
    identity = Identity(bot_name="clanker", aliases=("clank", "big c"))
    signal = address_signal(msg("ok BIG C, go"), bot_user_id=BOT, identity=identity)
    assert (signal.kind, signal.matched) == (AddressKind.ALIAS, "BIG C")


@pytest.mark.parametrize(
    ("eagerness", "size"),
    [(0, 0), (1, 1), (20, 1), (21, 2), (40, 2), (41, 4), (55, 4), (60, 4), (61, 5), (100, 5)],
)
def test_response_window_size(eagerness: int, size: int) -> None:
    assert response_window_size(eagerness) == size


def _attention(trigger: MessageView, recent: list[MessageView], eagerness: int = 55) -> Attention:
    address = address_signal(trigger, bot_user_id=BOT, identity=Identity())
    return attention_state(
        trigger, recent, bot_user_id=BOT, address=address, window_eagerness=eagerness
    )


def test_active_when_the_bot_just_talked_with_this_author() -> None:
    asked = msg("clanker what is rust", author=ALICE)
    answer = msg("a language", author=BOT, reply_to_author=ALICE)
    assert _attention(msg("and go?", author=ALICE), [asked, answer]) is Attention.ACTIVE
    # Follow-ups by the same person keep it active.
    more = msg("really?", author=ALICE)
    assert _attention(msg("why", author=ALICE), [asked, answer, more]) is Attention.ACTIVE


def test_partner_is_the_previous_speaker_when_the_bot_did_not_reply_to_anyone() -> None:
    asked = msg("clanker?", author=BOB)
    answer = msg("yes", author=BOT)
    assert _attention(msg("cool", author=BOB), [asked, answer]) is Attention.ACTIVE
    assert _attention(msg("cool", author=ALICE), [asked, answer]) is Attention.AMBIENT


def test_ambient_once_someone_else_joins_in() -> None:
    asked = msg("clanker?", author=ALICE)
    answer = msg("yes", author=BOT, reply_to_author=ALICE)
    interjection = msg("lol", author=CAROL)
    assert _attention(msg("ok", author=ALICE), [asked, answer, interjection]) is Attention.AMBIENT
    # ... but another bot's chatter does not break the conversation.
    chatter = msg("beep", author=OTHER_BOT)
    assert _attention(msg("ok", author=ALICE), [asked, answer, chatter]) is Attention.ACTIVE


def test_ambient_when_the_bot_message_left_the_window() -> None:
    asked = msg("clanker?", author=ALICE)
    answer = msg("yes", author=BOT, reply_to_author=ALICE)
    later = [msg(f"{i}", author=ALICE) for i in range(4)]
    # Eagerness 55 -> window 4: the answer is the 5th message back, outside it.
    assert _attention(msg("ok", author=ALICE), [asked, answer, *later]) is Attention.AMBIENT
    assert _attention(msg("ok", author=ALICE), [asked, answer, *later], 100) is Attention.ACTIVE
    assert _attention(msg("ok", author=ALICE), [asked, answer], 0) is Attention.AMBIENT


def test_active_conversation_is_admitted_even_with_unsolicited_replies_off() -> None:
    asked = msg("clanker?", author=ALICE)
    answer = msg("yes", author=BOT, reply_to_author=ALICE)
    s = settings_with(permissions={"allow_unsolicited_replies": False})
    decision = admit(msg("and then?"), bot_user_id=BOT, settings=s, recent=[asked, answer])
    assert decision.admitted and decision.reason is AdmissionReason.ACTIVE_CONVERSATION
    assert decision.attention is Attention.ACTIVE
