"""`ChannelBrain`: the sans-IO state machine of one channel's replies.

It ties admission, the coalescing queue, global pacing and stop words together. It never
sleeps, never sends and never reads a clock: the actor around it feeds it events with the
current trio time and carries out the actions it returns.

The contract, for the actor that hosts it:

* Feed every message seen in the channel, own messages included, to `on_message` (after it
  is stored). Feed `on_generation_finished` when a started job ends, `on_pacing` whenever the
  global pacing state changes, `on_settings` on `SettingsChanged`, `on_message_deleted` on a
  delete, `on_typing` when someone starts typing in the channel (TYPING_START).
* After **every** call, carry out the returned actions in order, then sleep until
  `next_wakeup()` (None: until the next event) and call `on_tick(now)` when it comes.
  Calling `on_tick` early or late is harmless: it acts on whatever is due at ``now``.
* At most one job is in flight per channel. A `CancelGeneration` means: cancel it and do not
  report it back; a report for a job the brain no longer knows is ignored anyway.

Timing rules (defaults from settings): a batch is due 1 s (+0.25 s edge grace) after its
latest message when nobody is typing; a member typing (the author or anyone else human) keeps
it open until their typing lapses, but never past 6 s (+0.25 s) after its first message; at
once with 6 messages (see `coalescing`). It starts when due, nothing is in flight, and pacing
allows (min gap: wait; hourly cap: drop, logged). While generating, the typing indicator is
refreshed every 8 s, and a generation still running after 300 s is cancelled. A failed
generation is retried twice, 2.5 s times the attempt later, merged with anything that arrived since.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from clanker.settings.model import Settings
from clanker.text.actions import (
    AcknowledgeStop,
    Action,
    CancelGeneration,
    Decision,
    LogDecision,
    ShowTyping,
    StartGeneration,
)
from clanker.text.admission import (
    AdmissionReason,
    admit,
    channel_refusal,
    sender_refusal,
)
from clanker.text.attention import Attention
from clanker.text.coalescing import QueuedMessage, ReplyQueue
from clanker.text.jobs import Outcome, ReplyJob, strongest
from clanker.text.pacing import HOUR, PaceReason, PacingState, pace
from clanker.text.stopwords import is_stop_request
from clanker.text.views import MessageView

TYPING_REFRESH_SECONDS = 8.0
"""Discord shows "typing" for about 10 s; refresh it this often while generating."""

GENERATION_TIMEOUT_SECONDS = 300.0
"""A generation (tool loop included) still running after this long is cancelled."""

RETRY_LIMIT = 2
"""Retries after a failed generation (so three attempts in all)."""

RETRY_BACKOFF_SECONDS = 2.5
"""A retry waits this long times the number of the attempt that failed."""

HISTORY_SIZE = 20
"""Recent channel messages the brain keeps for attention (the window is at most 5)."""


SAME_SEND = 0.002
"""Seconds within which the keeper's time of a send (rebuilt from a stored millisecond stamp)
and the channel's own are the same send."""


