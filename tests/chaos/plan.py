"""The chaos run's script, drawn from one seed: who says what where and when, when the operator
saves settings, and when the monkey strikes. Pure data, no IO: the same seed gives the same plan.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# How long the scripted part of a run lasts (seconds of real time after login).
SCRIPT_SECONDS = 4.0
MESSAGES = 14
MONKEY_EVENTS = 5
SAVE_AT = 2.0


@dataclass(frozen=True)
class Post:
    """A member posts in a text channel. ``addressed``: the post @mentions the bot."""

    at: float
    guild: int  # index into the world's chaos guilds
    channel: int  # index into that guild's text channels
    author: str
    addressed: bool
    text: str


@dataclass(frozen=True)
class Strike:
    """The monkey's move: crash the ``pick``-th actor of the tree (modulo the number of actors
    alive at that moment, in path order), or drop every gateway connection."""

    at: float
    kind: str  # "crash" | "drop_gateway"
    pick: int


@dataclass(frozen=True)
class Save:
    """The operator saves settings mid-run: block one channel and lower the hourly cap to
    ``cap_headroom`` more sends than were made so far."""

    at: float
    guild: int
    channel: int
    cap_headroom: int


@dataclass(frozen=True)
class Plan:
    seed: int
    posts: tuple[Post, ...]
    strikes: tuple[Strike, ...]
    save: Save
    min_gap: float
    events: tuple[Post | Strike | Save, ...] = field(default=())


AUTHORS = ("alice", "bob", "carol")
GUILDS = 2
CHANNELS = 3

_ASKS = (
    "what do you think about trio?",
    "can you help me with a thing",
    "how was your day",
    "any idea why my build fails",
    "tell me a fun fact",
)
_CHATTER = ("lol", "brb", "anyone around?", "nice weather", "that was a good match")


def make_plan(seed: int) -> Plan:
    """The plan for ``seed``: posts spread over the script, ~60 % of them addressed."""
    rng = random.Random(seed)
    posts = []
    for n in range(MESSAGES):
        addressed = rng.random() < 0.6
        text = rng.choice(_ASKS if addressed else _CHATTER)
        posts.append(
            Post(
                at=round(rng.uniform(0.0, SCRIPT_SECONDS), 3),
                guild=rng.randrange(GUILDS),
                channel=rng.randrange(CHANNELS),
                author=rng.choice(AUTHORS),
                addressed=addressed,
                text=f"{text} (#{n})",
            )
        )
    strikes = [
        Strike(
            at=round(rng.uniform(0.2, SCRIPT_SECONDS), 3),
            kind="drop_gateway" if rng.random() < 0.2 else "crash",
            pick=rng.randrange(1 << 16),
        )
        for _ in range(MONKEY_EVENTS)
    ]
    save = Save(
        at=SAVE_AT,
        guild=rng.randrange(GUILDS),
        channel=rng.randrange(CHANNELS),
        cap_headroom=rng.randrange(1, 4),
    )
    min_gap = rng.choice((0.0, 0.1, 0.25))
    events: list[Post | Strike | Save] = [*posts, *strikes, save]
    events.sort(key=lambda e: e.at)
    return Plan(
        seed=seed,
        posts=tuple(sorted(posts, key=lambda p: p.at)),
        strikes=tuple(sorted(strikes, key=lambda s: s.at)),
        save=save,
        min_gap=min_gap,
        events=tuple(events),
    )
