"""Which guilds and channels clanker knows: the dashboard's seam to that knowledge.

In the product the guild router answers (`RouterDirectory`: ``GetDirectory`` on ``"guilds"``);
`WorldDirectory` reads a sandbox world directly, `EmptyDirectory` knows nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from clanker.dashboard.shapes import ChannelView, GuildView
from clanker.guilds.messages import Directory as RouterReply
from clanker.guilds.messages import GetDirectory
from clanker.runtime import ActorRef
from clanker.sandbox import ChannelKind, World

DIRECTORY_TIMEOUT = 10.0


class Directory(Protocol):
    """What the dashboard asks about guilds and channels."""

    async def guilds(self) -> list[GuildView]:
        """Every guild with its channels, in display order."""
        ...


class EmptyDirectory:
    """Knows no guild (until the guild actors provide a directory)."""

    async def guilds(self) -> list[GuildView]:
        """No guilds."""
        return []


def world_guilds(world: World) -> list[GuildView]:
    """The sandbox world's guilds and channels as the browser sees them."""
    out = []
    for guild in world.guilds.values():
        channels = [world.channels[cid] for cid in guild.channel_ids]
        out.append(
            GuildView(
                id=str(guild.id),
                name=guild.name,
                channels=[
                    ChannelView(
                        id=str(c.id),
                        name=c.name,
                        kind="voice" if c.kind is ChannelKind.VOICE else "text",
                    )
                    for c in sorted(channels, key=lambda c: c.position)
                ],
            )
        )
    return out


class WorldDirectory:
    """The guilds of a sandbox world."""

    def __init__(self, world: World) -> None:
        self.world = world

    async def guilds(self) -> list[GuildView]:
        """The world's guilds."""
        return world_guilds(self.world)


def router_guilds(reply: RouterReply) -> list[GuildView]:
    """The guild router's directory as the browser sees it (text and voice channels only)."""
    return [
        GuildView(
            id=str(guild.guild_id),
            name=guild.name,
            channels=[
                ChannelView(
                    id=str(c.channel_id), name=c.name, kind="voice" if c.kind == "voice" else "text"
                )
                for c in guild.channels
                if c.kind in ("text", "voice")
            ],
        )
        for guild in reply.guilds
    ]


class RouterDirectory:
    """The guilds the guild router (``router()``, looked up per call) has seen."""

    def __init__(self, router: Callable[[], ActorRef]) -> None:
        self._router = router

    async def guilds(self) -> list[GuildView]:
        """Ask the router."""
        reply = await self._router().ask(GetDirectory(), RouterReply, timeout=DIRECTORY_TIMEOUT)
        return router_guilds(reply)
