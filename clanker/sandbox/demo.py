"""The demo world: what a newcomer sees when running clanker against the sandbox."""

from __future__ import annotations

from clanker.sandbox.soundboard import SoundboardSound
from clanker.sandbox.world import ChannelKind, World


def demo_world(*, bot_username: str = "clanker", token: str = "sandbox-token") -> World:
    """One guild "Sandbox" with text channels #general (its system channel, where a newcomer's
    join message appears) and #random, a voice channel "Lounge",
    the bot's account and two simulated members, alice and bob; the guild's soundboard has
    "rimshot" and "tada" (besides Discord's default sounds).
    """
    world = World(bot_username=bot_username, token=token)
    guild = world.add_guild("Sandbox")
    general = world.add_channel(guild.id, "general")
    guild.system_channel_id = general.id  # Discord posts a newcomer's join message there
    world.add_channel(guild.id, "random")
    world.add_channel(guild.id, "Lounge", ChannelKind.VOICE)
    for name in ("alice", "bob"):
        user = world.add_user(name, global_name=name.title())
        world.add_member(guild.id, user.id)
    alice = world.user_named("alice")
    for name, emoji in (("rimshot", "🥁"), ("tada", "🎉")):
        world.soundboard.add(
            SoundboardSound(
                world.snowflakes.next(), name, emoji_name=emoji, guild_id=guild.id, user_id=alice.id
            )
        )
    return world
