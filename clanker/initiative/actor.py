"""`InitiativeActor`: clanker posts on its own, a few times a day (docs/initiative.md).

A thin loop around `clanker.initiative.policy`. It keeps one scheduler job, ``initiative:tick``
(every 10 minutes; a missed tick is skipped, not caught up) and, on each `RunDue`, for every
server the guild router knows: reads the gates' inputs (the action log, the channels' recent
messages, the live settings), asks `plan_tick`, and when it says `Think` gathers the context
(recent messages, feed candidates, past posts and the replies they got, community interests
from memory), asks the model (a bounded tool loop, then the decision), and carries the decision
out: a post goes through the pacing keeper (global gap and hourly cap), shows typing, and is
sent without pinging anyone; a held thought is kept for a later tick; a dropped one restarts
the gap. Every outcome is an action: ``initiative_post``, ``initiative_hold``,
``initiative_skip`` (with its gate; a gate that merely holds again is logged once, when it
starts holding) and ``feed_fetch`` per source read.

What a fresh incarnation knows: everything that counts is in the Store — posts of the last day
and the last post or dropped thought (the gates), the links already shared (dedupe), the held
thought (the newest ``initiative_hold`` not followed by a post or drop, until it expires), the
job. Only the per-server "last gate logged" is memory, so a restart logs the current gate once.
"""

from __future__ import annotations

import contextlib
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import trio

from clanker.discord.events import (
    BRIDGE_NAME,
    BridgeFailure,
    DiscordMessage,
    FetchHistory,
    SendMessage,
    Sent,
    StartTyping,
)
from clanker.discord.events import History as DiscordHistory
from clanker.feeds import FeedSettings, fetch_candidates
from clanker.feeds.fetch import feed_fetcher
from clanker.feeds.model import FeedResult
from clanker.feeds.sources import Endpoints, parse_weighted_source
from clanker.guilds.media import (
    MediaDeps,
    MediaOrigin,
    MediaOutcome,
    carry_out_media,
    media_possible,
    upload_refused,
)
from clanker.guilds.messages import Directory, GetDirectory, GuildInfo
from clanker.guilds.pacing import PACING_NAME, ReserveSend, SendDone, SendSlot
from clanker.guilds.router import ROUTER_NAME
from clanker.guilds.tool_calls import hourly_left, run_step
from clanker.initiative import policy
from clanker.initiative.policy import (
    ChannelContext,
    ChannelState,
    Decision,
    FeedLine,
    History,
    PastPost,
    Pending,
    PromptParts,
    Skip,
    Think,
)
from clanker.llm import CallContext, LlmClient, LlmError, LlmRequest, SystemPart, user
from clanker.llm.actor import LLM_NAME
from clanker.llm.model import LlmResponse, OutputSchema
from clanker.media.request import MediaRequest, attach_link
from clanker.memory.owners import guild_key
from clanker.memory.service import MEMORY_NAME, Recall, Recalled
from clanker.runtime import (
    Actor,
    ActorContext,
    ActorError,
    ActorRef,
    ChildSpec,
    MailboxSpec,
    Message,
    NotRegistered,
    handles,
)
from clanker.schedule.actor import (
    SCHEDULER_NAME,
    ListJobs,
    RunDone,
    RunDue,
    ScheduleJob,
)
from clanker.schedule.rules import Interval, encode_schedule
from clanker.settings import Settings
from clanker.settings.actor import ask_settings
from clanker.store import (
    ActionRows,
    ActionsQuery,
    LogAction,
    MessageRow,
    MessageRows,
    RecentMessages,
    StoreClient,
    StoreRequestError,
    calendar_now,
    to_iso,
    to_json,
)
from clanker.store.actor import STORE_NAME
from clanker.store.jobs import JobRows
from clanker.text.tool_loop import Answer, ToolBudget, ToolLoop
from clanker.text.tool_registry import Tool, ToolContext, ToolRegistry
from clanker.tools.discovery_tools import discovery_tools
from clanker.tools.fetch import GuardedFetcher

log = logging.getLogger("clanker.initiative")

