"""The Store's message API: requests (frozen, tagged `Message`s) and their typed replies.

Every request checks its own fields when it is built (and again when decoded from the wire), so a
bad request fails at the sender with a ValueError naming the field, never inside the Store. What
only the database can know (an unknown ``before_id``, a dangling action id) comes back as a
`StoreRejected` reply. A compare-and-swap that lost the race is not an error either: it is a
`SettingConflict` reply carrying the current version.

Fields are wire-safe (ints, strs, floats, bools, tuples, optionals). JSON payloads (action
metadata, setting values) travel as JSON text, validated here; `to_json` makes that text.
"""

from __future__ import annotations

import math

import msgspec

from clanker.store.facts import (
    CountFactVectors,
    DeleteFacts,
    FactCandidates,
    FactOwnerCounts,
    FactOwners,
    FactRows,
    FactsWithoutVector,
    FactVectorCount,
    FactWritten,
    GetFacts,
    GuildPeople,
    MergeFact,
    PutFact,
    PutFactVector,
    SearchFacts,
)
from clanker.store.jobs import (
    ClaimRun,
    FinishRun,
    GetJobs,
    GetRuns,
    InterruptRuns,
    JobRows,
    JobWritten,
    PutJob,
    RunClaimed,
    RunRows,
    SetJobStatus,
)
from clanker.store.message_rows import MessageRow as MessageRow
from clanker.store.message_rows import MessageRows as MessageRows
from clanker.store.message_rows import StoredAttachment as StoredAttachment
from clanker.store.message_vectors import (
    MessageMatches,
    MessagesWithoutVector,
    PutMessageVectors,
    SearchMessages,
)
from clanker.store.validation import (
    check_id,
    check_json,
    check_kind,
    check_limit,
    check_time,
)
from clanker.wire import Message

# --- messages ---------------------------------------------------------------------------------


class StoreMessage(Message, frozen=True):
    """Record a seen message (insert, or refresh the snapshot of one already stored).

    ``content`` is the folded text (see `fold_content`); ``created_at`` is Discord's timestamp.
    A refresh keeps the ``deleted`` flag. Reply: `RowsChanged`.
    """

    message_id: int
    guild_id: int | None  # None for DMs
    channel_id: int
    author_id: int
    author_name: str
    content: str
    created_at: str
    is_bot: bool = False
    reply_to_message_id: int | None = None
    edited_at: str | None = None
    attachments: tuple[StoredAttachment, ...] = ()
    # When clanker stored it, on clanker's clock (the Store stamps it; kept on a refresh).
    stored_at: str | None = None

    def __post_init__(self) -> None:
        check_id(self, "message_id", self.message_id)
        check_id(self, "guild_id", self.guild_id, optional=True)
        check_id(self, "channel_id", self.channel_id)
        check_id(self, "author_id", self.author_id)
        check_id(self, "reply_to_message_id", self.reply_to_message_id, optional=True)
        check_time(self, "created_at", self.created_at)
        check_time(self, "edited_at", self.edited_at)
        check_time(self, "stored_at", self.stored_at)


class MarkMessageEdited(Message, frozen=True):
    """Replace a stored message's content after an edit. Reply: `RowsChanged` (0 if unknown)."""

    message_id: int
    content: str
    edited_at: str

    def __post_init__(self) -> None:
        check_id(self, "message_id", self.message_id)
        check_time(self, "edited_at", self.edited_at)


class MarkMessageDeleted(Message, frozen=True):
    """Flag a stored message as deleted (the row stays). Reply: `RowsChanged` (0 if unknown)."""

    message_id: int

    def __post_init__(self) -> None:
        check_id(self, "message_id", self.message_id)


class RecentMessages(Message, frozen=True):
    """The latest ``limit`` messages of a channel, oldest first. Reply: `MessageRows`.

    With ``before_id``, the ones strictly before that stored message (to page back); an unknown
    ``before_id`` gets `StoreRejected`. Deleted messages are left out unless asked for.
    """

    channel_id: int
    limit: int = 50
    before_id: int | None = None
    include_deleted: bool = False

    def __post_init__(self) -> None:
        check_id(self, "channel_id", self.channel_id)
        check_limit(self, self.limit)
        check_id(self, "before_id", self.before_id, optional=True)


class GetMessage(Message, frozen=True):
    """One stored message by id (deleted or not). Reply: `MessageRows` with 0 or 1 rows."""

    message_id: int

    def __post_init__(self) -> None:
        check_id(self, "message_id", self.message_id)


