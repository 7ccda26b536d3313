"""The demo world: what a newcomer sees when running clanker against the sandbox."""

from __future__ import annotations

from clanker.sandbox.world import ChannelKind, World


def demo_world(*, bot_username: str = "clanker", token: str = "sandbox-token") -> World:
    """One guild "Sandbox" with text channels #general and #random, a voice channel "Lounge",
    the bot's account and two simulated members, alice and bob.
    """
    world = World(bot_username=bot_username, token=token)
    guild = world.add_guild("Sandbox")
    world.add_channel(guild.id, "general")
    world.add_channel(guild.id, "random")
    world.add_channel(guild.id, "Lounge", ChannelKind.VOICE)
    for name in ("alice", "bob"):
        user = world.add_user(name, global_name=name.title())
        world.add_member(guild.id, user.id)
    return world
