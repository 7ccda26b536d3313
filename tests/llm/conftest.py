"""Fixtures for the end-to-end tests: llmsim servers and services pointed at them.

These tests run the official SDKs over real sockets, so they use the real clock (a MockClock
could jump past an attempt's deadline while a socket or the SDK's one worker-thread call is
pending). Waits are short (retry-after 0.05 s) and nothing asserts on elapsed wall time: timing
assertions compare trio times the code itself recorded (the policy's scheduled retry time and
the time llmsim received the retry).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from clanker.llm import LlmConfig, LlmService, ProviderConfig, RetryConfig
from clanker.llmsim import LlmSim, open_llmsim

from .helpers import Records

KEY = "sk-llmsim-test-key"

# (provider kind, api, model): every wire API the providers speak.
KINDS: dict[str, tuple[str, str | None, str]] = {
    "anthropic": ("anthropic", None, "claude-sonnet-4-6"),
    "openai": ("openai", None, "gpt-5.4"),
    "openai_chat": ("openai", "chat", "gpt-5.4-mini"),
    "xai": ("xai", None, "grok-4-1-fast-non-reasoning"),
    "local": ("openai_compatible", None, "llama3.1:8b"),
}

FAST_RETRY = RetryConfig(max_attempts=3, base_delay=0.05, factor=2.0, jitter=0.0)


def provider_for(
    sim: LlmSim, flavour: str, *, name: str | None = None, **fields: Any
) -> ProviderConfig:
    """A provider of ``flavour`` (a `KINDS` key) pointed at ``sim``."""
    kind, api, model = KINDS[flavour]
    base_url = sim.anthropic_url if kind == "anthropic" else sim.openai_url
    return ProviderConfig(
        name=name or flavour,
        kind=kind,  # type: ignore[arg-type]
        model=fields.pop("model", model),
        api=api,  # type: ignore[arg-type]
        base_url=base_url,
        api_key=fields.pop("api_key", KEY),
        **fields,
    )


@pytest.fixture
async def sim() -> AsyncIterator[LlmSim]:
    async with open_llmsim(api_key=KEY) as server:
        yield server


@pytest.fixture
async def sim2() -> AsyncIterator[LlmSim]:
    async with open_llmsim(api_key=KEY) as server:
        yield server


Running = Callable[..., Any]


@pytest.fixture
def running() -> Running:
    """``async with running(config, ...) as (service, records):`` — closed afterwards."""

    @asynccontextmanager
    async def _running(
        *providers: ProviderConfig, retry: RetryConfig = FAST_RETRY
    ) -> AsyncIterator[tuple[LlmService, Records]]:
        records = Records()
        service = LlmService(LlmConfig(providers=providers, retry=retry), on_call=records)
        try:
            yield service, records
        finally:
            await service.aclose()

    return _running