class MessagesBetween(Message, frozen=True):
    """Guild messages clanker stored with ``start <= stored_at < end`` (its own clock, not
    Discord's), in the order stored: a journal's day (`clanker.memory.journal`), or the
    reflector's look at quiet channels.

    ``guild_id``: one guild's messages; None: every guild's (DM messages never). To page, pass
    the last row of the previous page as ``after_id``: the reply resumes strictly after it.
    Deleted messages are left out. Reply: `MessageRows`.
    """

    start: str
    end: str
    guild_id: int | None = None
    limit: int = 500
    after_id: int | None = None

    def __post_init__(self) -> None:
        check_time(self, "start", self.start)
        check_time(self, "end", self.end)
        check_id(self, "guild_id", self.guild_id, optional=True)
        check_id(self, "after_id", self.after_id, optional=True)
        check_limit(self, self.limit)


class DeleteMessages(Message, frozen=True):
    """Delete for good every stored message of one guild (``guild_id``) or written by one user
    (``author_id``, in any guild or DM), with their vectors: the operator's purge of what was
    said. Exactly one of the two. Reply: `RowsChanged` (messages deleted)."""

    guild_id: int | None = None
    author_id: int | None = None

    def __post_init__(self) -> None:
        if (self.guild_id is None) == (self.author_id is None):
            raise ValueError("DeleteMessages needs exactly one of guild_id and author_id")
        check_id(self, "guild_id", self.guild_id, optional=True)
        check_id(self, "author_id", self.author_id, optional=True)


class MessageGuilds(Message, frozen=True):
    """The guilds with a (not deleted) message stored with ``start <= stored_at < end``.
    Reply: `GuildIds`, ascending."""

    start: str
    end: str

    def __post_init__(self) -> None:
        check_time(self, "start", self.start)
        check_time(self, "end", self.end)


class GuildIds(Message, frozen=True):
    guild_ids: tuple[int, ...]


class RowsChanged(Message, frozen=True):
    """Reply to a write: how many rows it inserted or changed."""

    count: int


# --- the action log ---------------------------------------------------------------------------


class LogAction(Message, frozen=True):
    """Append to the universal action log. Reply: `ActionLogged`.

    ``metadata`` is a JSON object as text (`to_json`); ``created_at`` defaults to now.
    """

    kind: str
    guild_id: int | None = None
    channel_id: int | None = None
    message_id: int | None = None
    user_id: int | None = None
    content: str = ""
    metadata: str = "{}"
    usd_cost: float = 0.0
    created_at: str | None = None

    def __post_init__(self) -> None:
        check_kind(self, self.kind)
        for field in ("guild_id", "channel_id", "message_id", "user_id"):
            check_id(self, field, getattr(self, field), optional=True)
        check_json(self, "metadata", self.metadata, object_only=True)
        if not (math.isfinite(self.usd_cost) and self.usd_cost >= 0):
            raise ValueError(
                f"LogAction.usd_cost must be a finite amount >= 0, got {self.usd_cost}"
            )
        check_time(self, "created_at", self.created_at)


class ActionLogged(Message, frozen=True):
    """Reply: the new action's id and the time stamped on it."""

    id: int
    created_at: str


class ActionsQuery(Message, frozen=True):
    """Page through the action log, newest first, optionally filtered. Reply: `ActionRows`."""

    kind: str | None = None
    guild_id: int | None = None
    channel_id: int | None = None
    since: str | None = None  # inclusive
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        if self.kind is not None:
            check_kind(self, self.kind)
        check_id(self, "guild_id", self.guild_id, optional=True)
        check_id(self, "channel_id", self.channel_id, optional=True)
        check_time(self, "since", self.since)
        check_limit(self, self.limit)
        if self.offset < 0:
            raise ValueError(f"ActionsQuery.offset must be >= 0, got {self.offset}")


class ActionRow(msgspec.Struct, frozen=True, kw_only=True):
    """An action as read back; ``metadata`` is JSON object text."""

    id: int
    kind: str
    guild_id: int | None
    channel_id: int | None
    message_id: int | None
    user_id: int | None
    content: str
    metadata: str
    usd_cost: float
    created_at: str


class ActionRows(Message, frozen=True):
    """Reply: action rows, newest first."""

    rows: tuple[ActionRow, ...]


class CountActions(Message, frozen=True):
    """How many actions of ``kind`` since ``since`` (inclusive), and their total cost.

    Budgets ("at most 20 replies an hour") and stats read this. Reply: `ActionCount`.
    """

    kind: str
    since: str
    guild_id: int | None = None

    def __post_init__(self) -> None:
        check_kind(self, self.kind)
        check_time(self, "since", self.since)
        check_id(self, "guild_id", self.guild_id, optional=True)


class ActionCount(Message, frozen=True):
    """Reply: a count of actions and the sum of their ``usd_cost``."""

    count: int
    usd_cost: float


