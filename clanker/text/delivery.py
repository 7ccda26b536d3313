"""From the model's decision to what is sent: mentions, chunks, reply-or-send, the reaction.

**Reply or plain send.** Discord's "reply" quotes the message it answers. People use it when
the answer would otherwise be ambiguous, so clanker does the same, deterministically (the
reference system rolled dice; a rule is easier to predict and to test):

* in a DM, never (there is only one conversation);
* when nothing in the batch addressed clanker, never (it is joining in, not answering);
* when someone else spoke after the message being answered, always (say which one);
* otherwise (the answered message is still the latest), plainly.

Only the first chunk is sent as a reply; the rest follow as plain messages. Replies never ping
the replied-to author (``mention_replied_user`` stays off).

**Truncation.** The model's text is capped at `MAX_REPLY_CHARS` (cut at a word); when that
cut something, the plan says so (`DeliveryPlan.truncated`: original and sent lengths) and the
actor logs a ``reply_truncated`` action. Splitting itself never drops text.

**Reaction.** Applied to the latest message of the batch whenever the model chose one and
reactions are allowed, even when the text is skipped.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import msgspec

from clanker.text.jobs import ReplyJob
from clanker.text.mentions import resolve_mentions
from clanker.text.output import ReplyOutput
from clanker.text.splitting import DISCORD_SPLIT_LIMIT, split_message
from clanker.text.views import Participant


class Truncation(msgspec.Struct, frozen=True, kw_only=True):
    """Text left out of a reply: how long the model's text was, and how much is sent (the
    chunks' characters together). The actor logs it as a ``reply_truncated`` action."""

    original_chars: int
    sent_chars: int


class DeliveryPlan(msgspec.Struct, frozen=True, kw_only=True):
    """What to do with one job's output: chunks to send (empty: send nothing), whether the
    first one replies to a message, and a reaction to add."""

    channel_id: int
    chunks: tuple[str, ...] = ()
    reply_to_message_id: int | None = None
    reaction: str | None = None
    reaction_message_id: int | None = None
    skip_reason: str | None = None
    truncated: Truncation | None = None  # the model's text was longer than what is sent

    @property
    def sends_text(self) -> bool:
        """True if any message will be sent."""
        return bool(self.chunks)


def choose_reply_to(job: ReplyJob, latest_message_id: int | None) -> int | None:
    """The message to send the answer as a Discord reply to, or None for a plain send.

    ``latest_message_id`` is the newest message in the channel when the answer is ready.
    """
    target = job.reply_target
    if target is None or job.trigger.is_dm or target.synthetic:
        return None
    if latest_message_id is not None and latest_message_id != target.message_id:
        return target.message_id
    return None


def plan_delivery(
    output: ReplyOutput,
    job: ReplyJob,
    *,
    participants: Sequence[Participant],
    latest_message_id: int | None,
    reactions_allowed: bool,
    allowed_reactions: Collection[str] | None = None,
    limit: int = DISCORD_SPLIT_LIMIT,
) -> DeliveryPlan:
    """Turn a parsed answer into a delivery plan (pure; the actor carries it out).

    ``reactions_allowed`` combines the setting with the hourly reaction budget (see
    `clanker.text.pacing.may_react`); ``allowed_reactions``, if given, is the set of emoji the
    model may use (e.g. unicode defaults plus the guild's custom emoji).
    """
    reaction = output.reaction
    unlisted = allowed_reactions is not None and reaction not in allowed_reactions
    if not reactions_allowed or unlisted:
        reaction = None
    reaction_target = job.trigger.message_id if reaction is not None else None
    if output.skip:
        return DeliveryPlan(
            channel_id=job.channel_id,
            reaction=reaction,
            reaction_message_id=reaction_target,
            skip_reason=output.skip_reason or "llm_skip",
        )
    chunks = tuple(split_message(resolve_mentions(output.text, participants), limit))
    if not chunks:
        return DeliveryPlan(
            channel_id=job.channel_id,
            reaction=reaction,
            reaction_message_id=reaction_target,
            skip_reason="empty_reply",
        )
    truncated = None
    if output.original_chars is not None:
        truncated = Truncation(
            original_chars=output.original_chars, sent_chars=sum(len(c) for c in chunks)
        )
    return DeliveryPlan(
        channel_id=job.channel_id,
        chunks=chunks,
        reply_to_message_id=choose_reply_to(job, latest_message_id),
        reaction=reaction,
        reaction_message_id=reaction_target,
        truncated=truncated,
    )
