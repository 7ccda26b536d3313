"""What must hold after a chaos run, checked from what the sandbox saw and what the Store kept.

Pure functions over plain data (the run collects it), each returning the problems it found as
sentences that say what broke; an empty list means the invariant held.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import pysqlite3.dbapi2 as sqlite3  # the Store's own SQLite: see read_store

TERMINAL = ("sent", "skipped", "failed", "cancelled")


@dataclass(frozen=True)
class Posted:
    """A member message the run posted: its id, where, when (trio time) and whether it was
    addressed to the bot."""

    message_id: int
    channel_id: int
    at: float
    addressed: bool


@dataclass(frozen=True)
class BotSend:
    """A message the bot posted (a successful REST call): where and when (trio time)."""

    channel_id: int
    at: float


@dataclass(frozen=True)
class Decision:
    decision: str
    reason: str
    message_id: int | None
    message_ids: tuple[int, ...]
    channel_id: int | None
    job_id: int | None


@dataclass(frozen=True)
class StoreView:
    """The Store after shutdown: stored message ids (with counts) and every reply decision."""

    message_counts: dict[int, int]
    decisions: tuple[Decision, ...]


def read_store(db: Path) -> StoreView:
    """Read the Store's file directly. While the tree runs (`quiesce`) this is a second
    connection in the Store's process, so it must use the Store's own SQLite library: two
    SQLite builds in one process do not see each other's POSIX locks on the WAL files, and
    closing one connection drops the other's locks (a SIGBUS in the WAL index was the result)."""
    con = sqlite3.connect(db)
    try:
        counts = dict(con.execute("SELECT message_id, COUNT(*) FROM messages GROUP BY message_id"))
        decisions = []
        rows = con.execute(
            "SELECT message_id, channel_id, metadata FROM actions "
            "WHERE kind = 'reply_decision' ORDER BY id"
        )
        for message_id, channel_id, metadata in rows:
            meta = json.loads(metadata)
            decisions.append(
                Decision(
                    decision=str(meta.get("decision", "")),
                    reason=str(meta.get("reason", "")),
                    message_id=message_id,
                    message_ids=tuple(int(m) for m in meta.get("message_ids", ())),
                    channel_id=channel_id,
                    job_id=meta.get("job_id"),
                )
            )
    finally:
        con.close()
    return StoreView(message_counts=counts, decisions=tuple(decisions))


def stored_exactly_once(posted: list[Posted], store: StoreView) -> list[str]:
    """Every member message is in the Store, once."""
    problems = []
    for p in posted:
        n = store.message_counts.get(p.message_id, 0)
        if n != 1:
            problems.append(
                f"member message {p.message_id} (posted at {p.at:.2f}) stored {n} times, not once"
            )
    return problems


def answered_or_explained(posted: list[Posted], store: StoreView) -> list[str]:
    """Every addressed message ends in a terminal decision that names it: sent (as part of a
    batch), or skipped / failed / cancelled with the reason."""
    resolved: set[int] = set()
    for d in store.decisions:
        if d.decision in TERMINAL:
            if d.message_id is not None:
                resolved.add(d.message_id)
            resolved.update(d.message_ids)
    problems = []
    for p in posted:
        if p.addressed and p.message_id not in resolved:
            seen = [
                f"{d.decision}: {d.reason}"
                for d in store.decisions
                if d.message_id == p.message_id or p.message_id in d.message_ids
            ]
            problems.append(
                f"addressed message {p.message_id} (posted at {p.at:.2f}) was neither answered "
                f"nor given a reason; its decisions: {seen or 'none at all'}"
            )
    return problems


def no_duplicate_sends(store: StoreView, sends: list[BotSend]) -> list[str]:
    """No message is the trigger of two sent replies, and the bot sent no more messages than
    the sent decisions account for."""
    problems = []
    sent = [d for d in store.decisions if d.decision == "sent"]
    triggers: dict[int, int] = {}
    for d in sent:
        if d.message_id is not None:
            triggers[d.message_id] = triggers.get(d.message_id, 0) + 1
    for mid, n in sorted(triggers.items()):
        if n > 1:
            problems.append(f"message {mid} was answered {n} times")
    covered: set[int] = set()
    for d in sent:
        overlap = covered & set(d.message_ids)
        if overlap:
            problems.append(f"messages {sorted(overlap)} were in two sent batches")
        covered.update(d.message_ids)
    if len(sends) > len(sent):
        problems.append(
            f"the bot posted {len(sends)} messages but only {len(sent)} sends were decided"
        )
    return problems


def blocked_channel_silent(
    posted: list[Posted], store: StoreView, channel_id: int, saved_at: float
) -> list[str]:
    """After the save that blocked ``channel_id``, no message posted there is answered."""
    after = {p.message_id for p in posted if p.channel_id == channel_id and p.at > saved_at}
    problems = []
    for d in store.decisions:
        if d.decision == "sent" and after & ({d.message_id} | set(d.message_ids)):
            problems.append(
                f"a reply went out in blocked channel {channel_id} for messages "
                f"{sorted(after & set(d.message_ids))} posted after the block was saved"
            )
    return problems


def pacing_held(
    sends: list[BotSend], *, min_gap: float, cap: int, cap_from: float, before_cap: int
) -> list[str]:
    """Sends are at least ``min_gap`` apart (across channels, with a little slack for the
    sandbox's own timing), and from ``cap_from`` on the hour's total stays within ``cap``
    (plus ``before_cap``: the replies already in flight when the lower cap was saved)."""
    problems = []
    times = sorted(s.at for s in sends)
    slack = 0.05
    for a, b in itertools.pairwise(times):
        if b - a < min_gap - slack:
            problems.append(f"two sends {b - a:.3f} s apart, under the min gap of {min_gap} s")
    total = len(times)
    allowed = cap + before_cap
    if total > allowed:
        problems.append(
            f"{total} sends in the hour, over the cap of {cap} saved at {cap_from:.2f} "
            f"(+{before_cap} in flight then)"
        )
    return problems
