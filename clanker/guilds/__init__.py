"""The guild layer: a router that stores every message and one session actor per guild.

See `clanker.guilds.router` for the shape and docs/architecture.md for where it sits.
"""

from clanker.guilds.messages import (
    DM_KEY,
    Directory,
    GetDirectory,
    GuildInfo,
    Identity,
    session_key,
    session_name,
)
from clanker.guilds.router import (
    ROUTER_NAME,
    SESSIONS_NAME,
    GuildRouter,
    GuildsConfig,
    guilds_spec,
    stored_message,
)
from clanker.guilds.session import GuildSession, SessionConfig

__all__ = [
    "DM_KEY",
    "ROUTER_NAME",
    "SESSIONS_NAME",
    "Directory",
    "GetDirectory",
    "GuildInfo",
    "GuildRouter",
    "GuildSession",
    "GuildsConfig",
    "Identity",
    "SessionConfig",
    "guilds_spec",
    "session_key",
    "session_name",
    "stored_message",
]
