"""Barge-in: may a member's speech interrupt the bot? Sans-IO.

Checked in order, each a reason when the answer is no:
* `policy_none` — the policy is `nobody`.
* `not_speaking` — the bot has no audio out (nothing to interrupt).
* `echo_guard` — the bot's audio started less than `echo_guard` seconds ago (a member's
  microphone picking up the bot, or both starting at once).
* `too_short` — under `min_speech` seconds of the member's speech (stricter than promotion).
* `not_target` — policy `speaker` and this member is not whom the reply answers.
The policy `anyone` lets every member interrupt; a member who names the bot always may
(`wake_word`), whatever the policy except `nobody`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class BargeInPolicy(StrEnum):
    SPEAKER = "speaker"  # the member the reply answers
    ANYONE = "anyone"
    NOBODY = "nobody"


@dataclass(frozen=True, slots=True)
class BargeInConfig:
    policy: BargeInPolicy = BargeInPolicy.SPEAKER
    echo_guard: float = 1.0  # seconds after the bot's audio starts
    min_speech: float = 0.5  # seconds of the member's speech while the bot talks
    vad_threshold: float = 0.7  # stricter than the capture's while the bot talks


@dataclass(frozen=True, slots=True)
class BargeInCheck:
    interrupt: bool
    reason: str


def check_barge_in(
    config: BargeInConfig,
    *,
    user_id: int,
    bot_audio_out: bool,
    bot_audio_started_at: float | None,
    reply_targets: tuple[int, ...],
    speech_seconds: float,
    named_bot: bool,
    now: float,
) -> BargeInCheck:
    if config.policy is BargeInPolicy.NOBODY:
        return BargeInCheck(False, "policy_none")
    if not bot_audio_out or bot_audio_started_at is None:
        return BargeInCheck(False, "not_speaking")
    if now - bot_audio_started_at < config.echo_guard:
        return BargeInCheck(False, "echo_guard")
    if speech_seconds < config.min_speech - 1e-9:
        return BargeInCheck(False, "too_short")
    if named_bot:
        return BargeInCheck(True, "wake_word")
    if config.policy is BargeInPolicy.ANYONE:
        return BargeInCheck(True, "anyone")
    if user_id in reply_targets:
        return BargeInCheck(True, "reply_target")
    return BargeInCheck(False, "not_target")
