"""Running one step of a reply's tool calls: concurrently, each bounded, each logged.

`run_step` carries out a `RunTools` from the `ToolLoop`: the calls to run go in a nursery (one
task each, `timeout` seconds each), refused ones are answered with their refusal. A tool that
raises, times out or returns nothing usable gives the model an error text it can act on; the
reply goes on. Every call is logged as an action — kind ``tool_<name>`` when it ran (the hourly
budgets count these), ``tool_refused`` when it did not — with its arguments, result size,
duration and cost. Cancelling the reply (a stop word) cancels the calls with it; each call
cancelled so is logged with ``"cancelled": true``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import trio

from clanker.llm.model import ImagePart, ToolResultPart
from clanker.runtime import ActorError
from clanker.store import (
    LogAction,
    StoreClient,
    StoreRequestError,
    calendar_now,
    to_iso,
    to_json,
)
from clanker.text.tool_loop import PlannedCall, RunTools
from clanker.text.tool_registry import Tool, ToolContext, ToolOutput, ToolRegistry

log = logging.getLogger("clanker.tools")

MAX_RESULT_CHARS = 12_000  # what one tool result may put into the next request
REFUSED_KIND = "tool_refused"
CANCEL_LOG_SECONDS = 2.0  # how long a cancelled call may take to log that it was cancelled


def action_kind(tool_name: str) -> str:
    """The action kind a run of this tool is logged as (and its hourly budget counts): its name
    in lower_snake_case, as action kinds are."""
    return ("tool_" + re.sub(r"[^a-z0-9_]", "_", tool_name.lower()))[:64]


async def hourly_left(
    store: StoreClient, tools: list[Tool], limits: Mapping[str, int | None]
) -> dict[str, int | None]:
    """Per tool: calls it may still make this hour (None: no budget), from the action log.
    A store that cannot answer leaves budgeted tools at 0 (they are not run blind)."""
    since = to_iso(calendar_now() - timedelta(hours=1))
    left: dict[str, int | None] = {}
    for tool in tools:
        limit = limits.get(tool.name)
        if limit is None:
            left[tool.name] = None
            continue
        try:
            used = (await store.count_actions(action_kind(tool.name), since)).count
        except (ActorError, StoreRequestError) as exc:
            log.warning("tool budget of %s unknown (%s): not offered this turn", tool.name, exc)
            used = limit
        left[tool.name] = max(0, limit - used)
    return left


async def run_step(
    step: RunTools,
    registry: ToolRegistry,
    context: ToolContext,
    *,
    store: StoreClient | None,
    timeout: float,
    job_id: int,
    images_out: list[ImagePart] | None = None,
) -> list[ToolResultPart]:
    """Every call's result, in the calls' order (``store`` None: nothing is logged); images
    the tools returned are added to ``images_out``, in the calls' order."""
    results: list[ToolResultPart | None] = [None] * len(step.calls)
    images: list[tuple[ImagePart, ...]] = [() for _ in step.calls]

    async def one(index: int, planned: PlannedCall) -> None:
        results[index], images[index] = await _run_one(
            planned, registry, context, store=store, timeout=timeout, job_id=job_id, step=step
        )

    async with trio.open_nursery() as nursery:
        for index, planned in enumerate(step.calls):
            nursery.start_soon(one, index, planned)
    done = [r for r in results if r is not None]
    assert len(done) == len(step.calls)
    if images_out is not None:
        images_out.extend(image for per_call in images for image in per_call)
    return done


async def _run_one(
    planned: PlannedCall,
    registry: ToolRegistry,
    context: ToolContext,
    *,
    store: StoreClient | None,
    timeout: float,
    job_id: int,
    step: RunTools,
) -> tuple[ToolResultPart, tuple[ImagePart, ...]]:
    call = planned.call
    if not planned.runs:
        result = planned.refused()
        await _log(
            store,
            context,
            REFUSED_KIND,
            result.content,
            {"job_id": job_id, "step": step.step, "tool": call.name, "call_id": call.id},
        )
        return result, ()
    tool = registry.get(call.name)
    assert tool is not None, "the loop only runs offered tools"
    started = trio.current_time()
    output: ToolOutput | None = None
    failure: str | None = None
    if tool.call_timeout is not None:
        timeout = tool.call_timeout
    with trio.move_on_after(timeout) as scope:
        try:
            output = await tool.run(call.arguments, context)
        except trio.Cancelled:
            # The reply was cancelled (a stop word, a timeout): the call is logged as cancelled
            # (it counts against the hourly budget: it ran) before the cancellation goes on.
            with trio.CancelScope(shield=True, deadline=trio.current_time() + CANCEL_LOG_SECONDS):
                await _log(
                    store,
                    context,
                    action_kind(call.name),
                    f"{call.name} was cancelled",
                    {
                        "job_id": job_id,
                        "step": step.step,
                        "tool": call.name,
                        "call_id": call.id,
                        "arguments": dict(call.arguments),
                        "is_error": True,
                        "cancelled": True,
                        "seconds": round(trio.current_time() - started, 3),
                    },
                )
            raise
        except Exception as exc:  # a tool's bug must not take the reply down
            log.exception("tool %s failed", call.name)
            failure = f"{call.name} failed: {type(exc).__name__}: {exc}"
    if scope.cancelled_caught:
        failure = f"{call.name} took longer than {timeout:g} s and was stopped."
    if output is None:
        output = ToolOutput(failure or f"{call.name} returned nothing.", is_error=True)
    elif not isinstance(output, ToolOutput):
        output = ToolOutput(f"{call.name} returned {type(output).__name__}, not a ToolOutput", True)
    content = output.content
    if len(content) > MAX_RESULT_CHARS:
        content = content[:MAX_RESULT_CHARS] + f"\n[… cut at {MAX_RESULT_CHARS} characters]"
    await _log(
        store,
        context,
        action_kind(call.name),
        content[:2000],
        {
            "job_id": job_id,
            "step": step.step,
            "tool": call.name,
            "call_id": call.id,
            "arguments": dict(call.arguments),
            "is_error": output.is_error,
            "result_chars": len(output.content),
            "images": len(output.images),
            "seconds": round(trio.current_time() - started, 3),
        },
        usd_cost=output.usd_cost if math.isfinite(output.usd_cost) and output.usd_cost > 0 else 0.0,
    )
    return ToolResultPart(call.id, content or "(empty)", is_error=output.is_error), output.images


async def _log(
    store: StoreClient | None,
    context: ToolContext,
    kind: str,
    content: str,
    metadata: dict[str, Any],
    *,
    usd_cost: float = 0.0,
) -> None:
    if store is None:
        return
    try:
        await store.log_action(
            LogAction(
                kind=kind,
                guild_id=context.guild_id,
                channel_id=context.channel_id,
                message_id=context.message_id,
                user_id=context.user_id,
                content=content,
                metadata=to_json(metadata),
                usd_cost=usd_cost,
            )
        )
    except (ActorError, StoreRequestError) as exc:
        log.error("could not log %s: %s", kind, exc)
