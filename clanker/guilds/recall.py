"""A reply's recall: the facts its prompt may carry, asked of the memory service, bounded.

The owners come from the privacy rule (`clanker.memory.owners.reply_scope`, the speaker first),
the query is the batch's text, the memory service composes guidance, the people's profiles and
the relevant facts (`clanker.memory.profile`), and the section is formatted by
`clanker.memory.prompt`. Memory is a help, never
a gate: no memory service in the tree, a failed or slow recall (past `RECALL_TIMEOUT`), or
nothing relevant — the reply goes on without the section (a failure is logged).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from clanker.memory.owners import RecallScope
from clanker.memory.prompt import PromptFact, memory_section
from clanker.memory.service import Recalled, RecallForPrompt
from clanker.runtime import ActorError, ActorRef

log = logging.getLogger("clanker.memory")

RECALL_TIMEOUT = 1.5
MAX_QUERY_CHARS = 600


def recall_query(texts: Sequence[str]) -> str:
    """The batch's messages as one query (the latest kept when it is long)."""
    joined = " ".join(" ".join(t.split()) for t in texts if t.strip())
    return joined[-MAX_QUERY_CHARS:]


async def recall_section(
    memory: Callable[[], ActorRef | None],
    scope: RecallScope,
    texts: Sequence[str],
    names: Mapping[int, str],
    *,
    channel_id: int | None,
    job_id: int,
    timeout: float = RECALL_TIMEOUT,
) -> str | None:
    """The "what you remember" body for this reply, or None."""
    query = recall_query(texts)
    ref = memory()
    if ref is None or not query:
        return None
    try:
        reply = await ref.ask(
            RecallForPrompt(
                owner_keys=scope.owner_keys,
                query=query,
                channel_id=channel_id,
                with_dm_facts=scope.with_dm_facts,
            ),
            Recalled,
            timeout=timeout,
        )
    except ActorError as exc:
        log.warning("reply job %d: no memory in the prompt (recall failed: %s)", job_id, exc)
        return None
    if reply.problem is not None:
        log.warning("reply job %d: no memory in the prompt (%s)", job_id, reply.problem)
        return None
    facts = [
        PromptFact(f.owner_key, f.fact, f.fact_type)
        for f in reply.facts
        if f.owner_key in scope.owner_keys  # the service only searched these; kept as a guard
    ]
    return memory_section(facts, names)
