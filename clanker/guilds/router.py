"""`Guilds`: the router that stores every message, then hands each event to its guild's session.

Shape (``guilds_spec``)::

    guilds                 supervisor, one_for_one
    ├── sessions           dynamic supervisor; one child per guild, created on first event
    │   └── guild-<id>     supervisor (temporary), rest_for_one: session (GuildSession)
    └── router             GuildRouter, registered "guilds": the bridge's ``route_to``

A crash in one guild's session restarts that session only (its own supervisor, its own restart
budget). If a guild keeps crashing, its supervisor gives up and is removed — the ``sessions``
supervisor never restarts anything itself, so it never escalates and other guilds never notice;
the guild's next event creates a fresh session.

Nothing received is lost: a message is stored (the Store's reply awaited) before any session
sees it. If the Store cannot be reached the event is still routed, and the failure is counted
and logged.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from clanker.discord.events import (
    BridgeReady,
    ChannelInfo,
    DiscordMessage,
    FetchHistory,
    GetGuild,
    GetIdentity,
    GuildAvailable,
    History,
    MemberJoined,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    RawDispatch,
    ReactionChanged,
    TypingStarted,
    VoiceServerChanged,
    VoiceStateChanged,
)
from clanker.guilds.messages import (
    Directory,
    GetDirectory,
    GetSessionState,
    GuildInfo,
    Identity,
    SessionState,
    channels_name,
    session_key,
    session_name,
    voices_name,
)
from clanker.guilds.pull import PULL_TIMEOUT, guild_info
from clanker.guilds.session import GuildSession, SessionConfig
from clanker.runtime import (
    Actor,
    ActorContext,
    ActorError,
    ActorRef,
    ActorStopped,
    ChildSpec,
    MailboxSpec,
    Message,
    NameTaken,
    NotRegistered,
    Restart,
    Strategy,
    SupervisorRef,
    SupervisorSpec,
    handles,
)
from clanker.schedule.actor import RunDue
from clanker.settings import Settings
from clanker.settings.actor import ask_settings
from clanker.store import (
    LogAction,
    MarkMessageDeleted,
    MarkMessageEdited,
    StoreClient,
    StoredAttachment,
    StoreMessage,
    StoreRequestError,
    calendar_now,
    fold_content,
    to_json,
    utc_now_iso,
)
from clanker.text import DECISION_ACTION_KIND
from clanker.text.catch_up import plan_catch_up

log = logging.getLogger("clanker.guilds")

ROUTER_NAME = "guilds"
SESSIONS_NAME = "guild_sessions"
# Channel kinds whose history the catch-up after a login reads.
CATCH_UP_KINDS = frozenset({"text", "news", "public_thread", "private_thread", "news_thread"})

SessionFactory = Callable[[str, SessionConfig], Actor]


@dataclass(frozen=True)
class GuildsConfig:
    session: SessionConfig = field(default_factory=SessionConfig)
    # Builds a guild's session actor; tests swap in a session that misbehaves on purpose.
    session_factory: SessionFactory = GuildSession
    # Per guild: at most this many session restarts within `period` seconds, then the guild's
    # supervisor gives up and is removed (recreated on the guild's next event).
    intensity: int = 5
    period: float = 10.0
    # After each login, messages never received are fetched: back to this long before the
    # newest stored message of each channel (at most `catch_up_messages` per channel, in at most
    # `catch_up_channels` text channels).
    catch_up_seconds: float = 300.0
    catch_up_messages: int = 50
    catch_up_channels: int = 50
    # Made with the tree, shared by every incarnation of the router (see `CatchUpFloor`).
    floor: CatchUpFloor = field(default_factory=lambda: CatchUpFloor(), compare=False)


@dataclass
class CatchUpFloor:
    """The backlog line of this tree, for channels while the Store has nothing at all.

    The first time this tree sees a guild, each channel's newest message id (Discord's
    ``last_message_id``) is noted. With nothing stored, the catch-up after a later login (the
    bridge crashed, or lost its session, before anything was stored) takes what was posted
    after that line, never an older backlog. Discord's clock cannot be compared with ours (the
    sandbox's is its own), so the line is a message id, not a time. It lives in the config the
    tree was made with, so a restarted router knows it; a new process draws a new line."""

    newest: dict[int, int] = field(default_factory=dict)

    def note(self, channels: tuple[ChannelInfo, ...]) -> None:
        for c in channels:
            self.newest.setdefault(c.channel_id, c.last_message_id or 0)


def stored_message(m: DiscordMessage) -> StoreMessage:
    """The Store record of a message: text plus attachments, embeds and reactions, folded."""
    return StoreMessage(
        message_id=m.message_id,
        guild_id=m.guild_id,
        channel_id=m.channel_id,
        author_id=m.author_id,
        author_name=m.author_name,
        content=fold_content(
            m.content,
            attachment_urls=[a.url for a in m.attachments],
            embed_urls=m.embed_urls,
            reactions=[(r.emoji, r.count) for r in m.reactions],
        ),
        created_at=m.created_at,
        is_bot=m.author_is_bot,
        reply_to_message_id=m.reply_to_message_id,
        attachments=tuple(
            StoredAttachment(
                id=a.attachment_id,
                filename=a.filename,
                url=a.url,
                size=a.size,
                content_type=a.content_type,
                width=a.width,
                height=a.height,
            )
            for a in m.attachments
        ),
    )


Routed = (
    MessageEdited
    | MessageDeleted
    | ReactionChanged
    | TypingStarted
    | MemberJoined
    | VoiceStateChanged
    | VoiceServerChanged
    | RawDispatch
    | RunDue
)


class GuildRouter(Actor):
    """See the module docstring."""

    mailbox = MailboxSpec(capacity=1024)

    def __init__(self, config: GuildsConfig) -> None:
        self.config = config
        self.identity: Identity | None = None
        self.guilds: dict[int, GuildInfo] = {}
        self.stored = 0
        self.store_failures = 0
        self._catching_up = False
        self._catch_up_again = False
        self._clock_offset: timedelta | None = None

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx
        self.sessions: SupervisorRef = ctx.lookup_supervisor(SESSIONS_NAME)
        self.store = StoreClient(ctx.lookup(self.config.session.channel.store))
        # A fresh incarnation knows neither who we are nor the guilds: ask the bridge, in the
        # background (it may be starting after us, or busy); READY pushes work as before.
        ctx.start_soon(self._pull_state)

    async def _pull_state(self) -> None:
        """Identity and guilds from the bridge (the current login), else from the running
        sessions (what they were told); else the next READY brings them."""
        bridge_name = self.config.session.channel.bridge
        try:
            bridge = self.ctx.lookup(bridge_name)
            who = await bridge.ask(GetIdentity(), timeout=PULL_TIMEOUT)
            if isinstance(who, BridgeReady):
                await self.ctx.ref.tell(who)
                for guild_id in who.guild_ids:
                    guild = await bridge.ask(GetGuild(guild_id=guild_id), timeout=PULL_TIMEOUT)
                    if isinstance(guild, GuildAvailable):
                        await self.ctx.ref.tell(guild)
                return
            log.info("router: the bridge is not ready (%s); asking the sessions", who)
        except (ActorError, NotRegistered) as exc:
            log.info("router: %s did not answer (%s); asking the sessions", bridge_name, exc)
        for key in self._running_keys():
            try:
                ref = self.ctx.lookup(session_name(key))
                state = await ref.ask(GetSessionState(), SessionState, timeout=PULL_TIMEOUT)
            except (ActorError, NotRegistered):
                continue
            await self.ctx.ref.tell(state)

    @handles(SessionState)
    async def adopt(self, msg: SessionState) -> None:
        """A session's knowledge, after a restart: only what is still unknown here."""
        if self.identity is None and msg.identity is not None:
            self.identity = msg.identity
        if msg.guild is not None:
            self.guilds.setdefault(msg.guild.guild_id, msg.guild)

    # -- sessions -------------------------------------------------------------------------------

    def _guild_spec(self, key: str) -> ChildSpec:
        cfg = self.config
        factory = cfg.session_factory

        def make() -> Actor:
            return factory(key, cfg.session)

        return ChildSpec(
            f"guild-{key}",
            SupervisorSpec(
                Strategy.REST_FOR_ONE,
                [
                    ChildSpec(
                        "channels",
                        SupervisorSpec(
                            Strategy.ONE_FOR_ONE, [], intensity=cfg.intensity, period=cfg.period
                        ),
                        register=channels_name(key),
                    ),
                    ChildSpec(
                        "session",
                        make,
                        register=session_name(key),
                        mailbox=GuildSession.mailbox,
                    ),
                    # The guild's voice connection (started by JoinVoice); last, so that its
                    # crashes never restart the text side.
                    ChildSpec(
                        "voices",
                        SupervisorSpec(
                            Strategy.ONE_FOR_ONE, [], intensity=cfg.intensity, period=cfg.period
                        ),
                        register=voices_name(key),
                    ),
                ],
                intensity=cfg.intensity,
                period=cfg.period,
            ),
            restart=Restart.TEMPORARY,
        )

    async def _session(self, key: str) -> ActorRef:
        """The guild's session, started if it is not running."""
        try:
            return self.ctx.lookup(session_name(key))
        except NotRegistered:
            pass
        # NameTaken: a guild supervisor still shutting down after giving up; _deliver retries.
        with contextlib.suppress(NameTaken):
            await self.sessions.start_child(self._guild_spec(key))
        ref = self.ctx.lookup(session_name(key))
        # A new session learns who we are and what its guild looks like before any event.
        if self.identity is not None:
            await ref.tell(self.identity)
        guild = self.guilds.get(int(key)) if key.isdigit() else None
        if guild is not None:
            await ref.tell(guild)
        log.info("started the session for %s", "DMs" if not key.isdigit() else f"guild {key}")
        return ref

    async def _deliver(self, guild_id: int | None, event: Message) -> None:
        key = session_key(guild_id)
        for _attempt in range(3):
            try:
                await (await self._session(key)).tell(event)
                return
            except (ActorStopped, NotRegistered):
                continue  # the guild's supervisor gave up between lookup and tell: start anew
        log.error("could not deliver %s to the %s session", type(event).__name__, key)

    # -- the bridge's events -------------------------------------------------------------------

    @handles(BridgeReady)
    async def ready(self, msg: BridgeReady) -> None:
        self.identity = Identity(user_id=msg.user_id, user_name=msg.user_name)
        for key in self._running_keys():
            # Gone meanwhile: a new one gets the identity when it starts.
            with contextlib.suppress(ActorStopped, NotRegistered):
                await self.ctx.lookup(session_name(key)).tell(self.identity)
        if self._catching_up:
            self._catch_up_again = True  # a newer login: run once more when this one ends
        else:
            self._catching_up = True
            self.ctx.start_soon(self._catch_up_loop)

    async def _catch_up_loop(self) -> None:
        try:
            while True:
                self._catch_up_again = False
                await self._catch_up()
                if not self._catch_up_again:
                    return
        finally:
            self._catching_up = False

    async def _catch_up(self) -> None:
        """After a login: Discord does not replay what was posted while clanker was logged
        out (a new gateway session, unlike a RESUME). Fetch the latest messages of each text
        channel clanker has stored messages of, and take in, oldest first and through the usual
        path (stored, then routed), those the Store does not have, back to `catch_up_seconds`
        before the newest stored one."""
        cfg = self.config
        try:
            bridge = self.ctx.lookup(cfg.session.channel.bridge)
        except NotRegistered:
            return
        settings = await ask_settings(self.ctx) or Settings()  # defaults if it cannot say
        channels = [
            c.channel_id
            for guild in self.guilds.values()
            for c in guild.channels
            if c.kind in CATCH_UP_KINDS
        ][: cfg.catch_up_channels]
        # Discord's clock on both sides: messages posted up to `catch_up_seconds` before the
        # newest one stored in the channel (or, for a channel with nothing stored, in any
        # channel). With nothing stored at all, what was posted after the `CatchUpFloor` line
        # the first login noted: no old backlog is answered on a first start.
        newest: dict[int, datetime] = {}
        for channel_id in channels:
            try:
                latest = await self.store.recent_messages(channel_id, limit=1)
            except (ActorError, StoreRequestError):
                continue
            if latest:
                newest[channel_id] = datetime.fromisoformat(latest[-1].created_at)
        floor = cfg.floor.newest
        anywhere = max(newest.values()) if newest else None
        taken = 0
        answered: list[str] = []
        per_channel: dict[str, object] = {}
        for channel_id in channels:
            try:
                history = await bridge.ask(
                    FetchHistory(channel_id=channel_id, limit=cfg.catch_up_messages),
                    timeout=PULL_TIMEOUT,
                )
            except ActorError as exc:
                log.info("catch-up: no history for channel %d: %s", channel_id, exc)
                continue
            if not isinstance(history, History):
                continue  # a BridgeFailure (no access, rate limited): the live feed goes on
            stored_newest = newest.get(channel_id, anywhere)
            fresh: list[DiscordMessage] = []
            for m in reversed(history.messages):  # oldest first
                if stored_newest is not None:
                    cutoff = stored_newest - timedelta(seconds=cfg.catch_up_seconds)
                    if datetime.fromisoformat(m.created_at) < cutoff:
                        continue
                elif m.message_id <= floor.get(channel_id, m.message_id):
                    continue  # from before this tree first saw the channel: old backlog
                fresh.append(m)
            missed: set[int] = set()
            for m in fresh:
                try:
                    if await self.store.get_message(m.message_id) is None:
                        missed.add(m.message_id)
                except (ActorError, StoreRequestError):
                    continue
            if not missed or self.identity is None:
                continue
            plan = plan_catch_up(
                fresh,
                missed,
                bot_user_id=self.identity.user_id,
                identity=settings.identity,
                now=self._discord_now(list(history.messages)),
                lookback=timedelta(hours=settings.activity.catch_up_lookback_hours),
                per_channel=settings.activity.catch_up_replies_per_channel,
            )
            for m in plan.store_only:  # context for later prompts, not a question to answer
                await self._store(stored_message(m))
                taken += 1
            for m in plan.skipped:  # addressed: the decision log says why it is not answered
                await self._log_catch_up_skip(m, plan.reasons[m.message_id])
            for m in plan.answer:
                taken += 1
                answered.append(str(m.message_id))
                await self.ctx.ref.tell(MessageCreated(message=m))
            per_channel[str(channel_id)] = {
                "answer": [str(m.message_id) for m in plan.answer],
                "read": {str(k): v for k, v in plan.reasons.items()},
            }
            if plan.reasons:
                log.info(
                    "catch-up in channel %d: %d to answer, %d only read (%s)",
                    channel_id,
                    len(plan.answer),
                    len(plan.store_only),
                    "; ".join(sorted(set(plan.reasons.values()))),
                )
        if taken:
            log.info("catch-up after login: %d message(s) missed while logged out", taken)
        try:  # the operator's record of each login's catch-up (tests wait on it too)
            await self.store.log_action(
                LogAction(
                    kind="catch_up",
                    content=f"{taken} missed, {len(answered)} to answer, {len(channels)} channels",
                    metadata=to_json({"answer": answered, "channels": per_channel}),
                )
            )
        except (ActorError, StoreRequestError) as exc:
            log.info("catch-up not logged: %s", exc)

    async def _log_catch_up_skip(self, m: DiscordMessage, reason: str) -> None:
        try:
            await self.store.log_action(
                LogAction(
                    kind=DECISION_ACTION_KIND,
                    guild_id=m.guild_id,
                    channel_id=m.channel_id,
                    message_id=m.message_id,
                    user_id=m.author_id,
                    content=f"skipped: catch-up: {reason}",
                    metadata=to_json({"source": "startup_catch_up", "reason": reason}),
                )
            )
        except (ActorError, StoreRequestError) as exc:
            log.info("catch-up decision not logged: %s", exc)

    def _note_clock(self, created_at: str) -> None:
        """Discord's clock against ours, from the freshest message seen (the catch-up's
        lookback is measured on Discord's clock, as the messages' times are)."""
        try:
            offset = datetime.fromisoformat(created_at) - calendar_now()
        except ValueError:
            return
        if self._clock_offset is None or offset > self._clock_offset:
            self._clock_offset = offset

    def _discord_now(self, histories: list[DiscordMessage]) -> datetime:
        """Now on Discord's clock: ours plus the offset seen (never before the newest message
        fetched); before any message was seen live, the newest message fetched (a lookback
        then counts from the channel's latest message)."""
        newest = [datetime.fromisoformat(m.created_at) for m in histories]
        if self._clock_offset is None:
            return max(newest, default=calendar_now())
        return max([calendar_now() + self._clock_offset, *newest])

    @handles(GuildAvailable)
    async def guild(self, msg: GuildAvailable) -> None:
        self.config.floor.note(msg.channels)
        info = guild_info(msg)
        self.guilds[msg.guild_id] = info
        await self._deliver(msg.guild_id, info)

    @handles(MessageCreated)
    async def message(self, msg: MessageCreated) -> None:
        self._note_clock(msg.message.created_at)
        await self._store(stored_message(msg.message))
        await self._deliver(msg.message.guild_id, msg)

    @handles(MessageEdited)
    async def edited(self, msg: MessageEdited) -> None:
        if msg.content is not None:
            edit = MarkMessageEdited(
                message_id=msg.message_id, content=msg.content, edited_at=utc_now_iso()
            )
            await self._store(edit)
        await self._deliver(msg.guild_id, msg)

    @handles(MessageDeleted)
    async def deleted(self, msg: MessageDeleted) -> None:
        await self._store(MarkMessageDeleted(message_id=msg.message_id))
        await self._deliver(msg.guild_id, msg)

    @handles(
        ReactionChanged,
        TypingStarted,
        VoiceStateChanged,
        VoiceServerChanged,
        RawDispatch,
        MemberJoined,
        RunDue,
    )
    async def other(self, msg: Routed) -> None:
        await self._deliver(msg.guild_id, msg)

    @handles(GetDirectory)
    async def directory(self, msg: GetDirectory) -> Directory:
        return Directory(
            identity=self.identity,
            guilds=tuple(self.guilds.values()),
            sessions=tuple(self._running_keys()),
            stored=self.stored,
            store_failures=self.store_failures,
        )

    # -- helpers --------------------------------------------------------------------------------

    def _running_keys(self) -> list[str]:
        prefix = "guild-"
        return [
            node.name[len(prefix) :]
            for node in self.sessions.children()
            if node.name.startswith(prefix)
        ]

    async def _store(self, request: StoreMessage | MarkMessageEdited | MarkMessageDeleted) -> None:
        try:
            if isinstance(request, StoreMessage):
                await self.store.store_message(request)
            elif isinstance(request, MarkMessageEdited):
                await self.store.mark_message_edited(request)
            else:
                await self.store.mark_message_deleted(request.message_id)
        except (ActorError, StoreRequestError) as exc:
            self.store_failures += 1
            log.error("could not store %s: %s", type(request).__name__, exc)
        else:
            self.stored += 1


def guilds_spec(config: GuildsConfig | None = None) -> ChildSpec:
    """The ``guilds`` subtree; put it after the Store and before the bridge."""
    cfg = config or GuildsConfig()
    return ChildSpec(
        "guilds",
        SupervisorSpec(
            Strategy.ONE_FOR_ONE,
            [
                ChildSpec(
                    "sessions", SupervisorSpec(Strategy.ONE_FOR_ONE, []), register=SESSIONS_NAME
                ),
                ChildSpec(
                    "router",
                    lambda: GuildRouter(cfg),
                    register=ROUTER_NAME,
                    mailbox=GuildRouter.mailbox,
                ),
            ],
        ),
    )
