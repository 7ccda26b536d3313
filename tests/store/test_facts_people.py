"""`GuildPeople`: the people seen in a guild (authors of its stored messages) who own facts,
the latest speaker first, on a real SQLite file."""

from __future__ import annotations

import re

import pytest

from clanker.store.fact_queries import guild_people
from clanker.store.facts import FactOwnerCount, GuildPeople
from clanker.store.queries import QUERIES, store_message
from clanker.store.sqlite import Connection

from .helpers import GUILD, chat
from .test_facts import lore, user_fact, written

OTHER_GUILD = GUILD + 1


def test_people_with_facts_seen_in_the_guild_latest_speaker_first(conn: Connection) -> None:
    assert GuildPeople in QUERIES
    written(conn, user_fact("loves otters", user=41))
    written(conn, user_fact("plays chess", user=41))
    written(conn, user_fact("drinks tea", user=42))
    written(conn, user_fact("is a night owl", user=43))  # never seen in GUILD
    written(conn, lore("the otter emoji is sacred", guild=GUILD))
    store_message(conn, chat(1, 0, author_id=42))
    store_message(conn, chat(2, 10, author_id=41))
    store_message(conn, chat(3, 20, author_id=42))  # 42 spoke last
    store_message(conn, chat(4, 30, author_id=44))  # no facts: not listed
    store_message(conn, chat(5, 40, author_id=43, guild_id=OTHER_GUILD))
    store_message(conn, chat(6, 50, author_id=43, guild_id=None))  # a DM
    found = guild_people(conn, GuildPeople(guild_id=GUILD))
    assert found.owners == (
        FactOwnerCount(owner_key="user:42", facts=1),
        FactOwnerCount(owner_key="user:41", facts=2),
    )
    assert guild_people(conn, GuildPeople(guild_id=GUILD, limit=1)).owners == found.owners[:1]
    other = guild_people(conn, GuildPeople(guild_id=OTHER_GUILD)).owners
    assert other == (FactOwnerCount(owner_key="user:43", facts=1),)
    assert guild_people(conn, GuildPeople(guild_id=9)).owners == ()


def test_the_request_checks_its_fields() -> None:
    with pytest.raises(
        ValueError, match=re.escape("GuildPeople.guild_id must be a non-negative int64")
    ):
        GuildPeople(guild_id=-1)
    with pytest.raises(ValueError, match=re.escape("GuildPeople.limit must be in 1..1000")):
        GuildPeople(guild_id=1, limit=0)
