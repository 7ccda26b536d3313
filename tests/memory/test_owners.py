"""The privacy rule (`clanker.memory.owners`), without trio: which owners a reply may name, and
where a tool write goes."""

from __future__ import annotations

from clanker.memory.model import Owner
from clanker.memory.owners import (
    MAX_PROMPT_PEOPLE,
    RecallScope,
    WriteTarget,
    reply_scope,
    write_target,
)

BOT = 999


def test_a_guild_reply_names_the_participants_that_guild_and_self_but_no_dm_fact() -> None:
    scope = reply_scope(guild_id=7, speaker_id=1, participant_ids=(2, 1, BOT, 3), bot_user_id=BOT)
    assert scope == RecallScope(
        ("user:1", "user:2", "user:3", "guild:7", "self"), with_dm_facts=False
    )
    assert scope.allows("user:2")
    assert not scope.allows("user:2", learned_in_dm=True)
    assert not scope.allows("guild:8")  # never another guild's lore
    assert not scope.allows("user:4")  # nor someone who is not in the conversation


def test_a_dm_reply_names_that_user_and_self_only_dm_facts_included() -> None:
    scope = reply_scope(guild_id=None, speaker_id=1, participant_ids=(2,), bot_user_id=BOT)
    assert scope == RecallScope(("user:1", "self"), with_dm_facts=True)
    assert scope.allows("user:1", learned_in_dm=True)
    assert not scope.allows("user:2") and not scope.allows("guild:7")


def test_a_crowded_conversation_recalls_the_speaker_and_the_most_recent_people() -> None:
    others = tuple(range(100, 120))
    scope = reply_scope(guild_id=7, speaker_id=5, participant_ids=others)
    users = [k for k in scope.owner_keys if k.startswith("user:")]
    assert len(users) == MAX_PROMPT_PEOPLE == 8
    assert users == ["user:5", *(f"user:{i}" for i in range(100, 107))]


def test_a_write_goes_to_the_speaker_or_the_guild_and_is_marked_in_a_dm() -> None:
    assert write_target("speaker", guild_id=7, speaker_id=1) == WriteTarget(
        Owner.user(1), learned_in_dm=False
    )
    assert write_target("speaker", guild_id=None, speaker_id=1) == WriteTarget(
        Owner.user(1), learned_in_dm=True
    )
    assert write_target("guild", guild_id=7, speaker_id=1) == WriteTarget(
        Owner.guild(7), learned_in_dm=False
    )
    assert write_target("guild", guild_id=None, speaker_id=1) == (
        "not remembered: this is a DM, there is no server to remember it for; use about='speaker'"
    )
    assert write_target("bob", guild_id=7, speaker_id=1) == (
        "not remembered: 'about' must be 'speaker' or 'guild', got 'bob'"
    )
