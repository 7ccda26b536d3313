"""Routes: the voice connections (whether each call is end-to-end encrypted, what its voice
brain is doing, its music) and the operator's voice actions (join, leave, stop speaking,
music)."""

from __future__ import annotations

import contextlib
import logging

import trio
from quart import Response
from quart_trio import QuartTrio

from clanker.dashboard.context import ApiContext, ApiProblem, path_id, read_body
from clanker.dashboard.shapes import (
    GuildView,
    VoiceActionDone,
    VoiceBrainView,
    VoiceConnection,
    VoiceConnections,
    VoiceEncryption,
    VoiceGuildBody,
    VoiceJoinBody,
    VoiceMember,
    VoiceMusicBody,
    VoiceMusicDone,
    VoiceMusicView,
    VoiceMuteBody,
    VoiceMuteDone,
    VoiceStages,
    VoiceTurn,
)
from clanker.guilds import ROUTER_NAME
from clanker.guilds.messages import (
    Directory,
    GetDirectory,
    JoinVoice,
    LeaveVoice,
    SetVoiceMute,
    VoiceJoined,
    VoiceLeft,
    VoiceRefused,
    session_name,
    voice_link_name,
)
from clanker.runtime import ActorError, ActorRef, NotRegistered
from clanker.store import LogAction, to_json
from clanker.voice import GetVoiceLinkStatus, StopSpeaking, VoiceLinkStatus
from clanker.voice.brain.actor import CutOff, GetVoiceBrainStatus, TurnRecord, VoiceBrainStatus
from clanker.voice.brain.config import voice_brain_name
from clanker.voice.brain.music_actor import GetMusicStatus, MusicReply, MusicRequest, MusicStatus
from clanker.voice.events import DaveState
from clanker.voice.link_messages import VoiceMute

log = logging.getLogger("clanker.dashboard")

ASK_TIMEOUT = 2.0
# A join loads the voice models first (seconds, once per process), then starts clankvox.
JOIN_TIMEOUT = 60.0
MAX_TURNS = 20


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


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def turn_view(turn: TurnRecord) -> VoiceTurn:
    """The browser's view of one turn (latencies in whole milliseconds)."""
    return VoiceTurn(
        reply_id=turn.reply_id,
        speakers=list(turn.speakers),
        said=turn.said,
        reply=turn.reply,
        outcome=turn.outcome,
        speech_end_to_first_audio_ms=_ms(turn.speech_end_to_first_audio),
        stages_ms=VoiceStages(
            speech_end_to_decided=_ms(turn.speech_end_to_decided),
            decided_to_transcript=_ms(turn.decided_to_transcript),
            transcript_to_first_token=_ms(turn.transcript_to_first_token),
            first_token_to_first_audio=_ms(turn.first_token_to_first_audio),
        ),
    )


def brain_view(status: VoiceBrainStatus) -> VoiceBrainView:
    """The browser's view of a voice brain's status: members named where the brain knows
    them, the last `MAX_TURNS` turns newest first."""

    def members(ids: list[int]) -> list[VoiceMember]:
        return [VoiceMember(id=str(i), name=status.names.get(str(i))) for i in ids]

    return VoiceBrainView(
        phase=status.phase,
        speaking=members(status.speaking),
        listening=members(status.listening),
        deferred=status.deferred,
        turns=[turn_view(t) for t in reversed(status.turns[-MAX_TURNS:])],
        barge_ins=status.barge_ins,
        dropped=dict(status.dropped),
    )


def music_view(m: MusicStatus) -> VoiceMusicView:
    return VoiceMusicView(
        phase=m.phase,
        now_playing=m.now_playing,
        queue=list(m.queue),
        gain=m.gain,
        last_error=m.last_error,
        library_tracks=m.library_tracks,
    )


def connection(
    status: VoiceLinkStatus,
    brain: VoiceBrainStatus | None = None,
    music: MusicStatus | None = None,
) -> VoiceConnection:
    """The browser's view of one link's status (ids as strings), its brain's and its
    music's."""
    return VoiceConnection(
        guild_id=str(status.guild_id),
        channel_id=str(status.channel_id),
        phase=status.phase,
        endpoint=status.endpoint,
        readies=status.readies,
        failures=status.failures,
        last_error=status.last_error,
        encryption=encryption(status.dave),
        brain=None if brain is None else brain_view(brain),
        music=None if music is None else music_view(music),
        muted=status.self_mute,
    )


