"""One browse task: the inner model loop over a page session (a thin loop around `BrowseLoop`).

The inner model is called through the `Llm` actor like every other call (`LlmClient`; logged as
``llm_call`` with ``purpose="browser_agent"``), with the browser steps as its tools. Its calls
run one at a time, in order, each bounded by the step timeout and the task's time left; a
screenshot step's picture joins the next request. The task ends when the model answers, when
it wants more steps than the budget, or when its time is up; then a screenshot of the final
page is taken for the outer model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import trio

from clanker.browser.chromium import PageSession, StepResult
from clanker.browser.policy import (
    STEP_SPECS,
    BrowseLimits,
    BrowseLoop,
    Finished,
    RunSteps,
    Screenshot,
    inner_system_prompt,
)
from clanker.llm import CallContext, LlmClient, LlmError, LlmRequest, SystemPart
from clanker.llm.model import ImagePart, ToolResultPart
from clanker.runtime import ActorError

log = logging.getLogger("clanker.browser")

__all__ = ["TaskResult", "run_task"]

INNER_MAX_TOKENS = 1024
FINAL_SCREENSHOT_SECONDS = 5.0


@dataclass(frozen=True)
class TaskResult:
    """What the task hands back: the outer model's text, whether it is an error, the final
    screenshot (JPEG) and the steps run."""

    text: str
    is_error: bool
    screenshot: bytes | None
    steps: int


async def run_task(
    task: str,
    session: PageSession,
    llm: LlmClient,
    *,
    limits: BrowseLimits,
    context: CallContext,
    start_url: str | None = None,
) -> TaskResult:
    """Run ``task`` on ``session`` to its end (module docstring); never raises for a failure
    of the model or the page (cancellation goes through)."""
    loop = BrowseLoop(task, limits=limits, started_at=trio.current_time(), start_url=start_url)
    system = (SystemPart(text=inner_system_prompt(limits)),)
    finished: Finished | None = None
    with trio.move_on_at(loop.deadline):
        try:
            finished = await _drive(loop, session, llm, system, context)
        except LlmError as exc:
            return TaskResult(
                f"browser_browse failed: the browser agent's model failed ({exc}).",
                True,
                None,
                loop.steps,
            )
        except ActorError as exc:
            return TaskResult(
                f"browser_browse failed: the model could not be asked ({exc}).",
                True,
                None,
                loop.steps,
            )
    if finished is None:
        finished = Finished("time", "", loop.steps)
    screenshot = None
    with trio.move_on_after(FINAL_SCREENSHOT_SECONDS):
        result = await session.run(Screenshot())
        screenshot = result.image
    return TaskResult(
        finished.result_text(limits, session.url), finished.is_error, screenshot, finished.steps
    )


async def _drive(
    loop: BrowseLoop,
    session: PageSession,
    llm: LlmClient,
    system: tuple[SystemPart, ...],
    context: CallContext,
) -> Finished:
    while True:
        request = LlmRequest(
            system=system,
            messages=loop.messages(),
            tools=STEP_SPECS,
            tool_choice=loop.tool_choice(),
            max_tokens=INNER_MAX_TOKENS,
            timeout=max(1.0, loop.time_left(trio.current_time())),
            context=context,
        )
        response = await llm.complete(request)
        outcome = loop.on_response(response, trio.current_time())
        if isinstance(outcome, Finished):
            return outcome
        results, images = await _run_steps(outcome, loop, session)
        loop.on_results(results, images)


async def _run_steps(
    steps: RunSteps, loop: BrowseLoop, session: PageSession
) -> tuple[list[ToolResultPart], list[ImagePart]]:
    results: list[ToolResultPart] = []
    images: list[ImagePart] = []
    for planned, step in zip(steps.calls, steps.steps, strict=True):
        if step is None:
            results.append(planned.refused())
            continue
        result: StepResult | None = None
        with trio.move_on_at(loop.step_deadline(trio.current_time())):
            result = await session.run(step)
        if result is None:
            result = StepResult(
                f"{planned.call.name} took longer than {loop.limits.step_timeout:g} s and was "
                "stopped.",
                is_error=True,
            )
        log.info("browser step %s: %s", planned.call.name, result.text.split("\n", 1)[0][:120])
        results.append(ToolResultPart(planned.call.id, result.text, is_error=result.is_error))
        url = result.data_url()
        if url is not None:
            images.append(ImagePart(url))
    return results, images