class ChannelBrain:
    """Decides when one channel gets a reply. Sans-IO: events and ``now`` in, actions out."""

    def __init__(
        self,
        *,
        channel_id: int,
        guild_id: int | None,
        bot_user_id: int,
        settings: Settings,
        parent_channel_id: int | None = None,
        pacing: PacingState | None = None,
    ) -> None:
        self.channel_id = channel_id
        self.guild_id = guild_id
        self.parent_channel_id = parent_channel_id
        self.bot_user_id = bot_user_id
        self.settings = settings
        self.pacing = pacing or PacingState()
        activity = settings.activity
        self.queue = ReplyQueue(
            window=activity.coalesce_window_seconds,
            max_messages=activity.coalesce_max_messages,
            grace=activity.coalesce_grace_seconds,
        )
        self.history: deque[MessageView] = deque(maxlen=HISTORY_SIZE)
        self.latest_message_id: int | None = None
        self.in_flight: ReplyJob | None = None
        self._sending: int | None = None  # the in-flight job whose send has begun
        self._in_flight_items: tuple[QueuedMessage, ...] = ()
        self._typing_at = 0.0
        self._deadline = 0.0
        self._pace_wait: float | None = None
        self._local_send_at: float | None = None
        self._next_job_id = 1

    # --- events -------------------------------------------------------------------------------

    def seed_history(self, messages: Iterable[MessageView]) -> None:
        """Prime the recent-message memory (oldest first), e.g. from the Store at start-up.

        Seeded messages are *not* marked answered: the Store's trigger claims guard those.
        """
        for msg in messages:
            self._remember(msg)

    def on_message(self, msg: MessageView, now: float) -> list[Action]:
        """A message appeared in this channel (after it was stored)."""
        if msg.channel_id != self.channel_id:
            raise ValueError(
                f"ChannelBrain for channel {self.channel_id} was fed message {msg.message_id} "
                f"of channel {msg.channel_id}"
            )
        own = msg.author_id == self.bot_user_id
        if not self.queue.mark_seen(msg.message_id):
            return [] if own else [self._log(Decision.SKIPPED, "duplicate", now, msg)]
        recent = tuple(self.history)
        self._remember(msg)
        if own:
            return []
        self.queue.message_from(msg.author_id)  # their typing ended with this message
        if self._is_stop(msg):
            stopped = self._stop(msg, now)
            if stopped:
                return stopped
        admission = admit(msg, bot_user_id=self.bot_user_id, settings=self.settings, recent=recent)
        if not admission.admitted:
            return [self._log(Decision.SKIPPED, str(admission.reason), now, msg)]
        actions: list[Action] = [self._log(Decision.ADMITTED, str(admission.reason), now, msg)]
        dropped = self.queue.add(QueuedMessage(message=msg, admission=admission, queued_at=now))
        actions += [self._log(Decision.SKIPPED, "queue_full", now, d.message) for d in dropped]
        actions += self._try_start(now)
        return actions

    def on_typing(
        self, channel_id: int, user_id: int, now: float, *, is_bot: bool = False
    ) -> list[Action]:
        """Someone started typing (Discord's TYPING_START). A member typing keeps the pending
        batch open (up to the coalescing window); the bot itself, other bots, blocked users and
        another channel's typing are ignored."""
        if (
            channel_id != self.channel_id
            or user_id == self.bot_user_id
            or is_bot
            or user_id in self.settings.permissions.blocked_user_ids
        ):
            return []
        self.queue.typing(user_id, now)
        return self._try_start(now)

    def on_send_starting(self, job_id: int) -> bool:
        """The job's reply is about to go out: True (go on; from now on the job is not
        cancelled, only finished) if it is still the job in flight, False if it was cancelled
        meanwhile (then nothing must be sent)."""
        job = self.in_flight
        if job is None or job.job_id != job_id:
            return False
        self._sending = job_id
        return True

    def on_tick(self, now: float) -> list[Action]:
        """Time passed: start a due batch, refresh typing, time out a stuck generation."""
        actions: list[Action] = []
        job = self.in_flight
        if job is not None:
            if now >= self._deadline and job.job_id != self._sending:  # a send has its own
                self._end_job()
                actions.append(CancelGeneration(job_id=job.job_id, reason="timeout"))
                actions.append(self._log_job(Decision.FAILED, "timeout", now, job))
            elif now >= self._typing_at:
                while self._typing_at <= now:
                    self._typing_at += TYPING_REFRESH_SECONDS
                actions.append(ShowTyping(channel_id=self.channel_id))
        actions += self._try_start(now)
        return actions

    def on_generation_finished(
        self, job_id: int, outcome: Outcome, now: float, *, reason: str | None = None
    ) -> list[Action]:
        """A started job ended. ``reason`` details a skip or a failure (e.g. ``llm_skip``)."""
        job = self.in_flight
        if job is None or job.job_id != job_id:
            return []  # cancelled or from an earlier incarnation: nothing to do
        items = self._in_flight_items
        self._end_job()
        actions: list[Action] = []
        if outcome is Outcome.SENT:
            self._local_send_at = now
            self.pacing = PacingState(
                last_send_at=now, sends_last_hour=self.pacing.sends_last_hour + 1
            )
            actions.append(self._log_job(Decision.SENT, reason or "sent", now, job))
        elif outcome is Outcome.SKIPPED:
            actions.append(self._log_job(Decision.SKIPPED, reason or "llm_skip", now, job))
        elif outcome is Outcome.ALREADY_ANSWERED:
            actions.append(self._log_job(Decision.SKIPPED, "already_answered", now, job))
        elif job.attempt <= RETRY_LIMIT:
            retry_at = now + RETRY_BACKOFF_SECONDS * job.attempt
            self.queue.requeue(items, not_before=retry_at, attempt=job.attempt + 1)
            actions.append(self._log_job(Decision.RETRYING, reason or "failed", now, job))
        else:
            actions.append(self._log_job(Decision.FAILED, reason or "failed", now, job))
        actions += self._try_start(now)
        return actions

    def on_pacing(self, state: PacingState, now: float) -> list[Action]:
        """The global pacing state changed (a send anywhere, or the hour rolled on)."""
        local = self._local_send_at
        if local is not None and (
            now - local >= HOUR
            or (state.last_send_at is not None and state.last_send_at >= local - SAME_SEND)
        ):
            # Counted by the keeper (its times can differ by rounding), or out of the hour.
            self._local_send_at = local = None
        if local is not None and (state.last_send_at is None or state.last_send_at < local):
            # The keeper has not counted this channel's latest send yet.
            state = PacingState(last_send_at=local, sends_last_hour=state.sends_last_hour + 1)
        known = self.pacing.last_send_at
        if (
            known is not None
            and now - known < HOUR  # a snapshot with no send in the hour is not stale then
            and (state.last_send_at is None or state.last_send_at < known - SAME_SEND)
        ):
            # A stale snapshot (it crossed a newer one on the way): never move the last send back.
            state = PacingState(
                last_send_at=known,
                sends_last_hour=max(state.sends_last_hour, self.pacing.sends_last_hour),
            )
        self.pacing = state
        self._pace_wait = None
        return self._try_start(now)

    def on_settings(self, settings: Settings, now: float) -> list[Action]:
        """New settings: apply them now; if they forbid replying here, stop everything."""
        self.settings = settings
        activity = settings.activity
        self.queue.configure(
            window=activity.coalesce_window_seconds,
            max_messages=activity.coalesce_max_messages,
            grace=activity.coalesce_grace_seconds,
        )
        self._pace_wait = None
        permissions = settings.permissions
        refusal = (
            AdmissionReason.REPLIES_DISABLED
            if not permissions.allow_replies
            else channel_refusal(
                permissions,
                channel_id=self.channel_id,
                parent_channel_id=self.parent_channel_id,
                is_dm=self.guild_id is None,
            )
        )
        if refusal is not None:
            why = f"settings:{refusal}"
            cancelled, dropped = self._cancel_all(why, now)
            return cancelled + [self._log(Decision.SKIPPED, why, now, i.message) for i in dropped]
        blocked = set(permissions.blocked_user_ids)
        gone = self.queue.remove_where(
            i.message.message_id for i in self.queue.items if i.message.author_id in blocked
        )
        actions: list[Action] = [
            self._log(Decision.SKIPPED, "settings:user_blocked", now, i.message) for i in gone
        ]
        return actions + self._try_start(now)

    def on_message_deleted(self, message_id: int, now: float) -> list[Action]:
        """A message was deleted: forget it; a pending one is not answered."""
        self.history = deque(
            (m for m in self.history if m.message_id != message_id), maxlen=HISTORY_SIZE
        )
        self.latest_message_id = self.history[-1].message_id if self.history else None
        removed = self.queue.remove(message_id)
        if removed is None:
            return []
        return [self._log(Decision.SKIPPED, "deleted", now, removed.message)]

    # --- queries ------------------------------------------------------------------------------

    def next_wakeup(self) -> float | None:
        """The trio time at which `on_tick` must be called next (None: no timer needed)."""
        if self.in_flight is not None:
            if self.in_flight.job_id == self._sending:
                return self._typing_at  # going out: the send's own timeouts bound it
            return min(self._typing_at, self._deadline)
        due = self.queue.due_at()
        if due is None:
            return None
        if self._pace_wait is not None:
            return max(due, self._pace_wait)
        return due

    @property
    def pending(self) -> tuple[QueuedMessage, ...]:
        """Admitted messages waiting for the next job, oldest first."""
        return self.queue.items

    # --- inside -------------------------------------------------------------------------------

    def _remember(self, msg: MessageView) -> None:
        self.history.append(msg)
        self.latest_message_id = msg.message_id

    def _is_stop(self, msg: MessageView) -> bool:
        if sender_refusal(msg, bot_user_id=self.bot_user_id, settings=self.settings) is not None:
            return False
        identity = self.settings.identity
        return is_stop_request(msg.content, (identity.bot_name, *identity.aliases))

    def _stop(self, msg: MessageView, now: float) -> list[Action]:
        job = self.in_flight
        cancelled, dropped = self._cancel_all("stop_requested", now)
        if not cancelled and not dropped:
            return []
        ack = AcknowledgeStop(
            channel_id=self.channel_id,
            message_id=msg.message_id,
            cancelled_job_id=job.job_id if job is not None and cancelled else None,
            dropped_message_ids=tuple(i.message.message_id for i in dropped),
        )
        return [
            *cancelled,
            *(self._log(Decision.SKIPPED, "stop_requested", now, i.message) for i in dropped),
            self._log(Decision.SKIPPED, "stop_request", now, msg),
            ack,
        ]

    def _cancel_all(
        self, reason: str, now: float
    ) -> tuple[list[Action], tuple[QueuedMessage, ...]]:
        """Cancel the job in flight and empty the queue; returns the cancel actions and what
        was dropped (the caller logs the drops). A job whose send has begun is not cancelled:
        what is going out cannot be taken back, so it finishes (and is logged as sent)."""
        cancelled: list[Action] = []
        job = self.in_flight
        if job is not None and job.job_id != self._sending:
            self._end_job()
            cancelled.append(CancelGeneration(job_id=job.job_id, reason=reason))
            cancelled.append(self._log_job(Decision.CANCELLED, reason, now, job))
        self._pace_wait = None
        return cancelled, self.queue.clear()

    def _try_start(self, now: float) -> list[Action]:
        if self.in_flight is not None or not self.queue.is_due(now):
            return []
        verdict = pace(
            now,
            self.pacing,
            min_gap_seconds=self.settings.activity.min_gap_seconds,
            max_per_hour=self.settings.permissions.max_messages_per_hour,
        )
        if verdict.reason is PaceReason.HOURLY_CAP:
            return [
                self._log(Decision.SKIPPED, "hourly_cap", now, item.message)
                for item in self.queue.take()
            ]
        if not verdict.allowed:
            self._pace_wait = verdict.retry_at
            return []
        self._pace_wait = None
        attempt = self.queue.attempt
        items = self.queue.take()
        job = self._job(items, attempt, now)
        self.in_flight = job
        self._in_flight_items = items
        self._typing_at = now + TYPING_REFRESH_SECONDS
        self._deadline = now + GENERATION_TIMEOUT_SECONDS
        return [
            self._log_job(Decision.STARTED, str(job.reason), now, job),
            ShowTyping(channel_id=self.channel_id),
            StartGeneration(job=job),
        ]

    def _job(self, items: tuple[QueuedMessage, ...], attempt: int, now: float) -> ReplyJob:
        job_id = self._next_job_id
        self._next_job_id += 1
        messages = tuple(i.message for i in items)
        target = None
        for item in reversed(items):
            if item.admission.reason in (AdmissionReason.FORCED, AdmissionReason.ADDRESSED):
                target = item.message
                break
        active = any(i.admission.attention is Attention.ACTIVE for i in items)
        return ReplyJob(
            job_id=job_id,
            channel_id=self.channel_id,
            guild_id=self.guild_id,
            trigger=messages[-1],
            messages=messages,
            reply_target=target,
            reason=strongest(tuple(i.admission.reason for i in items)),
            attention=Attention.ACTIVE if active else Attention.AMBIENT,
            attempt=attempt,
            started_at=now,
        )

    def _end_job(self) -> None:
        self.in_flight = None
        self._in_flight_items = ()
        self._sending = None

    def _log(self, decision: Decision, reason: str, now: float, msg: MessageView) -> LogDecision:
        return LogDecision(
            decision=decision,
            reason=reason,
            channel_id=self.channel_id,
            guild_id=self.guild_id,
            at=now,
            message_id=msg.message_id,
            user_id=msg.author_id,
        )

    def _log_job(self, decision: Decision, reason: str, now: float, job: ReplyJob) -> LogDecision:
        return LogDecision(
            decision=decision,
            reason=reason,
            channel_id=self.channel_id,
            guild_id=self.guild_id,
            at=now,
            message_id=job.trigger.message_id,
            user_id=job.trigger.author_id,
            job_id=job.job_id,
            message_ids=job.message_ids,
        )
