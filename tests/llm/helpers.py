"""Test helpers: a scripted stand-in for the far end of a provider, and task counting.

`ScriptedProvider` stands where the SDK and the remote API are (the `ProviderClient` boundary),
so the service's retry / fallback / deadline loop can run on a MockClock with exact virtual
times. The real providers (SDK over HTTP) are exercised end to end against llmsim elsewhere.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import trio

from clanker.llm import LlmRequest, ProviderConfig, ProviderError, StreamDelta
from clanker.llm.errors import ErrorKind
from clanker.llm.model import ProviderOutput, TextDelta, Usage
from clanker.llm.providers import Emit, ProviderFailure
from clanker.llm.service import CallRecord


@dataclass(frozen=True)
class Answer:
    """Answer after ``delay`` seconds (streaming ``pieces`` ``gap`` seconds apart)."""

    text: str = "ok"
    delay: float = 0.0
    pieces: tuple[str, ...] = ()
    gap: float = 0.0
    usage: Usage = field(default_factory=lambda: Usage(input_tokens=10, output_tokens=2))


@dataclass(frozen=True)
class Fail:
    """Fail with ``kind`` after ``delay`` seconds (after streaming ``pieces`` first)."""

    kind: ErrorKind = ErrorKind.SERVER_ERROR
    retry_after: float | None = None
    delay: float = 0.0
    pieces: tuple[str, ...] = ()
    status: int | None = None


@dataclass(frozen=True)
class Hang:
    """Never answer."""


Outcome = Answer | Fail | Hang


class ScriptedProvider:
    """A `ProviderClient` whose attempts follow a script; records when each attempt began."""

    def __init__(
        self,
        name: str,
        *outcomes: Outcome,
        kind: str = "anthropic",
        model: str = "claude-sonnet-4-6",
        attempt_timeout: float = 120.0,
    ) -> None:
        self.config = ProviderConfig(
            name=name,
            kind=kind,  # type: ignore[arg-type]
            model=model,
            api_key="k",
            base_url="http://127.0.0.1:1/v1",  # never dialled
            attempt_timeout=attempt_timeout,
        )
        self.script: deque[Outcome] = deque(outcomes)
        self.started: list[float] = []
        self.closed = False

    async def _play(self, emit: Emit | None) -> ProviderOutput:
        self.started.append(trio.current_time())
        outcome = self.script.popleft() if self.script else Answer()
        if isinstance(outcome, Hang):
            await trio.sleep_forever()
        assert isinstance(outcome, Answer | Fail)
        await trio.sleep(outcome.delay)
        for piece in outcome.pieces:
            if emit is not None:
                await emit(TextDelta(piece))
            if isinstance(outcome, Answer):
                await trio.sleep(outcome.gap)
        if isinstance(outcome, Fail):
            raise ProviderFailure(
                ProviderError(
                    provider=self.config.name,
                    model=self.config.model,
                    kind=outcome.kind,
                    message=f"scripted {outcome.kind.value}",
                    status=outcome.status,
                    retry_after=outcome.retry_after,
                )
            )
        text = "".join(outcome.pieces) or outcome.text
        return ProviderOutput(text=text, usage=outcome.usage, model=self.config.model)

    async def complete(self, request: LlmRequest) -> ProviderOutput:
        return await self._play(None)

    async def stream(self, request: LlmRequest, emit: Emit) -> ProviderOutput:
        return await self._play(emit)

    async def aclose(self) -> None:
        self.closed = True


class Records:
    """A `CallSink` that keeps every record."""

    def __init__(self) -> None:
        self.records: list[CallRecord] = []

    async def __call__(self, record: CallRecord) -> None:
        self.records.append(record)


def count_tasks() -> int:
    """How many tasks are alive in this trio run."""

    def walk(task: trio.lowlevel.Task) -> int:
        return 1 + sum(
            walk(child) for nursery in task.child_nurseries for child in nursery.child_tasks
        )

    return walk(trio.lowlevel.current_root_task())


def collect(deltas: list[StreamDelta]) -> str:
    """The text of the text deltas."""
    return "".join(d.text for d in deltas if isinstance(d, TextDelta))
