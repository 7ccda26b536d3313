"""What a fresh guild session asks for on start: the bot's identity and its guild.

A session restarted under its own supervisor was told neither (the router tells a session it
starts itself; READY and GUILD_CREATE come once per login, and a RESUME sends none). So it asks
the bridge (`GetIdentity`, `GetGuild`: the current login), and if the bridge cannot answer,
the router (`GetDirectory`: what the last READY said). Without either it waits for the next
push, as before.
"""

from __future__ import annotations

import logging

from clanker.discord.events import BridgeReady, GetGuild, GetIdentity, GuildAvailable
from clanker.guilds.messages import Directory, GetDirectory, GuildInfo, Identity, Member
from clanker.runtime import ActorContext, ActorError, NotRegistered

log = logging.getLogger("clanker.guilds")

ROUTER = "guilds"  # the router's registered name (`clanker.guilds.router.ROUTER_NAME`)
PULL_TIMEOUT = 10.0
"""How long a starting session or router waits for each answer about identity and guild."""


def guild_info(msg: GuildAvailable) -> GuildInfo:
    """What a session keeps of a guild the bridge reported."""
    return GuildInfo(
        guild_id=msg.guild_id,
        name=msg.name,
        channels=msg.channels,
        member_count=msg.member_count,
        members=tuple(Member(user_id=m.user_id, name=m.name) for m in msg.members),
    )


async def pull_session_state(
    ctx: ActorContext, key: str, bridge: str
) -> list[Identity | GuildInfo]:
    """The identity and guild (key ``"dm"``: no guild) a session should adopt now; empty when
    nobody can say yet."""
    found: list[Identity | GuildInfo] = []
    try:
        ref = ctx.lookup(bridge)
        who = await ref.ask(GetIdentity(), timeout=PULL_TIMEOUT)
        if isinstance(who, BridgeReady):
            found.append(Identity(user_id=who.user_id, user_name=who.user_name))
            if not key.isdigit():
                return found
            guild = await ref.ask(GetGuild(guild_id=int(key)), timeout=PULL_TIMEOUT)
            if isinstance(guild, GuildAvailable):
                return [*found, guild_info(guild)]
    except (ActorError, NotRegistered) as exc:
        log.info("session %s: the bridge did not answer (%s); asking the router", key, exc)
    try:
        directory = await ctx.lookup(ROUTER).ask(GetDirectory(), Directory, timeout=PULL_TIMEOUT)
    except (ActorError, NotRegistered) as exc:
        log.info("session %s: no state pulled (%s); waiting for READY", key, exc)
        return found
    if not found and directory.identity is not None:
        found.append(directory.identity)
    found += [info for info in directory.guilds if str(info.guild_id) == key]
    return found
