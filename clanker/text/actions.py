"""What a `ChannelBrain` asks its actor to do. Frozen, tagged structs (wire-safe)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec

from clanker.text.jobs import ReplyJob

DECISION_ACTION_KIND = "reply_decision"
"""The action-log kind under which the brain's decisions are stored."""


class Decision(StrEnum):
    """The kinds of decision the brain logs."""

    ADMITTED = "admitted"  # the message reaches the model (with the next batch)
    SKIPPED = "skipped"  # not answered, and why
    STARTED = "started"  # generation started for a batch
    SENT = "sent"  # the answer went out
    CANCELLED = "cancelled"  # an in-flight generation was cancelled
    RETRYING = "retrying"  # generation failed; the batch is queued again
    FAILED = "failed"  # generation failed for good


class BrainAction(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """Base of the actions a brain returns."""


class StartGeneration(BrainAction, frozen=True):
    """Claim the batch's triggers, build the prompt, call the model, deliver the result, and
    report back with `ChannelBrain.on_generation_finished(job.job_id, outcome, now)`."""

    job: ReplyJob


class CancelGeneration(BrainAction, frozen=True):
    """Cancel the generation (and any delivery) of ``job_id``; do not report it back."""

    job_id: int
    reason: str


class ShowTyping(BrainAction, frozen=True):
    """Show the typing indicator in the channel (Discord keeps it about 10 s)."""

    channel_id: int


class AcknowledgeStop(BrainAction, frozen=True):
    """Someone asked clanker to stop and something was stopped: acknowledge it (a short
    model-written line, or a 🛑 reaction on ``message_id`` as the fallback)."""

    channel_id: int
    message_id: int
    cancelled_job_id: int | None
    dropped_message_ids: tuple[int, ...]


class LogDecision(BrainAction, frozen=True):
    """Record a decision in the action log (kind `DECISION_ACTION_KIND`, see `metadata`)."""

    decision: Decision
    reason: str
    channel_id: int
    guild_id: int | None
    at: float
    message_id: int | None = None
    user_id: int | None = None
    job_id: int | None = None
    message_ids: tuple[int, ...] = ()

    def metadata(self) -> dict[str, Any]:
        """The action log metadata object for this decision."""
        data: dict[str, Any] = {"decision": str(self.decision), "reason": self.reason}
        if self.job_id is not None:
            data["job_id"] = self.job_id
        if self.message_ids:
            # As strings: the dashboard reads this JSON in a browser, where numbers are doubles.
            data["message_ids"] = [str(i) for i in self.message_ids]
        return data


Action = StartGeneration | CancelGeneration | ShowTyping | AcknowledgeStop | LogDecision
"""Every action a brain returns (a tagged union)."""
