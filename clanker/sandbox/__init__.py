"""A local Discord (REST + gateway) that unmodified discord.py-self connects to as if it were
discord.com. Point the client at it with `clanker.discord.offline.apply_offline_patches`.

    async with open_sandbox(demo_world()) as sb:
        alice = sb.world.user_named("alice")
        sb.post_message(alice, sb.world.channel_named("general"), "hi clanker")
        reply = await sb.next_bot_message()
"""

from clanker.sandbox.demo import demo_world
from clanker.sandbox.faults import RestFaults
from clanker.sandbox.gateway import CloseCode, GatewayStats
from clanker.sandbox.gateway_server import SentDispatch
from clanker.sandbox.rest import ROUTE_KEYS, RestCall, UploadedFile
from clanker.sandbox.sandbox import DEFAULT_VOICE_ENDPOINT, Sandbox, open_sandbox
from clanker.sandbox.world import (
    Attachment,
    Channel,
    ChannelKind,
    Emoji,
    Guild,
    Member,
    Message,
    Reaction,
    SandboxLookupError,
    User,
    VoiceState,
    World,
)

__all__ = [
    "DEFAULT_VOICE_ENDPOINT",
    "ROUTE_KEYS",
    "Attachment",
    "Channel",
    "ChannelKind",
    "CloseCode",
    "Emoji",
    "GatewayStats",
    "Guild",
    "Member",
    "Message",
    "Reaction",
    "RestCall",
    "RestFaults",
    "Sandbox",
    "SandboxLookupError",
    "SentDispatch",
    "UploadedFile",
    "User",
    "VoiceState",
    "World",
    "demo_world",
    "open_sandbox",
]
