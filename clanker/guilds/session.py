"""`GuildSession`: one actor per guild (and one for DMs), created on the guild's first event.

It is told every event of its guild after the router stored it, owns the guild's state
(identity, channels) and hands each text channel's messages to that channel's `ChannelActor`
(the reply queue), started on the channel's first message under the guild's ``channels``
supervisor.
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass, field, replace
from typing import Any

import trio

from clanker.discord.events import (
    ChannelInfo,
    DiscordMessage,
    MemberJoined,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    RawDispatch,
    ReactionChanged,
    SendMessage,
    TypingStarted,
    VoiceServerChanged,
    VoiceStateChanged,
)
from clanker.guilds.channel import ChannelActor, ChannelConfig
from clanker.guilds.handoff import GivenUp, Handoff
from clanker.guilds.members import MemberDirectory
from clanker.guilds.messages import (
    GetSessionState,
    GuildInfo,
    Identity,
    JoinVoice,
    LeaveVoice,
    Member,
    MembersLearned,
    SessionState,
    SetVoiceMute,
    VoiceJoined,
    VoiceLeft,
    VoiceRefused,
    channel_name,
    channels_name,
    clankvox_name,
    session_name,
    voice_link_name,
    voices_name,
)
from clanker.guilds.pull import pull_session_state
from clanker.guilds.voice_commands import Addressee, VoiceRequest, music_request, voice_request
from clanker.runtime import (
    Actor,
    ActorContext,
    ActorError,
    ActorRef,
    ActorStopped,
    ChildSpec,
    ChildStartFailed,
    MailboxSpec,
    Message,
    NameTaken,
    NotRegistered,
    Reply,
    Restart,
    handles,
)
from clanker.schedule.actor import SCHEDULER_NAME, RunDone, RunDue
from clanker.settings import Settings
from clanker.settings.actor import ask_settings
from clanker.store import LogAction, StoreClient, StoreRequestError, to_json
from clanker.text import DECISION_ACTION_KIND
from clanker.voice import VoiceLinkConfig, voice_link_spec
from clanker.voice.brain.bargein import BargeInPolicy
from clanker.voice.brain.config import VoiceBrainConfig, VoiceBrainOptions, voice_brain_name
from clanker.voice.brain.control import SetBrainMuted
from clanker.voice.brain.music import MusicVerb
from clanker.voice.brain.music_actor import MusicReply, MusicRequest
from clanker.voice.brain.tool_step import voice_tool_registry
from clanker.voice.link_messages import GetVoiceMute, SetSelfMute, VoiceMute
from clanker.voice.models.base import ModelError
from clanker.voice.session_spec import DEFAULT_BINARY

log = logging.getLogger("clanker.guilds")

MAX_WAITING_RUNS = 64  # scheduled runs held for the identity (a start has a few at most)


class _NoIdentity(Exception):
    pass


NO_IDENTITY = "voice needs a guild and the bot's identity (READY)"


class PullFinished(Message, frozen=True):
    """The session's start-up questions (identity, guild) are answered (told by itself)."""


class HandoffDue(Message, frozen=True):
    """The handoff's next retry is due (told by the session's own timer task)."""


@dataclass(frozen=True)
class VoiceConfig:
    """How a guild session runs its voice connection (see docs/voice.md)."""

    command: tuple[str, ...] = (str(DEFAULT_BINARY),)  # the clankvox binary and its arguments
    env: dict[str, str] | None = None  # extra environment for clankvox (e.g. CLANKVOX_LOG)
    bridge: str = "discord"  # registered name of the Discord bridge
    mode: str | None = None  # force a transport encryption mode (tests)
    record_audio: bool = False  # keep listened users' PCM in the link (tests, demos)
    # A PEM CA for the voice gateway's TLS on top of the system roots (the sandbox's own CA;
    # None against Discord). Given to clankvox as CLANKVOX_CA_FILE.
    ca_file: str | None = None
    # The voice brain (hear, decide, speak); None: the connection only moves audio.
    brain: VoiceBrainOptions | None = None

    def clankvox_env(self) -> dict[str, str] | None:
        """The extra environment clankvox runs with."""
        if self.ca_file is None:
            return self.env
        return {**(self.env or {}), "CLANKVOX_CA_FILE": self.ca_file}


