"""`StoreClient`: typed calls to the Store actor for code that is not an actor message handler.

Each method asks and checks the reply's type, so callers get a typed result (and mypy knows
it). A `StoreRejected` reply is raised as `StoreRequestError`; a `SettingConflict` is returned,
because losing a compare-and-swap is an expected outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import msgspec

from clanker.runtime import ActorRef, UnexpectedReply
from clanker.store import facts as f
from clanker.store import messages as m

R = TypeVar("R")


class StoreRequestError(Exception):
    """The Store refused a request; ``rejected`` says which and why."""

    def __init__(self, rejected: m.StoreRejected) -> None:
        self.rejected = rejected
        super().__init__(f"the store refused {rejected.request}: {rejected.problem}")


class StoreClient:
    """Typed wrapper over an `ActorRef` to the Store (see `clanker.store.messages`)."""

    def __init__(self, ref: ActorRef, *, timeout: float = 10.0) -> None:
        self.ref = ref
        self.timeout = timeout

    async def _ask(self, msg: msgspec.Struct, *reply_types: type[R]) -> R:
        reply = await self.ref.ask(msg, timeout=self.timeout)
        if isinstance(reply, m.StoreRejected):
            raise StoreRequestError(reply)
        if not isinstance(reply, reply_types):
            expected = " | ".join(t.__qualname__ for t in reply_types)
            raise UnexpectedReply(self.ref.path, expected, type(reply).__qualname__)
        return reply

    async def store_message(self, msg: m.StoreMessage) -> int:
        """Record a message (committed on return); returns rows changed."""
        return (await self._ask(msg, m.RowsChanged)).count

    async def mark_message_edited(self, msg: m.MarkMessageEdited) -> int:
        """Replace a stored message's content after an edit; returns rows changed (0: unknown)."""
        return (await self._ask(msg, m.RowsChanged)).count

    async def mark_message_deleted(self, message_id: int) -> int:
        """Flag a stored message deleted; returns rows changed (0: unknown)."""
        return (await self._ask(m.MarkMessageDeleted(message_id=message_id), m.RowsChanged)).count

    async def get_message(self, message_id: int) -> m.MessageRow | None:
        """One stored message by id (deleted or not), or None."""
        rows = (await self._ask(m.GetMessage(message_id=message_id), m.MessageRows)).rows
        return rows[0] if rows else None

    async def put_image_caption(self, msg: m.PutImageCaption) -> int:
        """Record an image's caption (committed on return); returns rows changed."""
        return (await self._ask(msg, m.RowsChanged)).count

    async def image_captions(
        self, source_keys: Sequence[str] = (), content_hash: str | None = None
    ) -> tuple[m.ImageCaptionRow, ...]:
        """Captions by source key, or of any source with ``content_hash``."""
        req = m.GetImageCaptions(source_keys=tuple(source_keys), content_hash=content_hash)
        return (await self._ask(req, m.ImageCaptions)).rows

    async def recent_messages(
        self, channel_id: int, limit: int = 50, before_id: int | None = None
    ) -> tuple[m.MessageRow, ...]:
        """The channel's latest messages, oldest first."""
        req = m.RecentMessages(channel_id=channel_id, limit=limit, before_id=before_id)
        return (await self._ask(req, m.MessageRows)).rows

    async def log_action(self, action: m.LogAction) -> m.ActionLogged:
        """Append to the action log (committed on return)."""
        return await self._ask(action, m.ActionLogged)

    async def count_actions(self, kind: str, since: str) -> m.ActionCount:
        """Count of actions of ``kind`` since ``since`` and their cost."""
        return await self._ask(m.CountActions(kind=kind, since=since), m.ActionCount)

    async def get_setting(self, key: str) -> m.SettingValue:
        """A setting's JSON text and version (0 if unset)."""
        return await self._ask(m.GetSetting(key=key), m.SettingValue)

    async def put_setting(
        self, key: str, value: str, expected_version: int
    ) -> m.SettingStored | m.SettingConflict:
        """Compare-and-swap a setting's JSON text."""
        req = m.PutSetting(key=key, value=value, expected_version=expected_version)
        reply: m.SettingStored | m.SettingConflict = await self._ask(
            req, m.SettingStored, m.SettingConflict
        )
        return reply

    async def claim(self, message_id: int, claimed_by: str) -> m.Claimed:
        """Claim ``message_id`` for ``claimed_by``; the reply says who holds it either way."""
        return await self._ask(
            m.ClaimTrigger(message_id=message_id, claimed_by=claimed_by), m.Claimed
        )

    async def resume_interrupted(self, req: m.ResumeInterrupted) -> m.MessageIds:
        """The channel's admitted messages no finished job covers, now claimed by
        ``req.claimer``, and (``mid_send``) those whose send had started (see
        `ResumeInterrupted`)."""
        return await self._ask(req, m.MessageIds)

    async def claim_trigger(self, message_id: int, claimed_by: str) -> bool:
        """True if this caller won the right to answer ``message_id``."""
        return (await self.claim(message_id, claimed_by)).claimed

    # --- long-term memory (clanker.store.facts) ------------------------------------------------

    async def put_fact(self, req: f.PutFact) -> f.FactWritten:
        """Insert a fact (and archive/vector as asked); a duplicate raises StoreRequestError."""
        return await self._ask(req, f.FactWritten)

    async def merge_fact(self, req: f.MergeFact) -> f.FactWritten:
        """Apply a duplicate merge; an unknown fact raises StoreRequestError."""
        return await self._ask(req, f.FactWritten)

    async def put_fact_vector(self, req: f.PutFactVector) -> int:
        """Store or replace a fact's vector; 0 if the fact is unknown."""
        return (await self._ask(req, m.RowsChanged)).count

    async def update_fact(self, req: f.UpdateFact) -> int:
        """Edit a fact in place; 0 if it is unknown, a duplicate raises StoreRequestError."""
        return (await self._ask(req, m.RowsChanged)).count

    async def set_fact_active(self, fact_id: int, active: bool) -> int:
        """Archive or restore a fact; 0 if it is unknown or already so."""
        req = f.SetFactActive(fact_id=fact_id, active=active)
        return (await self._ask(req, m.RowsChanged)).count

    async def delete_facts(self, fact_ids: Sequence[int]) -> int:
        """Delete facts and their vectors; returns how many facts went."""
        return (await self._ask(f.DeleteFacts(fact_ids=tuple(fact_ids)), m.RowsChanged)).count

    async def get_facts(self, req: f.GetFacts) -> tuple[f.FactRow, ...]:
        """Facts of some owners, newest update first."""
        return (await self._ask(req, f.FactRows)).rows

    async def facts_without_vector(self, model: str, limit: int = 32) -> tuple[f.FactRow, ...]:
        """Active facts lacking a vector of ``model``, oldest first."""
        req = f.FactsWithoutVector(model=model, limit=limit)
        return (await self._ask(req, f.FactRows)).rows

    async def count_fact_vectors(self, model: str) -> f.FactVectorCount:
        """Active facts, and how many of them have a vector of ``model``."""
        return await self._ask(f.CountFactVectors(model=model), f.FactVectorCount)

    async def search_facts(self, req: f.SearchFacts) -> tuple[f.FactCandidate, ...]:
        """Hybrid candidates (KNN per owner, FTS5, recent), unordered."""
        return (await self._ask(req, f.FactCandidates)).candidates