INITIATIVE_NAME = "initiative"
KIND = "initiative"
JOB_KEY = "initiative:tick"
ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)  # ticks fall on the clock's 10-minute marks
DEDUPE_WINDOW = timedelta(hours=168)  # a link shared in this window is not offered again
PAST_POSTS_WINDOW = timedelta(days=14)
PAST_POSTS_SHOWN = 5
HISTORY_PAGE = 100  # messages asked of Discord per channel for the past posts' replies
LLM_TIMEOUT = 60.0
ASK_TIMEOUT = 10.0
SEND_TIMEOUT = 30.0
RESERVE_TRIES = 5
DECISION_TOKENS = 700
VOICE_LINES = 10  # transcript lines per voice channel in the prompt
VOICE_RECENT = timedelta(hours=6)  # a voice channel quiet longer than this is left out
ENDS_THOUGHT = ("model_drop", "thought_expired")  # skips after which a held thought is gone
INTEREST_QUERY = "what this community is into: interests, hobbies, favourite topics"


class CheckNow(Message, frozen=True):
    """Run the gates (and what they allow) for every server now, as a tick would. Reply:
    `Checked` with each server's outcome (``100: post``, ``100: skip min_gap``)."""


class Checked(Message, frozen=True):
    detail: str


@dataclass(frozen=True)
class InitiativeConfig:
    """Where things are, and what tests pin: ``seed`` for the eagerness roll and the typing
    delay; ``feed_endpoints`` and ``fetcher`` (the sim's, in tests)."""

    store: str = STORE_NAME
    llm: str = LLM_NAME
    pacing: str = PACING_NAME
    bridge: str = BRIDGE_NAME
    router: str = ROUTER_NAME
    scheduler: str = SCHEDULER_NAME
    memory: str = MEMORY_NAME
    tools: ToolRegistry | None = None
    fetcher: GuardedFetcher | None = None
    feed_endpoints: Endpoints | None = None
    media: MediaDeps | None = None  # GIFs and images with a post (None: none)
    seed: int | None = None
    tick_seconds: float = policy.TICK_SECONDS


def initiative_child(config: InitiativeConfig | None = None) -> ChildSpec:
    cfg = config or InitiativeConfig()
    return ChildSpec(INITIATIVE_NAME, lambda: InitiativeActor(cfg), register=INITIATIVE_NAME)


def _meta(row: Any) -> dict[str, Any]:
    try:
        data = msgspec.json.decode(row.metadata)
    except msgspec.DecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