@dataclass(frozen=True)
class SessionConfig:
    """Where a session's channels find the other actors, and how it runs voice."""

    channel: ChannelConfig = field(default_factory=ChannelConfig)
    voice: VoiceConfig = field(default_factory=VoiceConfig)


class GuildSession(Actor):
    """See the module docstring. ``key`` is the guild id as text, or ``"dm"``."""

    mailbox = MailboxSpec(capacity=512)

    def __init__(self, key: str, config: SessionConfig) -> None:
        self.key = key
        self.config = config
        self.identity: Identity | None = None
        self.channels: dict[int, ChannelInfo] = {}
        self.guild: GuildInfo | None = None
        self.seen = 0
        self.voice_channel: int | None = None  # the channel of the running voice connection
        # The operator's mute, for every call this incarnation joins (a restarted session
        # starts unmuted, as its calls end with it).
        self.voice_muted = False
        self.handoff: Handoff[MessageCreated] = Handoff()
        self.members = MemberDirectory()
        self.member_voice: dict[int, int] = {}  # user id -> the voice channel they are in
        self.pulling = True  # asking for identity and guild (see `pull`)
        self.waiting_joins: list[tuple[JoinVoice, Reply]] = []
        self.waiting_runs: list[RunDue] = []  # scheduled runs that came before the identity
        self._rearm = trio.Event()

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx
        self.channel_sup = ctx.lookup_supervisor(channels_name(self.key))
        self.store = StoreClient(ctx.lookup(self.config.channel.store))
        ctx.start_soon(self._handoff_timer)
        # A fresh incarnation knows nothing: ask the bridge (in the background, so a busy or
        # still-connecting bridge never holds up the start). Pushes (READY, GUILD_CREATE via
        # the router) keep working as before.
        ctx.start_soon(self._pull_state)

    async def _pull_state(self) -> None:
        for found in await pull_session_state(self.ctx, self.key, self.config.channel.bridge):
            await self.ctx.ref.tell(found)
        await self.ctx.ref.tell(PullFinished())

    @handles(GetSessionState)
    async def state(self, msg: GetSessionState) -> SessionState:
        """What this session knows (for a restarted router)."""
        return SessionState(key=self.key, identity=self.identity, guild=self.guild)

    @handles(PullFinished)
    async def pull_finished(self, msg: PullFinished) -> None:
        """Joins that waited for the identity the pull did not find are refused now."""
        self.pulling = False
        waiting, self.waiting_joins = self.waiting_joins, []
        for _join, reply in waiting:
            reply.send(VoiceRefused(reason=NO_IDENTITY))

    @handles(Identity)
    async def set_identity(self, msg: Identity) -> None:
        first = self.identity is None
        self.identity = msg
        waiting, self.waiting_joins = self.waiting_joins, []
        for join, reply in waiting:
            reply.send(await self._join_voice(join))
        runs, self.waiting_runs = self.waiting_runs, []
        for run in runs:
            await self.run_due(run)
        if first and self.handoff.held:
            self.handoff.retry_all_now(trio.current_time())
            await self._retry_due()

    @handles(RunDue)
    async def run_due(self, msg: RunDue) -> None:
        """A scheduled run for one of this guild's channels (an automation): its channel
        actor carries it out and reports to the scheduler. Held until the bot's identity is
        known (a run due at start comes before it); a channel that cannot start fails it."""
        if msg.channel_id is None:
            await self._run_failed(msg, "the job names no channel")
            return
        detail = "the channel stopped"
        for _attempt in range(3):
            try:
                ref = await self._channel(msg.channel_id, msg.guild_id)
                await ref.tell(msg)
                return
            except (ActorStopped, NotRegistered) as exc:
                detail = str(exc)
            except _NoIdentity:
                if len(self.waiting_runs) < MAX_WAITING_RUNS:
                    self.waiting_runs.append(msg)
                    return
                detail = "the bot's identity is not known yet (no READY)"
                break
            except ChildStartFailed as exc:
                detail = f"its channel could not start: {exc}"
                break
        await self._run_failed(msg, detail)

    async def _run_failed(self, msg: RunDue, detail: str) -> None:
        log.warning("scheduled run %d (%s) failed: %s", msg.run_id, msg.job_key, detail)
        with contextlib.suppress(NotRegistered, ActorStopped, ActorError):
            await self.ctx.lookup(SCHEDULER_NAME).tell(
                RunDone(run_id=msg.run_id, ok=False, detail=detail)
            )

    @handles(GuildInfo)
    async def set_guild(self, msg: GuildInfo) -> None:
        self.guild = msg
        self.channels = {c.channel_id: c for c in msg.channels}
        await self._learned(self.members.learn_all(msg.members))

    async def _learned(self, news: list[Member]) -> None:
        """Tell every running channel actor the members that are news (told, never waiting
        on a full mailbox: a channel that misses some still has the authors it saw)."""
        if not news:
            return
        notice = MembersLearned(members=tuple(news))
        for node in self.channel_sup.children():
            if not node.name.startswith("channel-"):
                continue
            with contextlib.suppress(NotRegistered, ActorStopped, ActorError):
                self.ctx.lookup(channel_name(int(node.name[len("channel-") :]))).try_tell(notice)

    @handles(MessageCreated)
    async def message(self, msg: MessageCreated) -> None:
        self.seen += 1
        m = msg.message
        ours = self.identity is not None and m.author_id == self.identity.user_id
        if not ours and self.members.learn(m.author_id, m.author_name):
            await self._learned([Member(user_id=m.author_id, name=m.author_name)])
        if not ours and not m.author_is_bot and await self._voice_request(m):
            return  # a voice request is carried out here; the text brain does not answer it
        if not ours and not m.author_is_bot and await self._music_request(m):
            return  # a music command for the call, done by its voice brain
        await self._to_channel(msg.message.channel_id, msg.message.guild_id, msg)

    async def _voice_request(self, m: DiscordMessage) -> bool:
        """ "clanker, come to voice" / "leave voice": True when `m` was one (and was done)."""
        identity = self.identity
        if identity is None or not self.key.isdigit():
            return False
        aliases = () if self.config.voice.brain is None else self.config.voice.brain.aliases
        request = voice_request(
            m.content, Addressee(user_id=identity.user_id, names=(identity.user_name, *aliases))
        )
        if request is None:
            return False
        if request is VoiceRequest.LEAVE:
            left = self.voice_channel
            await self._stop_voice()
            await self._log_voice_request("voice_leave_requested", m, left, "left")
            return True
        channel = self.member_voice.get(m.author_id) or next(
            (c.channel_id for c in self.channels.values() if c.kind in ("voice", "stage_voice")),
            None,
        )
        if channel is None:
            await self._log_voice_request("voice_join_requested", m, None, "no voice channel")
            return True
        result = await self._join_voice(JoinVoice(channel_id=channel, text_channel_id=m.channel_id))
        outcome = "joined" if isinstance(result, VoiceJoined) else result.reason
        await self._log_voice_request("voice_join_requested", m, channel, outcome)
        return True

    async def _music_request(self, m: DiscordMessage) -> bool:
        """ "clanker, play the test tune" / "pause the music" in text: done by the call's voice
        brain (a play joins the author's voice channel first when clanker is in none); True
        when it was one. Its answer is posted as a reply."""
        identity = self.identity
        if identity is None or not self.key.isdigit():
            return False
        aliases = () if self.config.voice.brain is None else self.config.voice.brain.aliases
        found = music_request(
            m.content, Addressee(user_id=identity.user_id, names=(identity.user_name, *aliases))
        )
        if found is None:
            return False
        cmd, addressed = found
        if self.voice_channel is None:
            channel = self.member_voice.get(m.author_id)
            if not addressed or cmd.verb not in (MusicVerb.PLAY, MusicVerb.ADD) or not channel:
                return False  # not in a call: the text brain answers (or nobody)
            joined = await self._join_voice(
                JoinVoice(channel_id=channel, text_channel_id=m.channel_id)
            )
            if not isinstance(joined, VoiceJoined):
                await self._log_voice_request("voice_music_requested", m, channel, joined.reason)
                return False
        request = MusicRequest(
            verb=cmd.verb.value,
            query=cmd.query,
            by=m.author_name,
            user_id=m.author_id,
            musical=cmd.musical,
        )
        try:
            reply = await self.ctx.lookup(voice_brain_name(self.key)).ask(
                request, MusicReply, timeout=10.0
            )
        except (ActorError, trio.TooSlowError) as exc:
            await self._log_voice_request("voice_music_requested", m, self.voice_channel, str(exc))
            return False
        if not reply.handled:
            return False
        await self._log_voice_request("voice_music_requested", m, self.voice_channel, reply.said)
        with contextlib.suppress(ActorError):
            await self.ctx.lookup(self.config.channel.bridge).tell(
                SendMessage(
                    channel_id=m.channel_id,
                    content=reply.said,
                    reply_to_message_id=m.message_id,
                    allow_user_mentions=False,
                )
            )
        return True

    async def _log_voice_request(
        self, kind: str, m: DiscordMessage, channel: int | None, outcome: str
    ) -> None:
        with contextlib.suppress(NotRegistered, ActorStopped, ActorError):
            await self.ctx.lookup(self.config.channel.store).tell(
                LogAction(
                    kind=kind,
                    guild_id=int(self.key),
                    channel_id=m.channel_id,
                    message_id=m.message_id,
                    user_id=m.author_id,
                    content=m.content[:500],
                    metadata=to_json({"voice_channel_id": channel, "outcome": outcome}),
                )
            )

    @handles(MessageDeleted)
    async def deleted(self, msg: MessageDeleted) -> None:
        self.seen += 1
        name = channel_name(msg.channel_id)
        with contextlib.suppress(NotRegistered, ActorStopped):
            await self.ctx.lookup(name).tell(msg)  # only a running channel cares

    @handles(TypingStarted)
    async def typing_started(self, msg: TypingStarted) -> None:
        """To the channel's actor if it runs (it times its reply by who is typing); typing in
        a channel with no actor yet starts none."""
        self.seen += 1
        with contextlib.suppress(NotRegistered, ActorStopped):
            await self.ctx.lookup(channel_name(msg.channel_id)).tell(msg)

    @handles(VoiceStateChanged, VoiceServerChanged)
    async def voice_update(self, msg: VoiceStateChanged | VoiceServerChanged) -> None:
        """Forwarded to the voice connection, if one runs (it picks what concerns it). A voice
        state names its member: learned, and told to the voice brain."""
        self.seen += 1
        if isinstance(msg, VoiceStateChanged):
            if msg.channel_id is None:
                self.member_voice.pop(msg.user_id, None)
            else:
                self.member_voice[msg.user_id] = msg.channel_id
            if msg.user_name:
                await self._voice_member(msg.user_id, msg.user_name)
        if self.voice_channel is None:
            return
        with contextlib.suppress(NotRegistered, ActorStopped):
            await self.ctx.lookup(voice_link_name(self.key)).tell(msg)

    async def _voice_member(self, user_id: int, name: str) -> None:
        ours = self.identity is not None and user_id == self.identity.user_id
        if ours or not self.members.learn(user_id, name):
            return
        news = [Member(user_id=user_id, name=name)]
        await self._learned(news)
        with contextlib.suppress(NotRegistered, ActorStopped, ActorError):
            self.ctx.lookup(voice_brain_name(self.key)).try_tell(
                MembersLearned(members=tuple(news))
            )

    @handles(JoinVoice)
    async def join_voice(self, msg: JoinVoice) -> VoiceJoined | VoiceRefused | None:
        """Start a voice connection to `msg.channel_id` (after leaving another one). Just
        after a restart, while the identity is still being asked for, the answer waits."""
        if self.identity is None and self.pulling and self.key.isdigit():
            self.waiting_joins.append((msg, self.ctx.defer_reply()))
            return None
        return await self._join_voice(msg)

    async def _join_voice(self, msg: JoinVoice) -> VoiceJoined | VoiceRefused:
        identity = self.identity
        if identity is None or not self.key.isdigit():
            return VoiceRefused(reason=NO_IDENTITY)
        info = self.channels.get(msg.channel_id)
        if info is not None and info.kind not in ("voice", "stage_voice"):
            return VoiceRefused(reason=f"channel {msg.channel_id} is a {info.kind} channel")
        link = voice_link_name(self.key)
        if self.voice_channel == msg.channel_id and self._voice_running():
            return VoiceJoined(channel_id=msg.channel_id, link=link)
        await self._stop_voice()
        voice = self.config.voice
        config = VoiceLinkConfig(
            guild_id=int(self.key),
            channel_id=msg.channel_id,
            user_id=identity.user_id,
            clankvox=clankvox_name(self.key),
            bridge=voice.bridge,
            self_mute=self.voice_muted,
            mute_owner=session_name(self.key),
            mode=voice.mode,
            record_audio=voice.record_audio,
        )
        brain = await self._brain_child(msg, identity, link)
        spec = voice_link_spec(
            link, config, command=voice.command, env=voice.clankvox_env(), brain=brain
        )
        try:
            await self.ctx.lookup_supervisor(voices_name(self.key)).start_child(
                ChildSpec("voice", spec, restart=Restart.TRANSIENT)
            )
        except (ChildStartFailed, NameTaken, NotRegistered, ActorStopped) as exc:
            return VoiceRefused(reason=f"could not start the voice connection: {exc}")
        self.voice_channel = msg.channel_id
        return VoiceJoined(channel_id=msg.channel_id, link=link)

    async def _brain_child(self, msg: JoinVoice, identity: Identity, link: str) -> ChildSpec | None:
        """The voice brain's child spec, its models loaded (cached) off the trio loop; None
        when no brain is configured or its models cannot load (then voice only moves audio)."""
        options = self.config.voice.brain
        if options is None:
            return None
        from clanker.voice.brain.actor import VoiceBrain

        settings = await ask_settings(self.ctx)
        try:
            models = await trio.to_thread.run_sync(options.load_models, settings)
        except ModelError as exc:
            log.warning("voice: joining without the voice brain: %s", exc)
            return None
        info = self.channels.get(msg.channel_id)
        name = voice_brain_name(self.key)
        config = VoiceBrainConfig(
            guild_id=int(self.key),
            channel_id=msg.channel_id,
            bot_user_id=identity.user_id,
            link=link,
            name=name,
            models=models,
            bot_names=(
                identity.user_name,
                *options.aliases,
                *(settings.identity.aliases if settings is not None else ()),
            ),
            member_names={m.user_id: m.name for m in self.members.members()},
            channel_name=info.name if info is not None else "voice",
            persona=options.persona or (settings.persona.flavor if settings is not None else ""),
            llm=options.llm,
            store=options.store,
            memory=options.memory,
            text_channel_id=msg.text_channel_id,
            capture=options.capture,
            speculative_asr=options.speculative_asr,
            session=session_name(self.key),
            muted=self.voice_muted,
            bridge=self.config.voice.bridge,  # the soundboard
            tools=voice_tool_registry(
                self.config.channel.tools, settings.tools if settings is not None else None
            ),
            **_conversation(options, settings),
        )
        return ChildSpec(
            "brain", lambda: VoiceBrain(config), register=name, mailbox=VoiceBrain.mailbox
        )

    @handles(LeaveVoice)
    async def leave_voice(self, msg: LeaveVoice) -> VoiceLeft:
        """Stop the voice connection: clankvox is destroyed, then op 4 leaves the channel."""
        left = self.voice_channel
        await self._stop_voice()
        return VoiceLeft(channel_id=left)

    @handles(SetVoiceMute)
    async def set_voice_mute(self, msg: SetVoiceMute) -> VoiceMute:
        """Mute or unmute the bot in voice: kept here, and told to the running call's link
        (op 4 with ``self_mute``) and voice brain (silent while muted)."""
        self.voice_muted = msg.muted
        in_call = self._voice_running()
        if in_call:
            targets = (
                (voice_link_name(self.key), SetSelfMute(muted=msg.muted)),
                (voice_brain_name(self.key), SetBrainMuted(muted=msg.muted)),
            )
            for name, notice in targets:
                with contextlib.suppress(NotRegistered, ActorStopped, ActorError):
                    await self.ctx.lookup(name).tell(notice)
        return VoiceMute(muted=self.voice_muted, in_call=in_call)

    @handles(GetVoiceMute)
    async def get_voice_mute(self, msg: GetVoiceMute) -> VoiceMute:
        return VoiceMute(muted=self.voice_muted, in_call=self._voice_running())

    def _voice_running(self) -> bool:
        try:
            self.ctx.lookup(voice_link_name(self.key))
        except NotRegistered:
            return False
        return True

    async def _stop_voice(self) -> None:
        self.voice_channel = None
        with contextlib.suppress(NotRegistered, ActorStopped):
            await self.ctx.lookup_supervisor(voices_name(self.key)).terminate_child("voice")

    @handles(MemberJoined)
    async def member_joined(self, msg: MemberJoined) -> None:
        self.seen += 1
        await self._learned(
            self.members.learn_all([Member(user_id=msg.user_id, name=msg.user_name)])
        )

    @handles(MessageEdited, ReactionChanged, RawDispatch)
    async def other(self, msg: object) -> None:
        """Seen (and stored by the router); nothing in this guild acts on these yet."""
        self.seen += 1

    async def _to_channel(self, channel_id: int, guild_id: int | None, msg: Message) -> None:
        assert isinstance(msg, MessageCreated)
        behind = self.handoff.waiting(channel_id)  # then it waits its turn: order is kept
        given_up = self.handoff.hold(channel_id, msg, trio.current_time())
        if given_up is not None:
            await self._give_up(given_up, "too many messages wait for their channels")
        elif not behind:
            await self._try_channel(channel_id)

    async def _try_channel(self, channel_id: int) -> None:
        """Start (or find) the channel actor and hand it every message waiting for it."""
        waiting = self.handoff.items(channel_id)
        if not waiting:
            return
        guild_id = waiting[0].message.guild_id
        reason, detail = "channel_stopped", ""
        for _attempt in range(3):
            try:
                ref = await self._channel(channel_id, guild_id)
                while waiting := self.handoff.items(channel_id):
                    await ref.tell(waiting[0])
                    self.handoff.handed(channel_id)
                return
            except (ActorStopped, NotRegistered) as exc:
                detail = str(exc)
                continue  # removed between lookup and tell: start it anew
            except _NoIdentity:
                reason, detail = "no_identity", "the bot's identity is not known yet (no READY)"
                break
            except ChildStartFailed as exc:
                reason, detail = "channel_start_failed", str(exc)
                break
        now = trio.current_time()
        log.warning(
            "channel %s: %d message(s) wait (%s): %s",
            channel_id,
            len(self.handoff.items(channel_id)),
            reason,
            detail,
        )
        given_up = self.handoff.failed(channel_id, now, reason)
        if given_up is not None:
            await self._give_up(given_up, detail)
        self._rearm.set()

    async def _give_up(self, given_up: GivenUp[MessageCreated], detail: str) -> None:
        """Log, per message, why it was not answered (the Store has it already)."""
        log.error(
            "channel %s: gave up on %d message(s): %s (%s)",
            given_up.channel_id,
            len(given_up.items),
            given_up.reason,
            detail,
        )
        for item in given_up.items:
            m = item.message
            metadata = {
                "decision": "failed",
                "reason": given_up.reason,
                "attempts": given_up.attempts,
                "detail": detail[:500],
            }
            with contextlib.suppress(ActorError, StoreRequestError):
                await self.store.ref.tell(
                    LogAction(
                        kind=DECISION_ACTION_KIND,
                        guild_id=m.guild_id,
                        channel_id=m.channel_id,
                        message_id=m.message_id,
                        user_id=m.author_id,
                        content=f"failed: {given_up.reason}",
                        metadata=to_json(metadata),
                    )
                )

    async def _handoff_timer(self) -> None:
        while True:
            self._rearm = trio.Event()
            deadline = self.handoff.next_wakeup()
            with trio.move_on_at(math.inf if deadline is None else deadline) as scope:
                await self._rearm.wait()
            if scope.cancelled_caught:
                await self.ctx.ref.tell(HandoffDue())
                await self._rearm.wait()  # until that HandoffDue has been handled

    @handles(HandoffDue)
    async def handoff_due(self, msg: HandoffDue) -> None:
        await self._retry_due()
        self._rearm.set()

    async def _retry_due(self) -> None:
        for channel_id in self.handoff.due(trio.current_time()):
            await self._try_channel(channel_id)

    async def _channel(self, channel_id: int, guild_id: int | None) -> ActorRef:
        name = channel_name(channel_id)
        try:
            return self.ctx.lookup(name)
        except NotRegistered:
            pass
        identity = self.identity
        if identity is None:
            raise _NoIdentity
        info = self.channels.get(channel_id)
        parent = None if info is None or "thread" not in info.kind else info.parent_id
        config = self.config.channel
        members = self.members.members()

        def make() -> Actor:
            return ChannelActor(
                channel_id=channel_id,
                guild_id=guild_id,
                identity=identity,
                channel_name=None if info is None else info.name,
                config=config,
                parent_channel_id=parent,
                members=members,
            )

        with contextlib.suppress(NameTaken):
            await self.channel_sup.start_child(
                ChildSpec(
                    f"channel-{channel_id}", make, register=name, mailbox=ChannelActor.mailbox
                )
            )
        return self.ctx.lookup(name)


def _conversation(options: VoiceBrainOptions, settings: Settings | None) -> dict[str, Any]:
    """The brain's turn-taking: `voice.conversation` from the live settings when there are
    some (0 s: no limit), else the options' own."""
    if settings is None:
        return {
            "barge_in": options.barge_in,
            "command_only": options.command_only,
            "idle_leave": options.idle_leave,
            "max_duration": options.max_duration,
            "join_greeting": options.join_greeting,
            "music_library": options.music_library,
        }
    c = settings.voice.conversation
    return {
        "barge_in": replace(options.barge_in, policy=BargeInPolicy(c.barge_in)),
        "command_only": options.command_only or c.command_only,
        "idle_leave": c.idle_leave_seconds or None,
        "max_duration": c.max_call_seconds or None,
        "join_greeting": options.join_greeting and c.join_greeting,
        "music_library": settings.voice.music.library_dir or options.music_library,
    }
