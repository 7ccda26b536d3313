"""A test stand-in for the actor loop around a `ChannelBrain`, on virtual time.

It follows the brain's contract exactly: after each event it notes the actions, and before
the next event it calls `on_tick` at every `next_wakeup()` that falls due on the way.
"""

from __future__ import annotations

from typing import Any

from clanker.settings import Settings
from clanker.text import (
    Action,
    ChannelBrain,
    Decision,
    LogDecision,
    MessageView,
    Outcome,
    PacingState,
    ReplyJob,
    StartGeneration,
)

from .helpers import BOT, CHANNEL, GUILD


class Driver:
    """Feeds a brain and records ``(time, action)`` pairs."""

    def __init__(self, settings: Settings | None = None, **kwargs: Any) -> None:
        self.brain = ChannelBrain(
            channel_id=kwargs.pop("channel_id", CHANNEL),
            guild_id=kwargs.pop("guild_id", GUILD),
            bot_user_id=BOT,
            settings=settings or Settings(),
            **kwargs,
        )
        self.now = 0.0
        self.log: list[tuple[float, Action]] = []

    def _record(self, actions: list[Action]) -> list[Action]:
        wake = self.brain.next_wakeup()
        assert wake is None or wake > self.now, f"wake-up {wake} not after now {self.now}"
        self.log += [(self.now, a) for a in actions]
        return actions

    def advance(self, to: float) -> list[Action]:
        """Let time pass until ``to``, ticking at every wake-up on the way."""
        assert to >= self.now
        out: list[Action] = []
        while (wake := self.brain.next_wakeup()) is not None and wake <= to:
            self.now = wake
            out += self._record(self.brain.on_tick(wake))
        self.now = to
        return out

    def message(self, m: MessageView, at: float | None = None) -> list[Action]:
        self.advance(self.now if at is None else at)
        return self._record(self.brain.on_message(m, self.now))

    def finish(
        self, outcome: Outcome, at: float | None = None, reason: str | None = None
    ) -> list[Action]:
        self.advance(self.now if at is None else at)
        job = self.brain.in_flight
        assert job is not None, "no job in flight"
        return self._record(
            self.brain.on_generation_finished(job.job_id, outcome, self.now, reason=reason)
        )

    def typing(
        self,
        user_id: int,
        at: float | None = None,
        *,
        channel_id: int = CHANNEL,
        is_bot: bool = False,
    ) -> list[Action]:
        self.advance(self.now if at is None else at)
        return self._record(self.brain.on_typing(channel_id, user_id, self.now, is_bot=is_bot))

    def pacing(self, state: PacingState, at: float | None = None) -> list[Action]:
        self.advance(self.now if at is None else at)
        return self._record(self.brain.on_pacing(state, self.now))

    def settings(self, settings: Settings, at: float | None = None) -> list[Action]:
        self.advance(self.now if at is None else at)
        return self._record(self.brain.on_settings(settings, self.now))

    def delete(self, message_id: int, at: float | None = None) -> list[Action]:
        self.advance(self.now if at is None else at)
        return self._record(self.brain.on_message_deleted(message_id, self.now))

    # views of the log -------------------------------------------------------------------------

    def starts(self) -> list[tuple[float, ReplyJob]]:
        return [(t, a.job) for t, a in self.log if isinstance(a, StartGeneration)]

    def decisions(self, decision: Decision | None = None) -> list[tuple[float, LogDecision]]:
        return [
            (t, a)
            for t, a in self.log
            if isinstance(a, LogDecision) and (decision is None or a.decision is decision)
        ]

    def of_type(self, kind: type[Any]) -> list[tuple[float, Any]]:
        return [(t, a) for t, a in self.log if isinstance(a, kind)]