class InitiativeActor(Actor):
    """See the module docstring."""

    mailbox = MailboxSpec(capacity=64)

    def __init__(self, config: InitiativeConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.pending: dict[int, Pending] = {}
        self.last_gate: dict[int, str] = {}
        self._restored: set[int] = set()

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx
        self.store = StoreClient(ctx.lookup(self.config.store))
        ctx.start_soon(self._ensure_job)

    # -- the tick ---------------------------------------------------------------------------

    async def _ensure_job(self) -> None:
        """Put the tick job in the scheduler unless it is there (a paused one stays paused)."""
        for attempt in range(30):
            try:
                scheduler = self.ctx.lookup(self.config.scheduler)
                jobs = await scheduler.ask(ListJobs(kind=KIND), JobRows, timeout=ASK_TIMEOUT)
                if any(j.job_key == JOB_KEY for j in jobs.rows):
                    return
                schedule = Interval(every_seconds=self.config.tick_seconds, anchor=ANCHOR)
                await scheduler.ask(
                    ScheduleJob(
                        job_key=JOB_KEY,
                        kind=KIND,
                        schedule=encode_schedule(schedule),
                        catch_up="skip",
                        title="initiative posts: check the gates",
                    ),
                    timeout=ASK_TIMEOUT,
                )
                return
            except (ActorError, NotRegistered, trio.TooSlowError) as exc:
                log.info("initiative: the scheduler is not there yet (%s); try %d", exc, attempt)
                await trio.sleep(1.0)
        log.warning("initiative: could not schedule %s", JOB_KEY)

    @handles(CheckNow)
    async def check_now(self, msg: CheckNow) -> Checked:
        """The operator's "check now": the same as a tick, outside the schedule."""
        return Checked(detail=await self._tick())

    @handles(RunDue)
    async def run_due(self, msg: RunDue) -> None:
        ok, detail = True, ""
        try:
            detail = await self._tick()
        except (ActorError, NotRegistered, trio.TooSlowError) as exc:
            ok, detail = False, f"{type(exc).__name__}: {exc}"
            log.warning("initiative tick failed: %s", detail)
        try:
            self.ctx.lookup(self.config.scheduler).try_tell(
                RunDone(run_id=msg.run_id, ok=ok, detail=detail[:1000])
            )
        except (ActorError, NotRegistered) as exc:
            log.warning("initiative: could not report run %d: %s", msg.run_id, exc)

    async def _tick(self) -> str:
        settings = await ask_settings(self.ctx, timeout=ASK_TIMEOUT)
        if settings is None:
            return "nothing checked: the settings actor did not answer"
        directory = await self.ctx.lookup(self.config.router).ask(
            GetDirectory(), Directory, timeout=ASK_TIMEOUT
        )
        if directory.identity is None:
            return "not logged in yet"
        outcomes = []
        for guild in directory.guilds:
            outcome = await self._guild_tick(guild, directory.identity.user_id, settings)
            outcomes.append(f"{guild.guild_id}: {outcome}")
        return "; ".join(outcomes) or "no server"

    # -- one server -------------------------------------------------------------------------

    async def _guild_tick(self, guild: GuildInfo, bot_id: int, settings: Settings) -> str:
        ini = settings.initiative
        now = calendar_now()
        gid = guild.guild_id
        if gid not in self._restored:
            await self._restore_pending(gid, now)
            self._restored.add(gid)
        history = await self._history(gid, now, ini.min_minutes_between_posts)
        text_ids = {c.channel_id: c for c in guild.channels if c.kind == "text"}
        recents: dict[int, tuple[MessageRow, ...]] = {}
        states = []
        for cid in ini.channel_ids:
            if cid not in text_ids:
                states.append(ChannelState(cid, known=False))
                continue
            rows = await self._recent(cid, ini.lookback_messages)
            recents[cid] = rows
            states.append(
                ChannelState(cid, last_author_is_bot=bool(rows) and rows[-1].author_id == bot_id)
            )
        perms = settings.permissions
        blocked = list(perms.blocked_channel_ids)
        if perms.allowed_channel_ids:
            blocked += [c for c in ini.channel_ids if c not in perms.allowed_channel_ids]
        channels = policy.eligible_channels(ini, states, blocked=blocked)
        pending = self.pending.get(gid)
        plan = policy.plan_tick(
            ini,
            now=now,
            history=history,
            channels=channels,
            pending=pending,
            roll=self.rng.random() * 100.0,
        )
        if isinstance(plan, Skip):
            if plan.gate == "thought_expired":
                self.pending.pop(gid, None)
            await self._log_skip(gid, None, plan.gate, plan.reason, quiet=True)
            return f"skip {plan.gate}"
        return await self._think(guild, bot_id, settings, plan, recents, now)

    async def _think(
        self,
        guild: GuildInfo,
        bot_id: int,
        settings: Settings,
        plan: Think,
        recents: dict[int, tuple[MessageRow, ...]],
        now: datetime,
    ) -> str:
        ini = settings.initiative
        gid = guild.guild_id
        names = {c.channel_id: c.name for c in guild.channels}
        feed = await self._feed(gid, ini, now)
        feed_lines = tuple(
            FeedLine(
                title=c.title,
                url=c.url,
                source=c.source,
                age_hours=max(0.0, (now - c.published).total_seconds() / 3600),
                points=c.points,
            )
            for c in (feed.candidates if feed is not None else ())
        )
        channels = tuple(
            ChannelContext(
                channel_id=cid,
                name=names.get(cid, str(cid)),
                lines=tuple(
                    f"[{r.message_id}] {r.author_name}{' (you)' if r.author_id == bot_id else ''}: "
                    f"{r.content[:300]}"
                    for r in recents.get(cid, ())
                ),
            )
            for cid in plan.channels
        )
        parts = PromptParts(
            bot_name=settings.identity.bot_name,
            persona=settings.persona.flavor,
            guild_name=guild.name,
            channels=channels,
            feed=feed_lines,
            feed_sources=ini.feed_sources,
            past_posts=await self._past_posts(gid, names, now),
            interests=await self._interests(gid),
            pending=plan.pending,
            now=now.strftime("%A %Y-%m-%d %H:%M UTC"),
            tools=tuple(t.name for t in self._offered_tools(settings)),
            voice=await self._voice(guild, bot_id, now),
            media=await self._media_kinds(settings),
        )
        system, prompt = policy.initiative_prompt(parts)
        try:
            response = await self._decide(gid, plan.channels[0], settings, system, prompt)
        except (LlmError, ActorError, trio.TooSlowError) as exc:
            await self._log_skip(gid, None, "model_error", f"the model call failed: {exc}")
            return "skip model_error"
        try:
            decision = policy.read_decision(
                response.text,
                channels=plan.channels,
                message_ids={cid: [r.message_id for r in recents.get(cid, ())] for cid in recents},
                feed_urls=[line.url for line in feed_lines],
            )
        except ValueError as exc:
            await self._log_skip(gid, None, "bad_decision", f"{exc}: {response.text[:300]!r}")
            return "skip bad_decision"
        if decision.action == "drop":
            self.pending.pop(gid, None)
            await self._log_skip(gid, decision.channel_id, "model_drop", decision.reason)
            return "drop"
        if decision.action == "hold":
            earlier = plan.pending
            first = earlier.first_held_at if earlier is not None else now
            revision = earlier.revision + 1 if earlier is not None else 1
            held = Pending(
                gid, decision.channel_id, decision.text, decision.reason, first, revision
            )
            self.pending[gid] = held
            await self._log_hold(held)
            self.last_gate.pop(gid, None)
            return "hold"
        return await self._post(gid, bot_id, settings, decision)

    # -- the model --------------------------------------------------------------------------

    def _offered_tools(self, settings: Settings) -> list[Tool]:
        """``initiative.tools`` that replies may call too, and the discovery-source tools
        while curation is allowed."""
        ini = settings.initiative
        if not settings.tools.enabled or ini.max_tool_calls == 0:
            return []
        registry = self.config.tools
        offered = (
            [t for t in registry.enabled(settings.tools.off()) if t.name in ini.tools]
            if registry is not None
            else []
        )
        if ini.allow_self_curation:
            offered += [t for t in discovery_tools() if t.name not in settings.tools.off()]
        return offered

    async def _decide(
        self, gid: int, channel_id: int, settings: Settings, system: str, prompt: str
    ) -> LlmResponse:
        generation = settings.reply_generation
        ini = settings.initiative
        offered = self._offered_tools(settings)
        context = CallContext(purpose="initiative", guild_id=gid, channel_id=channel_id)
        limits = {t.name: settings.tools.hourly_limit(t.name, t.per_hour) for t in offered}
        loop = ToolLoop(
            (user(prompt),),
            budget=ToolBudget(ini.max_tool_steps, ini.max_tool_calls)
            if offered
            else ToolBudget(0, 0),
            hourly_left=await hourly_left(self.store, offered, limits) if offered else {},
        )
        specs = tuple(t.spec for t in offered)
        client = LlmClient(self.ctx.lookup(self.config.llm))
        tool_context = ToolContext(
            guild_id=gid,
            channel_id=channel_id,
            message_id=0,
            user_id=0,
            lookup=self.ctx.lookup,
            recall_owners=(guild_key(gid),),
            services=self._service,
            settings=settings,
        )
        while True:
            request = LlmRequest(
                system=(SystemPart(text=system),),
                messages=loop.messages(),
                tools=specs,
                tool_choice=loop.tool_choice() if specs else "auto",
                max_tokens=DECISION_TOKENS,
                temperature=generation.temperature,
                timeout=LLM_TIMEOUT,
                prefer=generation.provider,
                prefer_model=generation.model,
                # the schema is the contract when no tools are offered (providers take one or
                # the other well); with tools, the prompt states it and the answer is read
                # leniently
                output_schema=None
                if specs
                else OutputSchema(name="initiative_decision", schema=policy.DECISION_SCHEMA),
                context=context,
            )
            response = await client.complete(request)
            step = loop.on_response(response)
            if isinstance(step, Answer):
                return response
            results = await run_step(
                step,
                ToolRegistry(offered),
                tool_context,
                store=self.store,
                timeout=settings.tools.call_timeout_seconds,
                job_id=0,
            )
            loop.on_results(results, [])

    def _service(self, name: str) -> ActorRef | None:
        try:
            return self.ctx.lookup(name)
        except NotRegistered:
            return None

    # -- posting ----------------------------------------------------------------------------

    async def _post(self, gid: int, bot_id: int, settings: Settings, decision: Decision) -> str:
        media = MediaOutcome()
        if decision.media != "none":  # made first: an image takes longer than a send slot lasts
            media = await carry_out_media(
                MediaRequest(kind=decision.media, prompt=decision.media_prompt),
                self.config.media,
                settings.media,
                store=self.store,
                job=MediaOrigin(0, gid, decision.channel_id, None, bot_id),
            )
        text = attach_link((decision.text,), media.link)[0] if media.link else decision.text
        slot = await self._reserve(settings)
        if isinstance(slot, str):
            # keep the thought: the next tick may post it
            now = calendar_now()
            earlier = self.pending.get(gid)
            self.pending[gid] = Pending(
                gid,
                decision.channel_id,
                decision.text,
                f"was ready to post, held by pacing ({slot})",
                earlier.first_held_at if earlier is not None else now,
                earlier.revision + 1 if earlier is not None else 1,
            )
            await self._log_skip(gid, decision.channel_id, "pacing", f"pacing: {slot}")
            await self._log_hold(self.pending[gid])
            return "skip pacing"
        bridge = self.ctx.lookup(self.config.bridge)
        with contextlib.suppress(ActorError):
            bridge.try_tell(StartTyping(channel_id=decision.channel_id))
        low, high = policy.TYPING_DELAY
        await trio.sleep(self.rng.uniform(low, high))
        command = SendMessage(
            channel_id=decision.channel_id,
            content=text,
            reply_to_message_id=decision.reply_to_message_id,
            allow_user_mentions=False,
            files=media.files,
            start_by=slot.start_by if slot is not None else None,
        )
        # Committed before the send, as replies do: a pacing keeper restarted meanwhile holds
        # the gate for a send that may be going out (no trigger ids: nothing to resume).
        await self._log(
            LogAction(
                kind="send_started",
                guild_id=gid,
                channel_id=decision.channel_id,
                content="initiative post",
                metadata=to_json({"source": "initiative"}),
            )
        )
        result = await self._send(bridge, command)
        if media.files and upload_refused(result):  # Discord refused the file: the text alone
            result = await self._send(bridge, msgspec.structs.replace(command, files=()))
        sent_at = trio.current_time() if isinstance(result, Sent) else None
        if slot is not None:
            try:
                self.ctx.lookup(self.config.pacing).try_tell(
                    SendDone(token=slot.token, reserved_at=slot.at, sent_at=sent_at)
                )
            except (ActorError, NotRegistered) as exc:
                log.warning("initiative: could not tell pacing the send is done: %s", exc)
        if not isinstance(result, Sent):
            detail = result.detail if isinstance(result, BridgeFailure) else repr(result)
            await self._log_skip(gid, decision.channel_id, "send_failed", detail)
            return "skip send_failed"
        self.pending.pop(gid, None)
        self.last_gate.pop(gid, None)
        await self._log(
            LogAction(
                kind="initiative_post",
                guild_id=gid,
                channel_id=decision.channel_id,
                message_id=result.message.message_id,
                user_id=bot_id,
                content=decision.text,
                metadata=to_json(
                    {
                        "reason": decision.reason,
                        "source_url": decision.source_url,
                        "reply_to": None
                        if decision.reply_to_message_id is None
                        else str(decision.reply_to_message_id),
                        "media": decision.media,
                        "media_prompt": decision.media_prompt or None,
                        "media_posted": bool(media.link or media.files),
                    }
                ),
            )
        )
        return "post"

    async def _send(self, bridge: ActorRef, command: SendMessage) -> object:
        try:
            result: object = await bridge.ask(command, timeout=SEND_TIMEOUT)
        except (ActorError, trio.TooSlowError) as exc:
            result = BridgeFailure(command="SendMessage", status=None, code=None, detail=str(exc))
        return result

    async def _reserve(self, settings: Settings) -> SendSlot | str | None:
        """The pacing keeper's slot; the reason not to send; None: no keeper answers."""
        request = ReserveSend(
            min_gap=settings.activity.min_gap_seconds,
            cap=settings.permissions.max_messages_per_hour,
        )
        for _ in range(RESERVE_TRIES):
            try:
                keeper = self.ctx.lookup(self.config.pacing)
                slot = await keeper.ask(request, SendSlot, timeout=ASK_TIMEOUT)
            except (ActorError, NotRegistered, trio.TooSlowError) as exc:
                log.warning("initiative: the pacing keeper did not answer: %s", exc)
                return None
            if slot.granted:
                return slot
            if slot.refused is not None:
                return slot.refused
            await trio.sleep(slot.wait)
        return "the global gap kept another send first"

    # -- reading the Store --------------------------------------------------------------------

    async def _actions(self, kind: str, gid: int, since: datetime, limit: int = 500) -> Any:
        reply = await self.store.ref.ask(
            ActionsQuery(kind=kind, guild_id=gid, since=to_iso(since), limit=limit),
            ActionRows,
            timeout=ASK_TIMEOUT,
        )
        return reply.rows

    async def _history(self, gid: int, now: datetime, gap_minutes: int) -> History:
        window = max(timedelta(days=1), timedelta(minutes=gap_minutes))
        posts = await self._actions("initiative_post", gid, now - window)
        drops = [
            r
            for r in await self._actions("initiative_skip", gid, now - window)
            if _meta(r).get("gate") == "model_drop"
        ]
        marks = [_at(r.created_at) for r in (*posts, *drops)]
        return History(
            posts=tuple(_at(r.created_at) for r in posts), last_gap_mark=max(marks, default=None)
        )

    async def _restore_pending(self, gid: int, now: datetime) -> None:
        """An earlier incarnation's held thought, if it still stands."""
        since = now - policy.PENDING_MAX_AGE
        holds = await self._actions("initiative_hold", gid, since, limit=1)
        if not holds:
            return
        hold = holds[0]
        later = [
            r
            for kind in ("initiative_post", "initiative_skip")
            for r in await self._actions(kind, gid, _at(hold.created_at), limit=50)
            if r.id > hold.id
            and (kind == "initiative_post" or _meta(r).get("gate") in ENDS_THOUGHT)
        ]
        if later or hold.channel_id is None:
            return
        meta = _meta(hold)
        first = meta.get("first_held_at")
        self.pending[gid] = Pending(
            gid,
            hold.channel_id,
            hold.content,
            str(meta.get("reason", "")),
            _at(first) if isinstance(first, str) else _at(hold.created_at),
            int(meta.get("revision", 1)),
        )

    async def _recent(self, channel_id: int, limit: int) -> tuple[MessageRow, ...]:
        reply = await self.store.ref.ask(
            RecentMessages(channel_id=channel_id, limit=limit), MessageRows, timeout=ASK_TIMEOUT
        )
        return reply.rows

    async def _media_kinds(self, settings: Settings) -> tuple[str, ...]:
        gif, image = await media_possible(self.store, self.config.media, settings.media)
        return tuple(kind for kind, ok in (("gif", gif), ("image", image)) if ok)

    async def _voice(
        self, guild: GuildInfo, bot_id: int, now: datetime
    ) -> tuple[ChannelContext, ...]:
        """What was said lately in the server's voice channels (the voice brain stores each
        transcribed line under its voice channel): their last lines, if spoken recently."""
        out = []
        for channel in guild.channels:
            if channel.kind not in ("voice", "stage_voice"):
                continue
            rows = await self._recent(channel.channel_id, VOICE_LINES)
            if not rows or now - _at(rows[-1].created_at) > VOICE_RECENT:
                continue
            lines = tuple(
                f"{'You' if r.author_id == bot_id else r.author_name}: {r.content[:200]}"
                for r in rows
            )
            out.append(ChannelContext(channel.channel_id, channel.name, lines))
        return tuple(out)

    async def _past_posts(
        self, gid: int, names: dict[int, str], now: datetime
    ) -> tuple[PastPost, ...]:
        posts = await self._actions("initiative_post", gid, now - PAST_POSTS_WINDOW, limit=50)
        out = []
        live: dict[int, dict[int, DiscordMessage] | None] = {}
        stored: dict[int, tuple[MessageRow, ...]] = {}
        for row in posts[:PAST_POSTS_SHOWN]:
            cid = row.channel_id
            if cid is None or row.message_id is None:
                continue
            if cid not in live:
                live[cid] = await self._history_of(cid)
            seen = live[cid]
            reactions = None
            if seen is not None and row.message_id in seen:
                # Discord's own view: the replies after it, the reactions on it
                replies = sum(1 for m in seen.values() if m.reply_to_message_id == row.message_id)
                reactions = sum(r.count for r in seen[row.message_id].reactions)
            else:  # the bridge cannot say (or the post is older than its page): the Store
                if cid not in stored:
                    stored[cid] = await self._recent(cid, 200)
                replies = sum(1 for m in stored[cid] if m.reply_to_message_id == row.message_id)
            source = _meta(row).get("source_url")
            out.append(
                PastPost(
                    channel_name=names.get(cid, str(cid)),
                    text=row.content,
                    replies=replies,
                    source=source if isinstance(source, str) else None,
                    reactions=reactions,
                )
            )
        return tuple(out)

    async def _history_of(self, channel_id: int) -> dict[int, DiscordMessage] | None:
        """The channel's latest messages as Discord has them (reactions included), or None."""
        try:
            reply = await self.ctx.lookup(self.config.bridge).ask(
                FetchHistory(channel_id=channel_id, limit=HISTORY_PAGE), timeout=ASK_TIMEOUT
            )
        except (ActorError, NotRegistered, trio.TooSlowError) as exc:
            log.info("initiative: no history of channel %d: %s", channel_id, exc)
            return None
        if not isinstance(reply, DiscordHistory):
            return None
        return {m.message_id: m for m in reply.messages}

    async def _interests(self, gid: int) -> tuple[str, ...]:
        memory = self._service(self.config.memory)
        if memory is None:
            return ()
        try:
            found = await memory.ask(
                Recall(owner_keys=(guild_key(gid),), query=INTEREST_QUERY, limit=8),
                Recalled,
                timeout=ASK_TIMEOUT,
            )
        except (ActorError, trio.TooSlowError) as exc:
            log.info("initiative: no community facts from memory: %s", exc)
            return ()
        return tuple(f.fact for f in found.facts)

    async def _feed(self, gid: int, ini: Any, now: datetime) -> FeedResult | None:
        if not ini.feed_sources:
            return None
        sources = [parse_weighted_source(text) for text in ini.feed_sources]
        shared = [
            str(_meta(r).get("source_url"))
            for r in await self._actions("initiative_post", gid, now - DEDUPE_WINDOW)
            if _meta(r).get("source_url")
        ]
        settings = FeedSettings(
            max_candidates=ini.max_feed_candidates,
            endpoints=self.config.feed_endpoints or Endpoints(),
        )
        result = await fetch_candidates(
            sources, shared, now, settings, fetcher=self.config.fetcher or feed_fetcher(settings)
        )
        for source, report in zip(sources, result.reports, strict=False):
            await self._log(
                LogAction(
                    kind="feed_fetch",
                    guild_id=gid,
                    content=report.label or report.source,
                    metadata=to_json(
                        {
                            "source": report.source,
                            "kind": source.kind,
                            "items": report.entries,
                            "fresh": report.entries - report.dropped.get("too_old", 0),
                            "new": report.kept,
                            "dropped": report.dropped,
                            "error": report.error,
                        }
                    ),
                )
            )
        return result

    # -- logging ------------------------------------------------------------------------------

    async def _log_skip(
        self, gid: int, channel_id: int | None, gate: str, reason: str, *, quiet: bool = False
    ) -> None:
        """``quiet``: a gate that holds tick after tick is logged when it starts holding."""
        if quiet and self.last_gate.get(gid) == gate:
            return
        self.last_gate[gid] = gate
        await self._log(
            LogAction(
                kind="initiative_skip",
                guild_id=gid,
                channel_id=channel_id,
                metadata=to_json({"gate": gate, "reason": reason}),
            )
        )

    async def _log_hold(self, held: Pending) -> None:
        await self._log(
            LogAction(
                kind="initiative_hold",
                guild_id=held.guild_id,
                channel_id=held.channel_id,
                content=held.text,
                metadata=to_json(
                    {
                        "reason": held.reason,
                        "revision": held.revision,
                        "first_held_at": to_iso(held.first_held_at),
                    }
                ),
            )
        )

    async def _log(self, action: LogAction) -> None:
        try:
            await self.store.log_action(action)
        except (ActorError, StoreRequestError) as exc:
            log.warning("initiative: could not log %s: %s", action.kind, exc)
