"""Whose facts a reply may name, and whose a tool write may create: the privacy rule.

Sans-IO. A reply in a guild channel may name the participants' user facts (never those learned
in a DM), that guild's lore and guidance, and the bot's own facts; never another guild's lore. A
reply in a DM may name that user's facts (those learned in DMs included) and the bot's, nothing
of any guild. A tool write goes to the speaker (a user fact, marked as learned in a DM when told
in one) or to the guild the reply is in (lore; in a DM there is none).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clanker.memory.model import Owner

MAX_PROMPT_PEOPLE = 8
"""Participants whose facts one prompt recalls (the speaker first, then the most recent)."""

SELF_KEY = "self"


def user_key(user_id: int) -> str:
    return f"user:{user_id}"


def guild_key(guild_id: int) -> str:
    return f"guild:{guild_id}"


@dataclass(frozen=True, slots=True)
class RecallScope:
    """What one reply's recall may see: the owner keys, and whether DM-learned facts count."""

    owner_keys: tuple[str, ...]
    with_dm_facts: bool

    def allows(self, owner_key: str, *, learned_in_dm: bool = False) -> bool:
        """Whether a fact of ``owner_key`` (learned in a DM or not) may be named here."""
        return owner_key in self.owner_keys and (self.with_dm_facts or not learned_in_dm)


def reply_scope(
    *,
    guild_id: int | None,
    speaker_id: int,
    participant_ids: Sequence[int] = (),
    bot_user_id: int | None = None,
) -> RecallScope:
    """The owners a reply's prompt (and its ``memory_search``) may name.

    ``guild_id`` None is a DM: the speaker and self only, DM-learned facts included. In a guild:
    the speaker and the other participants (at most `MAX_PROMPT_PEOPLE`, in the given order,
    the bot left out), that guild, self; DM-learned facts left out.
    """
    if guild_id is None:
        return RecallScope((user_key(speaker_id), SELF_KEY), with_dm_facts=True)
    people: list[int] = []
    for uid in (speaker_id, *participant_ids):
        if uid != bot_user_id and uid not in people:
            people.append(uid)
    keys = tuple(user_key(uid) for uid in people[:MAX_PROMPT_PEOPLE])
    return RecallScope((*keys, guild_key(guild_id), SELF_KEY), with_dm_facts=False)


@dataclass(frozen=True, slots=True)
class WriteTarget:
    """Where a tool write goes: the owner, and whether it was told in a DM."""

    owner: Owner
    learned_in_dm: bool


def write_target(about: str, *, guild_id: int | None, speaker_id: int) -> WriteTarget | str:
    """``about`` ``"speaker"`` → the speaker's user fact; ``"guild"`` → this guild's lore.
    Anything else, or ``"guild"`` in a DM, is the reason it cannot be written (text for the
    model)."""
    if about == "speaker":
        return WriteTarget(Owner.user(speaker_id), learned_in_dm=guild_id is None)
    if about == "guild":
        if guild_id is None:
            return (
                "not remembered: this is a DM, there is no server to remember it for; "
                "use about='speaker'"
            )
        return WriteTarget(Owner.guild(guild_id), learned_in_dm=False)
    return f"not remembered: 'about' must be 'speaker' or 'guild', got {about!r}"