class ActionTotals(Message, frozen=True):
    """Totals of the action log since ``since`` (inclusive), grouped by UTC day, kind, and the
    ``provider`` / ``model`` keys of the metadata (None where absent). Cost and usage summaries
    read this. Reply: `ActionTotalsRows`.
    """

    since: str
    guild_id: int | None = None

    def __post_init__(self) -> None:
        check_time(self, "since", self.since)
        check_id(self, "guild_id", self.guild_id, optional=True)


class ActionTotalsRow(msgspec.Struct, frozen=True, kw_only=True):
    """One group of `ActionTotals`: tokens are the summed ``usage.input_tokens`` /
    ``usage.output_tokens`` metadata keys (as ``llm_call`` logs them; top-level
    ``input_tokens`` / ``output_tokens`` where there is no ``usage``; 0 where absent)."""

    day: str  # YYYY-MM-DD (UTC)
    kind: str
    provider: str | None
    model: str | None
    count: int
    usd_cost: float
    input_tokens: int
    output_tokens: int


class ActionTotalsRows(Message, frozen=True):
    """Reply: groups ordered by day, kind, provider, model."""

    rows: tuple[ActionTotalsRow, ...]


class ActionAppended(Message, frozen=True):
    """Told by the Store to its action listener (if one is configured and registered) after
    each committed `LogAction`: the row exactly as stored."""

    row: ActionRow


# --- settings ---------------------------------------------------------------------------------


class GetSetting(Message, frozen=True):
    """Read one setting. Reply: `SettingValue` (version 0 and value None when unset)."""

    key: str

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("GetSetting.key must not be empty")


class SettingValue(Message, frozen=True):
    """Reply: a setting's JSON text and version (0 if it was never written)."""

    key: str
    value: str | None
    version: int
    updated_at: str | None


class PutSetting(Message, frozen=True):
    """Compare-and-swap a setting: write ``value`` only if its version is ``expected_version``.

    Use 0 to create a setting that must not exist yet. Reply: `SettingStored` with the new
    version, or `SettingConflict` with the current one when someone wrote first.
    """

    key: str
    value: str
    expected_version: int

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("PutSetting.key must not be empty")
        check_json(self, "value", self.value, object_only=False)
        if self.expected_version < 0:
            raise ValueError(
                f"PutSetting.expected_version must be >= 0 (0 = create), got "
                f"{self.expected_version}"
            )


class SettingStored(Message, frozen=True):
    """Reply: the write happened; this is the setting's new version."""

    key: str
    version: int
    updated_at: str


class SettingConflict(Message, frozen=True):
    """Reply: the write was refused because the setting is not at the expected version.

    Re-read (the current value is included), merge, and try again with ``current_version``.
    """

    key: str
    expected_version: int
    current_version: int
    current_value: str | None


# --- reply idempotency ------------------------------------------------------------------------


class ClaimTrigger(Message, frozen=True):
    """Claim the right to answer trigger message ``message_id``, once, ever.

    The first claim wins; every later claim (after a restart, a duplicate event, a catch-up) is
    refused. ``claimed_by`` says who answers (e.g. ``"text_reply"``). Reply: `Claimed`.
    """

    message_id: int
    claimed_by: str
    action_id: int | None = None

    def __post_init__(self) -> None:
        check_id(self, "message_id", self.message_id)
        check_id(self, "action_id", self.action_id, optional=True)
        if not self.claimed_by:
            raise ValueError("ClaimTrigger.claimed_by must say who answers (e.g. 'text_reply')")


class Claimed(Message, frozen=True):
    """Reply: whether this claim won; if not, who holds it and since when."""

    message_id: int
    claimed: bool
    claimed_by: str
    action_id: int | None
    created_at: str


class LinkTriggerAction(Message, frozen=True):
    """Record which logged action answered a claimed trigger. Reply: `RowsChanged`, or
    `StoreRejected` if the action id does not exist."""

    message_id: int
    action_id: int

    def __post_init__(self) -> None:
        check_id(self, "message_id", self.message_id)
        check_id(self, "action_id", self.action_id)


