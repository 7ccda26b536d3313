"""A reply's tool loop, without I/O: which of the model's tool calls run, and when it must answer.

The caller asks the model (`messages()`, `tool_choice()`), hands the response to `on_response`,
and gets either `Answer` (no tool calls, or no budget left: that response is the reply) or
`RunTools`: the calls of this step, each either to run or refused with the text the model gets
instead (an unknown tool, arguments that are not an object, the reply's call budget or the
tool's hourly budget spent). The caller runs the ones to run (concurrently), and hands every
call's `ToolResultPart` back, in the calls' order, to `on_results`; then asks again.

Budgets: at most `max_steps` rounds of tool calls and `max_calls` calls per reply (the original
system's 2 and 3). Once either is used up, the next request is made with `tool_choice="none"`
(the tools stay declared, as providers require when the history holds tool calls), so the model
answers with what it has. Every decision is a plain value; same inputs, same loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from clanker.llm.model import ImagePart, LlmMessage, LlmResponse, ToolCall, ToolResultPart, user

__all__ = ["Answer", "PlannedCall", "RunTools", "ToolBudget", "ToolLoop"]

DEFAULT_MAX_STEPS = 2
DEFAULT_MAX_CALLS = 3


@dataclass(frozen=True)
class ToolBudget:
    """Per reply: rounds of tool calls, and calls in all."""

    max_steps: int = DEFAULT_MAX_STEPS
    max_calls: int = DEFAULT_MAX_CALLS

    def __post_init__(self) -> None:
        if self.max_steps < 0 or self.max_calls < 0:
            raise ValueError(f"a tool budget is not negative: {self}")


@dataclass(frozen=True)
class PlannedCall:
    """One call of a step: run it (`refusal` None), or answer it with `refusal` as an error."""

    call: ToolCall
    refusal: str | None = None

    @property
    def runs(self) -> bool:
        return self.refusal is None

    def refused(self) -> ToolResultPart:
        assert self.refusal is not None
        return ToolResultPart(self.call.id, self.refusal, is_error=True)


@dataclass(frozen=True)
class RunTools:
    """Run this step's calls, then hand their results to `ToolLoop.on_results`."""

    step: int  # 1-based
    calls: tuple[PlannedCall, ...]


@dataclass(frozen=True)
class Answer:
    """The loop is over: `response` is the model's answer."""

    response: LlmResponse
    steps: int  # rounds of tool calls made
    calls: int  # calls run
    # The model still asked for tools when none were left (its calls were not run).
    unanswered_calls: int = 0


class ToolLoop:
    """One reply's loop. `hourly_left` is, per offered tool, how many calls it may still make
    this hour (None: no hourly budget); tools not in it are unknown to the model."""

    def __init__(
        self,
        messages: Sequence[LlmMessage],
        *,
        budget: ToolBudget,
        hourly_left: Mapping[str, int | None],
    ) -> None:
        self._messages = list(messages)
        self.budget = budget
        self._hourly_left = dict(hourly_left)
        self.steps = 0
        self.calls = 0
        self._pending: RunTools | None = None

    # -- what to ask next ------------------------------------------------------------------

    def messages(self) -> tuple[LlmMessage, ...]:
        return tuple(self._messages)

    def tool_choice(self) -> Literal["auto", "none"]:
        """`none` once the budget is spent (or when no tool is offered)."""
        return "none" if self._spent() or not self._hourly_left else "auto"

    @property
    def offered(self) -> list[str]:
        """The tool names the model is offered."""
        return list(self._hourly_left)

    def _spent(self) -> bool:
        return self.steps >= self.budget.max_steps or self.calls >= self.budget.max_calls

    # -- what the model said ---------------------------------------------------------------

    def on_response(self, response: LlmResponse) -> RunTools | Answer:
        if self._pending is not None:
            raise RuntimeError("the previous step's results were not handed back")
        if not response.tool_calls:
            return Answer(response, self.steps, self.calls)
        if self._spent() or not self._hourly_left:
            return Answer(response, self.steps, self.calls, len(response.tool_calls))
        self.steps += 1
        planned = tuple(self._plan(call) for call in response.tool_calls)
        self._messages.append(response.as_message())
        self._pending = RunTools(self.steps, planned)
        return self._pending

    def _plan(self, call: ToolCall) -> PlannedCall:
        if call.name not in self._hourly_left:
            offered = ", ".join(self._hourly_left) or "none"
            return PlannedCall(call, f"There is no tool named {call.name!r} (tools: {offered}).")
        if call.arguments_error is not None:
            return PlannedCall(
                call,
                f"The arguments were not a JSON object ({call.arguments_error}); "
                "call the tool again with an object that fits its schema.",
            )
        if self.calls >= self.budget.max_calls:
            return PlannedCall(
                call,
                f"Not run: this reply's tool budget ({self.budget.max_calls} calls) is spent. "
                "Answer with what you have.",
            )
        left = self._hourly_left[call.name]
        if left is not None:
            if left <= 0:
                return PlannedCall(
                    call,
                    f"Not run: {call.name}'s hourly budget is spent. Answer without it, and say "
                    "so if it matters.",
                )
            self._hourly_left[call.name] = left - 1
        self.calls += 1
        return PlannedCall(call)

    def on_results(
        self, results: Sequence[ToolResultPart], images: Sequence[ImagePart] = ()
    ) -> None:
        """Every call's result of the pending step, in its calls' order; ``images`` the tools
        returned, shown after the results."""
        pending = self._pending
        if pending is None:
            raise RuntimeError("no tool step is pending")
        expected = [p.call.id for p in pending.calls]
        got = [r.tool_use_id for r in results]
        if got != expected:
            raise ValueError(f"results for {got}, expected one per call in order: {expected}")
        self._messages.append(user(*results, *images))
        self._pending = None
