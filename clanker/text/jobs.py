"""A reply job: one answer to one batch of messages, and how its generation ended."""

from __future__ import annotations

from enum import StrEnum

import msgspec

from clanker.text.admission import AdmissionReason
from clanker.text.attention import Attention
from clanker.text.views import MessageView

_STRENGTH = (
    AdmissionReason.FORCED,
    AdmissionReason.ADDRESSED,
    AdmissionReason.ACTIVE_CONVERSATION,
    AdmissionReason.AMBIENT,
)


def strongest(reasons: tuple[AdmissionReason, ...]) -> AdmissionReason:
    """The strongest admission reason among ``reasons`` (forced > addressed > active > ambient)."""
    for reason in _STRENGTH:
        if reason in reasons:
            return reason
    return AdmissionReason.AMBIENT


class ReplyJob(msgspec.Struct, frozen=True, kw_only=True):
    """Generate one answer for a batch of admitted messages.

    ``trigger`` is the latest message of the batch (the one answered; its id is the one to
    claim in the Store's ``response_triggers``, together with the others in ``messages``).
    ``reply_target`` is the latest message that addressed clanker directly (or was forced),
    if any: the one a Discord reply would quote. ``reason`` is the strongest admission reason
    in the batch; ``attention`` is ACTIVE if any message in it was.
    """

    job_id: int
    channel_id: int
    guild_id: int | None
    trigger: MessageView
    messages: tuple[MessageView, ...]
    reply_target: MessageView | None
    reason: AdmissionReason
    attention: Attention
    attempt: int = 1
    started_at: float

    @property
    def message_ids(self) -> tuple[int, ...]:
        """Ids of every message in the batch, oldest first."""
        return tuple(m.message_id for m in self.messages)

    @property
    def addressed(self) -> bool:
        """True if something in the batch spoke to clanker directly (or was forced)."""
        return self.reply_target is not None


class Outcome(StrEnum):
    """How a generation ended, as the actor reports it back to the brain."""

    SENT = "sent"  # at least one message went out
    SKIPPED = "skipped"  # the model chose silence (a reaction may still have been added)
    FAILED = "failed"  # an error (LLM, Discord); the brain retries twice with backoff
    ALREADY_ANSWERED = "already_answered"  # the Store's trigger claim was refused