class ResumeInterrupted(Message, frozen=True):
    """After a channel actor restarts: the messages of ``channel_id`` admitted for a reply within
    the last ``within_seconds`` that no reply job finished (sent, skipped, failed, cancelled) and
    that no reply started going out for (``send_started``: it may have been sent) — the dead
    incarnation's unfinished work. Their trigger claims,
    if held by an earlier incarnation (``claimed_by`` starting with ``claimer_prefix``) and not
    linked to a sent action, pass to ``claimer`` in the same transaction, so the new incarnation
    may answer them and nobody else can. Reply: `MessageIds`, oldest first."""

    channel_id: int
    claimer_prefix: str
    claimer: str
    bot_user_id: int
    within_seconds: float = 600.0

    def __post_init__(self) -> None:
        check_id(self, "channel_id", self.channel_id)
        check_id(self, "bot_user_id", self.bot_user_id)
        if not self.claimer.startswith(self.claimer_prefix) or not self.claimer_prefix:
            raise ValueError(
                f"ResumeInterrupted.claimer {self.claimer!r} must start with its "
                f"claimer_prefix {self.claimer_prefix!r} (a later incarnation of the same claimer)"
            )
        if not 0 < self.within_seconds <= 86_400:
            raise ValueError(
                f"ResumeInterrupted.within_seconds must be in (0, 86400], got {self.within_seconds}"
            )


class MidSend(msgspec.Struct, frozen=True, kw_only=True):
    """A reply that had started going out when its job died: ``message_id`` is its trigger and
    ``message_ids`` the admitted, unfinished messages it answers (the trigger among them when
    it is one). ``first_chunk`` is what the reply's first message says (from its
    ``send_started`` action; empty if that did not record it). ``landed`` is the bot's message
    that went out for it, when one is stored already: the first chunk a sent action logged for
    it, or else a message the bot posted after the trigger whose content is ``first_chunk``
    and that no sent action claims."""

    message_id: int
    message_ids: tuple[int, ...] = ()
    first_chunk: str = ""
    landed: int | None = None


class MessageIds(Message, frozen=True):
    """Reply: message ids. For `ResumeInterrupted`, ``mid_send`` are the unfinished ones whose
    send had started (it may have gone out): not taken up, but owed a terminal decision."""

    message_ids: tuple[int, ...]
    mid_send: tuple[MidSend, ...] = ()


# --- errors -----------------------------------------------------------------------------------


class StoreRejected(Message, frozen=True):
    """Reply: the Store could not do ``request`` for the stated reason (nothing was written)."""

    request: str
    problem: str


# --- image captions ---------------------------------------------------------------------------

MAX_CAPTION_CHARS = 600


class PutImageCaption(Message, frozen=True):
    """Record (or replace) the caption of one image source. Reply: `RowsChanged`."""

    source_key: str
    content_hash: str
    caption: str
    model: str = ""

    def __post_init__(self) -> None:
        if not self.source_key.strip() or not self.content_hash.strip():
            raise ValueError("PutImageCaption needs a source_key and a content_hash")
        if not self.caption.strip():
            raise ValueError("PutImageCaption.caption must not be empty")


class GetImageCaptions(Message, frozen=True):
    """Captions by source (``source_keys``), or of any source with ``content_hash``.
    Reply: `ImageCaptions`."""

    source_keys: tuple[str, ...] = ()
    content_hash: str | None = None


class ImageCaptionRow(msgspec.Struct, frozen=True, kw_only=True):
    source_key: str
    content_hash: str
    caption: str
    model: str
    created_at: str


class ImageCaptions(Message, frozen=True):
    """Reply: the captions found (at most one per source key)."""

    rows: tuple[ImageCaptionRow, ...]


StoreRequest = (
    StoreMessage
    | MarkMessageEdited
    | MarkMessageDeleted
    | RecentMessages
    | GetMessage
    | MessagesBetween
    | MessageGuilds
    | DeleteMessages
    | MessagesWithoutVector
    | PutMessageVectors
    | SearchMessages
    | LogAction
    | ActionsQuery
    | CountActions
    | ActionTotals
    | GetSetting
    | PutSetting
    | ClaimTrigger
    | LinkTriggerAction
    | ResumeInterrupted
    | PutImageCaption
    | GetImageCaptions
    | PutFact
    | MergeFact
    | PutFactVector
    | DeleteFacts
    | GetFacts
    | SearchFacts
    | FactsWithoutVector
    | CountFactVectors
    | FactOwners
    | GuildPeople
    | PutJob
    | GetJobs
    | SetJobStatus
    | ClaimRun
    | FinishRun
    | InterruptRuns
    | GetRuns
)
"""Every request the Store handles (a tagged union: decodes by ``type``)."""

StoreReply = (
    RowsChanged
    | MessageRows
    | GuildIds
    | MessageMatches
    | ActionLogged
    | ActionRows
    | ActionCount
    | ActionTotalsRows
    | SettingValue
    | SettingStored
    | SettingConflict
    | Claimed
    | MessageIds
    | ImageCaptions
    | FactWritten
    | FactRows
    | FactCandidates
    | FactOwnerCounts
    | FactVectorCount
    | JobWritten
    | JobRows
    | RunClaimed
    | RunRows
    | StoreRejected
)
"""Every reply the Store sends."""
