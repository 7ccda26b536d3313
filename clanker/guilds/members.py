"""`MemberDirectory`: the members of a guild clanker knows, for ``@name`` both ways.

A guild session learns members from the bridge's guild (`GuildAvailable.members`), from
`MemberJoined` and from every message it sees (the author), and tells its channel actors what
is new; a channel actor keeps its own copy for the prompt (``<@id>`` → ``@name``) and for the
reply (``@name`` → ``<@id>``, see `clanker.text.mentions`). Everything here is rebuilt on start
from those same sources: nothing is stored.

Sans-IO and bounded: the most recently seen ``limit`` members are kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from clanker.guilds.messages import Member
from clanker.text.views import Participant

MEMBER_LIMIT = 5000
"""Members kept per guild (the least recently seen go first)."""


class MemberDirectory:
    """Known members by id, most recently seen last."""

    def __init__(self, members: Iterable[Member] = (), *, limit: int = MEMBER_LIMIT) -> None:
        self.limit = limit
        self._names: OrderedDict[int, str] = OrderedDict()
        self.learn_all(members)

    def __len__(self) -> int:
        return len(self._names)

    def learn(self, user_id: int, name: str) -> bool:
        """Remember ``user_id`` as ``name``; True if that is news (new, or a new name)."""
        name = name.strip()
        if not name:
            return False
        news = self._names.get(user_id) != name
        self._names[user_id] = name
        self._names.move_to_end(user_id)
        while len(self._names) > self.limit:
            self._names.popitem(last=False)
        return news

    def learn_all(self, members: Iterable[Member]) -> list[Member]:
        """Learn each of ``members``; the ones that were news."""
        return [m for m in members if self.learn(m.user_id, m.name)]

    def name_of(self, user_id: int) -> str | None:
        """The name ``user_id`` was last seen with, or None."""
        return self._names.get(user_id)

    def members(self) -> tuple[Member, ...]:
        """Everyone known, most recently seen first."""
        return tuple(Member(user_id=u, name=n) for u, n in reversed(self._names.items()))

    def participants(self, *, exclude: int | None = None) -> tuple[Participant, ...]:
        """Everyone known as `Participant`s (for `resolve_mentions`), most recent first."""
        return tuple(
            Participant(user_id=u, name=n) for u, n in reversed(self._names.items()) if u != exclude
        )
