"""The ``browser_browse`` tool: a reply's model hands a task to the browser agent.

The tool itself is thin: it checks the arguments and asks the `BrowserAgent` actor (found by
name through the call's `ToolContext.lookup`) to run the task in the reply's channel. The
actor answers with the agent's text and the final page's screenshot, which the outer model
sees with the result (a model that cannot see images gets the Llm layer's note instead).
Cancelling the call (a stop word) makes the actor stop the task and close the page.
Logged and budgeted like every tool (``tool_browser_browse`` rows; 10 an hour by default,
the original's ``maxBrowseCallsPerHour``).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from clanker.browser.actor import BROWSER_NAME, BrowseOutcome, BrowseTask
from clanker.browser.policy import BrowseLimits
from clanker.llm.model import ImagePart, ToolSpec
from clanker.runtime import ActorError
from clanker.text.tool_registry import Tool, ToolContext, ToolOutput

__all__ = ["BROWSER_BROWSE_SPEC", "BROWSES_PER_HOUR", "browser_browse_tool"]

BROWSES_PER_HOUR = 10  # the original's maxBrowseCallsPerHour
MAX_TASK_CHARS = 2000
CALL_GRACE = 15.0  # beyond the task's own time: launching Chromium, the final screenshot

BROWSER_BROWSE_SPEC = ToolSpec(
    name="browser_browse",
    description=(
        "Give a browser agent a task on the web: it opens pages in a real browser, clicks, "
        "fills in forms, scrolls and reads, then reports what it found, with a screenshot of "
        "the last page. Slow; for a plain lookup use web_search or web_scrape. The browser "
        "stays on its last page in this channel, so a follow-up task can go on from there."
    ),
    parameters={
        "type": "object",
        "properties": {
            "task": {
                "type": "string",
                "description": "What to do and what to report, in plain words.",
            },
            "url": {"type": "string", "description": "A public http(s) URL to start at."},
            "new_session": {
                "type": "boolean",
                "description": "Start from a fresh page instead of the channel's last one.",
            },
        },
        "required": ["task"],
    },
)


def _task(arguments: Mapping[str, Any]) -> BrowseTask | str:
    task = arguments.get("task")
    if not isinstance(task, str) or not task.strip():
        return "'task' is missing: say what the browser should do and report."
    if len(task) > MAX_TASK_CHARS:
        return f"'task' is {len(task)} characters; at most {MAX_TASK_CHARS}."
    url = arguments.get("url")
    if url is not None and (
        not isinstance(url, str) or not url.strip().lower().startswith(("http://", "https://"))
    ):
        return f"'url' must be an absolute http(s) URL, got {url!r:.80}."
    fresh = arguments.get("new_session", False)
    if not isinstance(fresh, bool):
        return f"'new_session' must be true or false, got {fresh!r}."
    return BrowseTask(
        channel_id=0, task=task.strip(), url=url.strip() if url else None, new_session=fresh
    )


def browser_browse_tool(limits: BrowseLimits | None = None, *, actor: str = BROWSER_NAME) -> Tool:
    """The tool, for a tree with a `BrowserAgent` registered as ``actor`` (its call timeout:
    the task's time plus a grace)."""
    task_limits = limits or BrowseLimits()
    timeout = task_limits.task_timeout + CALL_GRACE

    async def run(arguments: Mapping[str, Any], context: ToolContext) -> ToolOutput:
        parsed = _task(arguments)
        if isinstance(parsed, str):
            return ToolOutput(parsed, is_error=True)
        if context.lookup is None:
            return ToolOutput("browser_browse is not available here.", is_error=True)
        task = BrowseTask(
            channel_id=context.channel_id,
            task=parsed.task,
            url=parsed.url,
            new_session=parsed.new_session,
            guild_id=context.guild_id,
            message_id=context.message_id,
            user_id=context.user_id,
        )
        try:
            outcome = await context.lookup(actor).ask(task, BrowseOutcome, timeout=timeout)
        except ActorError as exc:
            return ToolOutput(f"browser_browse failed: the browser agent: {exc}", is_error=True)
        images: tuple[ImagePart, ...] = ()
        if outcome.screenshot:
            data = base64.b64encode(outcome.screenshot).decode("ascii")
            images = (ImagePart("data:image/jpeg;base64," + data),)
        return ToolOutput(outcome.content, outcome.is_error, images=images)

    return Tool(spec=BROWSER_BROWSE_SPEC, run=run, per_hour=BROWSES_PER_HOUR, call_timeout=timeout)