async def _brain_status(ctx: ApiContext, key: str) -> VoiceBrainStatus | None:
    try:
        return await ctx.runtime.lookup(voice_brain_name(key)).ask(
            GetVoiceBrainStatus(), VoiceBrainStatus, timeout=ASK_TIMEOUT
        )
    except ActorError:
        return None  # voice without a brain (models could not load), or it is restarting


async def _music_status(ctx: ApiContext, key: str) -> MusicStatus | None:
    try:
        return await ctx.runtime.lookup(voice_brain_name(key)).ask(
            GetMusicStatus(), MusicStatus, timeout=ASK_TIMEOUT
        )
    except ActorError:
        return None


async def voice_connections(ctx: ApiContext) -> VoiceConnections:
    """Ask the router which guild sessions run, then every one's link and brain at once (a
    session without voice has no link registered; a slow link costs at most `ASK_TIMEOUT`)."""
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
        found[index] = connection(
            status, await _brain_status(ctx, key), await _music_status(ctx, key)
        )

    async with trio.open_nursery() as nursery:
        for index, key in enumerate(directory.sessions):
            nursery.start_soon(ask, index, key)
    return VoiceConnections(connections=[found[i] for i in sorted(found)])


def _session(ctx: ApiContext, guild_id: int) -> ActorRef:
    """The guild's session; 404 when clanker runs none for that guild."""
    try:
        return ctx.runtime.lookup(session_name(str(guild_id)))
    except NotRegistered:
        raise ApiProblem(404, f"guild_id: clanker is in no guild with id {guild_id}") from None


async def _check_voice_channel(ctx: ApiContext, guild_id: int, channel_id: int) -> None:
    """404 when the guild has no such channel, 400 when it is not a voice channel (skipped
    when the directory cannot answer: the guild session still refuses a text channel)."""
    try:
        guilds: list[GuildView] = await ctx.directory.guilds()
    except (ActorError, trio.TooSlowError):
        return
    guild = next((g for g in guilds if g.id == str(guild_id)), None)
    if guild is None:
        return
    channel = next((c for c in guild.channels if c.id == str(channel_id)), None)
    if channel is None:
        raise ApiProblem(404, f"channel_id: guild {guild.name} has no channel with id {channel_id}")
    if channel.kind != "voice":
        voice = ", ".join(c.name for c in guild.channels if c.kind == "voice") or "none"
        raise ApiProblem(
            400,
            f"channel_id: #{channel.name} is a {channel.kind} channel; pick a voice channel "
            f"({voice})",
        )


async def _log_operator_action(
    ctx: ApiContext, kind: str, guild_id: int, channel_id: int | None, outcome: str
) -> None:
    """Log what the operator did (the activity feed shows it), and say it in the log."""
    log.info(
        "dashboard operator: %s in guild %s (channel %s): %s", kind, guild_id, channel_id, outcome
    )
    with contextlib.suppress(ApiProblem, ActorError):
        await ctx.store().ref.tell(
            LogAction(
                kind=kind,
                guild_id=guild_id,
                channel_id=channel_id,
                content=outcome,
                metadata=to_json({"voice_channel_id": channel_id, "outcome": outcome}),
            )
        )


