"""Which guilds and channels clanker knows: the dashboard's seam to that knowledge.

The guild actors will answer this in production; until then the sandbox's world answers it in
sandbox mode, and `EmptyDirectory` elsewhere.
"""

from __future__ import annotations

from typing import Protocol

from clanker.dashboard.shapes import ChannelView, GuildView
from clanker.sandbox import ChannelKind, World


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
