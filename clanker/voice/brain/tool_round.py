"""One round of a voice answer's tool calls (see `clanker.voice.brain.tool_step`)."""

from __future__ import annotations

import msgspec

from clanker.guilds.tool_calls import hourly_left, run_step
from clanker.llm.model import LlmRequest, LlmResponse
from clanker.store import StoreClient
from clanker.text.tool_loop import Answer, ToolBudget, ToolLoop
from clanker.text.tool_registry import ToolContext, ToolRegistry
from clanker.voice.brain.tool_step import VOICE_MAX_CALLS

__all__ = ["follow_up_request"]


async def follow_up_request(
    request: LlmRequest,
    response: LlmResponse,
    registry: ToolRegistry,
    context: ToolContext,
    *,
    store: StoreClient | None,
    timeout: float,
    reply_id: int,
) -> LlmRequest | None:
    """Run the response's tool calls (one round) and return the request that asks for the
    answer with their results; None when the response calls no tool. Calls over the hourly
    budget (counted from the action log; with no store, not counted) are refused with a text
    the model can act on."""
    tools = registry.enabled()
    if store is None:
        left: dict[str, int | None] = {tool.name: None for tool in tools}
    else:
        left = await hourly_left(store, tools, {tool.name: tool.per_hour for tool in tools})
    loop = ToolLoop(
        request.messages,
        budget=ToolBudget(max_steps=1, max_calls=VOICE_MAX_CALLS),
        hourly_left=left,
    )
    step = loop.on_response(response)
    if isinstance(step, Answer):
        return None
    results = await run_step(step, registry, context, store=store, timeout=timeout, job_id=reply_id)
    loop.on_results(results)
    return msgspec.structs.replace(request, messages=loop.messages(), tool_choice="none")