def register(app: QuartTrio, ctx: ApiContext) -> None:
    """Add these routes to ``app``."""

    @app.get("/api/voice")
    async def voice() -> Response:
        return ctx.json(await voice_connections(ctx))

    @app.post("/api/voice/join")
    async def join() -> Response:
        body = await read_body(VoiceJoinBody)
        guild_id = path_id(body.guild_id, "guild_id")
        channel_id = path_id(body.channel_id, "channel_id")
        session = _session(ctx, guild_id)
        await _check_voice_channel(ctx, guild_id, channel_id)
        try:
            reply = await session.ask(JoinVoice(channel_id=channel_id), timeout=JOIN_TIMEOUT)
        except ActorError as exc:
            raise ApiProblem(503, f"the guild session did not answer the join: {exc}") from None
        if isinstance(reply, VoiceRefused):
            await _log_operator_action(
                ctx, "operator_voice_join", guild_id, channel_id, reply.reason
            )
            raise ApiProblem(409, f"the join was refused: {reply.reason}")
        if not isinstance(reply, VoiceJoined):
            raise ApiProblem(500, f"the guild session answered {type(reply).__name__}")
        await _log_operator_action(ctx, "operator_voice_join", guild_id, channel_id, "joined")
        return ctx.json(
            VoiceActionDone(guild_id=str(guild_id), action="join", channel_id=str(channel_id))
        )

    @app.post("/api/voice/leave")
    async def leave() -> Response:
        body = await read_body(VoiceGuildBody)
        guild_id = path_id(body.guild_id, "guild_id")
        session = _session(ctx, guild_id)
        try:
            reply = await session.ask(LeaveVoice(), VoiceLeft, timeout=JOIN_TIMEOUT)
        except ActorError as exc:
            raise ApiProblem(503, f"the guild session did not answer the leave: {exc}") from None
        left = reply.channel_id
        outcome = "left" if left is not None else "was in no voice channel"
        await _log_operator_action(ctx, "operator_voice_leave", guild_id, left, outcome)
        return ctx.json(
            VoiceActionDone(
                guild_id=str(guild_id),
                action="leave",
                channel_id=None if left is None else str(left),
            )
        )

    @app.post("/api/voice/stop-speaking")
    async def stop_speaking() -> Response:
        body = await read_body(VoiceGuildBody)
        guild_id = path_id(body.guild_id, "guild_id")
        _session(ctx, guild_id)
        try:
            link = ctx.runtime.lookup(voice_link_name(str(guild_id)))
        except NotRegistered:
            raise ApiProblem(
                409, f"guild_id: the bot is in no voice call in guild {guild_id}"
            ) from None
        try:
            # the brain cuts its reply off (generation too); without a brain, only playback
            try:
                await ctx.runtime.lookup(voice_brain_name(str(guild_id))).tell(CutOff())
            except NotRegistered:
                await link.tell(StopSpeaking())
        except ActorError as exc:
            raise ApiProblem(503, f"the voice link did not take the request: {exc}") from None
        await _log_operator_action(ctx, "operator_stop_speaking", guild_id, None, "told")
        return ctx.json(
            VoiceActionDone(guild_id=str(guild_id), action="stop_speaking", channel_id=None)
        )

    @app.post("/api/voice/mute")
    async def mute() -> Response:
        body = await read_body(VoiceMuteBody)
        guild_id = path_id(body.guild_id, "guild_id")
        session = _session(ctx, guild_id)
        try:
            reply = await session.ask(
                SetVoiceMute(muted=body.muted), VoiceMute, timeout=ASK_TIMEOUT
            )
        except (ActorError, trio.TooSlowError) as exc:
            raise ApiProblem(503, f"the guild session did not answer the mute: {exc}") from None
        outcome = ("muted" if reply.muted else "unmuted") + ("" if reply.in_call else " (no call)")
        await _log_operator_action(ctx, "operator_voice_mute", guild_id, None, outcome)
        return ctx.json(
            VoiceMuteDone(guild_id=str(guild_id), muted=reply.muted, in_call=reply.in_call)
        )

    @app.post("/api/voice/music")
    async def music() -> Response:
        body = await read_body(VoiceMusicBody)
        guild_id = path_id(body.guild_id, "guild_id")
        _session(ctx, guild_id)
        try:
            brain = ctx.runtime.lookup(voice_brain_name(str(guild_id)))
        except NotRegistered:
            raise ApiProblem(
                409, f"guild_id: the bot is in no voice call with a voice brain in guild {guild_id}"
            ) from None
        request = MusicRequest(verb=body.action, query=body.query.strip()[:2048])
        try:
            reply = await brain.ask(request, MusicReply, timeout=JOIN_TIMEOUT)
            status = await brain.ask(GetMusicStatus(), MusicStatus, timeout=ASK_TIMEOUT)
        except (ActorError, trio.TooSlowError) as exc:
            raise ApiProblem(503, f"the voice brain did not answer: {exc}") from None
        await _log_operator_action(
            ctx, "operator_voice_music", guild_id, None, f"{body.action}: {reply.said}"
        )
        if not reply.ok:
            raise ApiProblem(409, f"{body.action}: {reply.said}")
        return ctx.json(
            VoiceMusicDone(
                guild_id=str(guild_id),
                action=body.action,
                said=reply.said,
                music=music_view(status),
            )
        )
