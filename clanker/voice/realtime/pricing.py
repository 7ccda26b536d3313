"""What a realtime provider's use costs: per response (tokens by modality) or per minute.

OpenAI and Gemini bill a response's tokens by modality (audio and text, in and out; OpenAI's
cached input cheaper); xAI's voice agent and ElevenLabs' conversational agents bill the
connected minutes. `DEFAULT_REALTIME_PRICES` holds list prices in USD per million tokens (or
per minute) as published when this was written; they change, so a deployment passes its own
table (`RealtimeCosts.prices`). A model is matched by the longest prefix of its name listed for
its provider (``gpt-realtime-mini-2025-10-06`` → ``gpt-realtime-mini``); a provider's ``""``
entry matches any model. No entry: the use is still logged, at no cost. Sans-IO.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from clanker.voice.realtime.api import Usage

PER_MILLION = 1_000_000


@dataclass(frozen=True)
class RealtimePrice:
    """USD per million tokens of each kind, and per connected minute."""

    audio_in: float = 0.0
    audio_out: float = 0.0
    text_in: float = 0.0
    text_out: float = 0.0
    cached_in: float = 0.0
    per_minute: float = 0.0

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not value >= 0:
                raise ValueError(f"RealtimePrice.{name} must be >= 0, got {value!r}")


DEFAULT_REALTIME_PRICES: Mapping[tuple[str, str], RealtimePrice] = {
    ("openai", "gpt-realtime"): RealtimePrice(
        audio_in=32.0, audio_out=64.0, text_in=4.0, text_out=16.0, cached_in=0.40
    ),
    ("openai", "gpt-realtime-mini"): RealtimePrice(
        audio_in=10.0, audio_out=20.0, text_in=0.60, text_out=2.40, cached_in=0.30
    ),
    ("gemini", "gemini-2.5-flash-native-audio"): RealtimePrice(
        audio_in=3.0, audio_out=12.0, text_in=0.50, text_out=2.0
    ),
    ("gemini", "gemini-live-2.5-flash"): RealtimePrice(
        audio_in=3.0, audio_out=12.0, text_in=0.50, text_out=2.0
    ),
    ("xai", ""): RealtimePrice(per_minute=0.05),
    ("elevenlabs", ""): RealtimePrice(per_minute=0.10),
}


def price_for(
    provider: str, model: str, table: Mapping[tuple[str, str], RealtimePrice]
) -> RealtimePrice | None:
    """The entry of ``provider`` whose model name is the longest prefix of ``model``."""
    found = [
        (len(m), p) for (prov, m), p in table.items() if prov == provider and model.startswith(m)
    ]
    return max(found, key=lambda x: x[0])[1] if found else None


def response_cost(usage: Usage, price: RealtimePrice) -> float:
    """One response's cost. ``cached_in`` input tokens (counted inside the text and audio
    input) are billed at the cached rate instead: taken from the text input first (the cached
    prefix is mostly instructions and earlier text), then from the audio input."""
    cached = min(usage.cached_in, usage.text_in + usage.audio_in)
    from_text = min(cached, usage.text_in)
    from_audio = cached - from_text
    total = (
        (usage.text_in - from_text) * price.text_in
        + (usage.audio_in - from_audio) * price.audio_in
        + cached * price.cached_in
        + usage.audio_out * price.audio_out
        + usage.text_out * price.text_out
    )
    return total / PER_MILLION


def session_cost(seconds: float, price: RealtimePrice) -> float:
    """A connection's cost by the minute (to the second)."""
    return max(0.0, seconds) / 60.0 * price.per_minute
