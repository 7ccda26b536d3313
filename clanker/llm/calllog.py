"""Every LLM call as an ``llm_call`` row in the Store's action log.

`call_action` turns a `CallRecord` into a `LogAction`: the reply text (or the failure) as
content, the cost in ``usd_cost``, the context's Discord ids in their columns, and in metadata
the provider, model, outcome, token usage (cache reads and writes included), latency, stop
reason, tool names, the error and every attempt with the decision taken after it. API keys are
never part of a record, so they cannot reach a row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from clanker.llm.model import ImagePart, TextPart, ToolResultPart, ToolUsePart
from clanker.llm.retry import FallBack, GiveUp, RetryAt
from clanker.llm.service import AttemptRecord, CallRecord
from clanker.runtime import ActorError, ActorRef
from clanker.store import LogAction, to_json

log = logging.getLogger(__name__)

LLM_CALL = "llm_call"
"""The action kind of every LLM call."""


def _attempt(a: AttemptRecord) -> dict[str, Any]:
    row: dict[str, Any] = {
        "provider": a.provider,
        "model": a.model,
        "started_at": round(a.started_at, 6),
        "ended_at": round(a.ended_at, 6),
    }
    if a.error is not None:
        row["error"] = {
            "kind": a.error.kind.value,
            "status": a.error.status,
            "message": a.error.message,
            "retry_after": a.error.retry_after,
        }
    d = a.decision
    if isinstance(d, RetryAt):
        row["decision"] = {"action": "retry", "at": round(d.at, 6), "reason": d.reason}
    elif isinstance(d, FallBack):
        row["decision"] = {"action": "fall_back", "reason": d.reason}
    elif isinstance(d, GiveUp):
        row["decision"] = {"action": "give_up", "reason": d.reason}
    return row


def _prompt(record: CallRecord) -> dict[str, Any]:
    def part(p: object) -> dict[str, Any]:
        if isinstance(p, TextPart):
            return {"text": p.text}
        if isinstance(p, ImagePart):
            return {"image": p.url if not p.url.startswith("data:") else "data:…"}
        if isinstance(p, ToolUsePart):
            return {"tool_use": p.name, "id": p.id, "arguments": p.arguments}
        assert isinstance(p, ToolResultPart)
        return {"tool_result": p.tool_use_id, "content": p.content, "is_error": p.is_error}

    request = record.request
    return {
        "system": request.system_text,
        "messages": [
            {"role": m.role, "parts": [part(p) for p in m.parts]} for m in request.messages
        ],
    }


def call_action(
    record: CallRecord, *, log_prompts: bool = False, text_chars: int = 4000
) -> LogAction:
    """The ``llm_call`` action for one finished call."""
    request = record.request
    response, failure = record.response, record.failure
    metadata: dict[str, Any] = {
        "outcome": record.outcome,
        "purpose": request.context.purpose,
        "streamed": record.streamed,
        "latency": round(record.ended_at - record.started_at, 6),
        "attempts": [_attempt(a) for a in record.attempts],
        "tools": [t.name for t in request.tools],
        "prompt_chars": len(request.system_text) + sum(len(m.text) for m in request.messages),
    }
    if response is not None:
        metadata.update(
            provider=response.provider,
            model=response.model,
            usage={
                "input_tokens": response.usage.input_tokens,
                "output_tokens": response.usage.output_tokens,
                "cache_read_tokens": response.usage.cache_read_tokens,
                "cache_write_tokens": response.usage.cache_write_tokens,
            },
            stop_reason=response.stop_reason,
            tool_calls=[c.name for c in response.tool_calls],
            priced=record.priced,
            first_delta_after=response.first_delta_after,
            error=None,
        )
        content, cost = response.text, response.usd_cost
    else:
        last = record.attempts[-1] if record.attempts else None
        metadata.update(
            provider=failure.provider if failure else (last.provider if last else ""),
            model=failure.model if failure else (last.model if last else ""),
            usage=None,
            error=None
            if failure is None
            else {
                "kind": failure.kind.value,
                "provider": failure.provider,
                "status": failure.status,
                "message": failure.message,
            },
        )
        content = failure.describe() if failure else "cancelled by the caller"
        cost = 0.0
    if log_prompts:
        metadata["prompt"] = _prompt(record)
    ctx = request.context
    return LogAction(
        kind=LLM_CALL,
        guild_id=ctx.guild_id,
        channel_id=ctx.channel_id,
        message_id=ctx.message_id,
        user_id=ctx.user_id,
        content=content[:text_chars],
        metadata=to_json(metadata),
        usd_cost=cost,
    )


class StoreCallLog:
    """A `CallSink` that tells each call's ``llm_call`` action to the Store.

    ``store`` is called for the Store's ref at every write (so a restarted Store is found
    again); if the Store is not there, the row is dropped with a warning, never the call.
    """

    def __init__(
        self,
        store: Callable[[], ActorRef],
        *,
        log_prompts: bool = False,
        text_chars: int = 4000,
    ) -> None:
        self.store = store
        self.log_prompts = log_prompts
        self.text_chars = text_chars

    async def __call__(self, record: CallRecord) -> None:
        action = call_action(record, log_prompts=self.log_prompts, text_chars=self.text_chars)
        try:
            await self.store().tell(action)
        except ActorError as exc:
            log.warning("llm_call not logged (the store is unavailable): %s", exc)
