"""Startup catch-up, without I/O: which missed messages are answered, and which only read.

After a login the router fetches each channel's latest messages; those the Store does not have
were posted while clanker was away. Every one of them is stored (later prompts see it), but only
a few are given to admission (and so to the model, which still decides): those **addressed**
to clanker (a mention, a reply to it, its name or an alias, a DM), posted within the
**lookback**, the newest ``per_channel`` of them. An unaddressed remark from hours ago is
context, not a question waiting for an answer. (Clanker never saw these messages, so nothing
it said after them can have answered them: unlike the original's catch-up, which also went
over messages it had seen, a later message of clanker's does not rule one out.)

``skipped`` lists the addressed ones not answered, with the reason, for the decision log: an
addressed message always ends in a decision that names it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from clanker.discord.events import DiscordMessage
from clanker.settings.model import Identity
from clanker.text.address import address_signal
from clanker.text.views import MessageView


@dataclass(frozen=True)
class CatchUpPlan:
    answer: tuple[DiscordMessage, ...]  # given to admission, oldest first
    store_only: tuple[DiscordMessage, ...]  # stored as context, oldest first
    reasons: dict[int, str]  # message id -> why it is only stored
    skipped: tuple[DiscordMessage, ...] = ()  # addressed, not answered (reasons say why)


def plan_catch_up(
    history: Sequence[DiscordMessage],
    missed: set[int],
    *,
    bot_user_id: int,
    identity: Identity,
    now: datetime,
    lookback: timedelta,
    per_channel: int,
) -> CatchUpPlan:
    """``history``: one channel's latest messages, oldest first; ``missed``: the ids among
    them the Store does not have. ``now`` is timezone-aware."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if per_channel < 0:
        raise ValueError(f"per_channel must be >= 0, got {per_channel}")
    authors = {m.message_id: m.author_id for m in history}
    candidates: list[DiscordMessage] = []
    reasons: dict[int, str] = {}
    skipped: list[DiscordMessage] = []
    for m in history:
        if m.message_id not in missed:
            continue
        if m.author_id == bot_user_id:
            reasons[m.message_id] = "clanker's own"
            continue
        view = MessageView(
            message_id=m.message_id,
            channel_id=m.channel_id,
            guild_id=m.guild_id,
            author_id=m.author_id,
            author_name=m.author_name,
            author_is_bot=m.author_is_bot,
            content=m.content,
            mention_ids=m.mention_ids,
            reply_to_message_id=m.reply_to_message_id,
            reply_to_author_id=authors.get(m.reply_to_message_id)
            if m.reply_to_message_id is not None
            else None,
        )
        if not address_signal(view, bot_user_id=bot_user_id, identity=identity).direct:
            reasons[m.message_id] = "not addressed"
        elif now - datetime.fromisoformat(m.created_at) > lookback:
            reasons[m.message_id] = f"older than the lookback ({lookback})"
            skipped.append(m)
        else:
            candidates.append(m)
    answer = candidates[-per_channel:] if per_channel else []
    for m in candidates[: len(candidates) - len(answer)]:
        reasons[m.message_id] = f"more than {per_channel} to answer in the channel"
        skipped.append(m)
    chosen = {m.message_id for m in answer}
    store_only = tuple(m for m in history if m.message_id in missed and m.message_id not in chosen)
    skipped.sort(key=lambda m: m.message_id)
    return CatchUpPlan(
        answer=tuple(answer), store_only=store_only, reasons=reasons, skipped=tuple(skipped)
    )
