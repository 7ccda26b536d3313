"""`ChannelActor`: one text channel's reply queue — a thin loop around `ChannelBrain`.

Every message seen in the channel (after the router stored it) is fed to the brain with the
trio time; the brain's actions are carried out here: decisions go to the action log, typing to
the bridge, and a `StartGeneration` runs `generate_reply` in a task this actor can cancel. The
brain's timer is a background task that tells the actor a `Tick` when the brain's next wake-up
comes, so every call into the brain happens in a handler, one at a time, in mailbox order.
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass, field
from datetime import datetime

import trio

from clanker.automations.policy import (
    AutomationError,
    decode_payload,
    run_event,
    synthetic_message_id,
)
from clanker.discord.events import (
    AddReaction,
    DiscordMessage,
    Done,
    MessageCreated,
    MessageDeleted,
    SendMessage,
    Sent,
    StartTyping,
    TypingStarted,
)
from clanker.guilds.generation import GenerationDeps, generate_reply
from clanker.guilds.media import MediaDeps
from clanker.guilds.members import MemberDirectory
from clanker.guilds.messages import Identity, Member, MembersLearned
from clanker.guilds.pacing import (
    PACING_NAME,
    PacingChanged,
    SendRecorded,
    SubscribePacing,
    UnsubscribePacing,
)
from clanker.llm import CallContext, LlmClient, LlmError, LlmRequest, SystemPart, user
from clanker.memory.service import MEMORY_NAME
from clanker.runtime import (
    Actor,
    ActorContext,
    ActorError,
    ActorRef,
    MailboxSpec,
    Message,
    NotRegistered,
    handles,
)
from clanker.runtime.resubscribe import WATCH_CAPACITY, PublisherWatch, watch_publishers
from clanker.schedule.actor import SCHEDULER_NAME, RunDone, RunDue
from clanker.settings import SETTINGS_NAME, SettingsChanged, SubscribeSettings, UnsubscribeSettings
from clanker.settings.messages import CurrentSettings, Unsubscribed
from clanker.store import (
    LogAction,
    MessageRow,
    MidSend,
    ResumeInterrupted,
    StoreClient,
    StoreRequestError,
    calendar_now,
    to_json,
)
from clanker.text import (
    DECISION_ACTION_KIND,
    AcknowledgeStop,
    Action,
    CancelGeneration,
    ChannelBrain,
    Decision,
    LogDecision,
    Outcome,
    ReplyJob,
    ShowTyping,
    StartGeneration,
)
from clanker.text.brain import RETRY_LIMIT
from clanker.text.convert import view_from_discord, views_from_rows
from clanker.text.stop_ack import read_stop_ack, stop_ack_prompt
from clanker.text.tool_registry import ToolRegistry
from clanker.text.views import MessageView
from clanker.tools.fetch import GuardedFetcher
from clanker.vision.captioner import CAPTIONER_NAME

log = logging.getLogger("clanker.text")

STOP_REACTION = "🛑"  # the acknowledgement when the model writes none
STOP_ACK_TIMEOUT = 15.0  # seconds the model may take to write it
STOP_ACK_TOKENS = 60
HISTORY_SEED = 20
# How far back a fresh incarnation looks for admitted messages no finished reply covers.
RESUME_WINDOW_SECONDS = 600.0
# How long a fresh incarnation waits for the echo of a reply that was going out when the one
# before it died, before it calls that reply not sent.
MID_SEND_GRACE = 10.0


@dataclass(frozen=True)
class ChannelConfig:
    """Registered names the channel talks to, and the tools its replies may call."""

    bridge: str = "discord"
    store: str = "store"
    llm: str = "llm"
    settings: str = SETTINGS_NAME
    pacing: str = PACING_NAME
    captioner: str = CAPTIONER_NAME  # optional: a tree without it captions no images
    memory: str = MEMORY_NAME  # optional: a tree without it remembers nothing
    # Fetches image links in messages under the SSRF guard (None: a strict `GuardedFetcher`).
    image_fetcher: GuardedFetcher | None = field(default=None, compare=False)
    # Built once for the process (`clanker.app.reply_tool_registry`); the live `tools`
    # settings pick, per reply, which of them are offered. None: replies call no tools.
    tools: ToolRegistry | None = field(default=None, compare=False)
    # GIFs and generated images replies may post (None: none; docs/tools.md, "Media").
    media: MediaDeps | None = field(default=None, compare=False)


class Tick(Message, frozen=True):
    """The brain's next wake-up has come (told by the actor's own timer task)."""


class Resubscribe(Message, frozen=True):
    """A publisher (``settings`` or ``pacing``, by registered name) started again."""

    publisher: str


class MidSendsExpired(Message, frozen=True):
    """Self-sent: the grace for the echoes of replies that were going out at a restart is over."""


class GenerationFinished(Message, frozen=True):
    """A generation task ended (told by the task itself, unless it was cancelled)."""

    job_id: int
    outcome: str  # an `Outcome` value
    reason: str | None = None
    message_ids: tuple[int, ...] = ()  # the job's batch
    final: bool = True  # False: a failure the brain retries


class ChannelActor(Actor):
    """See the module docstring."""

    mailbox = MailboxSpec(capacity=512)

    def __init__(
        self,
        *,
        channel_id: int,
        guild_id: int | None,
        identity: Identity,
        channel_name: str | None,
        config: ChannelConfig,
        parent_channel_id: int | None = None,
        members: tuple[Member, ...] = (),
    ) -> None:
        self.channel_id = channel_id
        self.guild_id = guild_id
        self.identity = identity
        self.channel_name = channel_name
        self.parent_channel_id = parent_channel_id  # a thread's parent (from the guild's info)
        self.config = config
        self.members = MemberDirectory(members)  # the guild's, as the session knew them
        self.settings_version = -1
        self.jobs: dict[int, trio.CancelScope] = {}
        self._reserved: set[int] = set()  # jobs whose send the pacing keeper granted (recorded)
        self._rearm = trio.Event()
        # Replies an earlier incarnation had started sending, by trigger: waiting for their echo.
        self._mid_send: dict[int, MidSend] = {}
        # Scheduled runs in the brain, by their synthetic message id -> the scheduler's run id.
        # A fresh incarnation knows none: their runs end failed at the scheduler's timeout and
        # are never run twice (docs/automations.md).
        self._runs: dict[int, int] = {}
        self._run_seq = 0

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx
        cfg = self.config
        self.store = StoreClient(ctx.lookup(cfg.store))
        settings_ref, pacing_ref = ctx.lookup(cfg.settings), ctx.lookup(cfg.pacing)
        # Watch for the publishers' restarts from before the first subscribe: a fresh
        # incarnation knows no subscribers, so we subscribe again when it starts.
        watch = PublisherWatch({cfg.settings: settings_ref.path, cfg.pacing: pacing_ref.path})
        sub = ctx.runtime.events.open(WATCH_CAPACITY)
        try:
            current = await settings_ref.ask(
                SubscribeSettings(subscriber=ctx.path), CurrentSettings
            )
            pacing = await pacing_ref.ask(SubscribePacing(subscriber=ctx.path), PacingChanged)
        except BaseException:
            ctx.runtime.events.close(sub)
            raise
        ctx.start_soon(watch_publishers, ctx.runtime, sub, watch, self._resubscribe_later)
        self.settings_version = current.version
        self.brain = ChannelBrain(
            channel_id=self.channel_id,
            guild_id=self.guild_id,
            bot_user_id=self.identity.user_id,
            settings=current.settings,
            pacing=pacing.state,
        )
        # What was said before this incarnation started shapes attention (the Store's
        # trigger claims keep anything from being answered twice).
        rows = await self.store.recent_messages(self.channel_id, limit=HISTORY_SEED)
        self.brain.seed_history(views_from_rows(rows, received_at=trio.current_time()))
        self.deps = GenerationDeps(
            store=self.store,
            llm=ctx.lookup(cfg.llm),
            bridge=ctx.lookup(cfg.bridge),
            bot_user_id=self.identity.user_id,
            channel_name=self.channel_name,
            claimer=f"text_reply {ctx.path} #{ctx.incarnation}",
            members=lambda: self.members.participants(exclude=self.identity.user_id),
            pacing=pacing_ref,
            reserved=self._reserved.add,
            send_starting=self.brain.on_send_starting,
            tools=cfg.tools,
            captioner=self._captioner,
            image_fetcher=cfg.image_fetcher,
            media=cfg.media,
            lookup=ctx.lookup,
            memory=lambda: self._service(cfg.memory),
            services=self._service,
        )
        ctx.start_soon(self._timer)
        await self._resume_interrupted(rows)

    def _captioner(self) -> ActorRef | None:
        return self._service(self.config.captioner)

    def _service(self, name: str) -> ActorRef | None:
        """The actor registered as ``name``, or None (not in this tree, or restarting)."""
        try:
            return self.ctx.lookup(name)
        except NotRegistered:
            return None

    async def _resume_interrupted(self, rows: tuple[MessageRow, ...]) -> None:
        """Take up what an earlier incarnation admitted but never finished (its reply job died
        with it, or the message still waited in its queue): the Store finds those messages and
        hands their claims to this incarnation; they go through the brain again as if new."""
        prefix = f"text_reply {self.ctx.path} #"
        try:
            found = await self.store.resume_interrupted(
                ResumeInterrupted(
                    channel_id=self.channel_id,
                    claimer_prefix=prefix,
                    claimer=self.deps.claimer,
                    bot_user_id=self.identity.user_id,
                    within_seconds=RESUME_WINDOW_SECONDS,
                )
            )
        except (ActorError, StoreRequestError) as exc:
            log.warning(
                "channel %s: could not look for unfinished replies: %s", self.channel_id, exc
            )
            return
        for mid in found.mid_send:
            # Its send had started when the earlier incarnation died: it is never sent again
            # (no duplicate). If its message is in the channel it was sent; else the echo may
            # still come, so it waits for that a while before calling it not sent.
            if mid.landed is not None:
                await self._log_mid_send(mid, mid.landed)
            elif mid.first_chunk:
                self._mid_send[mid.message_id] = mid
            else:
                await self._log_mid_send(mid, None)
        if self._mid_send:
            self.ctx.start_soon(self._expire_mid_sends)
        known = {row.message_id: row for row in rows}
        for message_id in found.message_ids:
            row = known.get(message_id)
            if row is None:
                try:
                    row = await self.store.get_message(message_id)
                except (ActorError, StoreRequestError):
                    row = None
            if row is None:
                continue
            log.info(
                "channel %s: taking up message %d, admitted before a restart, not answered",
                self.channel_id,
                message_id,
            )
            for view in views_from_rows([row], received_at=trio.current_time()):  # not if deleted
                await self._carry_out(self.brain.on_message(view, trio.current_time()))

    async def _expire_mid_sends(self) -> None:
        await trio.sleep(MID_SEND_GRACE)
        await self.ctx.ref.tell(MidSendsExpired())

    @handles(MidSendsExpired)
    async def mid_sends_expired(self, msg: MidSendsExpired) -> None:
        """The last look for the echoes (in case one was stored while this incarnation
        started), then each reply still unseen gets its terminal decision: not sent."""
        if not self._mid_send:
            return
        try:
            rows = await self.store.recent_messages(self.channel_id, limit=HISTORY_SEED)
        except (ActorError, StoreRequestError):
            rows = ()
        for row in rows:
            if row.author_id == self.identity.user_id:
                await self._echoed(row.message_id, row.content)
        for mid in list(self._mid_send.values()):
            await self._log_mid_send(mid, None)
        self._mid_send.clear()

    async def _echoed(self, message_id: int, content: str) -> None:
        """The bot's own message ``message_id`` is in the channel: if it is a reply that was
        going out at a restart, that reply was sent."""
        for trigger, mid in list(self._mid_send.items()):
            if message_id > trigger and content == mid.first_chunk:
                del self._mid_send[trigger]
                await self._log_mid_send(mid, message_id)
                return

    async def _log_mid_send(self, mid: MidSend, landed: int | None) -> None:
        names = mid.message_ids or (mid.message_id,)
        if landed is None:
            log.info(
                "channel %s: the reply to %d was going out at a restart and never showed up; "
                "not sent again",
                self.channel_id,
                mid.message_id,
            )
        else:
            log.info(
                "channel %s: the reply to %d went out (message %d) as an earlier incarnation died",
                self.channel_id,
                mid.message_id,
                landed,
            )
        await self._log_decision(
            LogDecision(
                decision=Decision.FAILED if landed is None else Decision.SENT,
                reason="interrupted_mid_send" if landed is None else "sent_before_restart",
                channel_id=self.channel_id,
                guild_id=self.guild_id,
                at=trio.current_time(),
                message_id=mid.message_id,
                message_ids=names,
            )
        )

    async def on_stop(self) -> None:
        for scope in self.jobs.values():
            scope.cancel()
        for name, unsubscribe in (
            (self.config.settings, UnsubscribeSettings(subscriber=self.ctx.path)),
            (self.config.pacing, UnsubscribePacing(subscriber=self.ctx.path)),
        ):
            with contextlib.suppress(ActorError):  # it may be stopping too
                await self.ctx.lookup(name).ask(unsubscribe, timeout=2.0)

    # -- the timer --------------------------------------------------------------------------

    async def _timer(self) -> None:
        while True:
            self._rearm = trio.Event()
            deadline = self.brain.next_wakeup()
            with trio.move_on_at(math.inf if deadline is None else deadline) as scope:
                await self._rearm.wait()
            if scope.cancelled_caught:
                await self.ctx.ref.tell(Tick())
                await self._rearm.wait()  # until that Tick has been handled

    # -- events in ----------------------------------------------------------------------------

    @handles(MessageCreated)
    async def message(self, msg: MessageCreated) -> None:
        m = msg.message
        if self._mid_send and m.author_id == self.identity.user_id:
            await self._echoed(m.message_id, m.content)
        self.members.learn(m.author_id, m.author_name)
        if m.event == "member_join":
            await self._member_joined(m)
            return
        reply_author: int | None = None
        if m.reply_to_message_id is not None:
            try:
                row = await self.store.get_message(m.reply_to_message_id)
            except (ActorError, StoreRequestError):
                row = None
            reply_author = None if row is None else row.author_id
        view = view_from_discord(
            m,
            received_at=trio.current_time(),
            reply_to_author_id=reply_author,
            # The bridge fills in a thread's parent; the guild's channel list is the fallback.
            parent_channel_id=m.parent_channel_id or self.parent_channel_id,
        )
        await self._carry_out(self.brain.on_message(view, trio.current_time()))

    async def _member_joined(self, m: DiscordMessage) -> None:
        """Discord's join message for a newcomer: the model sees the event (its content) and
        may welcome them or skip, through the brain like any message, admitted as forced."""
        now = trio.current_time()
        if not self.brain.settings.initiative.greet_newcomers:
            await self._log_decision(
                LogDecision(
                    decision=Decision.SKIPPED,
                    reason="greetings_off",
                    channel_id=self.channel_id,
                    guild_id=self.guild_id,
                    at=now,
                    message_id=m.message_id,
                    user_id=m.author_id,
                )
            )
            return
        view = view_from_discord(
            m,
            received_at=now,
            parent_channel_id=m.parent_channel_id or self.parent_channel_id,
            force_reply=True,
        )
        await self._carry_out(self.brain.on_message(view, now))

    @handles(RunDue)
    async def run_due(self, msg: RunDue) -> None:
        """A scheduled run (an automation): the model sees its event as a synthetic message,
        forced through admission like a greeting, and answers through the reply path (own tool
        budget, no automation tools); the scheduler is told how it ended."""
        if not self.brain.settings.automations.enabled:
            await self._run_done(msg.run_id, False, "not run: automations are turned off")
            return
        try:
            payload = decode_payload(msg.payload)
        except AutomationError as exc:
            await self._run_done(msg.run_id, False, str(exc))
            return
        self._run_seq += 1
        view = MessageView(
            message_id=synthetic_message_id(calendar_now(), self._run_seq),
            channel_id=self.channel_id,
            guild_id=self.guild_id,
            parent_channel_id=self.parent_channel_id,
            author_id=payload.created_by,
            author_name=payload.created_by_name or "a member",
            content=run_event(
                payload,
                scheduled_for=datetime.fromisoformat(msg.scheduled_for),
                late=msg.late_seconds,
            ),
            received_at=trio.current_time(),
            force_reply=True,
            synthetic=True,
        )
        actions = self.brain.on_message(view, trio.current_time())
        refused = next(
            (
                a
                for a in actions
                if isinstance(a, LogDecision)
                and a.message_id == view.message_id
                and a.decision == Decision.SKIPPED
            ),
            None,
        )
        if refused is not None:
            await self._run_done(msg.run_id, False, f"not run: {refused.reason}")
        else:
            self._runs[view.message_id] = msg.run_id
        await self._carry_out(actions)

    async def _run_done(self, run_id: int, ok: bool, detail: str) -> None:
        with contextlib.suppress(ActorError):
            await self.ctx.lookup(SCHEDULER_NAME).tell(RunDone(run_id=run_id, ok=ok, detail=detail))

    @handles(MessageDeleted)
    async def deleted(self, msg: MessageDeleted) -> None:
        await self._carry_out(self.brain.on_message_deleted(msg.message_id, trio.current_time()))

    @handles(TypingStarted)
    async def typing_started(self, msg: TypingStarted) -> None:
        # Timed by when it reached us, like messages (Discord's stamp is whole seconds).
        now = trio.current_time()
        await self._carry_out(
            self.brain.on_typing(msg.channel_id, msg.user_id, now, is_bot=msg.is_bot)
        )

    @handles(Tick)
    async def tick(self, msg: Tick) -> None:
        await self._carry_out(self.brain.on_tick(trio.current_time()))

    @handles(GenerationFinished)
    async def finished(self, msg: GenerationFinished) -> None:
        self.jobs.pop(msg.job_id, None)
        if msg.final:
            for message_id in msg.message_ids:
                run_id = self._runs.pop(message_id, None)
                if run_id is not None:
                    ok = msg.outcome in (Outcome.SENT, Outcome.SKIPPED)
                    detail = msg.outcome if msg.reason is None else f"{msg.outcome}: {msg.reason}"
                    await self._run_done(run_id, ok, detail)
        actions = self.brain.on_generation_finished(
            msg.job_id, Outcome(msg.outcome), trio.current_time(), reason=msg.reason
        )
        recorded = msg.job_id in self._reserved  # the keeper recorded it when it granted the send
        self._reserved.discard(msg.job_id)
        if msg.outcome == Outcome.SENT and not recorded:
            await self.ctx.lookup(self.config.pacing).tell(SendRecorded(at=trio.current_time()))
        await self._carry_out(actions)

    @handles(SettingsChanged)
    async def settings_changed(self, msg: SettingsChanged) -> None:
        if msg.version <= self.settings_version:
            return  # an older notice overtaken by a newer one
        self.settings_version = msg.version
        await self._carry_out(self.brain.on_settings(msg.settings, trio.current_time()))

    @handles(PacingChanged)
    async def pacing_changed(self, msg: PacingChanged) -> None:
        await self._carry_out(self.brain.on_pacing(msg.state, trio.current_time()))

    @handles(MembersLearned)
    async def members_learned(self, msg: MembersLearned) -> None:
        """Members of the guild the session learned (for ``@name`` both ways)."""
        self.members.learn_all(msg.members)

    @handles(Unsubscribed)
    async def ignore(self, msg: Unsubscribed) -> None:
        """Late replies are harmless."""

    async def _resubscribe_later(self, publisher: str) -> None:
        # From the watcher task: hand it to the mailbox so the brain is only touched in order.
        await self.ctx.ref.tell(Resubscribe(publisher=publisher))

    @handles(Resubscribe)
    async def resubscribe(self, msg: Resubscribe) -> None:
        """A publisher restarted (and so forgot us): subscribe again and apply its state."""
        cfg = self.config
        try:
            if msg.publisher == cfg.settings:
                current = await self.ctx.lookup(cfg.settings).ask(
                    SubscribeSettings(subscriber=self.ctx.path), CurrentSettings, timeout=10.0
                )
                await self.settings_changed(
                    SettingsChanged(settings=current.settings, version=current.version)
                )
            elif msg.publisher == cfg.pacing:
                pacing = await self.ctx.lookup(cfg.pacing).ask(
                    SubscribePacing(subscriber=self.ctx.path), PacingChanged, timeout=10.0
                )
                await self.pacing_changed(pacing)
        except ActorError as exc:
            # It went down again: its next start brings another Resubscribe.
            log.warning(
                "channel %s: could not subscribe to %s again: %s",
                self.channel_id,
                msg.publisher,
                exc,
            )
        else:
            log.info(
                "channel %s: subscribed again to %s after its restart",
                self.channel_id,
                msg.publisher,
            )

    # -- actions out --------------------------------------------------------------------------

    async def _carry_out(self, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case LogDecision():
                    await self._log_decision(action)
                case ShowTyping(channel_id=channel_id):
                    self.ctx.start_soon(self._typing, channel_id)
                case StartGeneration(job=job):
                    scope = trio.CancelScope()
                    self.jobs[job.job_id] = scope
                    self.ctx.start_soon(self._generate, job, scope)
                case CancelGeneration(job_id=job_id):
                    if job_id in self.jobs:
                        self.jobs.pop(job_id).cancel()
                    # A cancelled job sends no GenerationFinished; its reservation (if granted)
                    # was recorded and its SendDone told by the job itself.
                    self._reserved.discard(job_id)
                case AcknowledgeStop():
                    self.ctx.start_soon(self._acknowledge_stop, action)
        self._rearm.set()

    async def _log_decision(self, action: LogDecision) -> None:
        # Told, not asked: the Store writes in mailbox order (so a decision is logged before
        # anything this channel stores after it) and the reply path does not wait on the disk.
        # A refused row is logged by the Store itself.
        try:
            await self.store.ref.tell(
                LogAction(
                    kind=DECISION_ACTION_KIND,
                    guild_id=action.guild_id,
                    channel_id=action.channel_id,
                    message_id=action.message_id,
                    user_id=action.user_id,
                    content=f"{action.decision}: {action.reason}",
                    metadata=to_json(action.metadata()),
                )
            )
        except (ActorError, StoreRequestError) as exc:
            log.error("could not log decision %s/%s: %s", action.decision, action.reason, exc)

    async def _typing(self, channel_id: int) -> None:
        try:
            await self.deps.bridge.ask(StartTyping(channel_id=channel_id), timeout=10.0)
        except ActorError as exc:
            log.debug("typing indicator failed: %s", exc)

    async def _generate(self, job: ReplyJob, scope: trio.CancelScope) -> None:
        with scope:
            outcome, reason = await generate_reply(
                job,
                self.deps,
                settings=self.brain.settings,
                latest_message_id=lambda: self.brain.latest_message_id,
            )
            await self.ctx.ref.tell(
                GenerationFinished(
                    job_id=job.job_id,
                    outcome=str(outcome),
                    reason=reason,
                    message_ids=job.message_ids,
                    final=outcome != Outcome.FAILED or job.attempt > RETRY_LIMIT,
                )
            )

    async def _acknowledge_stop(self, action: AcknowledgeStop) -> None:
        """A line the model writes, as a reply to the stop request; 🛑 on it when the model
        fails or declines, or the send fails."""
        line, stop = await self._stop_line(action)
        kind, by = "send_failed", "reaction"
        if line is not None:
            try:
                reply = await self.deps.bridge.ask(
                    SendMessage(
                        channel_id=action.channel_id,
                        content=line,
                        reply_to_message_id=action.message_id,
                        allow_user_mentions=False,
                    ),
                    timeout=30.0,
                )
                if isinstance(reply, Sent):
                    kind, by = "stop_acknowledged", "model"
            except ActorError:
                pass
        if by == "reaction":
            try:
                reacted = await self.deps.bridge.ask(
                    AddReaction(
                        channel_id=action.channel_id,
                        message_id=action.message_id,
                        emoji=STOP_REACTION,
                    ),
                    timeout=30.0,
                )
                if line is None and isinstance(reacted, Done):
                    kind = "stop_acknowledged"
            except ActorError as exc:
                log.warning("could not acknowledge a stop request: %s", exc)
        await self.store.log_action(
            LogAction(
                kind=kind,
                guild_id=self.guild_id,
                channel_id=action.channel_id,
                message_id=action.message_id,
                user_id=None if stop is None else stop.author_id,
                content=line if line is not None and by == "model" else STOP_REACTION,
                metadata=to_json(
                    {
                        "by": by,
                        "cancelled_job_id": action.cancelled_job_id,
                        "dropped_message_ids": [str(i) for i in action.dropped_message_ids],
                    }
                ),
            )
        )

    async def _stop_line(self, action: AcknowledgeStop) -> tuple[str | None, MessageRow | None]:
        """The model's acknowledgement line (None: it failed or declined), and the stop
        request as stored."""
        try:
            stop = await self.store.get_message(action.message_id)
        except (ActorError, StoreRequestError):
            stop = None
        settings = self.brain.settings
        prompt = stop_ack_prompt(
            settings,
            author=stop.author_name if stop is not None else "someone",
            request=stop.content if stop is not None else "stop",
        )
        generation = settings.reply_generation
        request = LlmRequest(
            system=(SystemPart(text=prompt.system),),
            messages=(user(prompt.user),),
            max_tokens=STOP_ACK_TOKENS,
            temperature=generation.temperature,
            timeout=STOP_ACK_TIMEOUT,
            prefer=generation.provider,
            prefer_model=generation.model,
            context=CallContext(
                purpose="stop_ack",
                guild_id=self.guild_id,
                channel_id=action.channel_id,
                message_id=action.message_id,
                user_id=None if stop is None else stop.author_id,
            ),
        )
        try:
            response = await LlmClient(self.deps.llm).complete(request)
        except (LlmError, ActorError) as exc:
            log.info("channel %s: no stop acknowledgement from the model: %s", self.channel_id, exc)
            return None, stop
        return read_stop_ack(response.text), stop
