"""`Reflector`: learns facts from what was said, on its own, through the Llm actor.

Thin around `clanker.memory.reflection` (when, what is asked, what is kept) and
`clanker.memory.journal` (the lines). It owns no state a restart would lose: every run is an
action (``memory_reflection``) whose metadata says where it stopped, and a fresh incarnation
reads those back.

* **Micro** (a channel): every ``poll_seconds`` (60 s of trio time) it reads the guild messages
  stored in the last ``memory.reflection.window_minutes`` and, per channel, asks
  `micro_due` against the channel's mark (its last micro run's last message, from the action
  log). A due channel is reflected on: its lines, the facts already remembered about the people
  in it, the guild and the bot, one model call with the strict `REFLECTION_SCHEMA`, then each
  kept fact through the memory service's `Remember` (mode ``minimal``, evidence = message ids).
  A failed call is logged and the channel waits ``quiet_minutes`` before it is tried again.
* **Daily** (a guild's day): the scheduler's ``memory:daily_reflection`` job fires at
  ``memory.reflection.hour:minute`` in ``timezone``; each past day of the last
  ``backfill_days`` with messages and no finished daily run for that guild is reflected on (in
  parts of `MAX_PROMPT_CHARS`), in the background (the run is reported to the scheduler when
  planned). A day is done once: its action marks it.
* `ReflectNow` — the operator's button: a channel now (whatever the waits), or a guild's day.

Runs never overlap (one lock). DMs are never reflected on (memory from a DM grows only through
``memory_write``, in that user's scope).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import msgspec
import trio

from clanker.guilds.messages import Directory, GetDirectory
from clanker.llm import CallContext, LlmClient, LlmError, LlmRequest, SystemPart, user
from clanker.llm.actor import LLM_NAME
from clanker.llm.model import OutputSchema
from clanker.memory import journal
from clanker.memory.reflection import (
    ACTION_KIND,
    MAX_PROMPT_CHARS,
    REFLECTION_SCHEMA,
    ChannelMark,
    Existing,
    MicroDue,
    MicroRule,
    Proposed,
    Run,
    Trigger,
    micro_due,
    prompt,
    read_facts,
)
from clanker.memory.service import MEMORY_NAME, Remember, Remembered, RememberRefused
from clanker.runtime import (
    Actor,
    ActorContext,
    ActorError,
    ChildSpec,
    MailboxSpec,
    Message,
    NotRegistered,
    handles,
)
from clanker.schedule.actor import (
    SCHEDULER_NAME,
    JobScheduled,
    ListJobs,
    RunDone,
    RunDue,
    ScheduleJob,
    ScheduleRefused,
)
from clanker.schedule.rules import Daily, encode_schedule
from clanker.settings import Settings
from clanker.settings.actor import ask_settings
from clanker.settings.model import MemoryReflection
from clanker.store import (
    ActionRows,
    ActionsQuery,
    GuildIds,
    LogAction,
    MessageGuilds,
    MessageRow,
    MessageRows,
    MessagesBetween,
    StoreClient,
    StoreRequestError,
    calendar_now,
    to_iso,
    to_json,
)
from clanker.store.actor import STORE_NAME
from clanker.store.facts import FactRows, GetFacts
from clanker.store.jobs import JobRows

log = logging.getLogger("clanker.memory.reflector")

REFLECTOR_NAME = "memory_reflector"
KIND = "memory_reflection"  # the scheduler's job kind
JOB_KEY = "memory:daily_reflection"
POLL_SECONDS = 60.0
LLM_TIMEOUT = 90.0
ASK_TIMEOUT = 10.0
ANSWER_TOKENS = 1500
PAGE = 500
MAX_ROWS = 10_000  # messages read per window or day, at most (the oldest first)
MAX_PARTS = 4  # parts of a long day reflected on, at most
DONE = ("done", "empty")


class ReflectNow(Message, frozen=True):
    """The operator's "reflect now": ``channel_id``'s recent talk (whatever the waits), or
    the guild's ``day`` (``YYYY-MM-DD``, default yesterday in the reflection's time zone),
    even if it was done. Reply: `Reflected`."""

    guild_id: int
    channel_id: int | None = None
    day: str | None = None

    def __post_init__(self) -> None:
        if self.guild_id < 1 or (self.channel_id is not None and self.channel_id < 1):
            raise ValueError("ReflectNow needs positive guild_id and channel_id")
        if self.day is not None:
            try:
                date.fromisoformat(self.day)
            except ValueError:
                raise ValueError(f"ReflectNow.day must be YYYY-MM-DD, got {self.day!r}") from None


class Reflected(Message, frozen=True):
    outcome: str  # done | empty | failed | nothing (nothing to reflect on)
    detail: str
    fact_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class ReflectorConfig:
    store: str = STORE_NAME
    llm: str = LLM_NAME
    memory: str = MEMORY_NAME
    scheduler: str = SCHEDULER_NAME
    router: str = "guilds"  # asked who clanker is (its own messages are no person's)
    poll_seconds: float = POLL_SECONDS


def reflector_child(config: ReflectorConfig | None = None) -> ChildSpec:
    cfg = config or ReflectorConfig()
    return ChildSpec(
        REFLECTOR_NAME, lambda: Reflector(cfg), register=REFLECTOR_NAME, mailbox=Reflector.mailbox
    )


def _now() -> datetime:
    """The calendar now, to the millisecond the Store keeps its times in."""
    return datetime.fromisoformat(to_iso(calendar_now()))


def _meta(text: str) -> dict[str, Any]:
    try:
        data = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class _Outcome:
    outcome: str
    fact_ids: list[int]
    written: int = 0
    merged: int = 0
    refused: int = 0
    problems: list[str] | None = None
    error: str | None = None
    usd: float = 0.0
    model: str = ""


class Reflector(Actor):
    """See the module docstring."""

    mailbox = MailboxSpec(capacity=32)

    def __init__(self, config: ReflectorConfig) -> None:
        self.config = config
        self.marks: dict[int, ChannelMark | None] = {}  # channel -> mark (None: never run)
        self.retry_at: dict[int, datetime] = {}  # channel -> not before (after a failure)
        self.lock = trio.Lock()
        self.scheduled: str | None = None  # the daily schedule put in the scheduler
        self.bot_id: int | None = None  # clanker's own user id, once the router knows it

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx
        self.store = StoreClient(ctx.lookup(self.config.store), timeout=ASK_TIMEOUT)
        ctx.start_soon(self._poll_loop)

    # -- settings and the daily job ----------------------------------------------------------

    async def _settings(self) -> Settings:
        return await ask_settings(self.ctx) or Settings()

    async def _ensure_job(self, r: MemoryReflection) -> None:
        """The daily job as the settings say (a paused one stays paused; a changed time or
        zone replaces it)."""
        schedule = encode_schedule(Daily(hour=r.hour, minute=r.minute, tz=r.timezone))
        if schedule == self.scheduled:
            return
        scheduler = self.ctx.lookup(self.config.scheduler)
        jobs = await scheduler.ask(ListJobs(kind=KIND), JobRows, timeout=ASK_TIMEOUT)
        current = next((j for j in jobs.rows if j.job_key == JOB_KEY), None)
        if current is None or current.schedule != schedule:
            if current is not None and current.status == "paused":
                self.scheduled = current.schedule
                return  # the operator paused it: leave it as it is
            reply = await scheduler.ask(
                ScheduleJob(
                    job_key=JOB_KEY,
                    kind=KIND,
                    schedule=schedule,
                    catch_up="once",
                    title="memory: reflect on each server's past days",
                ),
                timeout=ASK_TIMEOUT,
            )
            if isinstance(reply, ScheduleRefused) or not isinstance(reply, JobScheduled):
                log.warning("reflection: daily job refused: %s", reply.reason)
                return
        self.scheduled = schedule

    # -- micro: the poll ---------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        while True:
            try:
                await self._poll()
            except (ActorError, NotRegistered, StoreRequestError, trio.TooSlowError) as exc:
                log.info("reflection: poll skipped: %s", exc)
            await trio.sleep(self.config.poll_seconds)

    async def _poll(self) -> None:
        settings = await self._settings()
        r = settings.memory.reflection
        try:
            await self._ensure_job(r)
        except (ActorError, NotRegistered, trio.TooSlowError) as exc:
            log.info("reflection: the scheduler is not there yet: %s", exc)
        if not r.enabled:
            return
        now = _now()
        rule = self._rule(settings)
        by_channel = await self._window_rows(now, rule)
        for channel_id, rows in sorted(by_channel.items()):
            if self.retry_at.get(channel_id, now) > now:
                continue
            due = micro_due(rows, await self._mark(channel_id), now, rule)
            if due is not None:
                await self._micro(rows[0].guild_id or 0, channel_id, due, settings)

    def _rule(self, settings: Settings) -> MicroRule:
        r = settings.memory.reflection
        return MicroRule.of(
            r.quiet_minutes, r.window_minutes, settings.reply_generation.context_messages
        )

    async def _window_rows(
        self, now: datetime, rule: MicroRule, guild_id: int | None = None
    ) -> dict[int, list[MessageRow]]:
        rows = await self._between(
            to_iso(now - rule.window), to_iso(now + timedelta(seconds=1)), guild_id
        )
        by_channel: dict[int, list[MessageRow]] = defaultdict(list)
        for row in rows:
            if row.guild_id is not None:
                by_channel[row.channel_id].append(row)
        return by_channel

    async def _own_id(self) -> int | None:
        """Clanker's user id (from the router's directory; a user account's own messages are
        not flagged as a bot's by Discord), asked until it is known."""
        if self.bot_id is None:
            try:
                directory = await self.ctx.lookup(self.config.router).ask(
                    GetDirectory(), Directory, timeout=ASK_TIMEOUT
                )
            except (ActorError, NotRegistered, trio.TooSlowError) as exc:
                log.info("reflection: who clanker is is not known yet: %s", exc)
                return None
            if directory.identity is not None:
                self.bot_id = directory.identity.user_id
        return self.bot_id

    async def _between(self, start: str, end: str, guild_id: int | None) -> list[MessageRow]:
        rows: list[MessageRow] = []
        after: int | None = None
        while len(rows) < MAX_ROWS:
            page = await self.store.ref.ask(
                MessagesBetween(
                    start=start, end=end, guild_id=guild_id, limit=PAGE, after_id=after
                ),
                MessageRows,
                timeout=ASK_TIMEOUT,
            )
            rows += page.rows
            if len(page.rows) < PAGE:
                break
            after = page.rows[-1].message_id
        return journal.mark_own(rows[-MAX_ROWS:], await self._own_id())

    async def _mark(self, channel_id: int) -> ChannelMark | None:
        if channel_id in self.marks:
            return self.marks[channel_id]
        reply = await self.store.ref.ask(
            ActionsQuery(kind=ACTION_KIND, channel_id=channel_id, limit=20),
            ActionRows,
            timeout=ASK_TIMEOUT,
        )
        mark = None
        for row in reply.rows:  # newest first
            meta = _meta(row.metadata)
            last, stored = meta.get("last_message_id"), meta.get("last_stored_at")
            if meta.get("run") == "micro" and meta.get("outcome") in DONE and last and stored:
                mark = ChannelMark(int(last), str(stored), datetime.fromisoformat(row.created_at))
                break
        self.marks[channel_id] = mark
        return mark

    async def _micro(
        self, guild_id: int, channel_id: int, due: MicroDue, settings: Settings
    ) -> _Outcome:
        r = settings.memory.reflection
        async with self.lock:
            started = _now()
            rows = list(due.rows)
            result = await self._reflect(
                "micro",
                rows,
                guild_id=guild_id,
                channel_id=channel_id,
                settings=settings,
                max_facts=r.max_facts_per_channel,
                where=f"channel {channel_id} of server {guild_id}",
            )
            last = rows[-1]
            meta: dict[str, Any] = {
                "run": "micro",
                "trigger": due.trigger,
                "from": rows[0].stored_at or rows[0].created_at,
                "to": last.stored_at or last.created_at,
                "messages": len(rows),
                "last_message_id": last.message_id,
                "last_stored_at": last.stored_at or last.created_at,
            }
            await self._log(guild_id, channel_id, meta, result)
            if result.outcome in DONE:
                self.marks[channel_id] = ChannelMark(
                    last.message_id, last.stored_at or last.created_at, started
                )
                self.retry_at.pop(channel_id, None)
            else:
                self.retry_at[channel_id] = started + timedelta(minutes=r.quiet_minutes)
            return result

    # -- daily -------------------------------------------------------------------------------

    @handles(RunDue)
    async def run_due(self, msg: RunDue) -> None:
        ok, detail = True, ""
        try:
            settings = await self._settings()
            if not settings.memory.reflection.enabled:
                detail = "not run: memory.reflection.enabled is off"
            else:
                plan = await self._daily_plan(settings)
                detail = f"{len(plan)} server-days to reflect on"
                self.ctx.start_soon(self._daily_all, plan)
        except (ActorError, NotRegistered, StoreRequestError, trio.TooSlowError) as exc:
            ok, detail = False, f"{type(exc).__name__}: {exc}"
            log.warning("reflection: daily run not planned: %s", detail)
        try:
            self.ctx.lookup(self.config.scheduler).try_tell(
                RunDone(run_id=msg.run_id, ok=ok, detail=detail[:1000])
            )
        except (ActorError, NotRegistered) as exc:
            log.warning("reflection: could not report run %d: %s", msg.run_id, exc)

    async def _daily_plan(self, settings: Settings) -> list[tuple[int, date]]:
        """Every (guild, past day) with messages and no finished daily run, oldest first."""
        r = settings.memory.reflection
        today = journal.local_day(calendar_now(), r.timezone)
        days = journal.past_days(today, r.backfill_days)
        done = await self._done_days(to_iso(calendar_now() - timedelta(days=r.backfill_days + 2)))
        plan: list[tuple[int, date]] = []
        for day in days:
            start, end = journal.day_bounds(day, r.timezone)
            found = await self.store.ref.ask(
                MessageGuilds(start=start, end=end), GuildIds, timeout=ASK_TIMEOUT
            )
            plan += [(g, day) for g in found.guild_ids if (g, day.isoformat()) not in done]
        return plan

    async def _done_days(self, since: str) -> set[tuple[int, str]]:
        done: set[tuple[int, str]] = set()
        offset = 0
        while True:
            page = await self.store.ref.ask(
                ActionsQuery(kind=ACTION_KIND, since=since, limit=500, offset=offset),
                ActionRows,
                timeout=ASK_TIMEOUT,
            )
            for row in page.rows:
                meta = _meta(row.metadata)
                if meta.get("run") == "daily" and meta.get("outcome") in DONE and row.guild_id:
                    done.add((row.guild_id, str(meta.get("day"))))
            if len(page.rows) < 500:
                return done
            offset += 500

    async def _daily_all(self, plan: list[tuple[int, date]]) -> None:
        for guild_id, day in plan:
            try:
                await self._daily(guild_id, day, await self._settings(), "schedule")
            except (ActorError, NotRegistered, StoreRequestError, trio.TooSlowError) as exc:
                log.warning("reflection: %s of %d not reflected on: %s", day, guild_id, exc)

    async def _daily(
        self, guild_id: int, day: date, settings: Settings, trigger: Trigger
    ) -> _Outcome:
        r = settings.memory.reflection
        async with self.lock:
            start, end = journal.day_bounds(day, r.timezone)
            rows = await self._between(start, end, guild_id)
            parts = _parts(rows)
            left = r.max_facts_per_day
            total = _Outcome("empty", [])
            for n, part in enumerate(parts[:MAX_PARTS]):
                if left <= 0:
                    break
                got = await self._reflect(
                    "daily",
                    part,
                    guild_id=guild_id,
                    channel_id=None,
                    settings=settings,
                    max_facts=left,
                    where=f"server {guild_id}, {day.isoformat()} ({r.timezone}), part "
                    f"{n + 1} of {min(len(parts), MAX_PARTS)}",
                )
                total = _merge(total, got)
                left -= got.written + got.merged
            meta: dict[str, Any] = {
                "run": "daily",
                "trigger": trigger,
                "day": day.isoformat(),
                "from": start,
                "to": end,
                "messages": len(rows),
                "parts": min(len(parts), MAX_PARTS),
                "parts_skipped": max(0, len(parts) - MAX_PARTS),
            }
            await self._log(guild_id, None, meta, total)
            return total

    # -- the operator's button ---------------------------------------------------------------

    @handles(ReflectNow)
    async def reflect_now(self, msg: ReflectNow) -> Reflected:
        settings = await self._settings()
        try:
            if msg.channel_id is not None:
                now = _now()
                rule = self._rule(settings)
                rows = (await self._window_rows(now, rule, msg.guild_id)).get(msg.channel_id, [])
                due = micro_due(rows, await self._mark(msg.channel_id), now, rule, force=True)
                if due is None:
                    return Reflected(
                        outcome="nothing",
                        detail=f"nothing new from people in channel {msg.channel_id} in the "
                        f"last {settings.memory.reflection.window_minutes} minutes",
                    )
                got = await self._micro(msg.guild_id, msg.channel_id, due, settings)
            else:
                r = settings.memory.reflection
                day = (
                    date.fromisoformat(msg.day)
                    if msg.day
                    else journal.local_day(calendar_now(), r.timezone) - timedelta(days=1)
                )
                got = await self._daily(msg.guild_id, day, settings, "manual")
        except (ActorError, NotRegistered, StoreRequestError, trio.TooSlowError) as exc:
            return Reflected(outcome="failed", detail=f"{type(exc).__name__}: {exc}")
        detail = f"{got.written} written, {got.merged} merged, {got.refused} refused"
        if got.error:
            detail = got.error
        return Reflected(outcome=got.outcome, detail=detail, fact_ids=tuple(got.fact_ids))

    # -- one reflection ----------------------------------------------------------------------

    async def _reflect(
        self,
        run: Run,
        rows: Sequence[MessageRow],
        *,
        guild_id: int,
        channel_id: int | None,
        settings: Settings,
        max_facts: int,
        where: str,
    ) -> _Outcome:
        if not any(not r.is_bot and r.content.strip() for r in rows):
            return _Outcome("empty", [])
        existing = await self._existing(guild_id, rows)
        system, text = prompt(
            run,
            [journal.journal_line(r) for r in rows],
            existing,
            bot_name=settings.identity.bot_name,
            max_facts=max_facts,
            where=where,
        )
        generation = settings.reply_generation
        request = LlmRequest(
            system=(SystemPart(text=system),),
            messages=(user(text),),
            max_tokens=ANSWER_TOKENS,
            temperature=0.2,
            timeout=LLM_TIMEOUT,
            prefer=generation.provider,
            prefer_model=generation.model,
            output_schema=OutputSchema(name="memory_reflection", schema=REFLECTION_SCHEMA),
            context=CallContext(purpose="reflection", guild_id=guild_id, channel_id=channel_id),
        )
        try:
            response = await LlmClient(self.ctx.lookup(self.config.llm)).complete(request)
        except LlmError as exc:
            return _Outcome("failed", [], error=f"the model call failed: {exc}"[:500])
        read = read_facts(response.text, window=rows, existing=existing, max_facts=max_facts)
        out = _Outcome(
            "empty",
            [],
            problems=read.problems,
            usd=response.usd_cost,
            model=f"{response.provider}/{response.model}",
        )
        evidence = {r.message_id: r.content for r in rows}
        for fact in read.facts:
            reply = await self._remember(fact, guild_id, channel_id, evidence)
            if isinstance(reply, Remembered):
                out.fact_ids.append(reply.fact_id)
                out.merged += reply.merged
                out.written += not reply.merged
            else:
                out.refused += 1
                (out.problems or []).append(f"refused: {reply.reason}")
        out.outcome = "done" if out.fact_ids else "empty"
        return out

    async def _remember(
        self, fact: Proposed, guild_id: int, channel_id: int | None, evidence: dict[int, str]
    ) -> Remembered | RememberRefused:
        quote = " ".join(evidence.get(fact.evidence_ids[0], "").split())[:240]
        try:
            reply = await self.ctx.lookup(self.config.memory).ask(
                Remember(
                    scope=fact.scope,
                    fact=fact.fact,
                    guild_id=guild_id if fact.scope == "guild" else None,
                    user_id=fact.user_id,
                    fact_type=fact.fact_type,
                    confidence=fact.confidence,
                    evidence_ids=fact.evidence_ids,
                    evidence_text=quote,
                    channel_id=channel_id,
                    supersedes=fact.supersedes,
                    mode="minimal",
                ),
                timeout=ASK_TIMEOUT * 3,
            )
        except (ActorError, NotRegistered, trio.TooSlowError) as exc:
            return RememberRefused(reason=f"the memory service did not answer: {exc}")
        if isinstance(reply, Remembered | RememberRefused):
            return reply
        return RememberRefused(reason=f"the memory service answered {type(reply).__name__}")

    async def _existing(self, guild_id: int, rows: Sequence[MessageRow]) -> list[Existing]:
        names = {r.author_id: r.author_name for r in rows if not r.is_bot}
        groups: list[tuple[tuple[str, ...], int]] = [
            (tuple(f"user:{u}" for u in sorted(names))[:40], 40),
            ((f"guild:{guild_id}",), 15),
            (("self",), 5),
        ]
        out: list[Existing] = []
        for keys, limit in groups:
            if not keys:
                continue
            found = await self.store.ref.ask(
                GetFacts(owner_keys=keys, limit=limit), FactRows, timeout=ASK_TIMEOUT
            )
            for f in found.rows:
                if f.learned_in_dm:
                    continue  # told in a DM: never shown where a guild's talk is read
                if f.scope == "user" and f.user_id is not None:
                    key = f"user:{f.user_id}"
                    label = f"{names.get(f.user_id, 'someone')} ({f.user_id})"
                elif f.scope == "guild":
                    key, label = f"guild:{f.guild_id}", "this server"
                else:
                    key, label = "self", "you"
                out.append(Existing(id=f.id, owner_key=key, label=label, fact=f.fact))
        return out

    async def _log(
        self, guild_id: int, channel_id: int | None, meta: dict[str, Any], got: _Outcome
    ) -> None:
        meta = {
            **meta,
            "outcome": got.outcome,
            "fact_ids": got.fact_ids,
            "written": got.written,
            "merged": got.merged,
            "refused": got.refused,
            "model": got.model,
            "usd_cost_of_call": got.usd,  # counted once, in the llm_call actions
            "problems": (got.problems or [])[:20],
        }
        if got.error:
            meta["error"] = got.error
        log.info(
            "reflection: %s %s of %d/%s: %s (%d facts)",
            meta["run"],
            meta["trigger"],
            guild_id,
            channel_id,
            got.outcome,
            len(got.fact_ids),
        )
        await self.store.log_action(
            LogAction(
                kind=ACTION_KIND,
                guild_id=guild_id,
                channel_id=channel_id,
                content=f"{meta['run']} reflection: {got.outcome}, {len(got.fact_ids)} facts",
                metadata=to_json(meta),
            )
        )


def _parts(rows: Sequence[MessageRow]) -> list[list[MessageRow]]:
    """A day's rows cut into parts whose journal lines fit `MAX_PROMPT_CHARS`."""
    lines = [journal.journal_line(r) for r in rows]
    parts: list[list[MessageRow]] = []
    i = 0
    for chunk in journal.chunk_lines(lines, MAX_PROMPT_CHARS):
        parts.append(list(rows[i : i + len(chunk)]))
        i += len(chunk)
    return parts


def _merge(a: _Outcome, b: _Outcome) -> _Outcome:
    """Two parts of one day as one outcome: failed if either failed (the day is tried again
    at the next daily run; what was written merges then), else done if any fact was kept."""
    failed = "failed" in (a.outcome, b.outcome)
    return _Outcome(
        "failed" if failed else ("done" if a.fact_ids or b.fact_ids else "empty"),
        a.fact_ids + b.fact_ids,
        written=a.written + b.written,
        merged=a.merged + b.merged,
        refused=a.refused + b.refused,
        problems=(a.problems or []) + (b.problems or []),
        error=b.error or a.error,
        usd=a.usd + b.usd,
        model=b.model or a.model,
    )
