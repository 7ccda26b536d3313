"""discord.py-self logs in to the sandbox as if it were discord.com."""

from __future__ import annotations

import discord


async def test_login_reaches_ready_with_demo_guild(connect, sandbox):
    async with connect() as client:
        assert client.user is not None and client.user.id == sandbox.world.bot.id
        assert client.user.name == "clanker"
        assert [g.name for g in client.guilds] == ["Sandbox"]
        guild = client.guilds[0]
        text = sorted(c.name for c in guild.channels if isinstance(c, discord.TextChannel))
        voice = [c.name for c in guild.channels if isinstance(c, discord.VoiceChannel)]
        assert text == ["general", "random"]
        assert voice == ["Lounge"]
    assert sandbox.gateway_stats.identifies == 1
    assert [c.route for c in sandbox.rest_calls] == ["GET /users/@me"]
