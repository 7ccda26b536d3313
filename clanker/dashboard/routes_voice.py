"""Routes: the voice connections and whether each call is end-to-end encrypted."""

from __future__ import annotations

import trio
from quart import Response
from quart_trio import QuartTrio

from clanker.dashboard.context import ApiContext
from clanker.dashboard.shapes import VoiceConnection, VoiceConnections, VoiceEncryption
from clanker.guilds import ROUTER_NAME
from clanker.guilds.messages import Directory, GetDirectory, voice_link_name
from clanker.runtime import ActorError
from clanker.voice import GetVoiceLinkStatus, VoiceLinkStatus
from clanker.voice.events import DaveState

ASK_TIMEOUT = 2.0


def encryption(dave: DaveState | None) -> VoiceEncryption | None:
    """The browser's view of clankvox's last `dave_state`."""
    if dave is None:
        return None
    return VoiceEncryption(
        end_to_end=dave.protocol_version > 0 and dave.status == "ready",
        protocol_version=dave.protocol_version,
        status=dave.status,
        privacy_code=dave.privacy_code,
        epoch=dave.epoch,
        encrypted_frames=dave.encrypted_frames,
        decrypted_frames=dave.decrypted_frames,
        decrypt_failures=dave.decrypt_failures,
        early_dropped=dave.early_dropped,
        passthrough_frames=dave.passthrough_frames,
        outbound_dropped=dave.outbound_dropped,
        last_error=dave.last_error,
    )


def connection(status: VoiceLinkStatus) -> VoiceConnection:
    """The browser's view of one link's status (ids as strings)."""
    return VoiceConnection(
        guild_id=str(status.guild_id),
        channel_id=str(status.channel_id),
        phase=status.phase,
        endpoint=status.endpoint,
        readies=status.readies,
        failures=status.failures,
        last_error=status.last_error,
        encryption=encryption(status.dave),
    )


async def voice_connections(ctx: ApiContext) -> VoiceConnections:
    """Ask the router which guild sessions run, then every one's link at once (a session
    without voice has no link registered; a slow link costs at most `ASK_TIMEOUT`)."""
    try:
        directory = await ctx.runtime.lookup(ROUTER_NAME).ask(
            GetDirectory(), Directory, timeout=ASK_TIMEOUT
        )
    except ActorError:
        return VoiceConnections(connections=[])
    found: dict[int, VoiceConnection] = {}

    async def ask(index: int, key: str) -> None:
        try:
            status = await ctx.runtime.lookup(voice_link_name(key)).ask(
                GetVoiceLinkStatus(), VoiceLinkStatus, timeout=ASK_TIMEOUT
            )
        except ActorError:
            return  # no voice in that guild (or its link is restarting)
        found[index] = connection(status)

    async with trio.open_nursery() as nursery:
        for index, key in enumerate(directory.sessions):
            nursery.start_soon(ask, index, key)
    return VoiceConnections(connections=[found[i] for i in sorted(found)])


def register(app: QuartTrio, ctx: ApiContext) -> None:
    """Add these routes to ``app``."""

    @app.get("/api/voice")
    async def voice() -> Response:
        return ctx.json(await voice_connections(ctx))
