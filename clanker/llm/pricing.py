"""USD cost of a call from a per-million-token price table.

Prices are list prices in USD per million tokens for standard (non-batch, short-context)
processing, checked against the providers' pricing pages in mid-2026. They drift: a deployment
overrides or extends them through `ProviderConfig.price` (one model) or by passing its own
`PriceTable`. Models served by an OpenAI-compatible local server cost 0 unless configured.

Anthropic bills cache writes (5-minute TTL) at 1.25x input and cache reads at 0.1x input;
OpenAI and xAI bill cached reads at a discount and cache writes at the plain input rate.
"""

from __future__ import annotations

import re

import msgspec

from clanker.llm.model import Usage


class ModelPrice(msgspec.Struct, frozen=True, kw_only=True):
    """USD per million tokens: base input, output, cache read, cache write."""

    input: float
    output: float
    cache_read: float
    cache_write: float

    def __post_init__(self) -> None:
        for field in ("input", "output", "cache_read", "cache_write"):
            value = getattr(self, field)
            if not value >= 0:
                raise ValueError(f"ModelPrice.{field} must be >= 0 USD per 1M tokens, got {value}")


FREE = ModelPrice(input=0.0, output=0.0, cache_read=0.0, cache_write=0.0)


def _anthropic(input: float, output: float) -> ModelPrice:
    return ModelPrice(
        input=input, output=output, cache_read=round(input * 0.1, 6), cache_write=input * 1.25
    )


def _openai(input: float, output: float, cached: float) -> ModelPrice:
    return ModelPrice(input=input, output=output, cache_read=cached, cache_write=input)


ANTHROPIC_PRICES: dict[str, ModelPrice] = {
    "claude-opus-4-8": _anthropic(5.0, 25.0),
    "claude-opus-4-7": _anthropic(5.0, 25.0),
    "claude-opus-4-6": _anthropic(5.0, 25.0),
    "claude-opus-4-5": _anthropic(5.0, 25.0),
    "claude-opus-4-1": _anthropic(15.0, 75.0),
    "claude-opus-4": _anthropic(15.0, 75.0),
    "claude-sonnet-4-6": _anthropic(3.0, 15.0),
    "claude-sonnet-4-5": _anthropic(3.0, 15.0),
    "claude-sonnet-4": _anthropic(3.0, 15.0),
    "claude-haiku-4-5": _anthropic(1.0, 5.0),
    "claude-3-haiku": _anthropic(0.25, 1.25),
}

OPENAI_PRICES: dict[str, ModelPrice] = {
    # "pro" models have no cached-input discount; listed so the prefix rule cannot underprice them.
    "gpt-5.5-pro": _openai(30.0, 180.0, 30.0),
    "gpt-5.4-pro": _openai(30.0, 180.0, 30.0),
    "gpt-5.2-pro": _openai(21.0, 168.0, 21.0),
    "gpt-5-pro": _openai(15.0, 120.0, 15.0),
    "gpt-5.5": _openai(5.0, 30.0, 0.5),
    "gpt-5.4": _openai(2.5, 15.0, 0.25),
    "gpt-5.4-mini": _openai(0.75, 4.5, 0.075),
    "gpt-5.4-nano": _openai(0.2, 1.25, 0.02),
    "gpt-5.2": _openai(1.75, 14.0, 0.175),
    "gpt-5.1": _openai(1.25, 10.0, 0.125),
    "gpt-5": _openai(1.25, 10.0, 0.125),
    "gpt-5-mini": _openai(0.25, 2.0, 0.025),
    "gpt-5-nano": _openai(0.05, 0.4, 0.005),
    "gpt-4.1": _openai(2.0, 8.0, 0.5),
    "gpt-4.1-mini": _openai(0.4, 1.6, 0.1),
    "gpt-4.1-nano": _openai(0.1, 0.4, 0.025),
    "gpt-4o": _openai(2.5, 10.0, 1.25),
    "gpt-4o-mini": _openai(0.15, 0.6, 0.075),
}

XAI_PRICES: dict[str, ModelPrice] = {
    "grok-4.3": _openai(1.25, 2.5, 0.2),
    "grok-4.20": _openai(1.25, 2.5, 0.2),
    "grok-4-1-fast": _openai(0.2, 0.5, 0.05),
    "grok-4-fast": _openai(0.2, 0.5, 0.05),
    "grok-4": _openai(3.0, 15.0, 0.75),
    "grok-3-mini": _openai(0.3, 0.5, 0.075),
    "grok-3": _openai(3.0, 15.0, 0.75),
}

# A dated snapshot ("-20251001", "-2025-08-07", "-0709") or a "-latest" alias costs what the
# model it names costs.
_SUFFIX = re.compile(r"(-\d{8}|-\d{4}-\d{2}-\d{2}|-\d{4}|-latest)$")


class PriceTable:
    """Prices by provider kind, looked up by model name: an exact match first, then the name
    without a date suffix, then the longest known name the model starts with (so
    ``claude-sonnet-4-5-20250929`` and ``grok-4-fast-reasoning`` find their family)."""

    def __init__(self, tables: dict[str, dict[str, ModelPrice]] | None = None) -> None:
        self.tables = (
            tables
            if tables is not None
            else {"anthropic": ANTHROPIC_PRICES, "openai": OPENAI_PRICES, "xai": XAI_PRICES}
        )

    def lookup(self, kind: str, model: str) -> ModelPrice | None:
        """The price of ``model`` at a provider of ``kind``, or None if unknown."""
        table = self.tables.get(kind)
        if not table:
            return None
        name = model.strip().lower()
        if name in table:
            return table[name]
        bare = _SUFFIX.sub("", name)
        if bare in table:
            return table[bare]
        prefixes = [k for k in table if name.startswith(k + "-")]
        if prefixes:
            return table[max(prefixes, key=len)]
        return None


DEFAULT_PRICES = PriceTable()


def cost_usd(usage: Usage, price: ModelPrice) -> float:
    """What ``usage`` costs at ``price``, in USD."""
    return (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_read_tokens * price.cache_read
        + usage.cache_write_tokens * price.cache_write
    ) / 1_000_000
